"""crm mail import (issue 17 items 1-5): mail files become email activities.

Messages are built here in the encodings mail really comes in (UTF-8, ISO-8859-1,
quoted-printable, base64, RFC 2047 headers, multipart/alternative, HTML only, attachments, no
Message-ID, broken headers and undecodable bytes) and written as an mbox, a Maildir and a folder of
.eml files; tests/data/mail holds real messages from other projects' test suites (SOURCE.md). The
IMAP half is tests/test_mail_imap.py, against a real Dovecot.
"""

from __future__ import annotations

import csv
import json
import mailbox
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlmodel import col, select

from crmcli import storage
from crmcli.errors import Invalid, UsageError
from crmcli.importer import mail
from crmcli.models import Activity, ChangeSet, MailMessage

DATA = Path(__file__).parent / "data" / "mail"
ME = "ana@mine.example"


# ---------------------------------------------------------------- building messages


def message(
    sender: str,
    to: str,
    subject: str,
    body: str,
    *,
    date: str = "Mon, 16 Nov 2026 10:12:00 +0100",
    msgid: str | None = "<{n}@test.example>",
    cc: str | None = None,
    html: str | None = None,
    charset: str = "utf-8",
    cte: str | None = None,
    attachment: bytes | None = None,
) -> bytes:
    """A message as bytes (EmailMessage, the default policy)."""
    m = EmailMessage()
    m["From"] = sender
    m["To"] = to
    if cc:
        m["Cc"] = cc
    m["Subject"] = subject
    if date:
        m["Date"] = date
    if msgid:
        m["Message-ID"] = msgid.format(n=abs(hash((sender, to, subject, date))))
    m.set_content(body, charset=charset, cte=cte) if cte else m.set_content(body, charset=charset)
    if html is not None:
        m.add_alternative(html, subtype="html")
    if attachment is not None:
        m.add_attachment(attachment, maintype="application", subtype="pdf", filename="offer.pdf")
    return bytes(m)


def write_mbox(path: Path, raws: list[bytes]) -> Path:
    box = mailbox.mbox(path, create=True)
    for raw in raws:
        box.add(raw)
    box.close()
    return path


def write_maildir(path: Path, raws: list[bytes]) -> Path:
    box = mailbox.Maildir(path, create=True)
    for raw in raws:
        box.add(raw)
    return path


def write_eml(path: Path, raws: list[bytes]) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(raws):
        (path / f"{i:03}.eml").write_bytes(raw)
    return path


def ok(result):  # noqa: ANN001, ANN201
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return result


def as_json(cli, *args: str):  # noqa: ANN001, ANN201
    return json.loads(ok(cli(*args, "-f", "json")).stdout)


def user_of(db_url: str) -> str:
    """Who crm says acts: CRM_USER on SQLite, the database role on PostgreSQL."""
    from sqlalchemy.engine import make_url

    return "tester" if db_url.startswith("sqlite") else str(make_url(db_url).username)


def activities(db_url: str) -> list[Activity]:
    with storage.session_scope(db_url) as s:
        return list(s.exec(select(Activity).order_by(col(Activity.at), col(Activity.id))))


# ---------------------------------------------------------------- parsing, no database


