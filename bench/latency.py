"""How fast `crm` answers through the preloaded command server (issue 15), beside in-process runs and the floor.

    python bench/latency.py               # ~9 min: 100k contacts, 15 runs each; writes its section of RESULTS.md
    python bench/latency.py --runs 3 --cold-runs 2 --memory-commands 50 --results /tmp/r.md

crmcli/ is copied (without __pycache__) to a temporary directory and every process runs it from there
(PYTHONPATH): the server's socket name depends on the package files' modification times, so a working
tree that others edit would change servers mid-run. The clients are the `crm` console script of this
interpreter (it imports crmcli.client from the copy, as the check at start shows); the runtime and
state directories (XDG_RUNTIME_DIR, XDG_STATE_HOME) are private temporary ones, so no other server
answers. The database is the 100,000-contact one of bench/run.py, copied and given a few deals and
follow-ups (it has none); the copy is made afresh for each run, so the writes (`crm log`, `crm deals
move` back and forth between two stages) repeat exactly.

In ONE run, round-robin after warm-up rounds, as in bench/run.py: each command as a fresh client
through the running server (CRM_SERVER=require) and in-process (CRM_SERVER=0), beside `python -c pass`,
`python -c "import crmcli.client"` and `python -c "import sqlmodel"`. Then: the cold case (the first
command once the server is gone: it runs in-process and starts a server afterwards) against in-process;
the server's memory over many commands; 20 clients at once; and where the time of a command through
the server goes (client start-up, connect + fork + reap, the command in the forked child). Writes the
<!-- latency:start --> section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import atexit
import fcntl
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from run import (  # noqa: E402
    PYTHON,
    RUN_DIR,
    bench_env,
    crm_script,
    ensure_db,
    importtime,
    machine,
    run_once,
    wait_idle,
)
from sections import update  # noqa: E402

SEED_VERSION = "1"  # bump when seed() changes: the cached seeded database is rebuilt
SEED_DEALS = 30
SEED_FOLLOWUPS = 40
STAGES = ("Lead", "Qualified")  # the writes move deals back and forth between these

SEED_SNIPPET = r"""
import sys
from crmcli.cli import run
deals, followups, contact = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
stages = ["Lead"] * 8 + ["Qualified", "Proposal", "Negotiation"] * deals
for i in range(deals):
    argv = ["deals", "add", f"Latency deal {i + 1}", "-c", contact, "--amount", str(1000 + 37 * i),
            "--stage", stages[i], "-q"]
    assert run(argv) == 0, argv
for i in range(followups):
    due = "2026-01-02 09:00" if i % 2 else "2030-06-01 09:00"  # half overdue
    argv = ["followups", "add", str(40000 + 7 * i), "--due", due, "--allow-past", "--note", "Call back", "-q"]
    assert run(argv) == 0, argv
"""

# The command in a child forked from a preloaded process, as the server runs it, without the client and
# the socket: how long cli.run takes there, how long fork -> exit -> waitpid takes in all, and the same
# command in the preloaded process itself once warm (its SQL compile caches filled).
CHILD_SNIPPET = r"""
import json, os, statistics, sys, time
t = time.perf_counter()
from crmcli import server
command = server.preload()
preload_s = time.perf_counter() - t
from crmcli import cli
jobs = json.loads(sys.argv[1])
null = os.open(os.devnull, os.O_RDWR)
out = {"preload": preload_s, "commands": {}}
for label, argvs in jobs.items():
    runs, totals = [], []
    for argv in argvs:
        r, w = os.pipe()
        sys.stdout.flush(); sys.stderr.flush()
        start = time.perf_counter()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            sys.stdin, sys.stdout, sys.stderr = server._standard_streams([])
            before = set(sys.modules)
            t0 = time.perf_counter()
            code = cli.run(list(argv), command)
            t1 = time.perf_counter()
            new = sorted(m for m in set(sys.modules) - before if "." not in m or m.count(".") < 2)
            os.write(w, json.dumps([t0 - start, t1 - t0, code, new]).encode())
            os._exit(code)
        os.close(w)
        _, status = os.waitpid(pid, 0)
        totals.append(time.perf_counter() - start)
        raw = b""
        while chunk := os.read(r, 65536):
            raw += chunk
        data = json.loads(raw or b"[0, 0, 1, []]")
        os.close(r)
        if data[2] != 0 or os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"{argv}: exit {data[2]}")
        runs.append(data[1])
    out["commands"][label] = {"child_run": statistics.median(runs), "fork_total": statistics.median(totals),
                              "imported": data[3]}
saved = [os.dup(fd) for fd in (0, 1, 2)]
for label, argvs in jobs.items():
    warm = []
    for argv in argvs:
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        t0 = time.perf_counter()
        cli.run(list(argv), command)
        warm.append(time.perf_counter() - t0)
        sys.stdout.flush(); sys.stderr.flush()
        for fd, copy in zip((0, 1, 2), saved):
            os.dup2(copy, fd)
    out["commands"][label]["warm_in_server"] = statistics.median(warm[1:] or warm)
