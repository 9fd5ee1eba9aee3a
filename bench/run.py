"""The crmcli speed benchmark: wall time of real `crm` runs on a big database, beside the floor.

    python bench/run.py                   # 100k contacts, 15 runs each, writes bench/RESULTS.md
    python bench/run.py --runs 5 --contacts 20000 --results /tmp/r.md

Every command runs as a fresh process, as a user or a script would run it: stdout to
/dev/null (not a terminal, so crm prints plain lines), stdin from /dev/null, CRM_DB set to
the benchmark database. Commands are measured round-robin (run 1 of each, then run 2 of
each, ...) after warm-up runs, so a slow patch of the machine is spread over all of them.
The floor -- `python -c pass`, `import typer`, `import sqlmodel` -- is measured in the same
run, so the numbers can be compared on any machine.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import platform
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
# Every child runs in here: `python -c` puts its working directory first on sys.path, and the
# repository root would shadow the crmcli under test (the installed one, or --ref's export).
RUN_DIR = BENCH / "data"
PYTHON = sys.executable
HEAVY = (
    "sqlmodel",
    "sqlalchemy",
    "pydantic",
    "alembic",
    "openpyxl",
    "questionary",
    "prompt_toolkit",
    "phonenumbers",
    "email_validator",
    "rich",
    "pgserver",
    "psycopg",
)


def crm_script() -> str:
    """The `crm` console script of the interpreter running the benchmark."""
    candidate = Path(PYTHON).parent / "crm"
    if candidate.exists():
        return str(candidate)
    sys.exit(f"no crm script next to {PYTHON}: run 'pip install -e .' in this environment first")


def pick_names(db: Path) -> dict[str, str]:
    """Search terms that exist in the database: a common surname, one person's full name,
    a two-character Chinese given name (below the trigram length: the LIKE path) and a
    three-character Chinese full name (the FTS5 trigram path)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        full = con.execute(
            "SELECT name FROM contact WHERE id = ?",
            (max(1, con.execute("SELECT max(id) FROM contact").fetchone()[0] * 42 // 100),),
        ).fetchone()[0]
        cjk3 = con.execute(
            "SELECT name FROM contact WHERE name LIKE '%伟明' AND length(name) = 3 ORDER BY id LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    return {"surname": "Müller", "full": full, "cjk2": "伟明", "cjk3": cjk3[0] if cjk3 else "张伟明"}


def commands(crm: str, names: dict[str, str]) -> list[tuple[str, list[str], str]]:
    """(label, argv, group); group 'floor' is the interpreter and library baseline."""
    return [
        ("python -c pass", [PYTHON, "-c", "pass"], "floor"),
        ('python -c "import typer"', [PYTHON, "-c", "import typer"], "floor"),
        ('python -c "import sqlmodel"', [PYTHON, "-c", "import sqlmodel"], "floor"),
        ("crm --help", [crm, "--help"], "crm"),
        ("crm contacts list --limit 20", [crm, "contacts", "list", "--limit", "20"], "crm"),
        (
            "crm contacts list --limit 20 --format json",
            [crm, "contacts", "list", "--limit", "20", "--format", "json"],
            "crm",
        ),
        (f"crm search {names['surname']}", [crm, "search", names["surname"]], "crm"),
        (f'crm search "{names["full"]}"', [crm, "search", names["full"]], "crm"),
        (f"crm search {names['cjk2']}", [crm, "search", names["cjk2"]], "crm"),
        (f"crm search {names['cjk3']}", [crm, "search", names["cjk3"]], "crm"),
    ]


def ts(value: datetime) -> str:
    """A time as crmcli stores it on SQLite: naive UTC text with microseconds."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def fresh_db(db: Path) -> tuple[Path, sqlite3.Connection]:
    """A benchmark database to fill: crmcli's migrations create it at DB.tmp (renamed into place
    once filled, so a failed run leaves only that behind), opened with sqlite3 for bulk inserts."""
    from crmcli import storage

    tmp = db.with_suffix(".tmp")
    for stale in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        stale.unlink(missing_ok=True)
    storage.open_engine(str(tmp))
    storage.dispose_all()
    con = sqlite3.connect(tmp)
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    return tmp, con


def bench_env(db: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "PYTHON"))}
    env["CRM_SERVER"] = "0"  # crm in-process, as these figures always were (bench/latency.py: the server)
    env.update({"CRM_USER": "bench", "TZ": "UTC", "LC_ALL": "C.UTF-8", "NO_COLOR": "1"})
    if db is not None:
        env["CRM_DB"] = str(db)
    env.pop("COLUMNS", None)
    return env


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds user+system) of one run. The CPU time is what the child used
    itself, so it is steadier than the wall time when other work shares the machine."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(
        argv,
        env=env,
        cwd=RUN_DIR,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=120,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed ({proc.returncode}): {proc.stderr.decode(errors='replace')[-500:]}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def cpu_busy(seconds: float = 1.0) -> float:
    """Share of all CPUs busy over SECONDS (from /proc/stat), or 0.0 where there is none."""

    def sample() -> tuple[int, int]:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
        return sum(fields), idle

    try:
        total0, idle0 = sample()
        time.sleep(seconds)
        total1, idle1 = sample()
    except (OSError, ValueError, IndexError):
        return 0.0
    return 1.0 - (idle1 - idle0) / max(1, total1 - total0)


def wait_idle(limit: float, threshold: float = 0.15) -> float:
    """Wait (up to LIMIT seconds) until other work leaves the CPUs idle for 3 s in a row.
    Returns the busy share seen last."""
    deadline = time.monotonic() + limit
    quiet = 0
    busy = cpu_busy()
    while time.monotonic() < deadline:
        quiet = quiet + 1 if busy < threshold else 0
        if quiet >= 3:
            break
        print(f"  waiting for an idle machine: CPUs {busy:.0%} busy", file=sys.stderr, end="\r")
        busy = cpu_busy()
    return busy


def check_output(label: str, argv: list[str], env: dict[str, str]) -> int:
    """Lines the command prints, so that a broken command is not timed as a fast one."""
    proc = subprocess.run(argv, env=env, cwd=RUN_DIR, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    if proc.returncode != 0 or not proc.stdout.strip():
        raise SystemExit(f"{label}: exit {proc.returncode}, no output: {proc.stderr.decode(errors='replace')[-500:]}")
    return len(proc.stdout.splitlines())


def measure(
    cmds: list[tuple[str, list[str], str]], env: dict[str, str], runs: int, warmup: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Wall and CPU times per command, measured round-robin after WARMUP rounds."""
    for _ in range(warmup):
        for _label, argv, _group in cmds:
            run_once(argv, env)
    wall: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)
    for i in range(runs):
        for label, argv, _group in cmds:
            w, c = run_once(argv, env)
            wall[label].append(w)
            cpu[label].append(c)
        print(f"  round {i + 1}/{runs}", file=sys.stderr, end="\r")
    print(file=sys.stderr)
    return wall, cpu


# ---------------------------------------------------------------- import profiles

_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def importtime(argv: list[str], env: dict[str, str], repeat: int = 5) -> list[tuple[str, int, int, int]]:
    """(module, depth, self µs, cumulative µs) of `python -X importtime`, the fastest of REPEAT runs per module."""
    best: dict[str, tuple[int, int, int]] = {}
    order: list[str] = []
    for _ in range(repeat):
        proc = subprocess.run(
            [PYTHON, "-X", "importtime", *argv],
            env=env,
            cwd=RUN_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=120,
        )
        for line in proc.stderr.decode(errors="replace").splitlines():
            m = _LINE.match(line)
            if not m:
                continue
            own, cum, depth, name = int(m.group(1)), int(m.group(2)), len(m.group(3)) // 2, m.group(4)
            if name not in best:
                order.append(name)
                best[name] = (depth, own, cum)
            else:
                d, o, c = best[name]
                best[name] = (d, min(o, own), min(c, cum))
    return [(name, *best[name]) for name in order]


def modules_of(profile: list[tuple[str, int, int, int]]) -> set[str]:
    return {name.split(".")[0] for name, *_ in profile}


# ---------------------------------------------------------------- in-process query time

QUERY_SNIPPET = r"""
import json, statistics, sys, time
from crmcli import storage
from crmcli.domain import contacts, search
names = json.loads(sys.argv[1])
jobs = {"crm contacts list --limit 20": lambda s: contacts.list_contacts(s, limit=20)}
for label, term in names.items():
    jobs[label] = (lambda t: lambda s: search.search(s, t))(term)
out = {}
for label, job in jobs.items():
    times = []
    for _ in range(7):
        with storage.session_scope() as s:
            start = time.perf_counter()
            rows = job(s)
            times.append(time.perf_counter() - start)
    out[label] = (statistics.median(times), len(rows))
print(json.dumps(out))
"""


def query_times(env: dict[str, str], search_labels: dict[str, str]) -> dict[str, tuple[float, int]]:
    """The database part alone: the domain function each command calls, timed in one warm process."""
    proc = subprocess.run(
        [PYTHON, "-c", QUERY_SNIPPET, json.dumps(search_labels)],
        env=env,
        cwd=RUN_DIR,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=300,
    )
    if proc.returncode != 0:
        print(f"in-process query timing failed: {proc.stderr.decode(errors='replace')[-500:]}", file=sys.stderr)
        return {}
    return {k: tuple(v) for k, v in json.loads(proc.stdout).items()}  # type: ignore[misc]


def doc_hits(db: Path, names: dict[str, str]) -> dict[str, int]:
    """How many search documents contain each term (what the ranking has to sort)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        sql = "SELECT count(*) FROM search_doc WHERE instr(lower(title || ' ' || body), lower(?)) > 0"
        return {key: con.execute(sql, (term,)).fetchone()[0] for key, term in names.items()}
    finally:
        con.close()


# ---------------------------------------------------------------- machine


def machine() -> dict[str, str]:
    info: dict[str, str] = {}
    try:
        cpu = Path("/proc/cpuinfo").read_text()
        m = re.search(r"^model name\s*:\s*(.+)$", cpu, re.M)
        info["CPU"] = m.group(1).strip() if m else platform.processor() or "?"
    except OSError:
        info["CPU"] = platform.processor() or "?"
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info["Cores"] = f"{usable} usable (os.cpu_count() = {os.cpu_count()})"
    try:
        m = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
        info["RAM"] = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB" if m else "?"
    except OSError:
        info["RAM"] = "?"
    info["OS"] = platform.platform()
    info["Python"] = f"{platform.python_version()} ({platform.python_implementation()}, {PYTHON})"
    info["SQLite"] = sqlite3.sqlite_version
    versions = []
    for dist in ("crmcli", "typer", "click", "rich", "sqlmodel", "sqlalchemy", "pydantic", "alembic"):
        try:
            versions.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            pass
    info["Packages"] = ", ".join(versions)
    try:
        rev = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", "crmcli"], capture_output=True, text=True
        ).stdout.strip()
        info["Repository HEAD"] = rev + (" (crmcli/ has uncommitted changes)" if dirty else "")
    except OSError:
        pass
    return info


def db_counts(db: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return {
            t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("contact", "company", "contact_email", "contact_phone", "activity", "search_doc")
        }
    finally:
        con.close()


# ---------------------------------------------------------------- report


def fmt_s(value: float) -> str:
    return f"{value:.3f}"


def report(
    args: argparse.Namespace,
    db: Path,
    gen_note: str,
    cmds: list,
    times: dict[str, list[float]],
    cpu: dict[str, list[float]],
    lines: dict[str, int],
    hits: dict[str, int],
    names: dict[str, str],
    queries: dict[str, tuple[float, int]],
    profiles: dict[str, list],
    started: datetime,
    wall: float,
    load: dict[str, str],
    source: str,
) -> str:
    med = {label: statistics.median(ts) for label, ts in times.items()}
    base = med['python -c "import sqlmodel"']
    counts = db_counts(db)
    out: list[str] = []
    w = out.append
    w("# crmcli speed benchmark\n")
    w(
        f"Generated by `python bench/run.py` on {started.strftime('%a %d %b %Y %H:%M:%S UTC')} "
        f"(the whole run took {wall:.0f} s). Re-run it to refresh this file.\n"
    )
    w("## Result\n")
    w(
        f"Median wall time of {args.runs} runs per command (after {args.warmup} warm-up runs), each a fresh process "
        "with stdout to /dev/null (so `crm` prints plain lines, as in a pipe), measured round-robin in the same run "
        f"as the floor. Database: {counts['contact']:,} contacts (see below).\n"
    )
    w("| command | median s | min s | max s | × import sqlmodel | vs import sqlmodel s | median CPU s | output lines |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, _argv, group in cmds:
        ts = times[label]
        name = f"**{label}**" if group == "floor" else f"`{label}`"
        diff = med[label] - base
        w(
            f"| {name} | {fmt_s(med[label])} | {fmt_s(min(ts))} | {fmt_s(max(ts))} | {med[label] / base:.2f} | "
            f"{diff:+.3f} | {fmt_s(statistics.median(cpu[label]))} | {lines.get(label, '')} |"
        )
    w("")
    w(
        "Median, min and max are wall time; CPU is the user + system time of the process itself (steadier than "
        "wall time when something else shares the machine). Output lines: what the command printed in a pipe.\n"
    )
    w(
        "The floor (bold) is the same interpreter starting with nothing, with `import typer` (the CLI library) and "
        "with `import sqlmodel` (SQLModel, pulling in pydantic and SQLAlchemy): a `crm` command that reads the "
        "database cannot start faster than the last of these unless it stops importing SQLModel.\n"
    )

    w("### The database part alone\n")
    w(
        "The domain function each command calls (`contacts.list_contacts(limit=20)`, `search.search(term)`), "
        "timed inside one warm process (median of 7), so this is query and row-building time without start-up:\n"
    )
    w("| command | in-process s | rows | search documents containing the term |")
    w("|---|---:|---:|---:|")
    key_of = {
        f"crm search {names['surname']}": "surname",
        f'crm search "{names["full"]}"': "full",
        f"crm search {names['cjk2']}": "cjk2",
        f"crm search {names['cjk3']}": "cjk3",
    }
    for label, (seconds, rows) in queries.items():
        w(f"| `{label}` | {seconds:.4f} | {rows} | {hits.get(key_of.get(label, ''), '') if label in key_of else ''} |")
    w("")
    w(
        f"`{names['cjk2']}` is two characters, shorter than a trigram, so crmcli filters it with "
        "`lower(title) LIKE … OR lower(body) LIKE …` over every row of `search_doc` (a full scan) instead of "
        "the FTS5 index; three characters and more use the index.\n"
    )

    w("## What the start-up imports\n")
    w("Modules each command loads (from `python -X importtime <crm script> …`; ✓ = imported):\n")
    crm_cmds = [(label, argv) for label, argv, group in cmds if group == "crm"]
    w("| command | " + " | ".join(HEAVY) + " |")
    w("|---|" + "|".join(":-:" for _ in HEAVY) + "|")
    for label, _argv in crm_cmds:
        mods = modules_of(profiles[label])
        w(f"| `{label}` | " + " | ".join("✓" if h in mods else "" for h in HEAVY) + " |")
    w("")
    prof = profiles["crm contacts list --limit 20"]
    total = sum(own for _n, _d, own, _c in prof)
    w("### Profile of `crm contacts list --limit 20`\n")
    w(
        f"`python -X importtime` (fastest of 5 runs per module; importtime itself adds overhead, so read the shares, "
        f"not the absolute numbers). All imports: {total / 1000:.0f} ms self time, "
        f"against a median of {med['crm contacts list --limit 20'] * 1000:.0f} ms for the whole command.\n"
    )
    w("Top 10 modules by cumulative import time (depth 0 = imported by the script itself):\n")
    w("| module | depth | cumulative ms | self ms |")
    w("|---|---:|---:|---:|")
    for name, depth, own, cum in sorted(prof, key=lambda r: -r[3])[:10]:
        w(f"| `{name}` | {depth} | {cum / 1000:.1f} | {own / 1000:.1f} |")
    w("")
    by_pkg = package_self(prof)
    top = sorted(by_pkg.items(), key=lambda kv: -kv[1])[:10]
    w("Self time summed per top-level package (where the time really goes):\n")
    w("| package | self ms | share of all imports |")
    w("|---|---:|---:|")
    for pkg, own in top:
        w(f"| `{pkg}` | {own / 1000:.1f} | {own / total:.0%} |")
    w("")
    w("### What dominates\n")
    w(dominates(med, base, queries, profiles, names))
    w("")

    w("## Machine\n")
    w("| | |")
    w("|---|---|")
    w(f"| Date | {started.strftime('%a %d %b %Y %H:%M:%S UTC')} |")
    for key, value in machine().items():
        w(f"| {key} | {value} |")
    w(f"| crmcli benchmarked | {source} |")
    w(f"| Runs | {args.runs} measured + {args.warmup} warm-up per command, round-robin |")
    for key, value in load.items():
        w(f"| {key} | {value} |")
    w("")
    w("## Database\n")
    w(
        f"`{db.relative_to(ROOT) if db.is_relative_to(ROOT) else db}` — {gen_note}: "
        f"{counts['contact']:,} contacts, {counts['company']:,} companies, {counts['contact_email']:,} emails, "
        f"{counts['contact_phone']:,} phones, {counts['activity']:,} activities, {counts['search_doc']:,} search "
        f"documents; {db.stat().st_size / 1e6:.0f} MB. Schema by crmcli's own migrations; rows written as "
        "crmcli writes them (see bench/generate.py). No `ANALYZE` is run, as crmcli does not run it either.\n"
    )
    w(
        f"Search terms: surname `{names['surname']}`, full name `{names['full']}`, "
        f"Chinese given name `{names['cjk2']}` (2 characters), Chinese full name `{names['cjk3']}` (3 characters).\n"
    )
    return "\n".join(out)


def package_self(profile: list[tuple[str, int, int, int]]) -> dict[str, int]:
    """Import self time (µs) summed per top-level package."""
    out: dict[str, int] = defaultdict(int)
    for name, _depth, own, _cum in profile:
        out[name.split(".")[0]] += own
    return out


def dominates(
    med: dict[str, float],
    base: float,
    queries: dict[str, tuple[float, int]],
    profiles: dict[str, list],
    names: dict[str, str],
) -> str:
    """A few sentences derived from this run's numbers."""
    lst = med["crm contacts list --limit 20"]
    json_label = "crm contacts list --limit 20 --format json"
    typer_floor = med['python -c "import typer"']
    prof = profiles["crm contacts list --limit 20"]
    by_pkg = package_self(prof)
    total = sum(by_pkg.values()) or 1
    pkgs = sorted(by_pkg.items(), key=lambda kv: -kv[1])
    stack = {"pydantic", "pydantic_core", "sqlalchemy", "sqlmodel", "annotated_types", "typing_inspection"}
    orm = sum(v for k, v in by_pkg.items() if k in stack)
    cli = sum(v for k, v in by_pkg.items() if k in {"typer", "click", "rich", "shellingham"})
    own = by_pkg.get("crmcli", 0)
    q_list = queries.get("crm contacts list --limit 20", (0.0, 0))[0]
    parts = [
        f"**Start-up imports dominate.** `crm contacts list --limit 20` takes {lst:.3f} s, "
        f"{lst / base:.2f}× `import sqlmodel` ({base:.3f} s, difference {lst - base:+.3f} s), while its queries "
        f"take {q_list * 1000:.1f} ms in a warm process. Of its import time, SQLModel's stack (SQLAlchemy, "
        f"pydantic, sqlmodel) is {orm / total:.0%}, typer/click/rich {cli / total:.0%} and crmcli's own modules "
        f"{own / total:.0%}; the largest packages are "
        + ", ".join(f"{k} ({v / 1000:.0f} ms self)" for k, v in pkgs[:4])
        + "."
    ]
    extra = [h for h in ("phonenumbers", "email_validator", "rich") if h in by_pkg]
    if extra:
        parts.append(
            "Beyond the database stack the plain listing also imports "
            + ", ".join(f"{h} ({by_pkg[h] / 1000:.0f} ms self)" for h in extra)
            + (
                ", which formats the phone column; the JSON listing prints E.164 and skips it"
                if "phonenumbers" in extra
                else ""
            )
            + f" (plain {lst:.3f} s, JSON {med.get(json_label, 0):.3f} s)."
        )
    if any(name == "typer._adapters" for name, *_ in prof):
        cum = max(c for name, _d, _o, c in prof if name == "typer._adapters")
        parts.append(
            f"Typer itself loads `typer._adapters` ({cum / 1000:.0f} ms cumulative) to build pydantic "
            "TypeAdapters for the command's parameters when it runs one."
        )
    help_pkgs = package_self(profiles["crm --help"])
    help_total = sum(help_pkgs.values()) or 1
    top_help = sorted(help_pkgs.items(), key=lambda kv: -kv[1])[:3]
    db_free = not ({"sqlalchemy", "sqlmodel"} & set(help_pkgs))
    parts.append(
        f"`crm --help` takes {med['crm --help']:.3f} s, {med['crm --help'] - typer_floor:+.3f} s beyond "
        f"`import typer` ({typer_floor:.3f} s); "
        + ("it loads none of the database stack; " if db_free else "it DOES load the database stack; ")
        + "its imports are led by "
        + ", ".join(f"{k} ({v / help_total:.0%})" for k, v in top_help)
        + "."
    )
    searches = {k: v for k, v in queries.items() if k.startswith("crm search")}
    if searches:
        label, (seconds, _rows) = max(searches.items(), key=lambda kv: kv[1][0])
        parts.append(
            f"The slowest search query is `{label}` at {seconds * 1000:.0f} ms in-process "
            f"(wall {med.get(label, 0):.3f} s)"
            + (
                f": `{names['cjk2']}` is shorter than a trigram, so it is a LIKE scan of every search "
                "document, which grows with the database."
                if names["cjk2"] in label
                else "."
            )
        )
    return " ".join(parts)


def export_source(ref: str) -> tuple[Path, str]:
    """crmcli/ as committed at REF, unpacked under bench/data/ (to benchmark a commit while the
    working tree is being edited). Returns (directory for PYTHONPATH, short commit id)."""
    sha = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", f"{ref}^{{commit}}"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dest = BENCH / "data" / f"src-{sha}"
    if not (dest / "crmcli" / "cli.py").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", sha, "crmcli"], capture_output=True, check=True
        ).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
    return dest, sha


