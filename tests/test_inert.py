"""Hostile data is inert (issue 12, item 1): cleaned on write, escaped on output, bounded.

Names carrying terminal escape sequences, Rich markup, NUL, bidi overrides and zero-width
characters go through add, import, list/show/search in every format, errors, prompts and cron
output; no ESC or BEL byte reaches stdout or stderr, nothing is read as markup, JSON parses back
to the stored value. Rows written around the cleaning (a database from before it) are shown
safely too. Limits on lengths and on the search query are refused in one line.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import sys
from pathlib import Path

import pytest

from crmcli import output
from crmcli.values import normalize

ESCAPES = "\x1b]0;pwned\x07\x1b[31mEvil"
HOSTILE = [
    ESCAPES,
    "A[/b]",
    "[link=http://evil]x[/link]",
    "[/bold]Org",
    "Nul\x00Byte",
    "Right\u202eto left",
    "Zero\u200bWidth\u200d\u2060\ufeffName",
    "C1\x85\x9bcontrol",
]
FORMATS = ("table", "plain", "csv", "json")
WIDE = {"COLUMNS": "250"}  # a table wide enough to show whole names


def ok(result, code: int = 0):
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    return result


def inert(result) -> None:
    """Nothing a terminal would obey, and no sign of Rich reading data as markup."""
    for stream in (result.stdout, result.stderr):
        assert "\x1b" not in stream and "\x07" not in stream and "\x9b" not in stream, repr(stream)
        assert "\u202e" not in stream and "\x00" not in stream, repr(stream)
    assert "MarkupError" not in result.stderr and "unexpected" not in result.stderr, result.stderr


def one_line_error(result, fragment: str, code: int = 1) -> None:
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    assert fragment in lines[0], lines[0]


# ---------------------------------------------------------------- cleaning on write


def test_clean_text_removes_controls_bidi_and_zero_width() -> None:
    assert normalize.clean_text(ESCAPES) == "]0;pwned[31mEvil"
    assert normalize.clean_text("Nul\x00Byte") == "NulByte"
    assert normalize.clean_text("Right\u202eto left\u2066\u200f") == "Rightto left"
    assert normalize.clean_text("Zero\u200bWidth\u200d\u2060\ufeffName") == "ZeroWidthName"
    assert normalize.clean_text("C1\x85\x9bcontrol") == "C1 control"  # NEL is a line break: a space
    assert normalize.clean_text(" tab\there\nand\r\nthere ") == "tab here and there"
    assert normalize.clean_text("A[/b]") == "A[/b]"  # markup is text: shown literally, not cleaned away
    assert normalize.clean_text("Jürgen  Müller\u00a0") == "Jürgen Müller"
    assert normalize.clean_text("e\u0301") == "\u00e9"
    assert normalize.clean_text("Plain ASCII") == "Plain ASCII"


def test_clean_multiline_keeps_lines_and_tabs() -> None:
    raw = "\n  first\x1b[31m line  \r\nsecond\tcolumn\x00\r\n\n\u202ethird\n\n"
    assert normalize.clean_multiline(raw) == "first[31m line\nsecond\tcolumn\n\n\u202ethird"
    from crmcli.importer import values

    assert values.multiline(raw) == normalize.clean_multiline(raw)  # one cleaner for both


def test_limits_are_one_line_invalid_errors() -> None:
    from crmcli.errors import Invalid

    assert normalize.normalize_name("x" * normalize.NAME_MAX) == "x" * normalize.NAME_MAX
    with pytest.raises(Invalid, match=r"name too long: 501 characters, at most 500"):
        normalize.normalize_name("x" * 501)
    with pytest.raises(Invalid, match=r"city too long: 2,001 characters, at most 2,000"):
        normalize.optional_text("y" * 2001, "city")
    with pytest.raises(Invalid, match=r"notes too long: 100,001 characters, at most 100,000"):
        normalize.optional_notes("z" * 100_001)
    with pytest.raises(Invalid) as exc:
        normalize.normalize_email("a" * 100_000 + "@x")
    assert len(str(exc.value)) < 400  # the value is quoted shortened


# ---------------------------------------------------------------- escaping on output


def test_output_helpers_show_controls_and_escape_json() -> None:
    assert output.shown("a\x1b[31mb\x07\nc\td") == "a\u241b[31mb\u2407\nc d"
    assert output.one_line("a\nb\tc\r\x1b\u2028d") == "a b c \u241b d"
    assert output.shown("x\u202ey\x85") == "x\\u202ey\\x85"
    assert output.shown("Plain [b]text[/b] ✓") == "Plain [b]text[/b] ✓"
    raw = {"name": "a\x1b\x7f\x85\u202e\u2066\u200e\u2028z"}
    text = output.dumps(raw)
    assert all(ch not in text for ch in "\x1b\x7f\x85\u202e\u2066\u200e\u2028")
    assert "\\u001b" in text and "\\u0085" in text and "\\u202e" in text
    assert json.loads(text) == raw


def test_prompt_shows_the_question_inert(monkeypatch: pytest.MonkeyPatch) -> None:
    import questionary

    from crmcli.commands import _prompts as prompts

    asked = []

    class Answer:
        def ask(self) -> bool:
            return True

    monkeypatch.setattr(prompts, "interactive", lambda: True)
    monkeypatch.setattr(questionary, "confirm", lambda message, **kw: asked.append(message) or Answer())
    assert prompts.confirm(f"Remove #1 {ESCAPES}?", assume_yes=False) is True
    assert asked and "\x1b" not in asked[0] and "\x07" not in asked[0] and "\u241b" in asked[0]


def _add_hostile(cli) -> dict[str, str]:
    ids = {}
    for i, name in enumerate(HOSTILE):
        result = ok(cli("contacts", "add", name, "-e", f"h{i}@evil.example", "--notes", f"{name}\nline two", "-q"))
        inert(result)
        ids[name] = result.stdout.strip()
    return ids


def test_hostile_names_are_cleaned_and_inert_in_every_format(cli) -> None:
    ids = _add_hostile(cli)
    listing = ok(cli("contacts", "list", "-f", "json"))
    stored = {str(r["id"]): r["name"] for r in json.loads(listing.stdout)}
    for name, id_ in ids.items():
        assert stored[id_] == normalize.clean_text(name)
    for fmt in FORMATS:
        for args in (
            ("contacts", "list"),
            ("contacts", "show", ids["A[/b]"]),
            ("contacts", "show", ids[ESCAPES]),
            ("contacts", "show", ids["[link=http://evil]x[/link]"]),
            ("search", "Evil"),
            ("search", "link"),
        ):
            result = ok(cli(*args, "-f", fmt))
            inert(result)
    table = ok(cli("contacts", "list", "-f", "table", env=WIDE)).stdout
    assert "A[/b]" in table and "[link=http://evil]x[/link]" in table and "[/bold]Org" in table
    shown = ok(cli("contacts", "show", ids["A[/b]"], "-f", "json")).stdout
    assert json.loads(shown)["notes"] == "A[/b]\nline two"


def _store_raw(db_url: str, contact_id: str, name: str, notes: str) -> None:
    """Write around the cleaning, as a database from before it would hold."""
    from sqlalchemy import text

    from crmcli import storage

    engine, _ = storage.open_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE contact SET name = :n, notes = :notes WHERE id = :id"),
                     {"n": name, "notes": notes, "id": int(contact_id)})  # fmt: skip
        conn.execute(text("UPDATE search_doc SET title = :n, body = :b WHERE kind = 'contact' AND ref_id = :id"),
                     {"n": name, "b": f"{name} {notes}", "id": int(contact_id)})  # fmt: skip
    storage.dispose_all()


RAW_NAME = "\x1b]0;pwned\x07\x1b[31mRaw\x9b\u202eEvil [link=http://evil]x[/link] A[/b]"
RAW_NOTES = "one\x1b[2J\ttwo\nthree\u2066four\x85"


def test_stored_raw_text_is_escaped_on_output(cli, db_url: str) -> None:
    id_ = ok(cli("contacts", "add", "Placeholder", "-q")).stdout.strip()
    _store_raw(db_url, id_, RAW_NAME, RAW_NOTES)
    for fmt in FORMATS:
        for args in (("contacts", "list"), ("contacts", "show", id_), ("search", "Raw")):
            inert(ok(cli(*args, "-f", fmt)))
    table = ok(cli("contacts", "list", "-f", "table", env=WIDE)).stdout
    assert "\u241b]0;pwned\u2407\u241b[31mRaw" in table  # controls shown, not obeyed
    plain = ok(cli("contacts", "show", id_, "-f", "plain")).stdout
    notes_line = next(line for line in plain.splitlines() if line.startswith("Notes\t"))
    assert notes_line.count("\t") == 1 and "three" in notes_line  # one line, one separator
    rows = list(csv.reader(io.StringIO(ok(cli("contacts", "list", "-f", "csv")).stdout)))
    assert len(rows) == 2 and "\n" not in rows[1][rows[0].index("name")]
    record = json.loads(ok(cli("contacts", "show", id_, "-f", "json")).stdout)
    assert record["name"] == RAW_NAME and record["notes"] == RAW_NOTES  # escaped, and parsed back whole


def test_csv_output_is_formula_neutralised(cli) -> None:
    ok(cli("contacts", "add", '=HYPERLINK("http://evil")', "-q"))
    rows = list(csv.reader(io.StringIO(ok(cli("contacts", "list", "-f", "csv")).stdout)))
    assert rows[1][rows[0].index("name")] == '\'=HYPERLINK("http://evil")'


def test_errors_show_data_inert(cli) -> None:
    result = cli("contacts", "show", ESCAPES)
    inert(result)
    one_line_error(result, "\u241b]0;pwned\u2407\u241b[31mEvil")
    result = cli("contacts", "add", "Bo", "-e", "bad\x1b[31m\nmail")
    inert(result)
    assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1


def test_markup_in_deals_kpi_reports_and_followups(cli) -> None:
    contact = ok(cli("contacts", "add", "A[/b]", "-q")).stdout.strip()
    deal = ok(cli("deals", "add", "[/bold]Deal", "-c", contact, "--amount", "100", "-q")).stdout.strip()
    inert(ok(cli("deals", "lost", deal, "--reason", "[link=http://evil]price[/link]\x1b[31m")))
    past = ("--allow-past", "--due", "2020-01-01")
    ok(cli("followups", "add", f"contact:{contact}", *past, "--note", f"{ESCAPES}\ncall back"))
    for args in (
        ("deals", "list"),
        ("deals", "show", deal),
        ("kpi",),
        ("report", "lost-reasons"),
        ("followups", "list"),
        ("followups", "overdue"),
    ):
        for fmt in FORMATS:
            inert(ok(cli(*args, "-f", fmt)))
    lost = ok(cli("report", "lost-reasons", "-f", "table", env=WIDE)).stdout
    assert "[link=http://evil]price[/link][31m" in lost


def test_cron_output_is_one_inert_line_per_item(cli) -> None:
    contact = ok(cli("contacts", "add", "Cron Target", "-q")).stdout.strip()
    past = ("--allow-past", "--due", "2020-01-01")
    ok(cli("followups", "add", f"contact:{contact}", *past, "--note", f"{ESCAPES}\nsecond line"))
    result = ok(cli("followups", "overdue"))  # no terminal: plain lines, what cron mails
    inert(result)
    lines = result.stdout.splitlines()
    assert len(lines) == 1 and "]0;pwned[31mEvil second line" in lines[0]


def test_notes_keep_their_lines_through_add_edit_and_show(cli) -> None:
    notes = "Met at the fair.\n\n- wants pricing\n- call\tback in May"
    cid = ok(cli("contacts", "add", "Lines", "--notes", notes, "-q")).stdout.strip()
    assert json.loads(ok(cli("contacts", "show", cid, "-f", "json")).stdout)["notes"] == notes
    ok(cli("contacts", "edit", cid, "--notes", "edited\r\nsecond\x1b line"))
    assert json.loads(ok(cli("contacts", "show", cid, "-f", "json")).stdout)["notes"] == "edited\nsecond line"
    table = ok(cli("contacts", "show", cid, "-f", "table", env=WIDE)).stdout
    assert "edited" in table and "second line" in table
    company = ok(cli("companies", "add", "Lines Ltd", "--notes", notes, "-q")).stdout.strip()
    assert json.loads(ok(cli("companies", "show", company, "-f", "json")).stdout)["notes"] == notes
    ok(cli("companies", "edit", company, "--notes", "a\nb"))
    assert json.loads(ok(cli("companies", "show", company, "-f", "json")).stdout)["notes"] == "a\nb"
    deal = ok(cli("deals", "add", "Lines deal", "-c", cid, "--notes", notes, "-q")).stdout.strip()
    assert json.loads(ok(cli("deals", "show", deal, "-f", "json")).stdout)["notes"] == notes
    ok(cli("deals", "edit", deal, "--notes", "x\ny"))
    assert json.loads(ok(cli("deals", "show", deal, "-f", "json")).stdout)["notes"] == "x\ny"
    ok(cli("log", f"contact:{cid}", "--type", "call", "first\nsecond\x07"))
    shown = json.loads(ok(cli("contacts", "show", cid, "-f", "json")).stdout)
    assert shown["activities"][0]["text"] == "first\nsecond"


def test_import_cleans_and_output_stays_inert(cli, tmp_path: Path) -> None:
    sheet = tmp_path / "hostile.csv"
    with sheet.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Name", "Email", "Company", "Notes"])
        writer.writerow([ESCAPES, "e1@evil.example", "[/bold]Org", "first\nsecond\x1b[31m"])
        writer.writerow(["Right\u202eto left", "e2@evil.example", "Zero\u200bWidth", "ok"])
        writer.writerow(["[link=http://evil]x[/link]", "e3@evil.example", "A[/b]", ""])
    inert(ok(cli("import", str(sheet))))
    card = tmp_path / "hostile.vcf"
    card.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Card [/b] Person\r\nORG:[/bold]Org\r\n"
                    "NOTE:line one\\nline two\\e\r\nEND:VCARD\r\n", encoding="utf-8")  # fmt: skip
    inert(ok(cli("import", str(card))))
    rows = json.loads(ok(cli("contacts", "list", "-f", "json")).stdout)
    names = {r["name"] for r in rows}
    assert {"]0;pwned[31mEvil", "Rightto left", "[link=http://evil]x[/link]", "Card [/b] Person"} <= names
    evil = next(r for r in rows if r["name"] == "]0;pwned[31mEvil")
    assert json.loads(ok(cli("contacts", "show", str(evil["id"]), "-f", "json")).stdout)["notes"] == (
        "first\nsecond[31m"
    )
    for fmt in FORMATS:
        inert(ok(cli("contacts", "list", "-f", fmt)))
        inert(ok(cli("companies", "list", "-f", fmt)))
        inert(ok(cli("search", "Org", "-f", fmt)))


def test_length_limits_are_one_line_errors(cli) -> None:
    one_line_error(cli("contacts", "add", "n" * 501), "name too long: 501 characters, at most 500")
    one_line_error(cli("contacts", "add", "Long", "--city", "c" * 2001), "too long: 2,001 characters, at most 2,000")
    one_line_error(cli("contacts", "add", "Long", "--notes", "x" * 100_001), "notes too long")
    one_line_error(cli("companies", "add", "c" * 501), "company name too long")
    one_line_error(cli("deals", "add", "d" * 501), "deal title too long")
    one_line_error(cli("contacts", "add", "Long", "-t", "t" * 501), "a tag too long")


@pytest.mark.in_process
def test_search_query_is_bounded(cli, session, monkeypatch: pytest.MonkeyPatch) -> None:
    from crmcli.domain import search
    from crmcli.errors import Invalid

    one_line_error(cli("search", "a" * 10_000), "search query too long: 10,000 characters, at most 200")
    one_line_error(cli("search", " ".join(["ab"] * 21)), "search query too long: 21 words, at most 20")
    ran = []
    monkeypatch.setattr(search, "_search_sqlite", lambda *a: ran.append(a) or [])
    monkeypatch.setattr(search, "_search_generic", lambda *a: ran.append(a) or [])
    with pytest.raises(Invalid):
        search.search(session, "x" * 201)
    assert ran == []  # refused before any SQL runs: the work is bounded whatever the query
    assert search.search(session, "x" * 200) == [] and len(ran) == 1


def test_search_for_punctuation_works_on_every_backend(cli) -> None:
    ok(cli("contacts", "add", "Bang!! Co", "-q"))
    ok(cli("contacts", "add", "O'Brien", "-q"))
    for query in ("!!", "--", "'", "a:*|b", "&", "\\"):
        inert(ok(cli("search", query, "-f", "json")))
    assert [r["title"] for r in json.loads(ok(cli("search", "!!", "-f", "json")).stdout)] == ["Bang!! Co"]
    assert [r["title"] for r in json.loads(ok(cli("search", "o'brien", "-f", "json")).stdout)] == ["O'Brien"]


# ---------------------------------------------------------------- through a real terminal


def _run_in_pty(args: list[str], env: dict[str, str]) -> bytes:
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # the child: crm with the pty as its terminal
        try:
            os.execvpe(sys.executable, [sys.executable, "-m", "crmcli", *args], env)
        finally:
            os._exit(127)
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, b"".join(chunks)
    return b"".join(chunks)


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pty")
def test_a_real_terminal_gets_no_escape_from_data(cli, db_url: str) -> None:
    ids = _add_hostile(cli)
    raw = ok(cli("contacts", "add", "Placeholder", "-q")).stdout.strip()
    _store_raw(db_url, raw, RAW_NAME, RAW_NOTES)
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CRM_DEBUG")}
    env.update({"CRM_DB": db_url, "TERM": "xterm-256color", "COLUMNS": "200", "LINES": "50"})
    env.pop("FORCE_COLOR", None)
    for args in (
        ["contacts", "list"],
        ["contacts", "show", raw],
        ["contacts", "show", ids["A[/b]"]],
        ["search", "Raw"],
    ):
        out = _run_in_pty(args, env)
        assert b"\x1b[1m" in out  # Rich styled its table: stdout was a terminal
        assert re.fullmatch(rb"(?:[^\x1b]|\x1b\[[0-9;]*m)*", out), out  # every ESC one of Rich's own styles
        assert b"\x1b]" not in out and b"\x07" not in out and b"\xc2\x9b" not in out, out  # no OSC, BEL, CSI
        assert b"\x1b[31m" not in out and b"\x1b[2J" not in out, out
        assert b"\xe2\x80\xae" not in out and b"\xe2\x81\xa6" not in out, out  # no bidi override/isolate
        assert "\u241b]0;pwned".encode() in out or args[-1] != raw
    listing = _run_in_pty(["contacts", "list"], env).decode()
    assert "A[/b]" in listing and "[link=http://evil]x[/link]" in listing  # markup shown, not applied
