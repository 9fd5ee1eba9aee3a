"""kill -9 in the middle of crm's long writes, then check the database and finish the work.

    python bench/faults.py                        # 20 kills of each command on each backend; updates RESULTS.md
    python bench/faults.py --kills 5 --backend sqlite --results /tmp/r.md
    python bench/faults.py --ref HEAD             # crmcli as committed, not the working tree

Commands, each a real `crm` process on its own fresh copy of a prepared database (seeded, deterministic):
- import: `crm import` of a CSV of --import-rows new people;
- merge: `crm contacts merge KEEP …` of --merge-others contacts, each with emails, tags, activities and a
  follow-up, into one;
- undo: `crm imports undo ID --yes` of an import of --undo-rows people;
- restore: `crm db restore` when crm has such a command (it is skipped, and the report says so, when not).

Each command is first run once whole (its time, T). Then --kills times: on a fresh copy the command starts
in a process group of its own and is killed with SIGKILL (the whole group: an import's worker too) at a
seeded random moment between the start-up floor (the median time of `crm db status`, by when the
database is open) and T. After each kill: `PRAGMA integrity_check` (SQLite), `crm doctor --strict -f json`
(its integrity part must be clean; other findings are data quality, listed but not failures), whether the
kill left the work all-or-nothing (merge) or part done (import, undo: allowed, in batches), then the same
command again, which must complete it: every row of the file stored exactly once, every merged contact
gone into KEEP, nothing of the undone import left. The report replaces the section between
<!-- faults:start --> and <!-- faults:end --> of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from load import DOMAIN, Backend, Crm, must, people_csv, shape  # noqa: E402

RESULTS = BENCH / "RESULTS.md"
SCENARIOS = ["import", "merge", "undo", "restore"]


# ---------------------------------------------------------------- in a child process: the prepared databases


def prepare(spec: dict) -> dict:
    """The database a scenario starts from, and the command to kill."""
    crm = Crm(fresh=False)
    work = Path(spec["work"])
    scenario = spec["scenario"]
    must(crm("init"), "init")
    base = work / "base.csv"
    people_csv(base, 300, "base", spec["seed"])
    must(crm("import", str(base)), "import of the base people")
    if scenario == "import":
        sheet = work / "people.csv"
        people_csv(sheet, spec["import_rows"], "imp", spec["seed"] + 1)
        return {"argv": ["import", str(sheet)], "tag": "imp", "rows": spec["import_rows"]}
    if scenario == "undo":
        sheet = work / "people.csv"
        people_csv(sheet, spec["undo_rows"], "und", spec["seed"] + 2)
        must(crm("import", str(sheet)), "the import to undo")
        run = json.loads(must(crm("imports", "list", "-f", "json"), "imports list"))[0]["id"]
        return {"argv": ["imports", "undo", str(run), "--yes"], "tag": "und", "rows": spec["undo_rows"], "run": run}
    if scenario == "merge":
        keep = int(must(crm("contacts", "add", "Keep Person", "-e", f"keep@{DOMAIN}", "-q"), "keep").split()[0])
        count = spec["merge_others"]
        people, calls = work / "others.csv", work / "calls.csv"
        people.write_text(
            "name,email,phone,tags\n"
            + "".join(f"Other Person {j},other-{j}@{DOMAIN},+4930{5550000 + j},t{j % 7}\n" for j in range(count))
        )
        must(crm("import", str(people)), "import of the others")
        calls.write_text(
            "contact,type,text,at\n"
            + "".join(
                f"other-{j}@{DOMAIN},call,Call {k} with {j},2026-11-{1 + k:02d}\n"
                for j in range(count)
                for k in range(3)
            )
        )
        must(crm("import", str(calls), "--kind", "activities"), "import of their activities")
        listed = json.loads(must(crm("contacts", "list", "--limit", "0", "-f", "json"), "contacts list"))
        others = sorted(c["id"] for c in listed if (c.get("email") or "").startswith("other-"))
        for other in others[:10]:
            must(crm("followups", "add", f"contact:{other}", "--due", "2030-01-01", "-q"), "followup")
        argv = ["contacts", "merge", str(keep), *map(str, others), "--yes"]
        return {"argv": argv, "keep": keep, "others": others}
    if scenario == "restore":
        return {"argv": None}
    raise SystemExit(f"unknown scenario {scenario}")


def child(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    os.environ["CRM_DB"] = spec["url"]
    os.environ["CRM_USER"] = "faults"
    Path(spec["answer"]).write_text(json.dumps(prepare(spec)))
    return 0


# ---------------------------------------------------------------- the parent


def crm_cmd() -> list[str]:
    return [sys.executable, "-c", "from crmcli.cli import main; main()"]


def run(argv: list[str], env: dict[str, str], url: str, timeout: float = 1800) -> tuple[int, str, str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [*crm_cmd(), *argv],
        env={**env, "CRM_DB": url},
        cwd=env["_LOAD_CWD"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - started


def kill_at(argv: list[str], env: dict[str, str], url: str, delay: float) -> tuple[bool, float]:
    """Start `crm ARGV` and SIGKILL its process group after DELAY s: (killed before it ended, its run time)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*crm_cmd(), *argv],
        env={**env, "CRM_DB": url},
        cwd=env["_LOAD_CWD"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        proc.wait(timeout=delay)
        return False, time.perf_counter() - started
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.2)  # an import's worker, killed with the group, is gone too
        return True, time.perf_counter() - started