def test_encodings_headers_and_bodies() -> None:
    latin = message(
        "=?iso-8859-1?q?J=FCrgen_M=FCller?= <juergen@acme.example>",
        ME,
        "Gr\u00fc\u00dfe aus K\u00f6ln",
        "Sch\u00f6ne Gr\u00fc\u00dfe, J\u00fcrgen",
        charset="iso-8859-1",
        cte="quoted-printable",
    )
    parsed = mail.parse(latin)
    assert parsed.sender == ("juergen@acme.example", "Jürgen Müller")
    assert parsed.text == "Grüße aus Köln — Schöne Grüße, Jürgen"
    assert b"=?utf-8?" in latin or b"=?iso" in latin  # the subject really is an encoded word
    b64 = message(
        "li@acme.example", ME, "=?utf-8?b?5oql5Lu3?=", "\u4f60\u597d\uff0c\u9644\u4e0a\u62a5\u4ef7", cte="base64"
    )
    assert mail.parse(b64).text == "报价 — 你好，附上报价"
    alternative = message("a@acme.example", ME, "Both", "the plain part", html="<p>the <b>html</b> part</p>")
    assert mail.parse(alternative).text == "Both — the plain part"
    html_only = EmailMessage()
    html_only["From"], html_only["To"], html_only["Subject"] = "a@acme.example", ME, "HTML only"
    html_only["Date"] = "Mon, 16 Nov 2026 10:12:00 +0000"
    html_only.set_content(
        "<html><head><style>p {color: red}</style><title>x</title></head><body><p>Dear Ana,</p>"
        "<p>the offer&nbsp;is &amp; stays valid.<br>Best</p><div class='gmail_quote'>On Mon … wrote:"
        "<blockquote>old text</blockquote></div><script>alert(1)</script></body></html>",
        subtype="html",
    )
    assert mail.parse(bytes(html_only)).text == "HTML only — Dear Ana, the offer is & stays valid. Best"
    with_pdf = message("a@acme.example", ME, "Offer", "See the attachment.", attachment=b"%PDF-1.4 binary\x00\xff")
    assert mail.parse(with_pdf).text == "Offer — See the attachment."
    # 8-bit bytes in headers (old clients): UTF-8 when they are, else Windows-1252
    raw = (
        b"From: J\xe9r\xf4me Dupont <jerome@acme.example>\r\nTo: ana@mine.example\r\n"
        b"Subject: R\xc3\xa9union\r\nDate: Tue, 17 Nov 2026 08:00:00 +0000\r\n\r\nbody \xff\r\n"
    )
    parsed = mail.parse(raw)
    assert parsed.sender == ("jerome@acme.example", "Jérôme Dupont") and parsed.subject == "Réunion"
    assert parsed.at == datetime(2026, 11, 17, 8, 0, tzinfo=UTC)


def test_message_ids_normalised_and_hashed_when_missing() -> None:
    assert mail.normalize_message_id("  <Abc.123@Host.example>  ") == "Abc.123@Host.example"
    assert mail.normalize_message_id("<a@b> <c@d>") == "a@b"
    first = mail.parse(message("a@acme.example", ME, "No id", "text", msgid=None))
    again = mail.parse(message("a@acme.example", ME, "No id", "text, edited", msgid=None))
    other = mail.parse(message("a@acme.example", ME, "No id", "text", msgid=None, date="Tue, 17 Nov 2026 10:00 +0000"))
    assert first.key.startswith("sha256:") and first.key == again.key != other.key  # Date+From+To+Subject
    assert mail.parse(message("a@acme.example", ME, "x", "y", msgid=" <id-1@x> ")).key == "id-1@x"


def test_snippets_leave_out_quotes_and_signatures() -> None:
    text = (
        "Hi Ana,\n\nthanks for the call. We go ahead.\n\nBest regards\n\n-- \nBob Baker\nCEO\n\n"
        "On Mon, Nov 16, 2026 at 10:00 AM Ana <ana@mine.example> wrote:\n> Shall we go ahead?\n"
    )
    assert mail.strip_reply(text) == "Hi Ana,\n\nthanks for the call. We go ahead.\n\nBest regards"
    assert mail.strip_reply("Top\n\n-----Original Message-----\nFrom: x\nold") == "Top"
    outlook = "Short answer.\n\nFrom: Ana <ana@mine.example>\nSent: Monday, 16 November 2026 10:00\nTo: Bob\nold"
    assert mail.strip_reply(outlook) == "Short answer."
    assert mail.strip_reply("> question?\nanswer below\n> more\nand more") == "answer below\nand more"
    long = mail.snippet("word " * 200)
    assert len(long) <= 301 and long.endswith("…") and not long.endswith(" …")
    assert mail.activity_text("", "") == "(no subject)"
    full = mail.activity_text("S", text, full_body=True)
    assert "> Shall we go ahead?" in full and "Bob Baker" in full


