"""Benchmark of the cron path, `crm followups overdue --format json`, on a big database.

    python bench/followups.py                      # 100k contacts, 1M follow-ups, 15 runs; updates RESULTS.md
    python bench/followups.py --runs 5 --results /tmp/r.md

The database is generated once, deterministically (seeded), and cached under bench/data/
(git-ignored): the schema comes from crmcli's own migrations (storage.open_engine), the rows
are bulk-inserted with sqlite3 executemany. 100,000 contacts (1 % with a keep-in-touch
cadence, none of those due), 100,000 activities, 1,000,000 follow-ups: 5,000 open and overdue,
45,000 open and due today or later, 950,000 done. Time is frozen (CRM_NOW) at REF.

Measured as fresh processes, round-robin after warm-up runs, stdout to /dev/null:
`crm followups overdue --format json`, the same in plain lines (the cron default), the same
for one owner, a bare sqlite3 + json script running the same SQL (bench/followups_baseline.py),
and the floor `python -c pass` / `python -c "import sqlmodel"`. The report (date, machine,
query plans, medians, ratios, import profile) replaces only the section between
<!-- followups:start --> and <!-- followups:end --> of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import re
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
sys.path.insert(0, str(BENCH))

from run import PYTHON, fresh_db, ts  # noqa: E402

REF = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # "now" for the benchmark (a Monday)
TODAY_START = REF.replace(hour=0)  # TZ=UTC in every run
OWNERS = [f"user{i:02d}" for i in range(20)]
NOTES = ["Send the pricing", "Call back", "Check in", "Send the contract", "Ask for a referral", "Book the QBR"]
START, END = "<!-- followups:start -->", "<!-- followups:end -->"
FORBIDDEN = ("openpyxl", "questionary", "alembic", "dateparser", "icalendar", "pgserver", "phonenumbers")


# ---------------------------------------------------------------- data


def generate(db: Path, *, contacts: int, followups: int, overdue: int, seed: int) -> None:
    """The benchmark database, created by crmcli's migrations and filled with sqlite3."""
    tmp, con = fresh_db(db)
    rng = random.Random(seed)
    started = time.perf_counter()
    with con:
        people = []
        cadence_ids = set(rng.sample(range(1, contacts + 1), k=contacts // 100))
        for i in range(1, contacts + 1):
            created = REF - timedelta(days=rng.randint(30, 900), seconds=rng.randint(0, 86399))
            people.append(
                (
                    i,
                    f"Contact {i}",
                    f"contact {i}",
                    OWNERS[i % len(OWNERS)],
                    "{}",
                    30 if i in cadence_ids else None,
                    ts(created),
                    ts(created),
                )
            )
        con.executemany(
            "INSERT INTO contact (id, name, name_key, owner, custom, cadence_days, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            people,
        )
        acts = []
        for i in range(1, contacts + 1):
            # the cadence contacts were all called in the last 10 days: none of them is due
            days = rng.randint(0, 9) if i in cadence_ids else rng.randint(1, 700)
            at = REF - timedelta(days=days, seconds=rng.randint(0, 86399))
            acts.append((i, "call", "Called", ts(at), OWNERS[i % len(OWNERS)], ts(at)))
        con.executemany(
            'INSERT INTO activity (contact_id, type, text, at, "by", created_at) VALUES (?, ?, ?, ?, ?, ?)', acts
        )
        del people, acts
        upcoming = followups // 20 - overdue  # 5 % open; the rest done
        step = followups // overdue if overdue else followups + 1  # the overdue ones, spread over the ids
        batch: list[tuple] = []
        for i in range(1, followups + 1):
            owner = OWNERS[rng.randrange(len(OWNERS))]
            if i % step == 0 and overdue > 0:
                due, done = TODAY_START - timedelta(days=rng.randint(0, 59), seconds=rng.randint(1, 86399)), None
                overdue -= 1
            elif upcoming > 0 and rng.random() < 0.05:
                due, done = TODAY_START + timedelta(days=rng.randint(0, 120), seconds=rng.randint(0, 86399)), None
                upcoming -= 1
            else:
                due = REF - timedelta(days=rng.randint(1, 1500), seconds=rng.randint(0, 86399))
                done = due + timedelta(hours=rng.randint(0, 72))
            created = due - timedelta(days=rng.randint(1, 30))
            every = "weekly" if rng.random() < 0.03 else None
            batch.append(
                (
                    f"bench-{i}@crmcli",
                    rng.randint(1, contacts),
                    ts(due),
                    rng.choice(NOTES),
                    owner,
                    every,
                    0,
                    "manual",
                    ts(done) if done else None,
                    ts(created),
                    ts(done or created),
                )
            )
            if len(batch) == 50_000:
                con.executemany(
                    "INSERT INTO followup (uid, contact_id, due_at, note, owner, every, from_done, origin, done_at,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    batch,
                )
                batch = []
        if batch:
            con.executemany(
                "INSERT INTO followup (uid, contact_id, due_at, note, owner, every, from_done, origin, done_at,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
    con.execute("PRAGMA journal_mode = WAL")
    con.close()
    tmp.rename(db)
    print(f"generated {db.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def database(args: argparse.Namespace) -> Path:
    """The cached database; regenerated when missing, when this generator changed, or when crmcli's
    schema did (crm would otherwise upgrade the cached file during the first timed run)."""
    from crmcli.storage import SCHEMA_HEAD

    source = Path(__file__).read_bytes()
    marker = hashlib.sha256(source[: source.index(b"def database(")]).hexdigest()[:10]
    db = DATA / f"followups-{args.contacts}-{args.followups}-s{args.seed}-{SCHEMA_HEAD}-{marker}.db"
    if not db.exists():
        DATA.mkdir(exist_ok=True)
        generate(db, contacts=args.contacts, followups=args.followups, overdue=args.overdue, seed=args.seed)
    return db


# ---------------------------------------------------------------- measuring


def crm_script() -> str:
    candidate = Path(PYTHON).parent / "crm"
    if not candidate.exists():
        sys.exit(f"no crm script next to {PYTHON}: run 'pip install -e .' in this environment first")
    return str(candidate)


def bench_env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "PYTHON"))}
    env["CRM_SERVER"] = "0"  # crm in-process, as these figures always were (bench/latency.py: the server)
    env.update({"CRM_DB": str(db), "CRM_NOW": REF.isoformat(), "CRM_USER": "bench", "TZ": "UTC", "LC_ALL": "C.UTF-8"})
    return env


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child: steadier than wall time on a shared machine)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=DATA, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(
    cmds: list[tuple[str, list[str]]], env: dict[str, str], runs: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    times: dict[str, list[float]] = {label: [] for label, _ in cmds}
    cpu: dict[str, list[float]] = {label: [] for label, _ in cmds}
    for _ in range(2):  # warm the page cache and the bytecode
        for _label, argv in cmds:
            run_once(argv, env)
    for _ in range(runs):
        for label, argv in cmds:
            wall, used = run_once(argv, env)
            times[label].append(wall)
            cpu[label].append(used)
    return times, cpu


def wait_idle(limit: float, seconds: int) -> float:
    """Wait up to SECONDS for the 1-minute load average to fall below LIMIT; return it."""
    deadline = time.monotonic() + seconds
    while os.getloadavg()[0] >= limit and time.monotonic() < deadline:
        time.sleep(10)
    return os.getloadavg()[0]


def sent_sql(db: Path) -> list[tuple[str, tuple]]:
    """The statements `crm followups overdue` sends for the dated and the cadence follow-ups."""
    os.environ.update({"CRM_NOW": REF.isoformat(), "TZ": "UTC"})
    time.tzset()
    from sqlalchemy import event

    from crmcli import storage
    from crmcli.domain import followups

    engine, _ = storage.open_engine(str(db))
    sent: list[tuple[str, tuple]] = []

    def grab(conn, cursor, statement, parameters, context, executemany) -> None:
        if "followup" in statement or "cadence_days" in statement:
            sent.append((statement, tuple(parameters)))

    event.listen(engine, "before_cursor_execute", grab)
    with storage.session_scope(str(db)) as s:
        followups.list_followups(s, window="overdue")
        followups.list_followups(s, window="overdue", owner="user07")
    event.remove(engine, "before_cursor_execute", grab)
    storage.dispose_all()
    return sent


def squash(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).replace("( ", "(").replace(" )", ")").strip()


def plans(db: Path, statements: list[tuple[str, tuple]]) -> list[tuple[str, float, list[str]]]:
    """(statement, median ms over 5 runs with sqlite3, EXPLAIN QUERY PLAN lines)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    out = []
    for sql, params in statements:
        lines = [row[-1] for row in con.execute("EXPLAIN QUERY PLAN " + sql, params)]
        took = []
        for _ in range(5):
            start = time.perf_counter()
            con.execute(sql, params).fetchall()
            took.append((time.perf_counter() - start) * 1000)
        out.append((sql, statistics.median(took), lines))
    con.close()
    return out


def import_profile(
    argv: list[str], env: dict[str, str]
) -> tuple[list[tuple[str, int]], list[tuple[str, int]], int, set[str]]:
    """Import time (µs) per top-level package (its modules' own time summed), the slowest single
    modules, the whole import time, and the packages loaded."""
    proc = subprocess.run([PYTHON, "-X", "importtime", *argv], env=env, cwd=DATA, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL)  # fmt: skip
    own: dict[str, int] = {}
    modules: list[tuple[str, int]] = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)", line)
        if m:
            name = m.group(4).split(".")[0]
            own[name] = own.get(name, 0) + int(m.group(1))
            modules.append((m.group(4), int(m.group(1))))
    packages = sorted(own.items(), key=lambda kv: -kv[1])
    return packages, sorted(modules, key=lambda kv: -kv[1]), sum(own.values()), set(own)


PHASES = """
import io, json, sys, time
t0 = time.perf_counter()
from crmcli.cli import app  # typer and the command modules, as the crm script starts
t1 = time.perf_counter()
from crmcli import output, storage
from crmcli.domain import followups
t2 = time.perf_counter()
with storage.session_scope() as s:
    t3 = time.perf_counter()
    rows = followups.list_followups(s, window="overdue")
    t4 = time.perf_counter()
out, sys.stdout = sys.stdout, io.StringIO()
output.emit_list(rows, [], "json")
sys.stdout = out
t5 = time.perf_counter()
print(json.dumps([t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4]))
"""
PHASE_NAMES = ["import typer + commands", "import the database stack + models", "open the database, check the schema",
               "both queries and the records", "JSON"]  # fmt: skip


def phases(env: dict[str, str], runs: int = 7) -> list[float]:
    """Median seconds of each phase of the overdue command, in fresh processes."""
    samples = []
    for _ in range(runs):
        proc = subprocess.run([PYTHON, "-c", PHASES], env=env, cwd=DATA, capture_output=True, text=True, check=True)
        samples.append(json.loads(proc.stdout))
    return [statistics.median(s[i] for s in samples) for i in range(len(PHASE_NAMES))]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}; "
        f"CPython {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )


def update_results(path: Path, body: str) -> None:
    """Replace our section of PATH, keeping everything else; add the section at the end if new."""
    block = f"{START}\n{body.strip()}\n{END}"
    text = path.read_text() if path.exists() else ""
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + block + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + ("\n\n" if text.strip() else "") + block + "\n"
    path.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--followups", type=int, default=1_000_000)
    parser.add_argument("--overdue", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    parser.add_argument("--wait-idle", type=int, default=300, help="wait up to N s for a quiet machine")
    parser.add_argument("--idle-load", type=float, default=0.7, help="quiet: 1-minute load average below this")
    args = parser.parse_args()

    db = database(args)
    env = bench_env(db)
    crm = crm_script()
    before = ts(TODAY_START)
    baseline = [PYTHON, str(BENCH / "followups_baseline.py"), str(db), before]

    # the baseline runs crm's own SQL, and both find the same follow-ups
    from followups_baseline import CADENCE_SQL, OVERDUE_SQL  # type: ignore[import-not-found]

    statements = sent_sql(db)
    assert squash(statements[0][0]) == squash(OVERDUE_SQL), statements[0][0]
    assert squash(statements[1][0]) == squash(CADENCE_SQL), statements[1][0]
    ours = json.loads(subprocess.run([crm, "followups", "overdue", "--format", "json"], env=env, cwd=DATA,
                                     capture_output=True, text=True, check=True).stdout)  # fmt: skip
    bare = json.loads(subprocess.run(baseline, env=env, cwd=DATA, capture_output=True, text=True, check=True).stdout)
    assert [r["id"] for r in ours] == [r["id"] for r in bare] and len(ours) == args.overdue, (len(ours), len(bare))

    cmds = [
        ("python -c pass", [PYTHON, "-c", "pass"]),
        ('python -c "import sqlmodel"', [PYTHON, "-c", "import sqlmodel"]),
        ("bare sqlite3 + json, same SQL", [PYTHON, *baseline[1:]]),
        ("crm followups overdue --format json", [crm, "followups", "overdue", "--format", "json"]),
        ("crm followups overdue (plain, as cron runs it)", [crm, "followups", "overdue"]),
        ("crm followups overdue --owner user07 --format json", [crm, "followups", "overdue", "--owner", "user07",
                                                                "--format", "json"]),
    ]  # fmt: skip
    load_start = wait_idle(args.idle_load, args.wait_idle)
    print(f"measuring {len(cmds)} commands x {args.runs} runs ...", file=sys.stderr)
    times, cpu = measure(cmds, env, args.runs)
    load_end = os.getloadavg()[0]
    med = {label: statistics.median(v) for label, v in times.items()}
    med_cpu = {label: statistics.median(v) for label, v in cpu.items()}
    query = plans(db, statements)
    split = phases(env)
    packages, slowest, total, loaded = import_profile(["-m", "crmcli", "followups", "overdue", "--format", "json"], env)
    heavy_loaded = [m for m in FORBIDDEN if m in loaded]

    json_label = "crm followups overdue --format json"
    sqlmodel_label = 'python -c "import sqlmodel"'
    lines = [
        "## Follow-ups: the cron path (`bench/followups.py`)",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}.",
        f"Database: {args.contacts:,} contacts (1 % with a cadence), {args.contacts:,} activities, "
        f"{args.followups:,} follow-ups ({args.overdue:,} open and overdue, "
        f"{args.followups // 20 - args.overdue:,} open and not yet due, the rest done); "
        f"{db.stat().st_size / 1e6:.0f} MB, no ANALYZE. Time frozen at {REF:%Y-%m-%d %H:%M} UTC, TZ=UTC. "
        f"Medians of {args.runs} fresh processes each, round-robin after 2 warm-up rounds, output to /dev/null "
        "(a shared VM: runs differ by 10-25 %).",
        "",
        f"Load average (1 min) {load_start:.2f} at the start of the timing, {load_end:.2f} at its end.",
        "",
        "| command | median wall | min | max | vs bare sqlite3 | median CPU |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    base = med["bare sqlite3 + json, same SQL"]
    for label, _ in cmds:
        lines.append(
            f"| `{label}` | {med[label] * 1000:.0f} ms | {min(times[label]) * 1000:.0f} ms | "
            f"{max(times[label]) * 1000:.0f} ms | {med[label] / base:.1f}× | {med_cpu[label] * 1000:.0f} ms |"
        )
    lines += [
        "",
        f"`crm followups overdue --format json` takes {med[json_label] / base:.1f}× the bare script and "
        f"{med[json_label] / med[sqlmodel_label]:.2f}× `import sqlmodel` alone: "
        f"{(med[json_label] - med[sqlmodel_label]) * 1000:.0f} ms above the import of the "
        f"database stack, for the session, both queries, {len(ours):,} rows turned into records and JSON.",
        "",
        "Where the time goes inside the command (medians of 7 fresh processes, before interpreter exit): "
        + ", ".join(f"{name} {sec * 1000:.0f} ms" for name, sec in zip(PHASE_NAMES, split, strict=True))
        + ". The first query of a fresh connection also pays for reading its pages into SQLite's cache.",
        "",
        "Query plans (EXPLAIN QUERY PLAN of the statements crm sends; time of the query alone with sqlite3):",
        "",
    ]
    titles = ["overdue, all owners", "keep-in-touch cadences", "overdue, one owner (`--owner user07`)",
              "cadences, one owner"]  # fmt: skip
    for (_sql, ms, plan), title in zip(query, titles, strict=False):
        lines.append(f"- {title}: {ms:.2f} ms")
        lines += [f"  - `{p}`" for p in plan]
    lines += [
        "",
        "The dated follow-ups are read by a range on `ix_followup_open_due (done_at, due_at)` — or, per owner, "
        "`ix_followup_owner_open_due (owner, done_at, due_at)` — already in due order (no sort step), each row "
        "joined by primary key. The cadence query scans `contact` for the few rows with `cadence_days` (there is "
        "no index on it) and finds each one's last activity through `ix_activity_contact_at`. A partial index "
        "`ON contact (cadence_days) WHERE cadence_days IS NOT NULL` would make that scan a search; it would "
        "need a migration, so it is only suggested here.",
        "",
        f"Import profile of the command (`python -X importtime`, each module's own time summed per "
        f"top-level package; {total / 1000:.0f} ms in all):",
        "",
        "| package | import time |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {us / 1000:.0f} ms |" for name, us in packages[:10]]
    lines += ["", "Slowest single modules: " + ", ".join(f"`{n}` {us / 1000:.0f} ms" for n, us in slowest[:8]) + "."]
    lines += [
        "",
        "Not imported: " + ", ".join(f"`{m}`" for m in FORBIDDEN if m not in heavy_loaded)
        + (f". Imported although unused: {', '.join(heavy_loaded)}" if heavy_loaded else "") + ".",
    ]  # fmt: skip
    update_results(args.results, "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    sys.path.insert(0, str(BENCH))
    main()