class Copies:
    """Fresh copies of a scenario's prepared database."""

    def __init__(self, backend: Backend, work: Path, scenario: str) -> None:
        self.backend, self.work, self.scenario, self.n = backend, work, scenario, 0
        if backend.name == "sqlite":
            self.template = work / f"{scenario}-template.db"
            self.url = str(self.template)
        else:
            self.template = f"crm_faults_{os.getpid()}_{scenario}"
            self.url = backend.copy("template1", self.template)
        self.made: list[str] = []

    def fresh(self) -> str:
        self.n += 1
        if self.backend.name == "sqlite":
            path = self.work / f"{self.scenario}-{self.n}.db"
            for suffix in ("", "-wal", "-shm"):
                source = Path(f"{self.template}{suffix}")
                if source.exists():
                    shutil.copyfile(source, f"{path}{suffix}")
            self.made.append(str(path))
            return str(path)
        name = f"{self.template}_{self.n}"
        self.made.append(name)
        return self.backend.copy(self.template, name)

    def discard(self, url: str) -> None:
        if self.backend.name == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{url}{suffix}").unlink(missing_ok=True)
        else:
            self.backend.drop(self.made[-1])

    def close(self) -> None:
        if self.backend.name != "sqlite":
            self.backend.drop(self.template)


def sql(backend: Backend, url: str, query: str) -> list[tuple]:
    if backend.name == "sqlite":
        con = sqlite3.connect(url)
        try:
            return con.execute(query).fetchall()
        finally:
            con.close()
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(query))]
    finally:
        engine.dispose()


def state(backend: Backend, url: str, scenario: str, prep: dict) -> dict:
    """What the scenario's command has done so far."""
    if scenario in ("import", "undo"):
        rows = sql(
            backend,
            url,
            f"SELECT email, count(*) FROM contact_email WHERE email LIKE '{prep['tag']}-%' GROUP BY email",
        )
        runs = sql(backend, url, "SELECT status, count(*) FROM import_run GROUP BY status")
        return {
            "stored": len(rows),
            "twice": sum(1 for _, n in rows if n > 1),
            "runs": {str(s): n for s, n in runs},
        }
    keep, others = prep["keep"], prep["others"]
    ids = ",".join(map(str, others))
    left = sql(backend, url, f"SELECT count(*) FROM contact WHERE id IN ({ids})")[0][0]
    emails = sql(backend, url, f"SELECT count(*) FROM contact_email WHERE contact_id = {keep}")[0][0]
    return {"left": left, "keep_emails": emails}


def complete(scenario: str, prep: dict, now: dict) -> bool:
    if scenario == "import":
        return now["stored"] == prep["rows"] and now["twice"] == 0
    if scenario == "undo":
        return now["stored"] == 0
    return now["left"] == 0 and now["keep_emails"] == 1 + len(prep["others"])


def doctor(env: dict[str, str], url: str) -> tuple[bool, str]:
    code, out, err, _ = run(["doctor", "--strict", "-f", "json"], env, url)
    try:
        data = json.loads(out)
    except ValueError:
        return False, (err.strip() or out.strip())[:200]
    integrity = data.get("integrity", {})
    found = [f"{f['id']} {f['count']}" for f in data.get("findings", []) if f.get("count")]
    return bool(integrity.get("ok")), ", ".join(integrity.get("problems", [])[:3]) or "; ".join(found)


def has_restore(env: dict[str, str], url: str) -> bool:
    code, out, err, _ = run(["db", "--help"], env, url)
    return " restore " in out or "│ restore" in out or "\n  restore" in out