@pytest.mark.parametrize("path", sorted(DATA.glob("talon-*.eml")), ids=lambda p: p.name)
def test_real_replies_from_other_clients(path: Path) -> None:
    """mailgun/talon's replies from Gmail, Android, AOL, Apple Mail, Zimbra, Hotmail, iPhone,
    Sparrow, Thunderbird (bottom-posted) and Yahoo all say "Hello" above or below the quote."""
    if path.name == "talon-outlook.eml":  # the fixture has no Date header
        with pytest.raises(mail.BadMessage, match="no date"):
            mail.parse(path.read_bytes())
        return
    parsed = mail.parse(path.read_bytes())
    assert parsed.text.endswith(" — Hello"), parsed.text
    assert parsed.text.split(" — ")[0] in ("Re: Test", "RE: Test", "Re: Hello there")


def test_real_messages_from_pythons_own_tests() -> None:
    texts = {p.name: mail.parse(p.read_bytes()) for p in DATA.glob("cpython-*.eml")}
    assert texts["cpython-msg_01.eml"].sender == ("bbb@ddd.com", "John X. Doe")  # the old addr (Name) form
    assert texts["cpython-msg_01.eml"].text == "This is a test message — Hi, Do you like this message? -Me"
    assert texts["cpython-msg_10.eml"].text == "Lyrics — This is a 7bit encoded message."
    assert texts["cpython-msg_10.eml"].key.startswith("sha256:")
    assert texts["cpython-msg_26.eml"].text == "IMAP file test — Simple email with attachment."  # CRLF, a bitmap
    assert texts["cpython-msg_46.eml"].text.endswith("Testing email forwarding with Groupwise 1.2.2010")


def test_bad_messages() -> None:
    with pytest.raises(mail.BadMessage, match="no sender"):
        mail.parse(b"From: <<<@@@>>>\r\nTo: a@b.example\r\nDate: Mon, 16 Nov 2026 10:00 +0000\r\n\r\nx")
    with pytest.raises(mail.BadMessage, match="no date"):
        mail.parse(b"From: a@b.example\r\nDate: someday soon\r\n\r\nx")
    with pytest.raises(mail.BadMessage, match="no headers"):
        mail.parse(b"\x00\x01\x02 binary junk \xff\xfe")
    # no Date, but a Received header says when it arrived
    parsed = mail.parse(
        b"Received: from x by y; Tue, 17 Nov 2026 08:00:00 +0100\r\nFrom: a@b.example\r\nTo: c@d.example\r\n\r\nhi"
    )
    assert parsed.at == datetime(2026, 11, 17, 7, 0, tzinfo=UTC)


def test_imap_urls() -> None:
    url = mail.parse_imap_url("imaps://me%40example.org@mail.example.org/Sent%20Items")
    assert (url.secure, url.user, url.host, url.port, url.mailbox) == (
        True,
        "me@example.org",
        "mail.example.org",
        993,
        "Sent Items",
    )
    assert mail.parse_imap_url("imap://me@localhost:1143").key == "imap://me@localhost:1143/INBOX"
    with pytest.raises(UsageError, match="holds a password"):
        mail.parse_imap_url("imaps://me:secret@mail.example.org/INBOX")
    assert mail._ranges([1, 2, 3, 7, 9, 10]) == "1:3,7,9:10"  # noqa: SLF001
    assert mail._imap_utf7("Entwürfe") == "Entw&APw-rfe"  # noqa: SLF001


# ---------------------------------------------------------------- importing


def crm_world(cli) -> dict[str, str]:  # noqa: ANN001
    """Anna (Acme, acme.de) with one open deal, Bob (Globex) with two, a company Initech without people."""
    ok(cli("config", "set", "my_emails", f"{ME}, ana.private@home.example"))
    anna = ok(cli("contacts", "add", "Anna Weber", "-e", "anna@acme.example", "-c", "Acme GmbH")).stdout.strip()
    ok(cli("companies", "edit", "Acme GmbH", "--domain", "acme.example"))
    bob = ok(cli("contacts", "add", "Bob Stone", "-e", "Bob.Stone@Globex.example", "-c", "Globex")).stdout.strip()
    ok(cli("companies", "add", "Initech", "--domain", "initech.example"))
    deal = ok(cli("deals", "add", "Acme pilot", "-c", "anna@acme.example")).stdout.strip()
    ok(cli("deals", "add", "Globex one", "-c", "bob.stone@globex.example"))
    ok(cli("deals", "add", "Globex two", "-c", "bob.stone@globex.example"))
    return {"anna": anna, "bob": bob, "deal": deal}