# the floor of crm kpi's queries: the statements (and parameters) it sends, replayed through bare
# sqlite3 on a fresh connection in a fresh fork, every row fetched, nothing else
kpi = [argv for label, argvs in jobs.items() if label == "crm kpi" for argv in argvs]
if kpi:
    import sqlite3
    from sqlalchemy import event
    from sqlalchemy.engine import Engine
    sent = []
    grab = lambda conn, cur, stmt, params, ctx, many: sent.append((stmt, params))
    event.listen(Engine, "before_cursor_execute", grab)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    cli.run(list(kpi[0]), command)
    sys.stdout.flush(); sys.stderr.flush()
    for fd, copy in zip((0, 1, 2), saved):
        os.dup2(copy, fd)
    event.remove(Engine, "before_cursor_execute", grab)
    queries = [(q, p) for q, p in sent if q.lstrip().upper().startswith(("SELECT", "WITH"))]
    replays = []
    for _ in range(len(kpi)):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            t0 = time.perf_counter()
            db = sqlite3.connect(os.environ["CRM_DB"])
            for q, p in queries:
                db.execute(q, p).fetchall()
            db.close()
            os.write(w, repr(time.perf_counter() - t0).encode())
            os._exit(0)
        os.close(w)
        os.waitpid(pid, 0)
        replays.append(float(os.read(r, 100)))
        os.close(r)
    out["kpi_sql"] = {"statements": len(queries), "replay": statistics.median(replays)}
