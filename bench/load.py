"""crm under load: concurrent writers, one import and a reader on one database, SQLite and PostgreSQL.

    python bench/load.py                          # 60 s on each backend; updates bench/RESULTS.md
    python bench/load.py --duration 20 --backend sqlite --results /tmp/r.md
    python bench/load.py --ref HEAD               # crmcli as committed, not the working tree

Processes, all started together and stopped at the deadline (a command under way finishes):
- WRITERS (8) writer processes, each running crm commands through crm's CLI entry point (the Typer app, as
  `crm` runs it, with the database opened afresh for each command) in a seeded random mix: `contacts add`
  (a new person; one in ten a race: a person several writers add with the same email), `contacts edit` of
  the shared contacts (every writer edits every shared contact), `deals move` of the shared deals,
  `followups done` from one shared pool of follow-ups, and `log` on the shared contacts;
- one importer running `crm import` of a fresh CSV (--import-rows rows) as a real `crm` process, again and
  again until the deadline;
- one reader running `crm kpi` and `crm search` by turns.

Lost updates are counted, not guessed: writer i owns the declared number field wI of every shared contact
and sets it to 1, 2, 3 … with its successful edits of that contact, so at the end wI must equal writer i's
successful edits of it (another writer's edit of the same contact must not write an old value back); each
shared deal's stage history must have grown by exactly the moves that succeeded; each follow-up done by
exactly one writer, each activity logged once; each race email stored once; every successful import's rows
all there. "database is locked" is counted in everything a user would see (stdout and stderr).

The report (machine, date, per backend: commands, failures by message, the checks, p50/p95 per command kind
under load beside the same commands run alone beforehand — the floor) replaces the section between
<!-- load:start --> and <!-- load:end --> of bench/RESULTS.md. Deterministic in what each process does
(--seed); how the processes interleave is up to the machine.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

RESULTS = BENCH / "RESULTS.md"
SHARED_CONTACTS = 12
SHARED_DEALS = 8
FOLLOWUPS = 120
SEED_PEOPLE = 1000
KINDS = ["contacts add", "contacts edit", "deals move", "followups done", "log", "import", "kpi", "search"]
MIX = [("contacts add", 20), ("contacts edit", 30), ("deals move", 20), ("followups done", 15), ("log", 15)]
FIRST = ["Anna", "Jonas", "Mia", "Luis", "Chloé", "Björn", "Zoë", "Ömer", "Sofía", "Wei", "Aiko", "Noah"]
LAST = ["Müller", "Schmidt", "García", "Lefèvre", "Nowak", "Rossi", "Jensen", "Yılmaz", "Chen", "Sato", "Silva"]
LOCKED = "database is locked"
DOMAIN = "bench.example.com"  # every address the benchmark makes


# ---------------------------------------------------------------- in the child processes


class Crm:
    """crm commands through its CLI entry point in this process: the Typer app as `crm` runs it, with its
    error boundary; the database is opened afresh for each command, as a new process would."""

    def __init__(self, *, fresh: bool = True) -> None:
        from typer.testing import CliRunner

        from crmcli import storage
        from crmcli.cli import app

        self.app, self.runner, self.storage, self.fresh = app, CliRunner(), storage, fresh

    def __call__(self, *args: str) -> tuple[int, str, str, float]:
        started = time.perf_counter()
        result = self.runner.invoke(self.app, list(args))
        if self.fresh:
            self.storage.dispose_all()
        return result.exit_code, result.stdout, result.stderr, time.perf_counter() - started


def crm_process(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, str, float]:
    """A real `crm` process (its start-up included)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", "from crmcli.cli import main; main()", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
    )
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - started


def must(result: tuple[int, str, str, float], what: str) -> str:
    code, out, err, _ = result
    if code != 0:
        sys.exit(f"setup failed at {what}: {err.strip() or out.strip()}")
    return out


def people_csv(path: Path, rows: int, tag: str, seed: int) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["name", "email", "phone", "company", "city"])
        for j in range(rows):
            name = f"{rng.choice(FIRST)} {rng.choice(LAST)} {tag}{j}"
            out.writerow([name, f"{tag}-{j}@{DOMAIN}", "", f"Load Co {j % 40}", rng.choice(["Berlin", "Lyon"])])


