"""Help and files are tidy (issue 13, item 7): no Python types in help; every file crm writes is
written atomically, mode 0600, and never over an existing file without --force."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
from pathlib import Path

import pytest

from crmcli import storage
from crmcli.errors import Conflict, Invalid
from crmcli.values import files
from tests.test_cli import ok, one_line_error


@pytest.fixture
def umask_022():
    """The usual umask: a file written without care would be 0644."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def leftovers(folder: Path) -> list[str]:
    """Temporary files left beside the targets."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# ---------------------------------------------------------------- help


def _walk(command, path):
    yield path, command
    for name, sub in getattr(command, "commands", {}).items():
        yield from _walk(sub, [*path, name])


# Typer's renderings of Python types, and Click's upper-case type names
INTERNAL = re.compile(r"<(bool|str|int|float|path|text|datetime|int range|list\[[^>]*\])>|\b(BOOLEAN|INTEGER)\b")


def test_help_shows_no_python_types_or_names() -> None:
    import typer.main
    from typer.testing import CliRunner

    from crmcli.cli import app

    runner = CliRunner()
    checked = 0
    for path, command in _walk(typer.main.get_command(app), []):
        text = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"}).stdout
        where = " ".join(["crm", *path])
        # the reported fault: '--help -h <bool>', '--dry-run -n <bool>'
        assert INTERNAL.search(text) is None, (where, INTERNAL.search(text))
        assert re.search(r"--help\s+-h\s+Show this message", text), where
        usage = next(line for line in text.splitlines() if "Usage:" in line)
        assert not re.search(r"\{\w*\}", usage), (where, usage)  # {id_}: an argument's Python name
        for param in command.params:
            if param.param_type_name == "argument":
                shown = param.display_name_raw  # FILE, REF, ID; FILE.xlsx
                assert shown.split(".")[0].isupper() and not shown.endswith("_"), (where, shown)
                assert shown in usage, (where, usage)
            elif getattr(param, "is_flag", False):  # a flag is followed by its help, nothing else
                long = next(o for o in param.opts if o.startswith("--"))
                assert not re.search(re.escape(long) + r"(\s+-\w)?\s+(<|[A-Z]{2,}\b)", text), (where, long)
        checked += 1
    assert checked > 80
    dry = runner.invoke(app, ["import", "--help"], env={"COLUMNS": "200"}).stdout
    assert re.search(r"--dry-run\s+-n\s+Show the mapping", dry)
    assert re.search(r"--report\s+FILE\s", dry) and re.search(r"--on-duplicate\s+\[skip\|update\|merge\|create\]", dry)
    listing = runner.invoke(app, ["contacts", "list", "--help"], env={"COLUMNS": "200"}).stdout
    assert re.search(r"--where\s+-w\s+FIELD=VALUE", listing) and re.search(r"--limit\s+-n\s+N\b", listing)


def test_force_is_one_option_everywhere_a_file_is_written() -> None:
    import typer.main

    from crmcli.cli import app

    root = typer.main.get_command(app)
    writers = [
        ["export", "contacts"],
        ["export", "companies"],
        ["export", "deals"],
        ["export", "activities"],
        ["export", "followups"],
        ["report", "export"],
        ["followups", "export"],
        ["import"],
    ]
    helps = set()
    for path in writers:
        command = root
        for name in path:
            command = command.commands[name]
        (force,) = [p for p in command.params if "--force" in getattr(p, "opts", ())]
        assert force.opts == ["--force"] and force.is_flag, path
        helps.add(force.help)
    assert len(helps) == 1


# ---------------------------------------------------------------- the helper


def test_atomic_write_is_private_and_never_replaces_without_force(tmp_path: Path, umask_022) -> None:
    target = tmp_path / "out.csv"
    assert files.target(str(target), force=False) == target
    files.write_bytes(target, b"one", force=False)
    assert target.read_bytes() == b"one" and mode(target) == 0o600
    with pytest.raises(Conflict, match=r"out\.csv exists$"):
        files.target(str(target), force=False)
    with pytest.raises(Conflict):
        files.write_bytes(target, b"two", force=False)
    assert target.read_bytes() == b"one"
    target.chmod(0o644)
    files.write_bytes(target, b"two", force=True)
    assert target.read_bytes() == b"two" and mode(target) == 0o600
    assert files.target("-", force=False) is None
    assert leftovers(tmp_path) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary_one(tmp_path: Path) -> None:
    target = tmp_path / "report.xlsx"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), files.atomic(target, force=True) as fh:
        fh.write(b"half a wor")
        raise RuntimeError("killed")
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []


def test_a_file_that_appears_while_writing_is_not_replaced(tmp_path: Path) -> None:
    target = tmp_path / "late.csv"
    files.target(str(target), force=False)  # checked: absent
    out = files.Atomic(target, force=False)
    out.fh.write(b"mine")
    target.write_bytes(b"theirs")  # someone else's, made meanwhile
    with pytest.raises(Conflict, match="late.csv exists$"):
        out.commit()
    assert target.read_bytes() == b"theirs" and leftovers(tmp_path) == []


def test_symbolic_links_and_directories_are_refused(tmp_path: Path) -> None:
    real = tmp_path / "real.csv"
    real.write_text("keep")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    with pytest.raises(Invalid, match="is a symbolic link"):
        files.target(str(link), force=True)
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "nowhere.csv")
    with pytest.raises(Invalid, match="is a symbolic link"):
        files.target(str(dangling), force=False)
    with pytest.raises(Invalid, match="is a directory"):
        files.target(str(tmp_path), force=True)
    with pytest.raises(Invalid, match="does not exist"):
        files.target(str(tmp_path / "no" / "x.csv"), force=True)
    assert real.read_text() == "keep"


def test_no_module_writes_a_file_but_through_crmcli_files() -> None:
    """One way to write a file: every writer goes through crmcli.values.files (the database file and its
    lock file, opened by storage, are not files crm writes content to)."""
    root = Path(files.__file__).parent.parent  # crmcli/
    pattern = re.compile(
        r"os\.replace\(|mkstemp\(|NamedTemporaryFile|\.write_bytes\(|\.write_text\(|O_TRUNC|"
        r"""open\([^)]*["'](w|a|x)b?["']"""
    )
    offenders = [
        f"{path.relative_to(root)}:{n}"
        for path in root.rglob("*.py")
        if path.name != "files.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line)
    ]
    assert offenders == []