def mailbox_messages() -> list[bytes]:
    return [
        # 1 in, from Anna: on her and her one open deal
        message(
            "Anna Weber <ANNA@acme.example>",
            f"Ana <{ME}>",
            "Re: pilot",
            "Yes, let's start.\n\n> old",
            date="Mon, 16 Nov 2026 10:00:00 +0100",
        ),
        # 2 out, to Bob (two open deals: on him only) and cc a stranger at Acme (Anna's company: not again)
        message(
            ME,
            "bob.stone@globex.example",
            "Proposal",
            "Attached.",
            cc="carl@acme.example, Anna <anna@acme.example>",
            date="Tue, 17 Nov 2026 09:00:00 +0000",
        ),
        # 3 out from the other own address, to someone at Initech: a company activity
        message(
            "ana.private@home.example",
            "Peter Gibbons <peter@initech.example>",
            "TPS",
            "Report?",
            date="Wed, 18 Nov 2026 09:00:00 +0000",
        ),
        # 4 in, from strangers: matched no one
        message(
            "Tom Baker <tom@baker.example>",
            ME,
            "Hello",
            "Who are you?",
            cc="Lisa <lisa@baker.example>",
            date="Wed, 18 Nov 2026 10:00:00 +0000",
        ),
        message("Tom Baker <tom@baker.example>", ME, "Again", "Hello?", date="Thu, 19 Nov 2026 10:00:00 +0000"),
        # 6 to myself only: no one
        message(ME, "ana.private@home.example", "Note to self", "milk", date="Thu, 19 Nov 2026 11:00:00 +0000"),
        # 7 the same message again (a copy in another folder): already taken in this run
        message(
            "Anna Weber <ANNA@acme.example>",
            f"Ana <{ME}>",
            "Re: pilot",
            "Yes, let's start.\n\n> old",
            date="Mon, 16 Nov 2026 10:00:00 +0100",
        ),
        # 8 bad: no address in From
        b"From: undisclosed\r\nTo: ana@mine.example\r\nSubject: broken\r\nDate: Thu, 19 Nov 2026 11:00 +0000\r\n\r\nx",
    ]


@pytest.mark.parametrize("form", ["mbox", "maildir", "eml"])
def test_import_matches_logs_and_is_idempotent(cli, db_url: str, tmp_path: Path, form: str) -> None:
    ids = crm_world(cli)
    writer = {"mbox": write_mbox, "maildir": write_maildir, "eml": write_eml}[form]
    source = writer(tmp_path / f"in.{form}", mailbox_messages())
    result = as_json(cli, "mail", "import", str(source))
    assert result["kind"] == form
    assert result["counts"] == {
        "read": 8,
        "logged": 3,
        "already": 1,
        "unmatched": 3,
        "bad": 1,
        "activities": 4,
        "suppressed": 0,
        "created": 0,
    }
    assert result["report_lines"] == 1 and Path(result["report_file"]).exists()
    [line] = list(csv.DictReader(Path(result["report_file"]).open(encoding="utf-8-sig")))
    assert (line["event"], line["column"], line["value"]) == ("bad message", "From", "undisclosed")
    assert "no sender" in line["reason"]
    rows = [(a.contact_id, a.company_id, a.deal_id, a.direction, a.text, a.at) for a in activities(db_url)]
    anna, bob, deal = int(ids["anna"]), int(ids["bob"]), int(ids["deal"])
    with storage.session_scope(db_url) as s:
        from crmcli.models import Company

        initech = s.exec(select(Company.id).where(Company.name == "Initech")).one()
    assert rows == [
        (anna, None, deal, "in", "Re: pilot — Yes, let's start.", datetime(2026, 11, 16, 9, 0, tzinfo=UTC)),
        (bob, None, None, "out", "Proposal — Attached.", datetime(2026, 11, 17, 9, 0, tzinfo=UTC)),
        (anna, None, deal, "out", "Proposal — Attached.", datetime(2026, 11, 17, 9, 0, tzinfo=UTC)),
        (None, initech, None, "out", "TPS — Report?", datetime(2026, 11, 18, 9, 0, tzinfo=UTC)),
    ]
    assert {a.type for a in activities(db_url)} == {"email"} and {a.by for a in activities(db_url)} == {user_of(db_url)}
    with storage.session_scope(db_url) as s:
        taken = s.exec(select(MailMessage.message_id, MailMessage.logged)).all()
        kinds = set(s.exec(select(ChangeSet.kind).where(col(ChangeSet.via).like("crm mail import%"))))
    assert sorted(n for _, n in taken) == [1, 1, 2]  # logged messages only: strangers wait for their contact
    assert kinds == {"mail"}
    again = as_json(cli, "mail", "import", str(source))
    assert again["counts"] | {} == {
        "read": 8,
        "logged": 0,
        "already": 4,
        "unmatched": 3,
        "bad": 1,
        "activities": 0,
        "suppressed": 0,
        "created": 0,
    }
    assert len(activities(db_url)) == 4
    # the customer view and search see the mail
    shown = as_json(cli, "contacts", "show", "anna@acme.example")
    assert shown["last_touch"].startswith("2026-11-17T09:00")
    assert "Proposal" in ok(cli("search", "Attached")).stdout


