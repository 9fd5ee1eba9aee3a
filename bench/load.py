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

Who they are: on PostgreSQL the database is a team database. The seed data is made by the database's
owner, then `crm team setup` and one login role per process (`crm team add`): w<i>_<pid> (manager: they edit
each other's shared records) for writer i, imp_<pid> (manager) for the importer, rd_<pid> (viewer) for the
reader, fl_<pid> (manager) for the floor below; each process connects as its own role, and the history's
`who` is that role, set by the database (session_user). The roles are server-wide, so their names carry
this run's pid and they are dropped at the end, interrupted or not (SIGINT, SIGTERM, SIGHUP). On SQLite
(one file, one trust domain) each writer sets CRM_USER=w<i> instead (importer, reader: CRM_USER=importer,
reader).

Lost updates are counted, not guessed: writer i owns the declared number field wI of every shared contact
and sets it to 1, 2, 3 … with its successful edits of that contact, so at the end wI must equal writer i's
successful edits of it (another writer's edit of the same contact must not write an old value back); each
shared deal's stage history must have grown by exactly the moves that succeeded; each follow-up done by
exactly one writer, each activity logged once; each race email stored once; every successful import's rows
all there. "database is locked" is counted in everything a user would see (stdout and stderr).

Failures are classed: the deliberate conflicts of this mix (a deal already in the stage it is moved to, a
follow-up already done, a race email another writer stored first), each one line saying so, apart from
real failures (anything else, or a conflict said in more than one line), which must be 0.

The history is checked against what each process did: every successful write command of writer i left
exactly one change set whose `who` is writer i's role (CRM_USER on SQLite) and whose `via` is its command
line, no other change set (none misattributed, none extra), every successful import change sets of kind
"import" naming its run, by the importer, holding all its rows; the change rows on the shared records
match the successes (a `deals move`: one stage_history insert, an edit: a contact update, …); on
PostgreSQL each change row's own `who` is its change set's; `crm history --by ROLE` shows each writer's
change sets.

The report (machine, date, load average, per backend: commands, failures by message, the checks, p50/p95
per command kind under load beside the same commands run alone beforehand — the floor) replaces the
section between <!-- load:start --> and <!-- load:end --> of bench/RESULTS.md. Deterministic in what each
process does (--seed); how the processes interleave is up to the machine. Bounded: processes still
running --grace seconds after the deadline are killed, and so are all of them when the run is interrupted.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import shlex
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
from typing import Any

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
# the deliberate conflicts of the mix: (what, the one line that says so)
CONFLICTS = [
    ("a deal already in that stage", re.compile(r"^Error: deal #?\d+ is already in \S.*$")),
    ("a follow-up already done", re.compile(r"^Error: follow-up #?\d+ is already done\b.*$")),
    ("a race email stored first by another writer", re.compile(r"^Error: email \S+ already belongs to .+$")),
]


def identities(backend: str, writers: int, tag: int) -> dict[str, str]:
    """Who each process is in the history: on PostgreSQL its login role (names are server-wide: TAG, the
    run's pid, keeps them apart), on SQLite its CRM_USER. "floor": the commands run alone before the load."""
    if backend == "postgresql":
        names = {f"writer{i}": f"w{i}_{tag}" for i in range(writers)}
        names.update(importer=f"imp_{tag}", reader=f"rd_{tag}", floor=f"fl_{tag}")
    else:
        names = {f"writer{i}": f"w{i}" for i in range(writers)}
        names.update(importer="importer", reader="reader", floor="setup")
    return names


def team_group(role: str) -> str:
    return "viewer" if role == "reader" else "manager"  # writers edit the shared records of others


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
    urls = {}
    if spec["team"]:  # PostgreSQL: a team database; from here on the floor acts as a manager of its own
        urls = make_team(crm, spec)
        crm.storage.dispose_all()
        os.environ["CRM_DB"] = urls["floor"]
        os.environ["CRM_USER"] = spec["who"]["floor"]
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
    base_set, base_change = log_marks(spec["url"])
    return {
        "contacts": contacts,
        "deals": deals,
        "followups": followups,
        "stages": stages,
        "history": history,
        "activities": activities,
        "alone": {k: statistics.median(v) for k, v in alone.items() if v},
        "urls": urls,
        "base_set": base_set,
        "base_change": base_change,
    }


def make_team(crm: Crm, spec: dict) -> dict[str, str]:
    """`crm team setup` as the database's owner, then a login role for each process: {process: its URL}."""
    from sqlalchemy.engine import make_url

    must(crm("team", "setup"), "team setup")
    urls = {}
    for role, name in spec["who"].items():
        made = json.loads(
            must(
                crm("team", "add", name, "--role", team_group(role), "--email", spec["role_mark"], "-f", "json"),
                f"team add {name}",
            )
        )
        url = make_url(spec["url"]).set(username=made["name"], password=made["password"])
        urls[role] = url.render_as_string(hide_password=False)
    return urls


def log_marks(url: str) -> tuple[int, int]:
    """The last change set and change row in the log: what the load writes comes after them."""
    from sqlalchemy import text

    from crmcli import storage

    engine, _ = storage.open_engine(url)
    with engine.connect() as conn:
        base_set = conn.execute(text("SELECT coalesce(max(id), 0) FROM change_set")).scalar_one()
        base_change = conn.execute(text("SELECT coalesce(max(id), 0) FROM change")).scalar_one()
    storage.dispose_all()
    return int(base_set), int(base_change)


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

        def run(kind: str, *args: str, **extra: object) -> bool:
            # via: the command line as the history records it
            return record(out, kind, crm(*args), via=shlex.join(["crm", *args]), **extra)

        wait_for(spec["start"])
        while time.time() < spec["end"]:
            kind = rng.choices(kinds, weights)[0]
            if kind == "contacts add":
                if rng.random() < 0.1:
                    k = rng.randrange(50)
                    name, email, race = f"Race Person {k}", f"race-{k}@{DOMAIN}", True
                else:
                    name, email, race = f"{rng.choice(FIRST)} W{index} {added}", f"w{index}-{added}@{DOMAIN}", False
                ok = run(kind, "contacts", "add", name, "-e", email, "-q", race=race, email=email)
                if ok and not race:
                    added += 1
            elif kind == "contacts edit":
                c = rng.choice(contacts)
                value = edits[c] + 1
                if run(kind, "contacts", "edit", str(c), "-F", f"{field}={value}", contact=c):
                    edits[c] = value
            elif kind == "deals move":
                d = rng.choice(deals)
                run(kind, "deals", "move", str(d), rng.choice(spec["stages"]), deal=d)
            elif kind == "followups done":
                if not pool:
                    continue
                f = pool.pop(rng.randrange(len(pool)))
                run(kind, "followups", "done", str(f), followup=f)
            else:
                c = rng.choice(contacts)
                run(kind, "log", str(c), "--type", "note", f"W{index} note", contact=c)
        out.write(json.dumps({"summary": True, "field": field, "edits": {str(k): v for k, v in edits.items()}}) + "\n")


def role_importer(spec: dict) -> None:
    work = Path(spec["work"])
    with open(spec["out"] % "importer", "w") as out:
        wait_for(spec["start"])
        round_ = 0
        while time.time() < spec["end"]:
            sheet = work / f"import-{round_}.csv"
            people_csv(sheet, spec["import_rows"], f"imp{round_}", spec["seed"] + 10 + round_)
            args = ["import", str(sheet)]
            record(
                out, "import", crm_process(args), tag=f"imp{round_}", file=sheet.name, via=shlex.join(["crm", *args])
            )
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
        log = log_facts(conn, spec)
    storage.dispose_all()
    # the history as `crm history` shows it: each writer's change sets
    shown_by = {}
    for i in range(spec["writers"]):
        who = spec["who"][f"writer{i}"]
        entries = json.loads(must(crm("history", "--by", who, "--limit", "0", "-f", "json"), "history --by"))
        shown_by[who] = sorted({e["change"] for e in entries if e["change"] is not None})
    return {
        "custom": custom,
        "history": history,
        "activities": activities,
        "done": done,
        "emails": dict(emails),
        "integrity": integrity,
        "log": log,
        "shown_by": shown_by,
    }


def log_facts(conn: Any, spec: dict) -> dict:
    """What the change log holds of the load: every change set made after the set-up, the rows of the
    commands' change sets (per record), the rows of the imports' (per import run, counted)."""
    from sqlalchemy import text

    marks = {"s": spec["base_set"], "c": spec["base_change"]}

    def rows(sql: str) -> list[list]:
        return [list(r) for r in conn.execute(text(sql), marks)]

    def one(sql: str) -> int:
        return int(conn.execute(text(sql), marks).scalar_one())

    pg = conn.dialect.name == "postgresql"
    return {
        "sets": rows("SELECT id, who, via, kind, import_id FROM change_set WHERE id > :s ORDER BY id"),
        "command_rows": rows(
            "SELECT c.set_id, c.tbl, c.op, c.record_id, c.contact_id, count(*) FROM change c "
            "JOIN change_set s ON s.id = c.set_id WHERE c.id > :c AND s.kind <> 'import' "
            "GROUP BY c.set_id, c.tbl, c.op, c.record_id, c.contact_id"
        ),
        "import_rows": rows(
            "SELECT s.import_id, c.tbl, c.op, count(*) FROM change c JOIN change_set s ON s.id = c.set_id "
            "WHERE c.id > :c AND s.kind = 'import' GROUP BY s.import_id, c.tbl, c.op"
        ),
        "runs": rows("SELECT id, file, status FROM import_run"),
        # rows written during the load outside its change sets (around crm, or into an older set)
        "outside": one("SELECT count(*) FROM change WHERE id > :c AND (set_id IS NULL OR set_id <= :s)"),
        # a change set is dropped at commit when its transaction wrote nothing: [kind, how many] left empty
        "empty_sets": rows(
            "SELECT s.kind, count(*) FROM change_set s WHERE s.id > :s AND NOT EXISTS (SELECT 1 FROM change c "
            "WHERE c.set_id = s.id) GROUP BY s.kind"
        ),
        # SQLite: the change set a write made around crm would be logged in now (none between transactions)
        "current": None if pg else rows("SELECT set_id FROM change_current WHERE set_id IS NOT NULL"),
        # PostgreSQL: each row's own who (session_user, by the trigger) against its change set's
        "row_who_differs": one(
            "SELECT count(*) FROM change c JOIN change_set s ON s.id = c.set_id "
            "WHERE c.id > :c AND c.who IS DISTINCT FROM s.who"
        )
        if pg
        else None,
    }


def child(argv: list[str]) -> int:
    role, spec_file = argv[0], argv[1]
    spec = json.loads(Path(spec_file).read_text())
    # PostgreSQL: each process connects as its own role (setup and check: as the database's owner)
    os.environ["CRM_DB"] = (spec.get("urls") or {}).get(role, spec["url"])
    os.environ["CRM_USER"] = spec["who"].get(role, role)  # SQLite: who the history names
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
    """A fresh database on one backend; PostgreSQL from CRM_TEST_DATABASE_URL or a pgserver of our own.
    ROLES: the login roles the run will make (PostgreSQL), dropped by close() (and beforehand, should a
    killed run with the same pid have left them)."""

    def __init__(self, name: str, work: Path, roles: list[str], mark: str) -> None:
        self.name, self.work, self.server, self.admin, self.version = name, work, None, None, ""
        self.roles, self.mark = roles, mark
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
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
            self.drop_roles(conn)
            conn.exec_driver_sql(f'CREATE DATABASE "{self.db}"')
            self.version = "PostgreSQL " + conn.exec_driver_sql("SHOW server_version").scalar().split()[0]
        self.admin_url = admin_url
        self.url = self.url_for(self.db)

    def url_for(self, db: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.admin_url).set(database=db).render_as_string(hide_password=False)

    def drop_roles(self, conn: Any) -> list[str]:
        """Drop this run's login roles, the ones marked as this run's (their database first: they own
        nothing else); the ones dropped."""
        dropped = []
        for role in self.roles:
            ours = conn.exec_driver_sql(
                "SELECT 1 FROM pg_roles WHERE rolname = %(r)s AND shobj_description(oid, 'pg_authid') = %(m)s",
                {"r": role, "m": self.mark},
            ).first()
            if ours:
                try:
                    conn.exec_driver_sql(f'DROP ROLE "{role}"')
                    dropped.append(role)
                except Exception as exc:  # noqa: BLE001 (say so, drop the others)
                    print(f"  {self.name}: could not drop role {role}: {exc}", file=sys.stderr)
        return dropped

    def close(self) -> None:
        if self.admin is not None:
            try:
                with self.admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
                    dropped = self.drop_roles(conn)
                    left = conn.exec_driver_sql(
                        "SELECT count(*) FROM pg_roles WHERE rolname = ANY(%(r)s)", {"r": self.roles}
                    ).scalar()
                if self.roles:
                    print(f"  {self.name}: dropped {len(dropped)} login roles, {left} left", file=sys.stderr)
            finally:
                self.admin.dispose()
        if self.server is not None:
            self.server.cleanup()


def spawn(role: str, spec_file: Path, env: dict[str, str], procs: list[subprocess.Popen]) -> subprocess.Popen:
    """A child process in a process group of its own (PROCS: every child, for the clean-up)."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--child", role, str(spec_file)],
        env=env,
        cwd=env["_LOAD_CWD"],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    procs.append(proc)
    return proc


def finish(proc: subprocess.Popen, deadline: float) -> bool:
    """Wait for PROC until DEADLINE (time.time()), then kill its process group; whether it ended by itself."""
    try:
        proc.wait(timeout=max(1.0, deadline - time.time()))
        return True
    except subprocess.TimeoutExpired:
        kill(proc)
        return False


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # its group: the importer's `crm import` processes too
        except ProcessLookupError:
            pass
    proc.wait()


def run_backend(name: str, args: argparse.Namespace, env: dict[str, str]) -> dict:
    work = Path(tempfile.mkdtemp(prefix=f"load-{name}-", dir=env["_LOAD_CWD"]))
    who = identities(name, args.writers, os.getpid())
    procs: list[subprocess.Popen] = []
    backend = None
    try:
        mark = f"load-{os.getpid()}@{DOMAIN}"  # the roles' email (a comment on each): this run's
        backend = Backend(name, work, list(who.values()) if name == "postgresql" else [], mark)
        spec = {
            "url": backend.url,
            "work": str(work),
            "writers": args.writers,
            "seed": args.seed,
            "import_rows": args.import_rows,
            "answer": str(work / "setup.json"),
            "team": name == "postgresql",
            "who": who,
            "role_mark": mark,
        }
        spec_file = work / "spec.json"
        spec_file.write_text(json.dumps(spec))
        started = time.time()
        setup = spawn("setup", spec_file, env, procs)
        if not finish(setup, started + args.setup_limit) or setup.returncode != 0:
            raise SystemExit(f"{name}: setup failed")
        spec.update(json.loads((work / "setup.json").read_text()))
        print(f"  {name}: set up in {time.time() - started:.0f} s", file=sys.stderr)
        spec["start"] = time.time() + 8  # every process imports crmcli first
        spec["end"] = spec["start"] + args.duration
        spec["out"] = str(work / "%s.jsonl")
        spec_file.write_text(json.dumps(spec))
        roles = [f"writer{i}" for i in range(args.writers)] + ["importer", "reader"]
        load_before = os.getloadavg()
        running = {role: spawn(role, spec_file, env, procs) for role in roles}
        hard = spec["end"] + args.grace
        for role, proc in running.items():
            if not finish(proc, hard):
                print(f"  {name}: {role} still running {args.grace} s after the deadline: killed", file=sys.stderr)
        finished = time.time()
        load_after = os.getloadavg()
        spec["answer"] = str(work / "check.json")
        spec_file.write_text(json.dumps(spec))
        check_proc = spawn("check", spec_file, env, procs)
        if not finish(check_proc, time.time() + args.setup_limit) or check_proc.returncode != 0:
            raise SystemExit(f"{name}: the final check failed")
        check = json.loads((work / "check.json").read_text())
        lines = []
        for role in roles:
            path = Path(spec["out"] % role)
            if path.exists():
                lines += [dict(json.loads(x), role=role) for x in path.read_text().splitlines() if x.strip()]
        result = analyse(name, backend.version, spec, check, lines, finished - spec["start"])
        result["load"] = (load_before, load_after)
        return result
    finally:
        for proc in procs:  # interrupted: no child outlives the run
            kill(proc)
        if backend is not None:
            backend.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


def shape(message: str) -> str:
    """A failure message with its numbers and emails generalised, to group alike failures."""
    message = re.sub(r"[\w.+-]+@[\w.-]+", "EMAIL", message)
    message = re.sub(r"#?\d+", "N", message)
    return message[:160]


def conflict(run: dict) -> str | None:
    """A failed command's deliberate conflict (one line that says so), else None: a real failure."""
    if run.get("lines", 1) > 1:
        return None
    for what, pattern in CONFLICTS:
        if pattern.match(run["error"][0]):
            return what
    return None


def history_check(spec: dict, check: dict, runs: list[dict], problems: list[str]) -> dict:
    """The change log against what each process did (see the module's docstring); PROBLEMS gets the faults."""
    log, who = check["log"], spec["who"]
    writers = {who[f"writer{i}"] for i in range(spec["writers"])}
    sets = {s[0]: {"who": s[1], "via": s[2], "kind": s[3], "import_id": s[4]} for s in log["sets"]}
    # successful write commands per (writer's role, command line) against change sets of kind command
    want: dict[str, Counter[str]] = defaultdict(Counter)
    for x in runs:
        if x["role"].startswith("writer") and x["code"] == 0:
            want[x["via"]][who[x["role"]]] += 1
    have: dict[str, Counter[str]] = defaultdict(Counter)
    for s in sets.values():
        if s["kind"] == "command":
            have[s["via"]][s["who"]] += 1
    missing = misattributed = extra = 0
    for via in set(want) | set(have):
        short = sum((want[via] - have[via]).values())  # successes without a change set by that role
        over = sum((have[via] - want[via]).values())  # change sets no success of that role explains
        swapped = min(short, over)
        misattributed += swapped
        missing += short - swapped
        extra += over - swapped
        if short or over:
            problems.append(
                f"history of `{via[:80]}`: by {dict(want[via])} succeeded, change sets by {dict(have[via])}"
            )
    # imports: change sets of kind import, by the importer, naming a successful run, holding all its rows
    run_of = {Path(f).name: (run_id, status) for run_id, f, status in log["runs"]}
    import_sets: dict[int | None, list[dict]] = defaultdict(list)
    for s in sets.values():
        if s["kind"] == "import":
            import_sets[s["import_id"]].append(s)
    inserted = Counter()
    for import_id, tbl, op, n in log["import_rows"]:
        if tbl == "contact" and op == "insert":
            inserted[import_id] += n
    imports_ok = [x for x in runs if x["kind"] == "import" and x["code"] == 0]
    named = set()
    imports_whole = 0
    for x in imports_ok:
        run_id = run_of.get(x["file"], (None, None))[0]
        named.add(run_id)
        mine = import_sets.get(run_id, [])
        wrong = [s for s in mine if s["who"] != who["importer"] or s["via"] != x["via"]]
        misattributed += len(wrong)
        if not mine:
            missing += 1
        if mine and not wrong and inserted[run_id] == spec["import_rows"]:
            imports_whole += 1
        else:
            problems.append(
                f"import {x['file']} (run {run_id}): {len(mine)} change sets, {len(wrong)} not by {who['importer']} "
                f"via its command line, {inserted[run_id]} contact inserts of {spec['import_rows']}"
            )
    stray_imports = sum(len(v) for k, v in import_sets.items() if k not in named)
    other_kinds = Counter(s["kind"] for s in sets.values() if s["kind"] not in ("command", "import"))
    extra += stray_imports + sum(other_kinds.values())
    if stray_imports or other_kinds:
        problems.append(f"change sets of no successful import: {stray_imports}; of other kinds: {dict(other_kinds)}")
    known = writers | {who["importer"]}
    strangers = Counter(s["who"] for s in sets.values() if s["who"] not in known)
    if strangers:
        problems.append(f"change sets by roles that wrote nothing in the load: {dict(strangers)}")
    # the change rows on the shared records against the successes, in the change sets of those commands
    ok = [x for x in runs if x["role"].startswith("writer") and x["code"] == 0]
    kind_of = {x["via"]: x["kind"] for x in runs if x["role"].startswith("writer")}
    rows: dict[tuple[str, str, str], Counter[int]] = defaultdict(Counter)  # (kind, table, op) -> record -> sets
    for set_id, tbl, op, record_id, contact_id, _n in log["command_rows"]:
        s = sets.get(set_id)
        if s is not None and s["who"] in writers and s["via"] in kind_of:
            rows[(kind_of[s["via"]], tbl, op)][contact_id if tbl == "activity" else record_id] += 1
    pairs = [  # what succeeded, the rows each must have left: (kind, its record, table, op, label)
        ("contacts edit", "contact", "contact", "update", "change sets with an update of that contact"),
        ("deals move", "deal", "stage_history", "insert", "stage_history inserts"),
        ("log", "contact", "activity", "insert", "activity inserts"),
        ("followups done", "followup", "followup", "update", "follow-up updates"),
        ("contacts add", "email", "contact", "insert", "contact inserts"),
    ]
    tables = []
    rows_off = 0
    for kind, key, tbl, op, label in pairs:
        done = Counter(x[key] for x in ok if x["kind"] == kind)
        logged = rows[(kind, tbl, op)]
        if kind == "contacts add":  # a new contact's id is not known to the writer: the number only
            off = abs(sum(done.values()) - sum(logged.values()))
        else:
            off = sum(abs(done[r] - logged[r]) for r in set(done) | set(logged))
        rows_off += off
        tables.append(f"{kind} {sum(done.values())} → {sum(logged.values())} {label}")
        if off:
            problems.append(f"{kind}: {off} change rows missing or extra ({label})")
    tables.append(
        f"imports {len(imports_ok)} × {spec['import_rows']:,} rows → "
        f"{sum(inserted[r] for r in named):,} contact inserts in change sets of kind import"
    )
    shown = {w: set(ids) for w, ids in check["shown_by"].items()}
    by_role = {w: {i for i, s in sets.items() if s["who"] == w} for w in writers}
    shown_ok = sum(1 for w in writers if shown.get(w) == by_role[w])
    if shown_ok != len(writers):
        problems.append(f"`crm history --by ROLE` matches the log for {shown_ok} of {len(writers)} writers")
    if log["outside"]:
        problems.append(f"{log['outside']} change rows written during the load outside its change sets")
    if log["row_who_differs"]:
        problems.append(f"{log['row_who_differs']} change rows whose `who` differs from their change set's")
    empty = dict(log["empty_sets"])
    if empty:
        problems.append(
            "change sets left empty (a transaction that wrote nothing keeps its change set): "
            + ", ".join(f"{n} of kind {k}" for k, n in empty.items())
        )
    if log["current"]:
        problems.append(
            f"change_current still names change set {log['current'][0][0]} after the run (by "
            f"{sets.get(log['current'][0][0], {}).get('who', '?')}): a write made around crm now would be logged in it"
        )
    return {
        "sets": len(sets),
        "command_sets": sum(1 for s in sets.values() if s["kind"] == "command"),
        "import_sets": sum(1 for s in sets.values() if s["kind"] == "import"),
        "all_their_role": misattributed == 0 and not strangers,
        "missing": missing,
        "misattributed": misattributed,
        "extra": extra,
        "imports": len(imports_ok),
        "imports_whole": imports_whole,
        "rows": tables,
        "rows_off": rows_off,
        "shown_ok": shown_ok,
        "writers": len(writers),
        "outside": log["outside"],
        "empty_sets": sum(n for _k, n in log["empty_sets"]),
        "row_who_differs": log["row_who_differs"],
        "importer": who["importer"],
        "by_reader": sum(1 for s in sets.values() if s["who"] == who["reader"]),
        "names": sorted(writers),
    }


def analyse(name: str, version: str, spec: dict, check: dict, lines: list[dict], elapsed: float) -> dict:
    runs = [x for x in lines if "kind" in x]
    summaries = [x for x in lines if x.get("summary")]
    by_kind: dict[str, list[dict]] = defaultdict(list)
    for x in runs:
        by_kind[x["kind"]].append(x)
    failures: Counter[tuple[str, str, str | None]] = Counter()
    for x in runs:
        if x["code"] != 0:
            x["conflict"] = conflict(x)
            failures[(x["kind"], shape(x["error"][0]), x["conflict"])] += 1
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
        "conflicts": sum(1 for x in runs if x["code"] != 0 and x["conflict"]),
        "real": sum(1 for x in runs if x["code"] != 0 and not x["conflict"]),
        "history": history_check(spec, check, runs, problems),
        "unexpected": sum(1 for x in runs if x["code"] != 0 and "unexpected" in x["error"][0]),
        "multi_line": sum(1 for x in runs if x["code"] != 0 and x.get("lines", 1) > 1),
        "locked": sum(1 for x in runs if x["locked"]),
        "failures": [(kind, msg, what, n) for (kind, msg, what), n in failures.most_common()],
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
        "Who: on PostgreSQL the database is a team database (`crm team setup` by its owner after the seed data), "
        "each process connects as a login role of its own made by `crm team add` — writer i as w<i>_<pid> and the "
        "importer as imp_<pid> (managers: they edit each other's shared records), the reader as rd_<pid> "
        "(viewer), the floor as fl_<pid> (manager) — so row-level security applies to every command, and a change "
        "set's `who` is that role as the database reports it (session_user, set by a trigger, whatever the client "
        "says); the roles are dropped at the end. On SQLite (one file, one trust domain) `who` is CRM_USER, which "
        "each writer sets to w<i>. A failure is a deliberate conflict when it is one line saying so (a deal "
        "already in the stage it is moved to, a follow-up already done, a race email another writer stored "
        "first); anything else is a real failure. History: the change sets written during the load against the "
        "commands that succeeded — each successful write command one change set with its writer's role and its "
        "command line as `via`, each successful import change sets of kind import naming its run; missing: a "
        "success without its change set; misattributed: a change set under another role.",
        "",
    ]
    for r in results:
        failed_note = f', {r["unexpected"]} "unexpected"' if r["unexpected"] else ""
        h = r["history"]
        before, after = r["load"]
        out += [
            f"### {r['version']}",
            "",
            f"- **{r['runs']:,} commands** in {r['elapsed']:.0f} s, **{r['failed']} failed: {r['conflicts']} "
            f"deliberate conflicts** (one line each, saying so), **{r['real']} real failures**{failed_note}"
            f"{', ' + str(r['multi_line']) + ' failures more than one line' if r['multi_line'] else ''}; "
            f'**"{LOCKED}" shown {r["locked"]} times**.',
            f"- **History: {h['sets']:,} change sets, all with their writer's role: "
            f"{'yes' if h['all_their_role'] else 'no'}, missing: {h['missing']}, misattributed: "
            f"{h['misattributed']}** (extra: {h['extra']}): {h['command_sets']:,} from the writers' commands, as "
            f"{h['names'][0]} … {h['names'][-1]}, each `via` its command line; {h['import_sets']:,} of kind import "
            f"as {h['importer']}, naming their runs ({h['imports_whole']} of {h['imports']} successful imports "
            f"whole); {h['by_reader'] or 'none'} as the reader. `crm history --by ROLE` shows each writer's change "
            f"sets: {h['shown_ok']}/{h['writers']}."
            + (
                f" Change rows whose own `who` (session_user) differs from their change set's: {h['row_who_differs']}."
                if h["row_who_differs"] is not None
                else ""
            )
            + f" Rows written outside the load's change sets: {h['outside']}; empty change sets: {h['empty_sets']}.",
            f"- Change rows against the successes ({h['rows_off']} off): " + "; ".join(h["rows"]) + ".",
            f"- **Lost updates: {r['lost_edits'] + r['lost_moves'] + r['lost_logs']}** — {r['edits']} successful "
            f"edits of shared contacts ({r['lost_edits']} lost), {r['moves']} deal moves ({r['lost_moves']} missing "
            f"from the history), {r['done']} follow-ups done, {r['logs']} activities logged ({r['lost_logs']} "
            f"lost), race emails stored twice: {r['race_twice']}, {r['imports']} imports completed.",
            f"- Load average (1, 5, 15 min) when the load began: {', '.join(f'{x:.1f}' for x in before)}; "
            f"when it ended: {', '.join(f'{x:.1f}' for x in after)} ({os.cpu_count()} cores; other work shares "
            "the machine).",
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
            out += [
                f"- {kind}: {n} × `{msg}` — " + (f"deliberate conflict: {what}" if what else "**real failure**")
                for kind, msg, what, n in r["failures"]
            ]
        out.append("")
    out.append("Machine: " + "; ".join(f"{k}: {v}" for k, v in info.items()))
    return "\n".join(out)


def interrupted(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def machine_info() -> dict[str, str]:
    """run.machine(), without its git commands (others may be committing in this checkout): HEAD read
    from the .git directory instead."""
    from unittest import mock

    import run

    class NoGit:
        @staticmethod
        def run(*_args: object, **_kwargs: object) -> None:
            raise OSError("git is not run here")

    with mock.patch.object(run, "subprocess", NoGit):
        info = run.machine()
    head = repository_head(run.ROOT / ".git")
    if head:
        info["Repository HEAD"] = f"{head} (crmcli/ as in the working tree)"
    return info


def repository_head(git: Path) -> str | None:
    """The short commit of HEAD, read from the files of a .git directory (no git run); None if unknown."""
    try:
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head[:7]
        ref = head.removeprefix("ref: ")
        if (git / ref).exists():
            return (git / ref).read_text().strip()[:7]
        for line in (git / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0][:7]
    except OSError:
        pass
    return None


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
    parser.add_argument(
        "--setup-limit", type=float, default=900, help="seconds the set-up, and the final check, may take (900)"
    )
    parser.add_argument("--ref", help="benchmark crmcli as committed at REF (e.g. HEAD), not the working tree")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the databases and logs under bench/data/")
    args = parser.parse_args(argv)

    import sections
    from run import RUN_DIR, bench_env, export_source

    for signum in (signal.SIGTERM, signal.SIGHUP):  # as Ctrl-C: the clean-up runs (children, roles, server)
        signal.signal(signum, interrupted)
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    env = bench_env(None)
    env["_LOAD_CWD"] = str(RUN_DIR)
    if args.ref:
        src, sha = export_source(args.ref)
        env["PYTHONPATH"] = str(src)
    info = machine_info()
    if args.ref:
        info["Repository HEAD"] = f"{sha} (--ref {args.ref})"
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    results = []
    for name in backends:
        print(f"{name}: {args.duration:g} s of load", file=sys.stderr)
        try:
            results.append(run_backend(name, args, env))
        except KeyboardInterrupt as exc:
            print(
                f"  {name}: interrupted ({exc or 'Ctrl-C'}); its processes, database and roles are gone",
                file=sys.stderr,
            )
            return 130
        r = results[-1]
        print(
            f"  {r['runs']} commands, {r['failed']} failed ({r['conflicts']} conflicts, {r['real']} real), locked "
            f"shown {r['locked']}, lost {r['lost_edits'] + r['lost_moves'] + r['lost_logs']}, history: "
            f"{r['history']['sets']} change sets, missing {r['history']['missing']}, misattributed "
            f"{r['history']['misattributed']}, extra {r['history']['extra']}; problems {len(r['problems'])}",
            file=sys.stderr,
        )
    text = report(results, args, info)
    sections.update(args.results, "load", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