# ---------------------------------------------------------------- the commands


def test_report_export_needs_force_and_is_private(cli, tmp_path: Path, umask_022) -> None:
    """The reported fault: crm report export refused --force, replaced a workbook silently and wrote
    it 0644 where crm export wrote 0600."""
    book = tmp_path / "kpis.xlsx"
    ok(cli("report", "export", str(book)))
    assert mode(book) == 0o600 and book.read_bytes()[:2] == b"PK"
    book.write_bytes(b"mine")
    one_line_error(cli("report", "export", str(book)), 1, f"{book} exists: use --force to replace it")
    assert book.read_bytes() == b"mine"
    ok(cli("report", "export", str(book), "--force"))
    assert mode(book) == 0o600 and book.read_bytes()[:2] == b"PK"
    assert leftovers(tmp_path) == []


def test_exports_and_calendars_need_force_and_are_private(cli, tmp_path: Path, umask_022) -> None:
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de"))
    ok(cli("followups", "add", "anna@acme.de", "--due", "tomorrow", "--note", "Call"))
    for args in (["export", "contacts"], ["export", "followups"], ["export", "deals"]):
        target = tmp_path / f"{args[1]}.csv"
        ok(cli(*args, str(target)))
        assert mode(target) == 0o600
        first = target.read_bytes()
        one_line_error(cli(*args, str(target)), 1, "exists: use --force to replace it")
        assert target.read_bytes() == first
        ok(cli(*args, str(target), "--force"))
    ics = tmp_path / "f.ics"
    ok(cli("followups", "export", "--ics", str(ics)))
    assert mode(ics) == 0o600 and ics.read_text().startswith("BEGIN:VCALENDAR")
    one_line_error(cli("followups", "export", "--ics", str(ics)), 1, "exists: use --force to replace it")
    ok(cli("followups", "export", "--ics", str(ics), "--force"))
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "contacts.csv")
    one_line_error(cli("export", "contacts", str(link), "--force"), 1, "is a symbolic link")
    assert leftovers(tmp_path) == []