def scenario_trials(backend: Backend, scenario: str, args: argparse.Namespace, env: dict, work: Path) -> dict:
    copies = Copies(backend, work, scenario)
    try:
        spec = {
            "url": copies.url,
            "work": str(work),
            "scenario": scenario,
            "seed": args.seed,
            "import_rows": args.import_rows,
            "undo_rows": args.undo_rows,
            "merge_others": args.merge_others,
            "answer": str(work / f"{scenario}.json"),
        }
        spec_file = work / f"{scenario}-spec.json"
        spec_file.write_text(json.dumps(spec))
        started = time.time()
        done = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), "--child", str(spec_file)],
            env=env,
            cwd=env["_LOAD_CWD"],
            stdin=subprocess.DEVNULL,
        )
        if done.returncode != 0:
            raise SystemExit(f"{backend.name} {scenario}: preparing failed")
        prep = json.loads(Path(spec["answer"]).read_text())
        print(f"  {backend.name} {scenario}: prepared in {time.time() - started:.0f} s", file=sys.stderr)
        argv = prep["argv"]
        floor_url = copies.fresh()
        floor = statistics.median(run(["db", "status"], env, floor_url)[3] for _ in range(3))
        whole = run(argv, env, floor_url)
        if whole[0] != 0 or not complete(scenario, prep, state(backend, floor_url, scenario, prep)):
            raise SystemExit(f"{backend.name} {scenario}: the command itself failed: {whole[2].strip()[:300]}")
        copies.discard(floor_url)
        second_url = copies.fresh()
        hi = min(whole[3], run(argv, env, second_url)[3])  # the quicker of two: kills land before the end
        copies.discard(second_url)
        rng = random.Random(f"{args.seed}-{scenario}")
        trials = []
        for n in range(args.kills):
            url = copies.fresh()
            delay = rng.uniform(floor, hi)
            killed, ran = kill_at(argv, env, url, delay)
            after = state(backend, url, scenario, prep)
            integrity = None
            if backend.name == "sqlite":
                con = sqlite3.connect(url)
                integrity = [r[0] for r in con.execute("PRAGMA integrity_check")]
                con.close()
            doctor_ok, doctor_said = doctor(env, url)
            again = run(argv, env, url)
            final = state(backend, url, scenario, prep)
            trial = {
                "delay": delay,
                "killed": killed,
                "after": after,
                "integrity": integrity,
                "doctor_ok": doctor_ok,
                "doctor_said": doctor_said,
                "again_code": again[0],
                "again_said": (again[2].strip().splitlines() or [""])[-1][:200],
                "again_s": again[3],
                "complete": complete(scenario, prep, final),
                "final": final,
            }
            if scenario == "merge":
                trial["all_or_nothing"] = after["left"] in (0, len(prep["others"]))
            trials.append(trial)
            print(
                f"  {backend.name} {scenario} {n + 1}/{args.kills}: kill at {delay:.2f} s"
                f"{'' if killed else ' (finished first)'}, integrity {integrity and integrity[0]}, doctor "
                f"{'ok' if doctor_ok else 'NOT ok: ' + doctor_said}, again exit {again[0]}, complete "
                f"{trial['complete']}",
                file=sys.stderr,
            )
            copies.discard(url)
        return {"scenario": scenario, "argv": argv, "prep": prep, "floor": floor, "whole": whole[3], "trials": trials}
    finally:
        copies.close()


def summarise(result: dict) -> dict:
    trials = result["trials"]
    killed = [t for t in trials if t["killed"]]
    part = 0
    for t in killed:
        a = t["after"]
        if result["scenario"] == "import" and 0 < a["stored"] < result["prep"]["rows"]:
            part += 1
        if result["scenario"] == "undo" and 0 < a["stored"] < result["prep"]["rows"]:
            part += 1
    running = sum(1 for t in trials if t["final"].get("runs", {}).get("running"))
    return {
        "trials": len(trials),
        "killed": len(killed),
        "part": part,
        "integrity_ok": sum(1 for t in trials if t["integrity"] in (None, ["ok"])),
        "sqlite": any(t["integrity"] is not None for t in trials),
        "doctor_ok": sum(1 for t in trials if t["doctor_ok"]),
        "again_ok": sum(1 for t in trials if t["again_code"] == 0),
        "complete": sum(1 for t in trials if t["complete"]),
        "all_or_nothing": sum(1 for t in trials if t.get("all_or_nothing")) if result["scenario"] == "merge" else None,
        "running": running,
        "again_said": Counter(
            (shape(t["again_said"]), "finished before the kill" if not t["killed"] else "killed")
            for t in trials
            if t["again_code"] != 0
        ),
        "doctor_said": sorted({t["doctor_said"] for t in trials if not t["doctor_ok"]}),
        "again_median": statistics.median(t["again_s"] for t in trials) if trials else None,
    }