def test_the_same_mail_in_another_form_adds_nothing(cli, db_url: str, tmp_path: Path) -> None:
    crm_world(cli)
    raws = mailbox_messages()
    ok(cli("mail", "import", str(write_mbox(tmp_path / "a.mbox", raws))))
    for source in (write_maildir(tmp_path / "md", raws), write_eml(tmp_path / "eml", raws)):
        counts = as_json(cli, "mail", "import", str(source))["counts"]
        assert (counts["logged"], counts["already"], counts["activities"]) == (0, 4, 0)
    # one message as a file of its own
    single = tmp_path / "one.eml"
    single.write_bytes(raws[0])
    assert as_json(cli, "mail", "import", str(single))["counts"]["already"] == 1


def test_unknown_people_are_logged_once_added(cli, db_url: str, tmp_path: Path) -> None:
    crm_world(cli)
    source = write_mbox(tmp_path / "in.mbox", mailbox_messages())
    ok(cli("mail", "import", str(source)))
    listed = as_json(cli, "mail", "import", str(source), "--list-unknown")
    assert listed == [
        {"address": "tom@baker.example", "name": "Tom Baker", "messages": 2},
        {"address": "lisa@baker.example", "name": "Lisa", "messages": 1},
    ]
    table = ok(cli("mail", "import", str(source), "--list-unknown", "-f", "csv"))
    assert table.stdout.splitlines()[0] == "address,name,messages" and "read 8 =" in table.stderr
    ok(cli("contacts", "add", "Tom Baker", "-e", "tom@baker.example"))
    counts = as_json(cli, "mail", "import", str(source))["counts"]
    assert (counts["logged"], counts["unmatched"], counts["activities"]) == (2, 1, 2)


def test_create_contacts_names_them_and_logs(cli, db_url: str, tmp_path: Path) -> None:
    crm_world(cli)
    raws = [
        *mailbox_messages()[3:5],
        message("no-reply@shop.example", ME, "Your order", "shipped", date="Fri, 20 Nov 2026 08:00 +0000"),
        message("jane.doe_smith@corp.example", ME, "Hi", "intro", date="Fri, 20 Nov 2026 09:00 +0000"),
    ]
    source = write_mbox(tmp_path / "in.mbox", raws)
    result = as_json(cli, "mail", "import", str(source), "--create-contacts")
    assert [(c["name"], c["email"]) for c in result["created"]] == [
        ("Tom Baker", "tom@baker.example"),
        ("Lisa", "lisa@baker.example"),
        ("Jane Doe Smith", "jane.doe_smith@corp.example"),
    ]
    assert result["counts"]["logged"] == 3 and result["counts"]["unmatched"] == 1  # the shop's no-reply
    report = Path(result["report_file"]).read_text(encoding="utf-8-sig")
    assert "no-reply@shop.example" in report and "automated sender" in report
    tom = as_json(cli, "contacts", "show", "tom@baker.example")
    assert tom["source"] == "mail" and tom["owner"] == user_of(db_url)
    assert [a["text"] for a in tom["activities"]] == ["Again — Hello?", "Hello — Who are you?"]