def role_setup(spec: dict) -> dict:
    """Shared records, declared fields, a pool of follow-ups; then each command kind alone (the floor)."""
    crm = Crm(fresh=False)  # quicker set-up; the floor below opens the database for each command
    work = Path(spec["work"])
    must(crm("init"), "init")
    for i in range(spec["writers"]):
        must(crm("fields", "add", "contacts", f"w{i}", "--type", "number"), "fields add")
    seed_file = work / "seed.csv"
    people_csv(seed_file, SEED_PEOPLE, "seed", spec["seed"])
    must(crm("import", str(seed_file)), "import of the seed people")
    contacts, deals, followups = [], [], []
    for k in range(SHARED_CONTACTS):
        out = must(crm("contacts", "add", f"Shared Person {k}", "-e", f"shared-{k}@{DOMAIN}", "-q"), "add")
        contacts.append(int(out.split()[0]))
    for k in range(SHARED_DEALS):
        out = must(crm("deals", "add", f"Shared deal {k}", "-c", str(contacts[k]), "--amount", "1000", "-q"), "deal")
        deals.append(int(out.split()[0]))
    for k in range(FOLLOWUPS):
        ref = f"contact:{contacts[k % SHARED_CONTACTS]}"
        out = must(crm("followups", "add", ref, "--due", "2030-01-01", "--note", f"Task {k}", "-q"), "followup")
        followups.append(int(out.split()[0]))
    stages = [s["name"] for s in json.loads(must(crm("pipeline", "stages", "-f", "json"), "stages"))]
    stages = [s for s in stages if s.lower() not in ("won", "lost")]
    # the floor: each kind alone, before the load
    crm = Crm()
    alone: dict[str, list[float]] = defaultdict(list)
    for n in range(5):
        alone["contacts add"].append(crm("contacts", "add", f"Alone {n}", "-e", f"alone-{n}@{DOMAIN}", "-q")[3])
        alone["contacts edit"].append(crm("contacts", "edit", f"seed-{n}@{DOMAIN}", "--title", f"T{n}")[3])
        must(crm("deals", "add", f"Alone deal {n}", "-q"), "deal")
        alone["log"].append(crm("log", f"seed-{n}@{DOMAIN}", "--type", "call", "Alone")[3])
        alone["kpi"].append(crm("kpi")[3])
        alone["search"].append(crm("search", rng_name(n))[3])
    solo = json.loads(must(crm("deals", "list", "-f", "json"), "deals list"))
    solo_ids = [d["id"] for d in solo if d["title"].startswith("Alone deal")]
    for n, deal in enumerate(solo_ids):
        alone["deals move"].append(crm("deals", "move", str(deal), stages[1 + n % (len(stages) - 1)])[3])
    extra = []
    for n in range(5):
        out = must(crm("followups", "add", f"seed-{n}@{DOMAIN}", "--due", "2030-01-01", "-q"), "followup")
        extra.append(out.split()[0])
    alone["followups done"] = [crm("followups", "done", fid)[3] for fid in extra]
    floor_file = work / "floor.csv"
    people_csv(floor_file, spec["import_rows"], "floor", spec["seed"] + 1)
    alone["import"] = [crm_process(["import", str(floor_file)])[3]]
    history = {str(d): len(deal_history(crm, d)) for d in deals}
    activities = {str(c): activity_count(crm, c) for c in contacts}
    return {
        "contacts": contacts,
        "deals": deals,
        "followups": followups,
        "stages": stages,
        "history": history,
        "activities": activities,
        "alone": {k: statistics.median(v) for k, v in alone.items() if v},
    }


def rng_name(n: int) -> str:
    return [f"Shared Person {n % SHARED_CONTACTS}", random.Random(n).choice(LAST), "seed1", "Load Co"][n % 4]


def deal_history(crm: Crm, deal: int) -> list:
    return json.loads(must(crm("deals", "show", str(deal), "-f", "json"), "deals show"))["history"]


def activity_count(crm: Crm, contact: int) -> int:
    shown = json.loads(must(crm("contacts", "show", str(contact), "-f", "json"), "contacts show"))
    return shown["activity_count"] if "activity_count" in shown else len(shown.get("activities") or [])


def wait_for(start: float) -> None:
    time.sleep(max(0.0, start - time.time()))


def record(out, kind: str, result: tuple[int, str, str, float], **extra: object) -> bool:
    code, stdout, stderr, seconds = result
    line = {"kind": kind, "code": code, "s": round(seconds, 4), "locked": LOCKED in (stdout + stderr).lower()}
    if code != 0:
        line["error"] = (stderr.strip() or stdout.strip()).splitlines()[-1:] or ["(nothing printed)"]
        line["lines"] = len(stderr.strip().splitlines())
    line.update(extra)
    out.write(json.dumps(line) + "\n")
    out.flush()
    return code == 0