print(json.dumps(out))
"""


# ---------------------------------------------------------------- set-up


def copy_source() -> tuple[Path, str]:
    """crmcli/ of the working tree copied to a temporary directory; (directory for PYTHONPATH, what it is)."""
    dest = Path(tempfile.mkdtemp(prefix="latency-src-"))
    shutil.copytree(ROOT / "crmcli", dest / "crmcli", ignore=shutil.ignore_patterns("__pycache__"))
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "crmcli"], capture_output=True, text=True
    ).stdout.strip()
    return dest, f"commit {head[:12]}" + (" with uncommitted work in crmcli/ (the server and others)" if dirty else "")


def seeded_db(bench_db: Path, env: dict[str, str]) -> Path:
    """The benchmark database with a few deals and follow-ups (it has none), cached in bench/data/."""
    base = bench_db.with_name(bench_db.stem + "-latency.db")
    meta_path = base.with_suffix(".json")
    st = bench_db.stat()
    want = {"from": str(bench_db), "size": st.st_size, "mtime": st.st_mtime_ns, "seed": SEED_VERSION}
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if base.exists() and meta == want:
        return base
    print(f"seeding {base} with {SEED_DEALS} deals and {SEED_FOLLOWUPS} follow-ups ...", file=sys.stderr)
    tmp = base.with_suffix(".tmp")
    shutil.copyfile(bench_db, tmp)
    contact = pick_contact(tmp)
    proc = subprocess.run(
        [PYTHON, "-c", SEED_SNIPPET, str(SEED_DEALS), str(SEED_FOLLOWUPS), contact],
        env={**env, "CRM_DB": str(tmp), "CRM_SERVER": "0"},
        cwd=RUN_DIR,
        capture_output=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"seeding failed: {proc.stderr.decode(errors='replace')[-800:]}")
    for suffix in ("-wal", "-shm"):
        Path(f"{tmp}{suffix}").unlink(missing_ok=True)
    tmp.rename(base)
    meta_path.write_text(json.dumps(want, indent=2) + "\n")
    return base


def pick_contact(db: Path) -> str:
    """An email of the contact at 42 % of the ids (the same person bench/run.py searches for)."""
    import sqlite3

    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        top = con.execute("SELECT max(id) FROM contact").fetchone()[0]
        row = con.execute(
            "SELECT email FROM contact_email WHERE contact_id >= ? ORDER BY contact_id, id LIMIT 1", (top * 42 // 100,)
        ).fetchone()
    finally:
        con.close()
    return str(row[0])


def work_copy(base: Path) -> Path:
    work = base.with_name("latency-work.db")
    for stale in (work, Path(f"{work}-wal"), Path(f"{work}-shm")):
        stale.unlink(missing_ok=True)
    shutil.copyfile(base, work)
    return work


class Toggle:
    """`deals move DEAL STAGE` alternating between two stages, so that every run is a real move."""

    def __init__(self, deal: int) -> None:
        self.deal = deal
        self.at = 0  # index into STAGES of where the deal is (seeded in Lead)

    def __call__(self, crm: str) -> list[str]:
        self.at = 1 - self.at
        return [crm, "deals", "move", str(self.deal), STAGES[self.at]]

    def argv(self) -> list[str]:
        """Without the program name, for in-process harnesses."""
        return self(crm="")[1:]


# ---------------------------------------------------------------- the server


class Servers:
    """Start, query and stop the server under ENV (its socket found through `crm server status`)."""

    def __init__(self, crm: str, env: dict[str, str], src: Path) -> None:
        self.crm = crm
        self.env = env
        self.path: str | None = None
        sys.path.insert(0, str(src))
        from crmcli import runtime  # the copy's: the same wire format as the server under test

        self.runtime = runtime

    def start(self) -> float:
        """`crm server start`; its wall time."""
        t = time.perf_counter()
        subprocess.run([self.crm, "server", "start"], env=self.env, cwd=RUN_DIR, capture_output=True, check=True)
        took = time.perf_counter() - t
        self.path = str(self.status()["socket"])
        return took

    def status(self) -> dict[str, object]:
        """`crm server status --format json`, answered by the running server."""
        proc = subprocess.run(
            [self.crm, "server", "status", "--format", "json"],
            env={**self.env, "CRM_SERVER": "require"},
            cwd=RUN_DIR,
            capture_output=True,
            text=True,
            check=True,
        )
        record: dict[str, object] = json.loads(proc.stdout)
        return record

    def rss_mib(self) -> float:
        record = self.status()
        return float(str(record["rss_mib"])) if "rss_mib" in record else int(str(record["rss_kib"])) / 1024

    def answers(self) -> bool:
        return self.path is not None and self.runtime.ask(self.path, "status") is not None

    def wait_up(self, timeout: float = 60) -> float:
        """Seconds until the server answers at its socket (one that a client started in the background)."""
        assert self.path is not None
        t = time.perf_counter()
        sock = self.runtime.wait_for(self.path, timeout)
        if sock is None:
            raise SystemExit(f"no server answered at {self.path} within {timeout:.0f} s")
        sock.close()
        return time.perf_counter() - t

    def stop(self) -> None:
        """Stop it and wait until its process has gone (it releases its lock file as it exits), so that
        the next client finds none and may start one. Asked over the socket rather than with `crm server
        stop`, which returns once the socket file is gone, before the process (and its lock) is."""
        assert self.path is not None
        self.runtime.ask(self.path, "stop")
        lock = self.path.removesuffix(".sock") + ".lock"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
                return
            except OSError:
                time.sleep(0.01)
            finally:
                os.close(fd)
        raise SystemExit("the server did not exit within 30 s of being asked to stop")

    def roundtrip(self, argv: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
        """Connect, send the request with three /dev/null descriptors, wait for the exit reply: the
        server's part of a command without the client's start-up. (median seconds to the "pid" reply,
        median seconds to the "exit" reply)."""
        assert self.path is not None
        to_pid, to_exit = [], []
        null = os.open(os.devnull, os.O_RDWR)
        request = {
            "op": "run",
            "argv": argv,
            "argv0": "crm",
            "env": env,
            "cwd": str(RUN_DIR),
            "umask": 0o22,
            "streams": [["utf-8", "strict"], ["utf-8", "strict"], ["utf-8", "backslashreplace"]],
        }
        try:
            for _ in range(runs):
                t = time.perf_counter()
                sock = self.runtime.connect(self.path)
                assert sock is not None
                try:
                    self.runtime.send(sock, request, [null, null, null])
                    for key, value in self.runtime.replies(sock):
                        if key == "pid":
                            to_pid.append(time.perf_counter() - t)
                        elif key == "exit":
                            if value != "0":
                                raise SystemExit(f"{argv} through the server: exit {value}")
                            to_exit.append(time.perf_counter() - t)
                            break
                finally:
                    sock.close()
        finally:
            os.close(null)
        return statistics.median(to_pid), statistics.median(to_exit)


# ---------------------------------------------------------------- measuring

Argv = list[str] | Callable[[str], list[str]]


def argv_of(spec: Argv, crm: str) -> list[str]:
    return spec(crm) if callable(spec) else spec


def measure(
    rows: list[tuple[str, str, Argv, dict[str, str]]], crm: str, runs: int, warmup: int
) -> tuple[dict[tuple[str, str], list[float]], dict[tuple[str, str], list[float]]]:
    """Wall and CPU times per (label, mode), round-robin after WARMUP rounds (bench/run.py's measure,
    with an environment per row and argv that may change from run to run)."""
    wall: dict[tuple[str, str], list[float]] = defaultdict(list)
    cpu: dict[tuple[str, str], list[float]] = defaultdict(list)
    for i in range(warmup + runs):
        for label, mode, spec, env in rows:
            w, c = run_once(argv_of(spec, crm), env)
            if i >= warmup:
                wall[label, mode].append(w)
                cpu[label, mode].append(c)
        print(f"  round {i + 1}/{warmup + runs}", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    return wall, cpu


def check(label: str, argv: list[str], env: dict[str, str], prints: bool = True) -> None:
    """The command works and prints something (a broken command is not timed as a fast one)."""
    proc = subprocess.run(argv, env=env, cwd=RUN_DIR, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    if proc.returncode != 0 or (prints and not proc.stdout.strip()):
        raise SystemExit(f"{label}: exit {proc.returncode}: {proc.stderr.decode(errors='replace')[-500:]}")


def cold(servers: Servers, crm: str, argv: list[str], auto: dict[str, str], off: dict[str, str], runs: int) -> dict:
    """The first command once the server is gone (CRM_SERVER unset: it runs in-process, then starts a
    server in the background) against the same command in-process, alternating. The server the cold
    client started is waited for (how long it takes to answer is reported) and stopped again."""
    cold_s, inproc_s, up_s = [], [], []
    for i in range(runs):
        if servers.answers():
            servers.stop()
        w, _ = run_once([crm, *argv], auto)
        cold_s.append(w)
        t_client_done = time.perf_counter()
        servers.wait_up()
        up_s.append(time.perf_counter() - t_client_done)
        servers.stop()
        w, _ = run_once([crm, *argv], off)
        inproc_s.append(w)
        print(f"  cold {i + 1}/{runs}", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    return {"cold": cold_s, "in-process": inproc_s, "server up after": up_s}


def memory(servers: Servers, cmds: list[Argv], crm: str, env: dict[str, str], total: int) -> list[tuple[int, float]]:
    """(commands served, server RSS MiB) from a fresh start through TOTAL client commands in a row."""
    if servers.answers():
        servers.stop()
    servers.start()
    points = [(0, servers.rss_mib())]
    marks = {round(total * k / 4) for k in (1, 2, 3, 4)}
    for n in range(1, total + 1):
        run_once(argv_of(cmds[(n - 1) % len(cmds)], crm), env)
        if n in marks:
            points.append((n, servers.rss_mib()))
            print(f"  memory {n}/{total}", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    return points


def at_once(cmds: list[Argv], crm: str, env: dict[str, str], clients: int) -> dict:
    """CLIENTS fresh clients started together: exit codes, the wall time until the last one ended, and
    each client's own wall time."""
    procs = []
    start = time.perf_counter()
    for i in range(clients):
        argv = argv_of(cmds[i % len(cmds)], crm)
        p = subprocess.Popen(argv, env=env, cwd=RUN_DIR, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)  # fmt: skip
        procs.append((argv, p, time.perf_counter()))
    results = []
    for argv, p, began in procs:
        _, err = p.communicate(timeout=300)
        results.append((argv, p.returncode, time.perf_counter() - began, err.decode(errors="replace").strip()))
    wall = time.perf_counter() - start
    return {
        "wall": wall,
        "ok": sum(1 for _a, code, _w, _e in results if code == 0),
        "failures": [(" ".join(a[1:]), code, err[-200:]) for a, code, _w, err in results if code != 0],
        "slowest": max(w for _a, _c, w, _e in results),
        "median": statistics.median(w for _a, _c, w, _e in results),
    }


