"""Benchmark of `crm kpi --period quarter` on 200,000 deals, 1,000,000 stage-history rows and
1,000,000 activities.

    python bench/kpi.py                  # builds bench/data/kpi-….db once (~2 min), then times (~2 min)
    python bench/kpi.py --runs 5 --results /tmp/r.md

The database is generated once, deterministically (seeded), and cached under bench/data/
(git-ignored): the schema by crmcli's own migrations (storage.open_engine), the rows bulk-inserted
with sqlite3 executemany. 200,000 deals created over three years in the default pipeline, walked
stage by stage (40 % still open, a quarter won, the rest lost with a reason, 1 % reopened after
being lost), padded with backward moves to 1,000,000 stage-history rows; 50,000 contacts, 5,000
companies, 1,000,000 activities, 100,000 follow-ups. Time is frozen (CRM_NOW) at REF.

Measured as fresh processes, round-robin after warm-up runs, stdout to /dev/null:
`crm kpi --period quarter` (plain lines, as in a pipe, and JSON), a bare sqlite3 script running
the very statements crm sends (recorded from crm itself, bench/kpi_baseline.py), and the floor
`python -c pass` / `python -c "import sqlmodel"`. The report (medians, query plans, the time of
each statement) replaces only the <!-- kpi:start --> section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
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

from run import PYTHON, crm_script, fresh_db, machine, measure, ts, wait_idle  # noqa: E402
from sections import update  # noqa: E402

REF = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # "now" for the benchmark: day 54 of Q4 2026
OWNERS = [f"user{i:02d}" for i in range(20)]
REASONS = ["price", "timing", "competitor", "no budget", "no decision", "went silent", None]
TYPES = ["call", "call", "email", "email", "meeting", "note"]


# ---------------------------------------------------------------- data


def generate(db: Path, *, deals: int, history: int, activities: int, seed: int) -> None:
    tmp, con = fresh_db(db)
    rng = random.Random(seed)
    started = time.perf_counter()
    stage_rows = con.execute("SELECT id, name, kind FROM stage WHERE pipeline_id = 1 ORDER BY position").fetchall()
    con.execute("UPDATE stage SET rot_days = 21 WHERE id = ?", (stage_rows[1][0],))
    con.execute("UPDATE stage SET rot_days = 14 WHERE id = ?", (stage_rows[2][0],))
    open_stages = [s for s in stage_rows if s[2] == "open"]
    won = next(s for s in stage_rows if s[2] == "won")
    lost = next(s for s in stage_rows if s[2] == "lost")
    span = 3 * 365 * 86400
    n_companies, n_contacts = 5_000, 50_000
    with con:
        con.executemany(
            "INSERT INTO company (id, name, name_key, owner, custom, created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
            [
                (i, f"Company {i}", f"company {i}", OWNERS[i % 20], "{}", ts(c), ts(c))
                for i in range(1, n_companies + 1)
                for c in [REF - timedelta(seconds=rng.randint(0, span))]
            ],
        )
        people = []
        contact_created = {}
        for i in range(1, n_contacts + 1):
            created = REF - timedelta(seconds=rng.randint(3600, span))
            contact_created[i] = created
            people.append((i, f"Contact {i}", f"contact {i}", 1 + i % n_companies, OWNERS[i % 20], "{}", ts(created),
                           ts(created)))  # fmt: skip
        con.executemany(
            "INSERT INTO contact (id, name, name_key, company_id, owner, custom, created_at, updated_at) "
            "VALUES (?,?,?,?,?,?,?,?)",
            people,
        )
        deal_rows, walks = [], []
        for deal_id in range(1, deals + 1):
            created = REF - timedelta(seconds=rng.randint(86400, span))
            roll = rng.random()
            reached = rng.randint(0, len(open_stages) - 1)
            final = None if roll < 0.40 else (won if roll < 0.65 else lost)
            if final is won:
                reached = len(open_stages) - 1 if rng.random() < 0.7 else reached
            path = [*open_stages[: reached + 1]] + ([final] if final else [])
            walk, when, before = [], created, None
            for stage in path:
                if when >= REF:
                    break
                walk.append((before, stage, when))
                before = stage
                when += timedelta(days=rng.randint(1, 20), hours=rng.randint(0, 23))
            if walk[-1][1] is lost and rng.random() < 0.01 and when < REF:  # reopened after being lost
                walk.append((lost, open_stages[reached], when))
                when += timedelta(days=rng.randint(1, 20))
                if when < REF and rng.random() < 0.5:
                    walk.append((open_stages[reached], won, when))
            walks.append((deal_id, walk))
            stage, at = walk[-1][1], walk[-1][2]
            status = stage[2]
            amount = rng.choice([120000, 480000, 990000, 1200000, 2400000, 6000000]) + rng.randint(0, 99) * 100
            contact = rng.randint(1, n_contacts)
            deal_rows.append((
                deal_id, f"Deal {deal_id}", f"deal {deal_id}", 1, stage[0], contact, 1 + contact % n_companies,
                amount, "USD" if deal_id % 7 == 0 else "EUR",
                (created + timedelta(days=rng.randint(20, 150))).date().isoformat(), OWNERS[deal_id % 20], status,
                ts(at), ts(at) if status != "open" else None, rng.choice(REASONS) if status == "lost" else None,
                "{}", ts(created), ts(at),
            ))  # fmt: skip
        con.executemany(
            "INSERT INTO deal (id, title, title_key, pipeline_id, stage_id, contact_id, company_id, amount_minor, "
            "currency, close_date, owner, status, stage_entered_at, closed_at, lost_reason, custom, created_at, "
            "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            deal_rows,
        )
        del deal_rows
        # pad with back-and-forth moves (Qualified → Lead → Qualified), as real pipelines have
        total = sum(len(w) for _, w in walks)
        i = 0
        while total < history:
            _deal_id, walk = walks[i % len(walks)]
            i += 1
            if len(walk) < 2 or walk[1][1] is not open_stages[1]:
                continue
            at = walk[1][2]
            walk[2:2] = [(open_stages[1], open_stages[0], at + timedelta(minutes=1)),
                         (open_stages[0], open_stages[1], at + timedelta(minutes=2))]  # fmt: skip
            total += 2
        con.executemany(
            "INSERT INTO stage_history (deal_id, from_stage_id, from_stage, to_stage_id, to_stage, at, by) "
            "VALUES (?,?,?,?,?,?,?)",
            (
                (deal_id, b[0] if b else None, b[1] if b else None, a[0], a[1], ts(at), OWNERS[deal_id % 20])
                for deal_id, walk in walks
                for b, a, at in walk
            ),
        )
        del walks

        def acts():  # noqa: ANN202
            for _ in range(activities):
                contact = rng.randint(1, n_contacts)
                base = contact_created[contact]
                # most activity follows soon after a contact appears; the rest spreads over its life
                if rng.random() < 0.3:
                    at = base + timedelta(hours=rng.expovariate(1 / 30))
                else:
                    at = base + (REF - base) * rng.random()
                at = min(at, REF - timedelta(minutes=1))
                kind = rng.choice(TYPES)
                yield (contact, kind, f"{kind} {contact}", ts(at), OWNERS[contact % 20], ts(at))

        con.executemany(
            'INSERT INTO activity (contact_id, type, text, at, "by", created_at) VALUES (?,?,?,?,?,?)', acts()
        )

        def follow():  # noqa: ANN202
            for i in range(1, 100_001):
                due = REF + timedelta(seconds=rng.randint(-365 * 86400, 60 * 86400))
                done = None
                if due < REF and rng.random() < 0.9:
                    done = due + timedelta(hours=rng.choice([1, 2, 5, 20, 30, 60, 120]))
                created = due - timedelta(days=rng.randint(1, 30))
                yield (f"kpi-{i}@crmcli", rng.randint(1, n_contacts), ts(due), "Call back", OWNERS[i % 20], 0,
                       "manual", ts(done) if done else None, ts(created), ts(done or created))  # fmt: skip

        con.executemany(
            "INSERT INTO followup (uid, contact_id, due_at, note, owner, from_done, origin, done_at, created_at, "
            "updated_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            follow(),
        )
    con.execute("PRAGMA journal_mode = WAL")
    con.close()
    tmp.rename(db)
    print(f"generated {db.name} in {time.perf_counter() - started:.0f} s", file=sys.stderr)


def database(args: argparse.Namespace) -> Path:
    """The cached database, named after this generator and the schema: regenerated when either changes."""
    from crmcli.storage import SCHEMA_HEAD

    source = Path(__file__).read_bytes()
    marker = hashlib.sha256(source[: source.index(b"def database(")]).hexdigest()[:10]
    db = DATA / f"kpi-{args.deals}-s{args.seed}-{SCHEMA_HEAD}-{marker}.db"
    if not db.exists():
        DATA.mkdir(exist_ok=True)
        generate(db, deals=args.deals, history=args.history, activities=args.activities, seed=args.seed)
    return db


# ---------------------------------------------------------------- measuring


def bench_env(db: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "PYTHON"))}
    env["CRM_SERVER"] = "0"  # crm in-process, as these figures always were (bench/latency.py: the server)
    env.update({"CRM_DB": str(db), "CRM_NOW": REF.isoformat(), "CRM_USER": "bench", "TZ": "UTC", "LC_ALL": "C.UTF-8",
                "NO_COLOR": "1"})  # fmt: skip
    env.pop("COLUMNS", None)
    return env


RECORD = """
import json, sys, time
from sqlalchemy import event
from crmcli import storage
from crmcli.analytics.summary import kpi_summary
from crmcli.values import periods
engine, _ = storage.open_engine(sys.argv[1])
sent = []
record = lambda c, cur, sql, params, ctx, many: sent.append([sql, list(params)])  # noqa: E731
event.listen(engine, "before_cursor_execute", record)
with storage.session_scope(sys.argv[1]) as s:
    t = time.perf_counter()
    data = kpi_summary(s, periods.window("quarter"))
    first = time.perf_counter() - t
    event.remove(engine, "before_cursor_execute", record)
    t = time.perf_counter()
    kpi_summary(s, periods.window("quarter"))
    took = time.perf_counter() - t
