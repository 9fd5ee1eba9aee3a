"""Faults found under bad input and under load (issue 12): each is a one-line error about the
input, never a bug, and never half done. SQLite and PostgreSQL through the fixtures of conftest."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from crmcli import importer, storage
from crmcli.errors import Invalid
from tests.test_cli import ok, one_line_error


def unwritable_dir(tmp_path: Path) -> Path:
    """A directory nobody may create files in. Root may write anywhere a mode forbids: for root,
    sysfs's top, which refuses new files to everyone."""
    if os.geteuid() == 0:
        return Path("/sys")
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


# ---------------------------------------------------------------- arguments and times


def test_an_argument_that_is_not_utf8_is_a_usage_error(cli) -> None:
    bad = b"Bo \xff\xfe".decode("utf-8", "surrogateescape")  # what Python makes of such an argv
    one_line_error(cli("contacts", "add", bad), 2, "is not valid UTF-8 text")
    assert ok(cli("contacts", "list", "-q")).stdout == ""


@pytest.mark.parametrize("since", ["9999999d", "99999999999999999999d", "999999999w"])
def test_a_since_out_of_range_is_one_line(cli, since: str) -> None:
    one_line_error(cli("contacts", "list", "--since", since), 1, "out of range")


def test_a_due_time_out_of_range_is_one_line(cli) -> None:
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de"))
    for due in ("in 99999999 days", "99999999 months", "999999999999999999999h"):
        one_line_error(cli("followups", "add", "anna@acme.de", "--due", due), 2, "out of range")


# ---------------------------------------------------------------- money


def test_an_amount_past_the_limit_is_refused_and_the_largest_sums_fine(cli) -> None:
    """92233720368547758.07 EUR fit the column and broke every sum; at most 10^15 minor units are
    taken, and deals at the limit still add up on the board, in the KPIs and the reports."""
    one_line_error(cli("deals", "add", "Huge", "--amount", "92233720368547758.07"), 1, "at most 10,000,000,000,000.00")
    one_line_error(cli("deals", "add", "Huge", "--amount", "1e999999"), 1, "at most")
    one_line_error(cli("deals", "add", "Huge", "--amount", "1000000000000001", "--currency", "JPY"), 1, "at most")
    for i in range(3):
        ok(cli("deals", "add", f"Max {i}", "--amount", "10000000000000"))
    ok(cli("deals", "add", "Max yen", "--amount", "1000000000000000", "--currency", "JPY"))
    board = json.loads(ok(cli("pipeline", "board", "-f", "json")).stdout)
    totals = {t["currency"]: t for t in board["totals"]}
    assert set(totals) == {"EUR", "JPY"}
    ok(cli("kpi", "-f", "json"))
    ok(cli("report", "trend", "-f", "json"))
    ok(cli("report", "forecast", "-f", "json"))
    deal = json.loads(ok(cli("deals", "show", "Max 0", "-f", "json")).stdout)
    one_line_error(cli("deals", "edit", str(deal["id"]), "--amount", "10000000000000.01"), 1, "at most")