def test_people_erased_on_request_are_skipped(cli, db_url: str, tmp_path: Path) -> None:
    crm_world(cli)
    ok(cli("contacts", "add", "Dora Lee", "-e", "dora@example.org"))
    ok(cli("contacts", "forget", "dora@example.org", "--yes"))
    raws = [
        message("Dora Lee <dora@example.org>", ME, "Remember me?", "hi", date="Fri, 20 Nov 2026 08:00 +0000"),
        message(
            "Dora Lee <dora@example.org>",
            ME,
            "Also Anna",
            "hi",
            cc="anna@acme.example",
            date="Fri, 20 Nov 2026 09:00 +0000",
        ),
    ]
    source = write_mbox(tmp_path / "in.mbox", raws)
    result = as_json(cli, "mail", "import", str(source), "--create-contacts")
    assert (result["counts"]["logged"], result["counts"]["unmatched"], result["counts"]["suppressed"]) == (1, 1, 2)
    assert result["created"] == [] and len(activities(db_url)) == 1
    listed = as_json(cli, "mail", "import", str(source), "--list-unknown")
    assert listed == []  # an erased person's address is not shown
    shown = ok(cli("mail", "import", str(source), "-f", "table"))
    assert "erased on request" in shown.stderr and "dora" not in shown.stdout + shown.stderr
    created = as_json(cli, "mail", "import", str(source), "--create-contacts", "--allow-suppressed")
    assert [c["email"] for c in created["created"]] == ["dora@example.org"]


def test_body_keeps_the_whole_text(cli, db_url: str, tmp_path: Path) -> None:
    crm_world(cli)
    long = "Dear Anna,\n\n" + "This is a long paragraph about the pilot. " * 20 + "\n\n-- \nAna\n\n> quoted"
    source = write_mbox(tmp_path / "in.mbox", [message(ME, "anna@acme.example", "Pilot", long)])
    ok(cli("mail", "import", str(source)))
    [short] = activities(db_url)
    assert short.text.startswith("Pilot — Dear Anna, This is a long") and short.text.endswith("…")
    assert len(short.text) < 330 and "quoted" not in short.text
    full = write_mbox(tmp_path / "full.mbox", [message(ME, "anna@acme.example", "Pilot 2", long)])
    ok(cli("mail", "import", str(full), "--body"))
    text = activities(db_url)[-1].text
    assert text.startswith("Pilot 2 — Dear Anna,\n\nThis is") and text.endswith("> quoted") and "\nAna\n" in text


def test_quiet_prints_nothing_and_bad_files_never_fail(cli, tmp_path: Path) -> None:
    crm_world(cli)
    folder = write_eml(tmp_path / "eml", [mailbox_messages()[0]])
    (folder / "zz-binary.eml").write_bytes(bytes(range(256)) * 4)
    (folder / "zz-empty.eml").write_bytes(b"")
    (folder / "ignored.txt").write_text("not mail")
    quiet = ok(cli("mail", "import", str(folder), "-q"))
    assert quiet.stdout == "" and quiet.stderr == ""
    report = (tmp_path / "eml.import-report.csv").read_text(encoding="utf-8-sig")
    assert "zz-binary.eml" in report and "zz-empty.eml" in report
    summary = ok(cli("mail", "import", str(folder), "-f", "table"))
    said = " ".join(summary.stdout.split())
    assert "(eml): read 3 = logged 0 + already imported 1 + matched no one 0 + bad 2; 0 activities" in said
    missing = cli("mail", "import", str(tmp_path / "nope.mbox"))
    assert missing.exit_code == 1 and "no mailbox at" in missing.stderr