WHAT = {
    "import": lambda p, a: f"`crm import` of {a.import_rows:,} new people (CSV)",
    "merge": lambda p, a: (
        f"`crm contacts merge` of {a.merge_others} contacts (an email, a phone, a tag, 3 activities each)"
    ),
    "undo": lambda p, a: f"`crm imports undo` of a {a.undo_rows:,}-row import",
    "restore": lambda p, a: "`crm db restore`",
}


def report(results: list[tuple[str, list[dict], list[str]]], args: argparse.Namespace, info: dict[str, str]) -> str:
    now = datetime.now(UTC).strftime("%a %d %b %Y %H:%M UTC")
    out = [
        "## kill -9 during long writes",
        "",
        f"Generated by `python bench/faults.py` on {now} (--kills {args.kills}, --seed {args.seed}"
        f"{', --ref ' + args.ref if args.ref else ''}). Each command is killed (SIGKILL to its process group) at "
        "seeded random moments between the start-up floor (median `crm db status`, by when the database is open) "
        "and the command's whole time (the quicker of two whole runs), each time on a fresh copy of the prepared "
        "database; then "
        "`PRAGMA integrity_check` (SQLite), `crm doctor --strict -f json` (its integrity part), and the same "
        "command again, which must complete the work (every row stored exactly once; every contact merged; "
        "nothing of the undone import left).",
        "",
    ]
    for version, rows, notes in results:
        out += [
            f"### {version}",
            "",
            "| command | whole s | floor s | kills (before the end) | left part done | integrity_check ok "
            "| doctor integrity clean | run again: exit 0 | complete after | median run again s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            s = summarise(r)
            integrity = f"{s['integrity_ok']}/{s['trials']}" if s["sqlite"] else "—"
            part = f"{s['part']}" + (
                f" (all-or-nothing {s['all_or_nothing']}/{s['trials']})" if r["scenario"] == "merge" else ""
            )
            out.append(
                f"| {WHAT[r['scenario']](r['prep'], args)} | {r['whole']:.2f} | {r['floor']:.2f} | "
                f"{s['trials']} ({s['killed']}) | {part} | {integrity} | {s['doctor_ok']}/{s['trials']} | "
                f"{s['again_ok']}/{s['trials']} | {s['complete']}/{s['trials']} | {s['again_median']:.2f} |"
            )
            for (said, when), n in s["again_said"].items():
                notes.append(f"{r['scenario']}: the run again said `{said}` {n} times (each where the command {when})")
            for said in s["doctor_said"]:
                notes.append(f"{r['scenario']}: doctor said `{said}`")
            if s["running"]:
                notes.append(
                    f"{r['scenario']}: {s['running']} of {s['trials']} databases keep the killed import "
                    'listed as "running" afterwards (crm imports list)'
                )
        out += [""] + [f"- {n}" for n in notes] + ([""] if notes else [])
    out.append("Machine: " + "; ".join(f"{k}: {v}" for k, v in info.items()))
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="kills of each command (default 20)")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--only", choices=SCENARIOS, action="append", help="run only this command (repeatable)")
    parser.add_argument("--import-rows", type=int, default=5000)
    parser.add_argument("--undo-rows", type=int, default=2000)
    parser.add_argument("--merge-others", type=int, default=100)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--ref", help="benchmark crmcli as committed at REF (e.g. HEAD), not the working tree")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--keep", action="store_true", help="keep the databases under bench/data/")
    args = parser.parse_args(argv)

    import sections
    from run import RUN_DIR, bench_env, export_source, machine

    RUN_DIR.mkdir(parents=True, exist_ok=True)
    env = bench_env(None)
    env["_LOAD_CWD"] = str(RUN_DIR)
    info = machine()
    if args.ref:
        src, sha = export_source(args.ref)
        env["PYTHONPATH"] = str(src)
        info["Repository HEAD"] = f"{sha} (--ref {args.ref})"
    results = []
    for name in ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]:
        work = Path(tempfile.mkdtemp(prefix=f"faults-{name}-", dir=RUN_DIR))
        backend = Backend(name, work)
        rows, notes = [], []
        try:
            for scenario in args.only or SCENARIOS:
                if scenario == "restore":
                    probe = backend.url if name == "sqlite" else backend.url
                    if not has_restore(env, probe):
                        notes.append("restore: crm has no `db restore` (nor any restore command): skipped")
                        continue
                    notes.append("restore: `crm db restore` exists but this benchmark does not drive it yet")
                    continue
                rows.append(scenario_trials(backend, scenario, args, env, work))
        finally:
            backend.close()
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        results.append((backend.version, rows, notes))
    text = report(results, args, info)
    sections.update(args.results, "faults", text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