def role_writer(spec: dict, index: int) -> None:
    crm = Crm()
    rng = random.Random(spec["seed"] * 1000 + index)
    contacts, deals, pool = spec["contacts"], spec["deals"], list(spec["followups"])
    edits: Counter[int] = Counter()
    added = 0
    field = f"w{index}"
    kinds, weights = zip(*MIX, strict=True)
    with open(spec["out"] % f"writer{index}", "w") as out:
        wait_for(spec["start"])
        while time.time() < spec["end"]:
            kind = rng.choices(kinds, weights)[0]
            if kind == "contacts add":
                if rng.random() < 0.1:
                    k = rng.randrange(50)
                    name, email, race = f"Race Person {k}", f"race-{k}@{DOMAIN}", True
                else:
                    name, email, race = f"{rng.choice(FIRST)} W{index} {added}", f"w{index}-{added}@{DOMAIN}", False
                ok = record(out, kind, crm("contacts", "add", name, "-e", email, "-q"), race=race, email=email)
                if ok and not race:
                    added += 1
            elif kind == "contacts edit":
                c = rng.choice(contacts)
                value = edits[c] + 1
                if record(out, kind, crm("contacts", "edit", str(c), "-F", f"{field}={value}"), contact=c):
                    edits[c] = value
            elif kind == "deals move":
                d = rng.choice(deals)
                record(out, kind, crm("deals", "move", str(d), rng.choice(spec["stages"])), deal=d)
            elif kind == "followups done":
                if not pool:
                    continue
                f = pool.pop(rng.randrange(len(pool)))
                record(out, kind, crm("followups", "done", str(f)), followup=f)
            else:
                c = rng.choice(contacts)
                record(out, kind, crm("log", str(c), "--type", "note", f"W{index} note"), contact=c)
        out.write(json.dumps({"summary": True, "field": field, "edits": {str(k): v for k, v in edits.items()}}) + "\n")


def role_importer(spec: dict) -> None:
    work = Path(spec["work"])
    with open(spec["out"] % "importer", "w") as out:
        wait_for(spec["start"])
        round_ = 0
        while time.time() < spec["end"]:
            sheet = work / f"import-{round_}.csv"
            people_csv(sheet, spec["import_rows"], f"imp{round_}", spec["seed"] + 10 + round_)
            record(out, "import", crm_process(["import", str(sheet)]), tag=f"imp{round_}")
            round_ += 1


def role_reader(spec: dict) -> None:
    crm = Crm()
    rng = random.Random(spec["seed"] - 1)
    with open(spec["out"] % "reader", "w") as out:
        wait_for(spec["start"])
        n = 0
        while time.time() < spec["end"]:
            if n % 2 == 0:
                record(out, "kpi", crm("kpi"))
            else:
                record(out, "search", crm("search", rng_name(rng.randrange(1000))))
            n += 1


def role_check(spec: dict) -> dict:
    """What the database holds at the end, for the lost-update checks."""
    from sqlalchemy import text

    from crmcli import storage

    crm = Crm()
    shown = {c: json.loads(must(crm("contacts", "show", str(c), "-f", "json"), "show")) for c in spec["contacts"]}
    custom = {str(c): s.get("custom") or {} for c, s in shown.items()}
    history = {str(d): len(deal_history(crm, d)) for d in spec["deals"]}
    activities = {str(c): activity_count(crm, c) for c in spec["contacts"]}
    engine, _ = storage.open_engine(spec["url"])
    with engine.connect() as conn:
        ids = ",".join(str(int(i)) for i in spec["followups"])
        done = [
            r[0] for r in conn.execute(text(f"SELECT id FROM followup WHERE done_at IS NOT NULL AND id IN ({ids})"))
        ]
        emails = Counter(
            r[0] for r in conn.execute(text("SELECT email FROM contact_email WHERE email LIKE '%@bench.example.com'"))
        )
        integrity = None
        if engine.dialect.name == "sqlite":
            integrity = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
    storage.dispose_all()
    return {
        "custom": custom,
        "history": history,
        "activities": activities,
        "done": done,
        "emails": dict(emails),
        "integrity": integrity,
    }