statements = [x for x in sent if "alembic_version" not in x[0] and not x[0].lstrip().upper().startswith("BEGIN")]
print(json.dumps({"statements": statements, "seconds": took, "first": first,
                  "figures": {f["key"] + (":" + f["currency"] if f["currency"] else ""): str(f["current"])
                              for f in data["figures"]}}))
"""


def record(db: Path, env: dict[str, str]) -> dict:
    """The statements `crm kpi --period quarter` sends, recorded from crmcli itself, and its in-process time."""
    proc = subprocess.run([PYTHON, "-c", RECORD, str(db)], env=env, cwd=DATA, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(proc.stderr[-2000:])
    return json.loads(proc.stdout)


def squash(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def plans(db: Path, statements: list) -> list[tuple[str, float, int, list[str]]]:
    """(statement, median ms of 3 runs with sqlite3, rows, EXPLAIN QUERY PLAN lines) of each statement."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    out = []
    for sql, params in statements:
        lines = [row[-1] for row in con.execute("EXPLAIN QUERY PLAN " + sql, params)]
        took, rows = [], 0
        for _ in range(3):
            start = time.perf_counter()
            rows = len(con.execute(sql, params).fetchall())
            took.append((time.perf_counter() - start) * 1000)
        out.append((sql, statistics.median(took), rows, lines))
    con.close()
    return out