def child_times(env: dict[str, str], jobs: dict[str, list[list[str]]]) -> dict:
    proc = subprocess.run(
        [PYTHON, "-c", CHILD_SNIPPET, json.dumps(jobs)],
        env=env,
        cwd=RUN_DIR,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=600,
    )
    if proc.returncode != 0:
        raise SystemExit(f"child harness failed: {proc.stderr.decode(errors='replace')[-800:]}")
    result: dict = json.loads(proc.stdout.decode().strip().splitlines()[-1])
    return result


# ---------------------------------------------------------------- report


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f}"


def report(data: dict) -> str:
    med = {key: statistics.median(v) for key, v in data["wall"].items()}
    cpu = {key: statistics.median(v) for key, v in data["cpu"].items()}
    floor_pass = med["python -c pass", "floor"]
    floor_sqlmodel = med['python -c "import sqlmodel"', "floor"]
    floor_client = med['python -c "import crmcli.client"', "floor"]
    out: list[str] = []
    w = out.append
    w("## Command server: latency (bench/latency.py)\n")
    w(
        f"Generated by `python bench/latency.py` on {data['started']:%a %d %b %Y %H:%M UTC} (the whole run took "
        f"{data['took']:.0f} s). crmcli benchmarked: {data['source']}, copied out of the working tree and run "
        "from the copy (PYTHONPATH), clients being the `crm` console script. Database: the 100,000-contact "
        f"benchmark database of bench/run.py plus {SEED_DEALS} deals and {SEED_FOLLOWUPS} follow-ups "
        f"({SEED_FOLLOWUPS // 2} overdue), copied afresh for the run.\n"
    )
    w(
        f"Median wall time of {data['runs']} fresh client processes per row (after {data['warmup']} warm-up "
        "rounds; round-robin over all rows, stdout to /dev/null). **server**: the server was started beforehand "
        "with `crm server start`, `CRM_SERVER=require`; **in-process**: `CRM_SERVER=0` (crm as it ran before "
        "issue 15). Targets: a read through the server ≤ 0.15× `import sqlmodel`, a write ≤ 0.25×, "
        "`--version` and `--help` ≤ 3× `python -c pass`.\n"
    )
    w("| command | mode | median ms | min ms | max ms | median CPU ms | ratio to floor | target | pass |")
    w("|---|---|---:|---:|---:|---:|---:|---:|:-:|")
    verdicts: list[bool] = []
    for label, mode, kind in data["rows"]:
        key = (label, mode)
        ws = data["wall"][key]
        cells = [f"`{label}`", mode, ms(med[key]), ms(min(ws)), ms(max(ws)), ms(cpu[key])]
        if kind == "floor":
            cells += ["", "", ""]
        else:
            floor, name, limit = (
                (floor_pass, "pass", 3.0)
                if kind == "meta"
                else (floor_sqlmodel, "sqlmodel", 0.25 if kind == "write" else 0.15)
            )
            ratio = med[key] / floor
            if mode == "server":
                ok = ratio <= limit
                verdicts.append(ok)
                cells += [f"{ratio:.2f}× {name}", f"≤ {limit:g}×", "✓" if ok else "✗"]
            else:
                cells += [f"{ratio:.2f}× {name}", "", ""]
        w("| " + " | ".join(cells) + " |")
    c = data["cold"]
    cold_m, warm_m = statistics.median(c["cold"]), statistics.median(c["in-process"])
    cold_ok = cold_m <= 1.1 * warm_m
    w("")
    w(
        f"{sum(verdicts)} of {len(verdicts)} server rows meet their target. Floors: `python -c pass` "
        f'{ms(floor_pass)} ms, `python -c "import crmcli.client"` {ms(floor_client)} ms (what the client '
        f'imports), `python -c "import sqlmodel"` {ms(floor_sqlmodel)} ms.\n'
    )
    w("### Cold: the first command after the server is gone\n")
    w(
        f"`crm contacts list --limit 20` with no server running and CRM_SERVER unset ({len(c['cold'])} samples): the "
        "client finds no server, runs the command in-process, then starts a server in the background. Before "
        "each sample the server is stopped and waited for; each cold sample is followed by one in-process "
        "(`CRM_SERVER=0`) sample, so the two alternate.\n"
    )
    w("| | median ms | min ms | max ms | ratio | target | pass |")
    w("|---|---:|---:|---:|---:|---:|:-:|")
    w(
        f"| cold (no server; runs in-process, starts one) | {ms(cold_m)} | {ms(min(c['cold']))} | "
        f"{ms(max(c['cold']))} | {cold_m / warm_m:.2f}× in-process | ≤ 1.1× | {'✓' if cold_ok else '✗'} |"
    )
    w(f"| in-process (`CRM_SERVER=0`) | {ms(warm_m)} | {ms(min(c['in-process']))} | {ms(max(c['in-process']))} | | | |")
    w("")
    w(
        f"The server the cold client started answered {statistics.median(c['server up after']):.2f} s (median) after "
        f"the client had exited; `crm server start` took {data['start_s']:.2f} s (preloading: "
        f"{data['child']['preload']:.2f} s of it in the harness below).\n"
    )
    w("### Memory\n")
    pts = data["memory"]
    w(
        f"The server's RSS (`crm server status --format json`, `rss_mib`) from a fresh start through "
        f"{pts[-1][0]:,} client commands in a row (the server rows above in turn, reads and writes):\n"
    )
    w("| commands served | " + " | ".join(f"{n:,}" for n, _ in pts) + " |")
    w("|---|" + "|".join("---:" for _ in pts) + "|")
    w("| RSS MiB | " + " | ".join(f"{r:.1f}" for _, r in pts) + " |")
    w("")
    growth = pts[-1][1] - pts[1][1] if len(pts) > 2 else 0.0
    w(
        f"From the first quarter to the end it changed by {growth:+.1f} MiB "
        f"({pts[-1][1] - pts[0][1]:+.1f} MiB since start); after the 20 concurrent clients below: "
        f"{data['rss_after_concurrency']:.1f} MiB. The commands run in forked children, so the server "
        "itself only keeps its bookkeeping.\n"
    )
    w("### 20 clients at once\n")
    conc = data["concurrency"]
    w(
        "20 fresh clients started together, mixed: the ten commands above in turn (reads, `crm log` on one "
        "contact, `crm deals move` on two other deals).\n"
    )
    w("| mode | succeeded | wall until the last ended s | median client s | slowest client s |")
    w("|---|---:|---:|---:|---:|")
    for mode in ("server", "in-process"):
        r = conc[mode]
        w(f"| {mode} | {r['ok']}/{data['clients']} | {r['wall']:.2f} | {r['median']:.2f} | {r['slowest']:.2f} |")
    for mode in ("server", "in-process"):
        for what, code, err in conc[mode]["failures"]:
            w(f"\nFailed ({mode}): `crm {what}` exit {code}: {err}")
    w("")
    w("### Where the remaining time goes\n")
    w(
        "A command through the server is: the client's start-up (the interpreter and `crmcli.client`, standard "
        "library only), then connect + fork + the command in the forked child + reaping it. Measured apart, in "
        "the same run:\n"
    )
    rt = data["roundtrip"]
    w(
        f'- **Client start-up**: `python -c pass` {ms(floor_pass)} ms; `python -c "import crmcli.client"` '
        f"{ms(floor_client)} ms, so the client's own imports add {ms(floor_client - floor_pass)} ms. Per "
        f"`python -X importtime` the client imports {data['client_import']['total'] / 1000:.1f} ms of modules "
        "beyond those `python -c pass` loads (self time, inflated by importtime), the largest: "
        + ", ".join(f"`{n}` {v / 1000:.1f} ms" for n, v in data["client_import"]["top"])
        + "."
    )
    w(
        f"- **Connect + fork + reap** (this benchmark's process speaking the wire format, no client start-up): "
        f"the `pid` reply (forked) after {rt['version'][0] * 1000:.1f} ms; `--version` end to end "
        f"{rt['version'][1] * 1000:.1f} ms; `contacts list --limit 20` end to end {rt['list'][1] * 1000:.1f} ms."
    )
    w(
        "- **The command in the child**: a harness (bench/latency.py's CHILD_SNIPPET) imports `crmcli.server`, "
        "calls its `preload()`, then per command forks a child with fds 0–2 on /dev/null that calls "
        "`cli.run(argv, command)` as the server's child does; then runs the same commands in the preloaded "
        "process itself, where the second run finds SQLAlchemy's compile caches and the engine warm "
        "(no fork ever does: the server never ran a query).\n"
    )
    w(
        "| command | through the server ms | client start-up ms (`import crmcli.client`) | cli.run in a forked "
        "child ms | fork → exit → waitpid ms | same, warm in the preloaded process ms | unexplained ms |"
    )
    w("|---|---:|---:|---:|---:|---:|---:|")
    for label, mode, _kind in data["rows"]:
        if mode != "server" or label not in data["child"]["commands"]:
            continue
        ch = data["child"]["commands"][label]
        total = med[label, "server"]
        rest = total - floor_client - ch["fork_total"]
        w(
            f"| `{label}` | {ms(total)} | {ms(floor_client)} | {ms(ch['child_run'])} | {ms(ch['fork_total'])} | "
            f"{ms(ch['warm_in_server'])} | {ms(rest)} |"
        )
    w("")
    imported = {label: ch["imported"] for label, ch in data["child"]["commands"].items() if ch["imported"]}
    if imported:
        w("Modules a forked child still imports (not preloaded by the server; top two levels):\n")
        for label, names in imported.items():
            w(f"- `{label}`: " + ", ".join(f"`{n}`" for n in names[:15]) + (" …" if len(names) > 15 else ""))
        w("")
    w(data["analysis"])
    w("")
    sql = data["child"].get("kpi_sql")
    kpi_label = "crm kpi"
    if sql and (kpi_label, "server") in med and "crm --version" in data["child"]["commands"]:
        transport = data["child"]["commands"]["crm --version"]["fork_total"]
        floor = floor_client + transport + sql["replay"]
        target = 0.15 * floor_sqlmodel
        w(
            f"**The floor of `crm kpi` through the server.** Its {sql['statements']} queries (two periods: the "
            f"figures of each, speed to lead, follow-ups by local day, stage conversion …), replayed through bare "
            f"`sqlite3` on a fresh connection in a fresh fork with every row fetched, take {ms(sql['replay'])} ms "
            f"(median of {data['runs']}). Add the client's start-up ({ms(floor_client)} ms) and a fork that runs "
            f"nothing but `--version` and is reaped ({ms(transport)} ms): {ms(floor)} ms before SQLAlchemy "
            f"builds a statement or Rich draws a cell, against a target of {ms(target)} ms (0.15× `import "
            f"sqlmodel`). The rest of its {ms(med[kpi_label, 'server'])} ms is building and running "
            f"{sql['statements']} statements through SQLAlchemy and drawing the screen.\n"
        )
    w("### Machine and load\n")
    w("| | |")
    w("|---|---|")
    w(f"| Date | {data['started']:%a %d %b %Y %H:%M:%S UTC} |")
    for key, value in machine().items():
        if key != "Repository HEAD":
            w(f"| {key} | {value} |")
    w(f"| crmcli benchmarked | {data['source']} |")
    for key, value in data["load"].items():
        w(f"| {key} | {value} |")
    return "\n".join(out)