def test_without_my_emails_everything_is_incoming(cli, db_url: str, tmp_path: Path) -> None:
    ok(cli("contacts", "add", "Anna Weber", "-e", "anna@acme.example"))
    source = write_mbox(tmp_path / "in.mbox", [message(ME, "anna@acme.example", "Hi", "x")])
    result = ok(cli("mail", "import", str(source), "-f", "table"))
    assert "my_emails is not set" in result.stderr
    assert [a.direction for a in activities(db_url)] == ["in"]


def test_a_cadence_moves_with_logged_mail(cli, tmp_path: Path) -> None:
    """Cadences are computed from activities: a mail logged on the contact pushes the due date back."""
    env = {"CRM_NOW": "2026-10-01T10:00:00Z"}
    ok(cli("config", "set", "my_emails", ME))
    ok(cli("contacts", "add", "Anna Weber", "-e", "anna@acme.example", env=env))
    ok(cli("contacts", "cadence", "anna@acme.example", "30d", env=env))
    now = {"CRM_NOW": "2026-11-23T09:00:00Z"}
    due = json.loads(ok(cli("followups", "show", "c1", "-f", "json", env=now)).stdout)
    assert due["due_at"] == "2026-10-31T10:00:00Z" and "overdue" in due["relative"]
    source = write_mbox(
        tmp_path / "in.mbox",
        [message(ME, "anna@acme.example", "Checking in", "How are you?", date="Fri, 20 Nov 2026 15:30:00 +0000")],
    )
    ok(cli("mail", "import", str(source), env=now))
    moved = json.loads(ok(cli("followups", "show", "c1", "-f", "json", env=now)).stdout)
    assert moved["due_at"] == "2026-12-20T15:30:00Z"
    assert ok(cli("followups", "overdue", env=now)).stdout == ""


def test_speed_to_lead_can_count_the_first_outgoing_email(session, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from datetime import date

    from crmcli.analytics import kpi
    from crmcli.domain import activities as acts
    from crmcli.domain import contacts, settings
    from crmcli.values import periods

    monkeypatch.setenv("CRM_NOW", "2026-11-02T09:00:00Z")
    lead = contacts.add_contact(session, name="Lea Lead", emails=["lea@lead.example"])
    monkeypatch.setenv("CRM_NOW", "2026-11-23T09:00:00Z")
    acts.log_activity(
        session, type="note", text="looked her up", contact=lead, at=datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    )
    incoming = acts.log_activity(
        session, type="email", text="her question", contact=lead, at=datetime(2026, 11, 2, 11, 0, tzinfo=UTC)
    )
    incoming.direction = "in"
    sent = acts.log_activity(
        session, type="email", text="our answer", contact=lead, at=datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
    )
    sent.direction = "out"
    session.flush()
    scope = kpi.Scope(periods.containing("month", date(2026, 11, 2)))
    assert kpi.speed_to_lead(session, scope)["median_hours"] == pytest.approx(1.0)
    settings.set_value(session, "speed_to_lead", "outgoing_email")
    assert kpi.speed_to_lead(session, scope)["median_hours"] == pytest.approx(5.0)
    settings.set_value(session, "speed_to_lead", "outgoing-email")
    with pytest.raises(Invalid, match="speed_to_lead"):
        settings.set_value(session, "speed_to_lead", "calls")


def test_batches_commit_as_they_go(session, tmp_path: Path) -> None:  # noqa: ANN001
    """Small batches: the counts still add up and a copy in a later batch is already taken."""
    from crmcli.domain import contacts, settings

    settings.set_value(session, "my_emails", ME)
    contacts.add_contact(session, name="Anna Weber", emails=["anna@acme.example"])
    session.commit()
    raws = [message("anna@acme.example", ME, f"m{i}", "x", date=f"Mon, {i + 1} Nov 2026 10:00 +0000") for i in range(7)]
    source = write_mbox(tmp_path / "in.mbox", [*raws, raws[0]])
    result = mail.import_mail(session, str(source), batch_size=3)
    assert result["counts"]["read"] == 8 and result["counts"]["logged"] == 7 and result["counts"]["already"] == 1
    assert session.exec(select(MailMessage)).all().__len__() == 7