def child(argv: list[str]) -> int:
    role, spec_file = argv[0], argv[1]
    spec = json.loads(Path(spec_file).read_text())
    os.environ["CRM_DB"] = spec["url"]
    os.environ["CRM_USER"] = role
    if role == "setup":
        Path(spec["answer"]).write_text(json.dumps(role_setup(spec)))
    elif role == "check":
        Path(spec["answer"]).write_text(json.dumps(role_check(spec)))
    elif role.startswith("writer"):
        role_writer(spec, int(role.removeprefix("writer")))
    elif role == "importer":
        role_importer(spec)
    elif role == "reader":
        role_reader(spec)
    return 0


# ---------------------------------------------------------------- the parent


class Backend:
    """A fresh database on one backend; PostgreSQL from CRM_TEST_DATABASE_URL or a pgserver of our own."""

    def __init__(self, name: str, work: Path) -> None:
        self.name, self.work, self.server, self.admin, self.version = name, work, None, None, ""
        if name == "sqlite":
            import sqlite3

            self.url = str(work / "load.db")
            self.version = f"SQLite {sqlite3.sqlite_version}"
            return
        from sqlalchemy import create_engine

        admin_url = os.environ.get("CRM_TEST_DATABASE_URL")
        if not admin_url:
            import pgserver

            self.server = pgserver.get_server(str(work / "pg"), cleanup_mode="delete")
            admin_url = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", self.server.get_uri())
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.db = f"crm_load_{os.getpid()}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.db}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{self.db}"')
            self.version = "PostgreSQL " + conn.exec_driver_sql("SHOW server_version").scalar().split()[0]
        self.admin_url = admin_url
        self.url = self.url_for(self.db)

    def url_for(self, db: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.admin_url).set(database=db).render_as_string(hide_password=False)

    def copy(self, template: str, name: str) -> str:
        """PostgreSQL: a new database NAME copied from TEMPLATE (a database name); its URL."""
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        if self.admin is not None:
            with self.admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
            self.admin.dispose()
        if self.server is not None:
            self.server.cleanup()


def spawn(role: str, spec_file: Path, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", role, str(spec_file)],
        env=env,
        cwd=env["_LOAD_CWD"],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )


def run_backend(name: str, args: argparse.Namespace, env: dict[str, str]) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"load-{name}-", dir=env["_LOAD_CWD"]))
    backend = Backend(name, work)
    try:
        spec = {
            "url": backend.url,
            "work": str(work),
            "writers": args.writers,
            "seed": args.seed,
            "import_rows": args.import_rows,
            "answer": str(work / "setup.json"),
        }
        spec_file = work / "spec.json"
        spec_file.write_text(json.dumps(spec))
        started = time.time()
        if spawn("setup", spec_file, env).wait() != 0:
            raise SystemExit(f"{name}: setup failed")
        spec.update(json.loads((work / "setup.json").read_text()))
        print(f"  {name}: set up in {time.time() - started:.0f} s", file=sys.stderr)
        spec["start"] = time.time() + 8  # every process imports crmcli first
        spec["end"] = spec["start"] + args.duration
        spec["out"] = str(work / "%s.jsonl")
        spec_file.write_text(json.dumps(spec))
        roles = [f"writer{i}" for i in range(args.writers)] + ["importer", "reader"]
        procs = {role: spawn(role, spec_file, env) for role in roles}
        hard = spec["end"] + args.grace
        for role, proc in procs.items():
            try:
                proc.wait(timeout=max(1.0, hard - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                print(f"  {name}: {role} still running {args.grace} s after the deadline: killed", file=sys.stderr)
        finished = time.time()
        spec["answer"] = str(work / "check.json")
        spec_file.write_text(json.dumps(spec))
        if spawn("check", spec_file, env).wait() != 0:
            raise SystemExit(f"{name}: the final check failed")
        check = json.loads((work / "check.json").read_text())
        lines = []
        for role in roles:
            path = Path(spec["out"] % role)
            if path.exists():
                lines += [dict(json.loads(x), role=role) for x in path.read_text().splitlines() if x.strip()]
        return analyse(name, backend.version, spec, check, lines, finished - spec["start"])
    finally:
        backend.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def shape(message: str) -> str:
    """A failure message with its numbers and emails generalised, to group alike failures."""
    message = re.sub(r"[\w.+-]+@[\w.-]+", "EMAIL", message)
    message = re.sub(r"#?\d+", "N", message)
    return message[:160]


def analyse(name: str, version: str, spec: dict, check: dict, lines: list[dict], elapsed: float) -> dict:
    runs = [x for x in lines if "kind" in x]
    summaries = [x for x in lines if x.get("summary")]
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for x in runs:
        by_kind[x["kind"]].append(x)
    failures: Counter[tuple[str, str]] = Counter()
    for x in runs:
        if x["code"] != 0:
            failures[(x["kind"], shape(x["error"][0]))] += 1
    problems = []
    # writer i's field on each shared contact = its successful edits of that contact
    lost_edits = edits = 0
    for s in summaries:
        for contact in map(str, spec["contacts"]):
            want = s["edits"].get(contact, 0)
            edits += want
            have = check["custom"].get(contact, {}).get(s["field"])
            have = int(float(have)) if have not in (None, "") else 0
            if have != want:
                lost_edits += abs(want - have)
                problems.append(f"contact {contact} field {s['field']}: {have}, {want} edits succeeded")
    moves = Counter(x["deal"] for x in runs if x["kind"] == "deals move" and x["code"] == 0)
    lost_moves = 0
    for deal in spec["deals"]:
        grown = check["history"][str(deal)] - spec["history"][str(deal)]
        if grown != moves[deal]:
            lost_moves += abs(grown - moves[deal])
            problems.append(f"deal {deal}: history grew by {grown}, {moves[deal]} moves succeeded")
    done_ok = Counter(x["followup"] for x in runs if x["kind"] == "followups done" and x["code"] == 0)
    twice = [f for f, n in done_ok.items() if n > 1]
    missing_done = sorted(set(done_ok) - set(check["done"]))
    not_ours = sorted(set(check["done"]) - set(done_ok))
    if twice or missing_done or not_ours:
        problems.append(f"follow-ups: done twice {twice}, done but open {missing_done}, done by nobody {not_ours}")
    logs = Counter(x["contact"] for x in runs if x["kind"] == "log" and x["code"] == 0)
    lost_logs = sum(abs(check["activities"][str(c)] - spec["activities"][str(c)] - logs[c]) for c in spec["contacts"])
    if lost_logs:
        problems.append(f"activities: {lost_logs} logged activities missing or extra")
    emails = check["emails"]
    race_twice = sorted(e for e, n in emails.items() if e.startswith("race-") and n > 1)
    if race_twice:
        problems.append(f"race emails stored more than once: {len(race_twice)} ({', '.join(race_twice[:5])})")
    adds_ok = [x for x in runs if x["kind"] == "contacts add" and x["code"] == 0 and not x.get("race")]
    adds_missing = sum(1 for x in adds_ok if emails.get(x["email"], 0) != 1)
    if adds_missing:
        problems.append(f"contacts add: {adds_missing} successful adds not stored exactly once")
    imports_ok = [x for x in runs if x["kind"] == "import" and x["code"] == 0]
    imports_short = []
    for x in imports_ok:
        stored = sum(1 for e in emails if e.startswith(x["tag"] + "-"))
        if stored != spec["import_rows"]:
            imports_short.append(f"{x['tag']}: {stored} of {spec['import_rows']}")
    if imports_short:
        problems.append("imports not whole: " + "; ".join(imports_short))
    if check["integrity"] not in (None, ["ok"]):
        problems.append(f"PRAGMA integrity_check: {check['integrity'][:3]}")
    kinds = {}
    for kind in KINDS:
        xs = by_kind.get(kind, [])
        times = sorted(x["s"] for x in xs)
        kinds[kind] = {
            "runs": len(xs),
            "failed": sum(1 for x in xs if x["code"] != 0),
            "p50": statistics.median(times) if times else None,
            "p95": times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))] if times else None,
            "alone": spec["alone"].get(kind),
        }
    return {
        "backend": name,
        "version": version,
        "elapsed": elapsed,
        "runs": len(runs),
        "failed": sum(1 for x in runs if x["code"] != 0),
        "unexpected": sum(1 for x in runs if x["code"] != 0 and "unexpected" in x["error"][0]),
        "multi_line": sum(1 for x in runs if x["code"] != 0 and x.get("lines", 1) > 1),
        "locked": sum(1 for x in runs if x["locked"]),
        "failures": [(kind, msg, n) for (kind, msg), n in failures.most_common()],
        "kinds": kinds,
        "edits": edits,
        "lost_edits": lost_edits,
        "moves": sum(moves.values()),
        "lost_moves": lost_moves,
        "done": sum(done_ok.values()),
        "logs": sum(logs.values()),
        "lost_logs": lost_logs,
        "race_twice": len(race_twice),
        "imports": len(imports_ok),
        "problems": problems,
        "integrity": check["integrity"],
    }