def analysis(data: dict) -> str:
    """A few sentences from this run's numbers."""
    med = {key: statistics.median(v) for key, v in data["wall"].items()}
    floor_client = med['python -c "import crmcli.client"', "floor"]
    ch = data["child"]["commands"]
    parts = []
    worst = max(
        (label for label, mode, kind in data["rows"] if mode == "server" and label in ch),
        key=lambda label: ch[label]["child_run"],
    )
    parts.append(
        f"The client's start-up ({ms(floor_client)} ms) is paid by every command; the rest is the child. "
        f"The slowest child is `{worst}`: {ms(ch[worst]['child_run'])} ms in a fresh fork against "
        f"{ms(ch[worst]['warm_in_server'])} ms warm."
    )
    gaps = sorted(
        ((ch[label]["child_run"] - ch[label]["warm_in_server"], label) for label in ch if label in dict(
            (lbl, 1) for lbl, mode, _k in data["rows"] if mode == "server")),
        reverse=True,
    )  # fmt: skip
    if gaps:
        parts.append(
            "A fresh fork is slower than the warm process by "
            + ", ".join(f"{ms(gap)} ms for `{label}`" for gap, label in gaps[:3])
            + ": that is per-process first use (the imports listed above, which the server does not preload; "
            "opening the engine and database; compiling each statement, which a fork of a server that never ran one "
            "has to redo every time)."
        )
    return " ".join(parts)


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000, help="database size (default 100000)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--runs", type=int, default=15, help="measured clients per row (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up rounds (default 2)")
    parser.add_argument("--cold-runs", type=int, default=None, help="cold samples (default: --runs)")
    parser.add_argument("--memory-commands", type=int, default=1000, help="commands in a row for RSS (1000)")
    parser.add_argument("--clients", type=int, default=20, help="clients at once (default 20)")
    parser.add_argument("--wait-idle", type=float, default=300, help="wait up to this long for idle CPUs (300)")
    parser.add_argument("--results", type=Path, default=BENCH / "RESULTS.md", help="report (default bench/RESULTS.md)")
    args = parser.parse_args(argv)
    args.db = None  # ensure_db: the generated benchmark database
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    RUN_DIR.mkdir(parents=True, exist_ok=True)

    src, source = copy_source()
    runtime_dir = tempfile.mkdtemp(prefix="latency-run-")  # mode 0700, as the runtime directory must be
    state_dir = tempfile.mkdtemp(prefix="latency-state-")
    base_env = {**bench_env(None), "PYTHONPATH": str(src), "XDG_RUNTIME_DIR": runtime_dir}
    base_env.update({"XDG_STATE_HOME": state_dir, "CRM_SERVER_IDLE": "3600"})
    base_env.pop("CRM_SERVER", None)  # bench_env runs crm in-process; here each mode says what it wants
    bench_db, _note = ensure_db(args, {**base_env, "CRM_SERVER": "0"})
    db = work_copy(seeded_db(bench_db, base_env))
    auto = {**base_env, "CRM_DB": str(db)}
    server_env = {**auto, "CRM_SERVER": "require"}
    off = {**auto, "CRM_SERVER": "0"}
    crm = crm_script()
    where = subprocess.run(
        [PYTHON, "-c", "import crmcli.client; print(crmcli.client.__file__)"],
        env=off, cwd=RUN_DIR, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if not where.startswith(str(src)):
        sys.exit(f"the clients import {where}, not the copy in {src}")

    servers = Servers(crm, auto, src)
    ref = pick_contact(db)
    reads = [
        ("crm contacts list --limit 20", ["contacts", "list", "--limit", "20"]),
        ("crm contacts show REF", ["contacts", "show", ref]),
        ("crm search Müller", ["search", "Müller"]),
        ("crm followups overdue", ["followups", "overdue"]),
        ("crm pipeline board", ["pipeline", "board"]),
        ("crm kpi", ["kpi"]),
    ]
    toggles = {"server": Toggle(1), "in-process": Toggle(2)}
    rows: list[tuple[str, str, Argv, dict[str, str]]] = [
        ("python -c pass", "floor", [PYTHON, "-c", "pass"], off),
        ('python -c "import crmcli.client"', "floor", [PYTHON, "-c", "import crmcli.client"], off),
        ('python -c "import sqlmodel"', "floor", [PYTHON, "-c", "import sqlmodel"], off),
    ]
    kinds: list[tuple[str, str, str]] = [(label, mode, "floor") for label, mode, _a, _e in rows]

    def add(label: str, kind: str, tail: list[str] | None, toggle: bool = False) -> None:
        for mode, env in (("server", server_env), ("in-process", off)):
            spec: Argv = toggles[mode] if toggle else (lambda c, t=tail: [c, *(t or [])])
            rows.append((label, mode, spec, env))
            kinds.append((label, mode, kind))

    add("crm --version", "meta", ["--version"])
    add("crm --help", "meta", ["--help"])
    for label, tail in reads:
        add(label, "read", tail)
    add('crm log REF "…"', "write", ["log", ref, "Called about the renewal"])
    add("crm deals move REF STAGE", "write", None, toggle=True)

    print(f"crmcli from {src} ({source}); database {db}; runtime {runtime_dir}", file=sys.stderr)
    start_s = servers.start()
    atexit.register(lambda: servers.runtime.ask(servers.path, "stop"))  # a run that fails leaves no server
    print("checking every command works ...", file=sys.stderr)
    for label, mode, spec, env in rows:
        check(f"{label} ({mode})", argv_of(spec, crm), env, prints=mode != "floor")

    load: dict[str, str] = {}
    if args.wait_idle > 0:
        busy = wait_idle(args.wait_idle)
        load["CPU busy before the run"] = f"{busy:.0%} (other work; waited up to {args.wait_idle:.0f} s for < 15 %)"
    load["Load average at start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"measuring {len(rows)} rows × {args.runs} runs ...", file=sys.stderr)
    wall, cpu = measure(rows, crm, args.runs, args.warmup)
    load["Load average after the main table"] = " ".join(f"{x:.2f}" for x in os.getloadavg())

    print("where the time goes ...", file=sys.stderr)
    roundtrip = {
        "version": servers.roundtrip(["--version"], server_env, 30),
        "list": servers.roundtrip(["contacts", "list", "--limit", "20"], server_env, 15),
    }
    harness_toggle = Toggle(3)
    jobs = {label: [tail] * 5 for label, tail in [("crm --version", ["--version"]), ("crm --help", ["--help"]), *reads]}
    jobs['crm log REF "…"'] = [["log", ref, "Called about the renewal"]] * 5
    jobs["crm deals move REF STAGE"] = [harness_toggle.argv() for _ in range(6)]  # an even count: ends in Lead
    child = child_times(off, jobs)
    bare = {name for name, *_ in importtime(["-c", "pass"], server_env, repeat=1)}
    own = {name: o for name, _d, o, _c in importtime([crm, "--version"], server_env, repeat=5) if name not in bare}
    client_import = {"total": sum(own.values()), "top": sorted(own.items(), key=lambda kv: -kv[1])[:5]}

    mixed: list[Argv] = [spec for _label, mode, spec, _env in rows if mode == "server"]
    conc_toggles = [Toggle(4), Toggle(5)]
    conc_cmds: list[Argv] = [spec if not isinstance(spec, Toggle) else conc_toggles[0] for spec in mixed] + [
        conc_toggles[1]
    ]
    print("20 clients at once ...", file=sys.stderr)
    concurrency = {"server": at_once(conc_cmds, crm, server_env, args.clients)}
    rss_after_concurrency = servers.rss_mib()
    conc_off = [Toggle(6), Toggle(7)]
    concurrency["in-process"] = at_once(
        [spec if not isinstance(spec, Toggle) else conc_off[0] for spec in mixed] + [conc_off[1]],
        crm,
        off,
        args.clients,
    )

    print("cold starts ...", file=sys.stderr)
    cold_data = cold(servers, crm, ["contacts", "list", "--limit", "20"], auto, off, args.cold_runs or args.runs)
    load["Load average after the cold runs"] = " ".join(f"{x:.2f}" for x in os.getloadavg())

    print(f"memory over {args.memory_commands} commands ...", file=sys.stderr)
    mem_toggle = Toggle(8)
    mem_cmds = [spec if not isinstance(spec, Toggle) else mem_toggle for spec in mixed]
    mem = memory(servers, mem_cmds, crm, server_env, args.memory_commands)
    servers.stop()
    load["Load average at the end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())

    data = {
        "started": started,
        "took": time.perf_counter() - t0,
        "source": source,
        "runs": args.runs,
        "warmup": args.warmup,
        "rows": kinds,
        "wall": wall,
        "cpu": cpu,
        "cold": cold_data,
        "start_s": start_s,
        "memory": mem,
        "rss_after_concurrency": rss_after_concurrency,
        "concurrency": concurrency,
        "clients": args.clients,
        "roundtrip": roundtrip,
        "child": child,
        "client_import": client_import,
        "load": load,
    }
    data["analysis"] = analysis(data)
    text = report(data)
    update(args.results, "latency", text)
    print(text)
    print(f"wrote {args.results}", file=sys.stderr)
    shutil.rmtree(src, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