def test_an_import_leaves_out_an_amount_past_the_limit_and_reports_it(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text("Deal Name,Amount\nSmall,1200\nHuge,92233720368547758.07\n", encoding="utf-8")
    engine, _ = storage.open_engine(db_url)
    with storage.make_session(engine, write=True) as s:
        result = importer.import_file(s, path, kind="deals")
    assert result["counts"]["created"] == 2 and result["counts"]["dropped"] == 1
    lines = list(csv.DictReader(io.StringIO(Path(result["report_file"]).read_text(encoding="utf-8-sig"))))
    assert [(r["event"], r["value"]) for r in lines] == [("value dropped", "92233720368547758.07")]
    assert "at most" in lines[0]["reason"]


# ---------------------------------------------------------------- files written


def test_exports_into_a_directory_that_cannot_be_written_fail_first(cli, tmp_path: Path) -> None:
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de"))
    folder = unwritable_dir(tmp_path)
    one_line_error(cli("export", "contacts", str(folder / "c.csv")), 1, "cannot write")
    one_line_error(cli("report", "export", str(folder / "k.xlsx")), 1, "cannot write")
    one_line_error(cli("followups", "export", "--ics", str(folder / "f.ics")), 1, "cannot write")


def test_an_import_whose_report_or_rejects_cannot_be_written_stores_nothing(cli, tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("Name,Email\nAnna,anna@acme.de\n,\n", encoding="utf-8")
    folder = unwritable_dir(tmp_path)
    one_line_error(cli("import", str(path), "--report", str(folder / "r.csv")), 1, "--report FILE chooses")
    one_line_error(cli("import", str(path), "--rejects", str(folder / "x.csv")), 1, "--rejects FILE chooses")
    one_line_error(cli("import", str(path), "--report", str(tmp_path)), 1, "is a directory")
    assert ok(cli("contacts", "list", "-q")).stdout == ""
    assert json.loads(ok(cli("imports", "list", "-f", "json")).stdout) == []


def test_report_export_is_private_and_ics_export_needs_force(cli, tmp_path: Path) -> None:
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de"))
    ok(cli("followups", "add", "anna@acme.de", "--due", "tomorrow", "--note", "Call"))
    book = tmp_path / "kpis.xlsx"
    book.write_bytes(b"old")
    book.chmod(0o644)
    one_line_error(cli("report", "export", str(book)), 1, f"{book} exists: use --force to replace it")
    assert book.read_bytes() == b"old"
    ok(cli("report", "export", str(book), "--force"))  # replaced with --force, and private
    assert oct(book.stat().st_mode & 0o777) == "0o600" and book.read_bytes()[:2] == b"PK"
    ics = tmp_path / "f.ics"
    ics.write_text("mine")
    one_line_error(cli("followups", "export", "--ics", str(ics)), 1, f"{ics} exists: use --force to replace it")
    assert ics.read_text() == "mine"
    ok(cli("followups", "export", "--ics", str(ics), "--force"))
    assert ics.read_text().startswith("BEGIN:VCALENDAR") and oct(ics.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left


# ---------------------------------------------------------------- owners


def test_imported_records_get_the_user_as_owner_where_the_file_names_none(cli, tmp_path: Path, me) -> None:
    """As `crm contacts add`: the owner is CRM_USER (tester here) unless --owner or the file says.
    A file with an owner column keeps what it says, and records that exist keep their owner."""
    ok(cli("contacts", "add", "Old Bo", "-e", "bo@x.de", "--owner", "ben"))
    (tmp_path / "people.csv").write_text("Name,Email\nAnna,anna@acme.de\nOld Bo,bo@x.de\n", encoding="utf-8")
    (tmp_path / "owned.csv").write_text("Name,Email,Owner\nCy,cy@x.de,ana\nDi,di@x.de,\n", encoding="utf-8")
    (tmp_path / "companies.csv").write_text("Company name,Company Domain Name\nAcme GmbH,acme.de\n", encoding="utf-8")
    (tmp_path / "deals.csv").write_text("Deal Name,Amount,Associated Company\nRenewal,1200,Acme GmbH\n")
    (tmp_path / "followups.csv").write_text(
        "subject_kind,subject,due_at,note\ncontact,anna@acme.de,2026-12-01T09:00:00Z,Call\n"
    )
    for name in ("people.csv", "owned.csv", "companies.csv", "deals.csv"):
        ok(cli("import", str(tmp_path / name), "--on-duplicate", "update"))
    ok(cli("import", str(tmp_path / "followups.csv"), "--kind", "followups"))
    owners = {r["name"]: r["owner"] for r in json.loads(ok(cli("contacts", "list", "-f", "json")).stdout)}
    assert owners == {"Anna": me, "Old Bo": "ben", "Cy": "ana", "Di": None}
    assert [r["owner"] for r in json.loads(ok(cli("companies", "list", "-f", "json")).stdout)] == [me]
    assert [r["owner"] for r in json.loads(ok(cli("deals", "list", "-f", "json")).stdout)] == [me]
    assert [r["owner"] for r in json.loads(ok(cli("followups", "list", "--all", "-f", "json")).stdout)] == [me]
    (tmp_path / "more.csv").write_text("Name,Email\nEd,ed@x.de\n", encoding="utf-8")
    ok(cli("import", str(tmp_path / "more.csv"), "--owner", "ana"))
    assert json.loads(ok(cli("contacts", "show", "ed@x.de", "-f", "json")).stdout)["owner"] == "ana"


def test_a_vcard_names_its_owner_per_card(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "cards.vcf"
    path.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna\r\nEMAIL:anna@acme.de\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bo\r\nEMAIL:bo@x.de\r\nX-CRM-OWNER:ben\r\nEND:VCARD\r\n"
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Cy\r\nEMAIL:cy@x.de\r\nX-CRM-ID:7\r\nEND:VCARD\r\n",  # crm's own, no owner
        encoding="utf-8",
    )
    engine, _ = storage.open_engine(db_url)
    with storage.make_session(engine, write=True) as s:
        importer.import_file(s, path)
    from crmcli.domain import contacts

    with storage.session_scope(db_url) as s:
        assert {c["name"]: c["owner"] for c in contacts.list_contacts(s)} == {"Anna": "tester", "Bo": "ben", "Cy": None}


# ---------------------------------------------------------------- crm imports undo


def _import(db_url: str, path: Path, **kw):
    engine, _ = storage.open_engine(db_url)
    with storage.make_session(engine, write=True) as s:
        kw.setdefault("region", "DE")
        return importer.import_file(s, path, **kw)


def _undo(db_url: str, run_id: int, **kw) -> dict:
    from crmcli.importer.runs import undo_import

    with storage.session_scope(db_url, write=True) as s:
        return undo_import(s, run_id, **kw)


def test_undo_keeps_what_was_added_since_on_contacts_companies_and_deals(db_url: str, tmp_path: Path) -> None:
    """Follow-ups, activities and deals added to imported records since the import keep them
    (a follow-up on an imported deal, a call on an imported company, a follow-up on an imported
    company were cascade-deleted before); the rest goes, and the report says what stayed and why."""
    from datetime import timedelta

    from sqlmodel import func, select

    from crmcli.domain import activities, deals, followups, lookup
    from crmcli.models import Activity, Company, Contact, Deal, FollowUp
    from crmcli.values import clock

    (tmp_path / "companies.csv").write_text(
        "Company name,Company Domain Name\nAcme GmbH,acme.de\nGlobex Inc.,globex.com\nInitech,initech.com\n"
        "Umbrella,umbrella.com\n",
        encoding="utf-8",
    )
    (tmp_path / "contacts.csv").write_text(
        "Name,Email,Company\nAnna,anna@acme.de,Acme GmbH\nBo,bo@x.de,\nCy,cy@x.de,\nDi,di@x.de,\n", encoding="utf-8"
    )
    (tmp_path / "deals.csv").write_text(
        "Deal Name,Amount,Associated Company\nD1,100,Globex Inc.\nD2,200,\nD3,300,\n", encoding="utf-8"
    )
    runs = [_import(db_url, tmp_path / f)["run_id"] for f in ("companies.csv", "contacts.csv", "deals.csv")]
    due = clock.now() + timedelta(days=1)
    with storage.session_scope(db_url, write=True) as s:
        deal = {d.title: d for d in s.exec(select(Deal))}
        company = {c.name: c for c in s.exec(select(Company))}
        followups.add_followup(s, due_at=due, note="chase", deal=deal["D1"])
        deals.move_deal(s, deal["D2"], "Qualified")
        activities.log_activity(s, type="call", text="Called Initech", company=company["Initech"])
        followups.add_followup(s, due_at=due, note="visit", company=company["Globex Inc."])
        followups.add_followup(s, due_at=due, note="call Bo", contact=lookup.resolve_contact(s, "bo@x.de"))
        activities.log_activity(s, type="note", text="Met Cy", contact=lookup.resolve_contact(s, "cy@x.de"))
        deals.add_deal(s, title="Anna's own", contact="anna@acme.de")

    def reasons(report: dict, model, session) -> dict[str, str]:
        names = {r.id: getattr(r, "name", None) or r.title for r in session.exec(select(model))}
        return {names[k["id"]]: k["reason"] for k in report["kept"]}

    undone = _undo(db_url, runs[2])
    with storage.session_scope(db_url) as s:
        assert reasons(undone, Deal, s) == {
            "D1": "has 1 follow-up since the import: kept with them",
            "D2": "edited since the import: not removed",
        }
        assert undone["removed"] == 1 and sorted(d.title for d in s.exec(select(Deal))) == ["Anna's own", "D1", "D2"]
    undone = _undo(db_url, runs[1])
    with storage.session_scope(db_url) as s:
        assert reasons(undone, Contact, s) == {
            "Anna": "has 1 deal since the import: kept with them",
            "Bo": "has 1 follow-up since the import: kept with them",
            "Cy": "has 1 activity since the import: kept with them",
        }
        assert undone["removed"] == 1  # Di
    undone = _undo(db_url, runs[0])
    with storage.session_scope(db_url) as s:
        assert reasons(undone, Company, s) == {
            "Acme GmbH": "has 1 deal, 1 person since the import: kept with them",  # Anna's own deal is Acme's
            "Globex Inc.": "has 1 follow-up, 1 deal since the import: kept with them",
            "Initech": "has 1 activity since the import: kept with them",
        }
        assert undone["removed"] == 1  # Umbrella
        assert s.exec(select(func.count()).select_from(FollowUp)).one() == 3
        assert s.exec(select(func.count()).select_from(Activity)).one() == 2
        assert [r["status"] for r in importer_runs(s)] == ["undone"] * 3


def importer_runs(session) -> list[dict]:
    from crmcli.importer.runs import list_imports

    return list_imports(session)


def test_an_undo_commits_in_batches_and_an_interrupted_one_completes(db_url: str, tmp_path: Path) -> None:
    """Each batch commits (another writer gets in between batches: no "database is locked"); an
    undo stopped halfway is "undoing", and running it again completes it."""
    from crmcli.domain import contacts

    path = tmp_path / "many.csv"
    path.write_text("Name,Email\n" + "".join(f"Person {i},p{i}@x.de\n" for i in range(50)), encoding="utf-8")
    run_id = _import(db_url, path)["run_id"]
    seen: list[int] = []

    def between_batches(done: int) -> None:
        seen.append(done)
        with storage.session_scope(db_url, write=True) as other:  # would wait, then fail, if the lock were held
            contacts.add_contact(other, name=f"Walk-in {done}")
        if done >= 20:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _undo(db_url, run_id, batch=10, progress=between_batches)
    assert seen == [10, 20]
    with storage.session_scope(db_url) as s:
        assert [r["status"] for r in importer_runs(s)] == ["undoing"]
        assert len(contacts.list_contacts(s)) == 30 + 2
    report = _undo(db_url, run_id, batch=10)
    assert report["removed"] == 50 and report["kept"] == []
    with storage.session_scope(db_url) as s:
        assert sorted(c["name"] for c in contacts.list_contacts(s)) == ["Walk-in 10", "Walk-in 20"]
        assert [r["status"] for r in importer_runs(s)] == ["undone"]


def test_a_killed_import_is_shown_killed_and_can_be_undone(db_url: str, tmp_path: Path) -> None:
    """kill -9 of `crm import`: the run is "killed", not "running" forever, and undo removes what
    its committed batches stored. A run whose process lives is refused."""
    import signal
    import subprocess
    import sys
    import time

    from crmcli.errors import Conflict
    from crmcli.importer.runs import undo_import

    path = tmp_path / "big.csv"
    path.write_text("Name,Email\n" + "".join(f"P {i},p{i}@x.de\n" for i in range(40_000)), encoding="utf-8")
    env = {**os.environ, "CRM_DB": db_url, "CRM_IMPORT_WORKERS": "0"}
    crm = [sys.executable, "-c", "import sys; from crmcli.cli import main; sys.exit(main())"]
    proc = subprocess.Popen([*crm, "import", str(path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    runs: list[dict] = []
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            with storage.session_scope(db_url) as s:
                runs = importer_runs(s)
            if runs and runs[0]["read"] >= 2000:
                break
            time.sleep(0.1)
        assert runs and runs[0]["status"] == "running" and proc.poll() is None
        with storage.session_scope(db_url, write=True) as s, pytest.raises(Conflict, match="is still running"):
            undo_import(s, runs[0]["id"])
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with storage.session_scope(db_url) as s:
        (run,) = importer_runs(s)
    assert run["status"] == "killed" and run["read"] >= 2000
    report = _undo(db_url, run["id"])
    assert report["removed"] >= 2000 and report["kept"] == []
    from crmcli.domain import contacts

    with storage.session_scope(db_url) as s:
        assert contacts.list_contacts(s) == [] and importer_runs(s)[0]["status"] == "undone"


# ---------------------------------------------------------------- input limits


def _import_in_a_process(db: str, path: Path) -> tuple[int, str, int]:
    """`crm import PATH` in a process of its own: (exit code, stderr, peak memory in MB: VmHWM)."""
    import subprocess
    import sys

    code = (
        "import sys\nfrom crmcli.cli import app\n"
        "try:\n    app(['import', sys.argv[1]], prog_name='crm')\nexcept SystemExit as exc:\n    code = exc.code\n"
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]\n"
        "print(code, int(peak) // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], env={**os.environ, "CRM_DB": db}, capture_output=True, text=True
    )
    exit_code, peak = done.stdout.split()
    return int(exit_code), done.stderr, int(peak)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc (Linux)")
@pytest.mark.parametrize("shape", ["one 200 MB line", "200,000 columns", "a quoted cell of many lines"])
def test_a_csv_past_the_limits_is_refused_in_one_line_and_bounded_memory(db_url: str, tmp_path: Path, shape: str):
    """The csv module reads a whole line into memory: a 200 MB one-line file reached 3.6 GB, and
    200,000 columns took minutes. Each is refused in one line, in bounded memory, storing nothing."""
    from crmcli.importer.readers import MAX_COLUMNS, MAX_LINE

    path = tmp_path / "hostile.csv"
    with path.open("w", encoding="utf-8") as out:
        out.write("Name,Email\n")
        if shape == "one 200 MB line":
            block = "abcdefgh," * 100_000
            for _ in range(230):
                out.write(block)
            expected = f"line 2 is longer than {MAX_LINE:,} characters"
        elif shape == "200,000 columns":
            out.write("Anna," + "a," * 200_000 + "\n")
            expected = f"row 2 has 200,002 columns; at most {MAX_COLUMNS:,} are read"
        else:
            out.write('Anna,"' + "line\n" * 250_000 + '"\n')
            expected = "near line 26,215: a cell longer than 131,068 characters"  # the csv module's field limit
        out.write("\nBo,bo@x.de\n")
    code, stderr, peak = _import_in_a_process(db_url, path)
    assert code == 1 and stderr.count("\n") == 1 and stderr.startswith("Error: ") and expected in stderr, stderr
    assert peak < 300, f"{peak} MB"
    with storage.session_scope(db_url) as s:
        from crmcli.domain import contacts

        assert contacts.list_contacts(s) == []


def test_a_wide_header_is_refused_at_once(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{i}" for i in range(3000)) + "\n" + ",".join("x" * 3000) + "\n", encoding="utf-8")
    with pytest.raises(Invalid, match="row 1 has 3,000 columns; at most 2,000 are read"):
        _import(db_url, path)


# ---------------------------------------------------------------- Ctrl-C and a dead worker


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds the worker through /proc (Linux)")
@pytest.mark.parametrize("fault", ["Ctrl-C", "worker killed"])
def test_ctrl_c_and_a_dead_worker_end_an_import_in_one_line(db_url: str, tmp_path: Path, fault: str) -> None:
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while a worker cleans:
    one line, exit 130, nothing from multiprocessing (no leaked semaphores), the batches written
    stay. The worker killed: one line, exit 1, and the import is undone as for a broken file."""
    import signal
    import subprocess
    import sys
    import time

    from crmcli.domain import contacts

    path = tmp_path / "big.csv"
    path.write_text("Name,Email\n" + "".join(f"P {i},p{i}@x.de\n" for i in range(40_000)), encoding="utf-8")
    env = {**os.environ, "CRM_DB": db_url, "CRM_IMPORT_WORKERS": "1"}
    crm = [sys.executable, "-c", "import sys; from crmcli.cli import main; sys.exit(main())"]
    proc = subprocess.Popen(
        [*crm, "import", str(path)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            with storage.session_scope(db_url) as s:
                runs = importer_runs(s)
            if runs and runs[0]["read"] >= 4000:
                break
            time.sleep(0.1)
        assert proc.poll() is None, "the import ended before the fault"
        if fault == "Ctrl-C":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            workers = [
                int(c)
                for task in Path(f"/proc/{proc.pid}/task").glob("*")
                for c in (task / "children").read_text().split()
                if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
            ]
            assert workers
            for pid in workers:
                os.kill(pid, signal.SIGKILL)
        stderr = proc.communicate(timeout=60)[1].decode()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert stderr.count("\n") == 1 and stderr.startswith("Error: "), stderr
    assert "semaphore" not in stderr and "resource_tracker" not in stderr and "locked" not in stderr
    with storage.session_scope(db_url) as s:
        (run,) = importer_runs(s)
        stored = len(contacts.list_contacts(s))
    if fault == "Ctrl-C":
        assert proc.returncode == 130 and "Run the same import again" in stderr, (proc.returncode, stderr)
        assert run["status"] == "interrupted" and stored >= 2000
    else:
        assert proc.returncode == 1 and "the process cleaning the rows died" in stderr, (proc.returncode, stderr)
        assert run["status"] == "failed" and stored == 0


def test_json_files_are_bounded(tmp_path) -> None:
    """A JSON array is held whole: a big one is refused (JSON Lines stream); a JSON Lines line and the
    keys of a record have the CSV limits."""
    from crmcli.errors import Invalid
    from crmcli.importer import jsonfile, readers

    big = tmp_path / "big.json"
    with big.open("w") as fh:  # sparse: no 100 MB written to disk
        fh.seek(jsonfile.MAX_JSON + 1)
        fh.write("]")
    with pytest.raises(Invalid, match="JSON Lines"):
        readers.open_table(big)
    line = tmp_path / "line.jsonl"
    line.write_text('{"name": "' + "x" * (readers.MAX_LINE + 10) + '"}\n')
    with pytest.raises(Invalid, match="longer than"):
        list(readers.open_table(line).rows)
    wide = tmp_path / "wide.json"
    wide.write_text("[" + "{" + ", ".join(f'"k{i}": 1' for i in range(readers.MAX_COLUMNS + 1)) + "}]")
    with pytest.raises(Invalid, match="keys"):
        readers.open_table(wide)