def ms(value: float | None) -> str:
    return "—" if value is None else f"{value * 1000:,.0f}"


def report(results: list[dict], args: argparse.Namespace, info: dict[str, str]) -> str:
    now = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    out = [
        f"## Under load: {args.writers} writers, one import and a reader on one database",
        "",
        f"Generated by `python bench/load.py` on {now} (--duration {args.duration:g} s, --seed {args.seed}, "
        f"--import-rows {args.import_rows}{', --ref ' + args.ref if args.ref else ''}). "
        f"{args.writers} writer processes run crm commands through its CLI entry point (the database opened "
        "afresh for each) in a seeded mix: "
        "`contacts add` (one in ten a race on one email with the others), `contacts edit` of 12 shared contacts, "
        "`deals move` of 8 shared deals, `followups done` from one pool of 120, `log` on the shared contacts; "
        "one process runs `crm import` of a fresh CSV again and again (real `crm` processes); one reader runs "
        "`crm kpi` and `crm search` by turns. Alone: the median of the same command run alone just before, on "
        "the same database (the floor; `import` once, as a real process).",
        "",
    ]
    for r in results:
        failed_note = f', {r["unexpected"]} "unexpected"' if r["unexpected"] else ""
        out += [
            f"### {r['version']}",
            "",
            f"- **{r['runs']:,} commands** in {r['elapsed']:.0f} s, **{r['failed']} failed**{failed_note}"
            f"{', ' + str(r['multi_line']) + ' of them more than one line' if r['multi_line'] else ''}; "
            f'**"{LOCKED}" shown {r["locked"]} times**.',
            f"- **Lost updates: {r['lost_edits'] + r['lost_moves'] + r['lost_logs']}** — {r['edits']} successful "
            f"edits of shared contacts ({r['lost_edits']} lost), {r['moves']} deal moves ({r['lost_moves']} missing "
            f"from the history), {r['done']} follow-ups done, {r['logs']} activities logged ({r['lost_logs']} "
            f"lost), race emails stored twice: {r['race_twice']}, {r['imports']} imports completed.",
        ]
        if r["integrity"] is not None:
            out.append(f"- PRAGMA integrity_check after the run: {', '.join(r['integrity'][:3])}.")
        for problem in r["problems"]:
            out.append(f"- Problem: {problem}")
        out += [
            "",
            "| command | runs | failed | p50 ms | p95 ms | alone ms | p50 / alone |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for kind, k in r["kinds"].items():
            ratio = f"{k['p50'] / k['alone']:.1f}×" if k["p50"] and k["alone"] else "—"
            times = f"{ms(k['p50'])} | {ms(k['p95'])} | {ms(k['alone'])}"
            out.append(f"| {kind} | {k['runs']:,} | {k['failed']} | {times} | {ratio} |")
        if r["failures"]:
            out += ["", "Failures by message (numbers and emails generalised):", ""]
            out += [f"- {kind}: {n} × `{msg}`" for kind, msg, n in r["failures"]]
        out.append("")
    out.append("Machine: " + "; ".join(f"{k}: {v}" for k, v in info.items()))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of load per backend (default 60)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--import-rows", type=int, default=2000, help="rows of each CSV the importer imports")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--grace", type=float, default=120, help="seconds after the deadline before a kill")
    parser.add_argument("--ref", help="benchmark crmcli as committed at REF (e.g. HEAD), not the working tree")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs under bench/data/")
    args = parser.parse_args(argv)

    import sections
    from run import RUN_DIR, bench_env, export_source, machine

    RUN_DIR.mkdir(parents=True, exist_ok=True)
    env = bench_env(None)
    env["_LOAD_CWD"] = str(RUN_DIR)
    if args.ref:
        src, sha = export_source(args.ref)
        env["PYTHONPATH"] = str(src)
    info = machine()
    if args.ref:
        info["Repository HEAD"] = f"{sha} (--ref {args.ref})"
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    for name in backends:
        print(f"{name}: {args.duration:g} s of load", file=sys.stderr)
        results.append(run_backend(name, args, env))
        r = results[-1]
        print(
            f"  {r['runs']} commands, {r['failed']} failed, locked shown {r['locked']}, lost "
            f"{r['lost_edits'] + r['lost_moves'] + r['lost_logs']}, problems {len(r['problems'])}",
            file=sys.stderr,
        )
    text = report(results, args, info)
    sections.update(args.results, "load", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