def what(sql: str) -> str:
    """A short name for a statement, for the report."""
    s = squash(sql)
    checks = [
        ("julianday(contact.created_at)) * ? AS x", "speed to lead: median (ranks)"),
        ("deal.amount_minor AS x", "won deal size: median per currency (ranks)"),
        ("row_number() OVER", "sales cycle: median and 80th pct (ranks)"),
        ("count(distinct(stage_history.deal_id))", "stage entries (previous period)"),
        ("count(deal.amount_minor) AS count_1, sum", "won deal size: average"),
        ("min(activity.at)", "speed to lead: contacts reached"),
        ("FROM stage_history AS later", "stage conversion"),
        ("JOIN stage_history ON stage_history.id = (SELECT", "open pipeline at the period start (history)"),
        ("deal.stage_id IN", "open pipeline (deal table)"),
        ("lost_reason", "lost reasons"),
        ("deal.status IN", "won and lost"),
        ("deal.close_date", "forecast"),
        ("FROM followup", "follow-ups by local due day"),
        ("FROM activity", "activities per owner"),
        ("FROM contact", "new contacts"),
        ("FROM company", "new companies"),
        ("FROM stage JOIN pipeline", "stages"),
        ("FROM pipeline", "pipelines"),
        ("FROM target", "targets"),
    ]
    for needle, name in checks:
        if needle.lower() in s.lower():
            return name
    return s[:60]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=200_000)
    parser.add_argument("--history", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--results", type=Path, default=BENCH / "RESULTS.md")
    args = parser.parse_args()
    db = database(args)
    env = bench_env(db)
    crm = crm_script()
    recorded = record(db, env)
    statements = recorded["statements"]
    sql_file = DATA / f"{db.stem}-kpi-sql.json"
    sql_file.write_text(json.dumps(statements))
    baseline = [PYTHON, str(BENCH / "kpi_baseline.py"), str(db), str(sql_file)]
    bare = json.loads(subprocess.run(baseline, env=env, cwd=DATA, capture_output=True, text=True, check=True).stdout)
    ours = json.loads(subprocess.run([crm, "kpi", "--period", "quarter", "--format", "json"], env=env, cwd=DATA,
                                     capture_output=True, text=True, check=True).stdout)  # fmt: skip
    assert bare["statements"] == len(statements), bare
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("deal", "stage_history", "activity", "contact", "company", "followup")}  # fmt: skip
    con.close()
    cmds = [
        ("python -c pass", [PYTHON, "-c", "pass"], "floor"),
        ('python -c "import sqlmodel"', [PYTHON, "-c", "import sqlmodel"], "floor"),
        ("bare sqlite3 script, the same SQL", baseline, "floor"),
        ("crm kpi --period quarter", [crm, "kpi", "--period", "quarter"], "crm"),
        ("crm kpi --period quarter --format json", [crm, "kpi", "--period", "quarter", "--format", "json"], "crm"),
    ]
    wait_idle(60)
    print(f"measuring {len(cmds)} commands x {args.runs} runs ...", file=sys.stderr)
    wall, cpu = measure(cmds, env, args.runs, 2)
    med = {label: statistics.median(v) for label, v in wall.items()}
    query = plans(db, statements)
    base, floor = med["bare sqlite3 script, the same SQL"], med['python -c "import sqlmodel"']
    kpi_label = "crm kpi --period quarter"
    figures = ours["figures"]

    def fig(key: str, currency: str | None = None) -> str:
        for f in figures:
            if f["key"] == key and f["currency"] == currency:
                return str(f["current"])
        return "—"

    lines = [
        "## `crm kpi --period quarter` on 200,000 deals (`bench/kpi.py`)",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Database: {counts['deal']:,} deals, {counts['stage_history']:,} "
        f"stage-history rows, {counts['activity']:,} activities, {counts['contact']:,} contacts, "
        f"{counts['company']:,} companies, {counts['followup']:,} follow-ups; {db.stat().st_size / 1e6:.0f} MB, "
        f"built by `bench/kpi.py` (deterministic, seed {args.seed}), no ANALYZE. Time frozen at "
        f"{REF:%Y-%m-%d %H:%M} UTC (Q4 2026 against Q3), TZ=UTC.",
        "",
        f"Median wall time of {args.runs} fresh processes each (after 2 warm-ups, round-robin, output to a pipe):",
        "",
        "| command | median s | min s | max s | vs import sqlmodel s | median CPU s |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for label, _argv, _group in cmds:
        w = wall[label]
        lines.append(
            f"| {label} | {statistics.median(w):.3f} | {min(w):.3f} | {max(w):.3f} | "
            f"{statistics.median(w) - floor:+.3f} | {statistics.median(cpu[label]):.3f} |"
        )
    total_ms = sum(q[1] for q in query)
    lines += [
        "",
        f"`crm kpi --period quarter` takes {med[kpi_label]:.2f} s: {med[kpi_label] - floor:+.2f} s beside `import "
        f"sqlmodel` ({floor:.2f} s) and {med[kpi_label] - base:+.2f} s beside the bare sqlite3 script ({base:.2f} s), "
        f"which runs the same {len(statements)} statements (recorded from crm itself) with nothing but the "
        f"standard library. The rest, {(med[kpi_label] - base - (floor - med['python -c pass'])) * 1000:.0f} ms, "
        "is Typer, Rich and crmcli's own modules and building the statements with SQLAlchemy. `kpi_summary()` "
        f"takes {recorded['first'] * 1000:.0f} ms the first time in a process (cold SQLite cache, statements "
        f"compiled) and {recorded['seconds'] * 1000:.0f} ms the second; the statements run one by one with "
        f"sqlite3 take {total_ms:.0f} ms in all (below). Every count, sum, "
        f"median and percentile comes from SQL: the {len(statements)} statements return "
        f"{sum(q[2] for q in query)} rows in all.",
        "",
        f"Figures for Q4 2026 (so the numbers can be checked): won {fig('won_count')} deals, "
        f"€{fig('won_value', 'EUR')} + ${fig('won_value', 'USD')}; win rate {fig('win_rate')} %; median cycle "
        f"{fig('cycle_median_days')} d (80th pct {fig('cycle_p80_days')} d); {fig('open_deals')} open deals, "
        f"{fig('stalled')} stalled; {fig('activities')} activities; speed to lead {fig('speed_to_lead_hours')} h.",
        "",
        "Each statement with its time alone (sqlite3, median of 3) and its query plan:",
        "",
        "| statement | ms | rows | plan |",
        "|---|---:|---:|---|",
    ]
    for sql, ms, rows, plan in query:
        text = " · ".join(plan).replace("|", "\\|")
        lines.append(f"| {what(sql)} | {ms:.1f} | {rows} | `{text}` |")
    lines += ["", "Machine: " + "; ".join(f"{k}: {v}" for k, v in machine().items())]
    update(args.results, "kpi", "\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