def schema_head(env: dict[str, str]) -> str:
    """The schema revision the crmcli under test expects (a database at another one would be migrated)."""
    return subprocess.run(
        [PYTHON, "-c", "from crmcli.storage import SCHEMA_HEAD; print(SCHEMA_HEAD)"],
        env=env,
        cwd=RUN_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def db_revision(db: Path) -> str | None:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT version_num FROM alembic_version").fetchone()[0]
    except sqlite3.Error:
        return None
    finally:
        con.close()


def ensure_db(args: argparse.Namespace, env: dict[str, str]) -> tuple[Path, str]:
    """The benchmark database, generated when missing or stale; (path, how it was made)."""
    head = schema_head(env)
    if args.db is not None:
        if not args.db.exists() or db_revision(args.db) != head:
            sys.exit(
                f"{args.db}: missing or not at schema {head}; crm would migrate it (leave out --db to generate one)"
            )
        return args.db, f"given with --db, schema {head}"
    db = BENCH / "data" / f"crm-{args.contacts}-s{args.seed}.db"
    meta_path = db.with_suffix(".json")
    want = {
        "contacts": args.contacts,
        "seed": args.seed,
        "schema": head,
        "generator": hashlib.sha256((BENCH / "generate.py").read_bytes()).hexdigest()[:16],
    }
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if not db.exists() or db_revision(db) != head or {k: meta.get(k) for k in want} != want:
        print(f"generating {db} ...", file=sys.stderr)
        start = time.perf_counter()
        gen = [PYTHON, str(BENCH / "generate.py"), "--contacts", str(args.contacts), "--seed", str(args.seed)]
        subprocess.run([*gen, "--out", str(db), "--force"], env=env, cwd=RUN_DIR, check=True)
        meta = {**want, "seconds": round(time.perf_counter() - start, 1)}
        meta_path.write_text(json.dumps(meta, indent=2) + "\n")
    took = f", generated in {meta['seconds']:.0f} s" if "seconds" in meta else ""
    return db, f"made by `bench/generate.py --contacts {args.contacts} --seed {args.seed}` at schema {head}{took}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=100_000, help="database size (default 100000)")
    parser.add_argument("--seed", type=int, default=1, help="generator seed (default 1)")
    parser.add_argument("--runs", type=int, default=15, help="measured runs per command (default 15)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up runs per command (default 2)")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=300,
        help="wait up to this many seconds for the CPUs to be idle (default 300; 0: no wait)",
    )
    parser.add_argument(
        "--ref",
        default=None,
        help="benchmark crmcli as committed at this git revision (e.g. HEAD) instead of the working tree",
    )
    parser.add_argument(
        "--db", type=Path, default=None, help="database (default: bench/data/crm-N-sSEED.db, made if missing)"
    )
    parser.add_argument("--results", type=Path, default=BENCH / "RESULTS.md", help="report (default bench/RESULTS.md)")
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    RUN_DIR.mkdir(parents=True, exist_ok=True)

    base_env = bench_env(None)
    source = "working tree"
    if args.ref:
        src, sha = export_source(args.ref)
        base_env["PYTHONPATH"] = str(src)
        source = f"commit {sha} (`--ref {args.ref}`, run from an export of crmcli/ at that commit)"
    db, gen_note = ensure_db(args, base_env)
    env = {**base_env, "CRM_DB": str(db)}
    crm = crm_script()
    names = pick_names(db)
    cmds = commands(crm, names)

    print("checking every command works ...", file=sys.stderr)
    lines = {label: check_output(label, argv, env) for label, argv, _g in cmds if _g == "crm"}
    load: dict[str, str] = {}
    if args.wait_idle > 0:
        busy = wait_idle(args.wait_idle)
        load["CPU busy before the run"] = f"{busy:.0%} (other work; waited up to {args.wait_idle:.0f} s for < 15 %)"
    load["Load average at start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"measuring {len(cmds)} commands × {args.runs} runs ...", file=sys.stderr)
    times, cpu = measure(cmds, env, args.runs, args.warmup)
    load["Load average at end of timing"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print("profiling imports ...", file=sys.stderr)
    profiles = {
        label: importtime(argv, env, repeat=5 if label == "crm contacts list --limit 20" else 1)
        for label, argv, group in cmds
        if group == "crm"
    }
    print("timing the queries in-process ...", file=sys.stderr)
    search_terms = {label: argv[-1] for label, argv, group in cmds if group == "crm" and argv[1] == "search"}
    queries = query_times(env, search_terms)
    hits = doc_hits(db, names)
    text = report(
        args,
        db,
        gen_note,
        cmds,
        times,
        cpu,
        lines,
        hits,
        names,
        queries,
        profiles,
        started,
        time.perf_counter() - t0,
        load,
        source,
    )
    from sections import keep  # the sections other benchmarks own stay in the file

    args.results.write_text(keep(args.results, text))
    print(text.split("## What the start-up imports")[0])
    print(f"wrote {args.results}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