def _csv(tmp_path: Path) -> Path:
    path = tmp_path / "people.csv"
    path.write_text("Name,Email\nAnna Müller,anna@acme.de\nBo Berg,not-an-email\n", encoding="utf-8")
    return path


def test_importing_again_replaces_the_default_report(cli, tmp_path: Path, umask_022) -> None:
    """The default report is crm's own: a second import of the same file needs no --force."""
    path = _csv(tmp_path)
    report = tmp_path / "people.import-report.csv"
    ok(cli("import", str(path)))
    assert mode(report) == 0o600
    first = report.read_text(encoding="utf-8-sig")
    assert first.startswith("row,event,record,column,value,reason") and "not-an-email" in first
    report.chmod(0o644)
    ok(cli("import", str(path)))
    assert mode(report) == 0o600 and "not-an-email" in report.read_text(encoding="utf-8-sig")
    assert leftovers(tmp_path) == []


def test_a_file_named_like_the_report_that_is_not_one_needs_force(cli, tmp_path: Path) -> None:
    path = _csv(tmp_path)
    report = tmp_path / "people.import-report.csv"
    report.write_text("my own notes\n")
    one_line_error(cli("import", str(path)), 1, "exists: use --force to replace it; --report FILE chooses")
    assert report.read_text() == "my own notes\n"
    assert ok(cli("contacts", "list", "-q")).stdout == ""  # refused before anything was stored
    ok(cli("import", str(path), "--force"))
    assert report.read_text(encoding="utf-8-sig").startswith("row,event")


def test_an_explicit_report_or_rejects_file_needs_force(cli, tmp_path: Path, umask_022) -> None:
    path = _csv(tmp_path)
    path.write_text("Name,Email\nAnna Müller,anna@acme.de\n,\n,no name@\n", encoding="utf-8")
    mine = tmp_path / "mine.csv"
    mine.write_text("keep")
    rejects = tmp_path / "rejects.csv"
    rejects.write_text("keep")
    one_line_error(cli("import", str(path), "--report", str(mine)), 1, f"{mine} exists: use --force")
    one_line_error(cli("import", str(path), "--rejects", str(rejects)), 1, f"{rejects} exists: use --force")
    assert mine.read_text() == "keep" and rejects.read_text() == "keep"
    assert ok(cli("contacts", "list", "-q")).stdout == ""
    ok(cli("import", str(path), "--report", str(mine), "--rejects", str(rejects), "--force"))
    assert mode(mine) == 0o600 and mine.read_text(encoding="utf-8-sig").startswith("row,event")
    assert mode(rejects) == 0o600 and rejects.read_text(encoding="utf-8-sig").startswith("Name,Email,reason")
    assert leftovers(tmp_path) == []


def test_a_backup_never_replaces_another(tmp_path: Path, umask_022) -> None:
    db = tmp_path / "crm.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
    conn.close()
    first = storage.backup_sqlite(db, "0007")
    second = storage.backup_sqlite(db, "0007")
    assert (first.name, second.name) == ("crm.db.bak-0007", "crm.db.bak-0007.2")
    for backup in (first, second):
        assert mode(backup) == 0o600
        with sqlite3.connect(backup) as copy:
            assert copy.execute("SELECT x FROM t").fetchall() == [(1,)]
        copy.close()
    assert leftovers(tmp_path) == []
