"""REFs resolve the way a person means them (crmcli.domain.lookup.resolve), and a --company name near an
existing company's uses it (companies.find_or_create): through the domain and the command line."""

from __future__ import annotations

import json

import pytest

from crmcli.commands import _prompts as prompts
from crmcli.domain import companies, contacts, deals, followups, lookup
from crmcli.errors import Ambiguous, Invalid, NotFound
from crmcli.values.matching import closest_company
from crmcli.values.normalize import company_key, name_key
from tests.test_cli import ok, one_line_error


def _people(session) -> dict[str, int]:
    """A small book where every REF below names one record of its kind."""
    from crmcli.domain import settings

    settings.set_value(session, "default_region", "DE")
    acme = companies.add_company(session, name="Acme GmbH", domain="acme.de", phone="+49 30 1234567")
    anna = contacts.add_contact(
        session, name="Anna Müller", emails=["anna@acme.de"], phones=["+49 151 12345678"], company=str(acme.id)
    )
    soren = contacts.add_contact(session, name="Søren Ødegård", emails=["soren@nord.no"])
    deal = deals.add_deal(session, title="Website relaunch Müller", contact=str(anna.id))
    session.flush()
    return {"acme": acme.id, "anna": anna.id, "soren": soren.id, "deal": deal.id}


def test_reference_forms_per_kind(session) -> None:
    ids = _people(session)
    anna, soren, acme, deal = ids["anna"], ids["soren"], ids["acme"], ids["deal"]
    table = [
        # (kind, REF, the id it names)
        ("contact", str(anna), anna),
        ("contact", f"#{anna}", anna),
        ("contact", f"contact:{anna}", anna),
        ("contact", f"Contact: #{anna}", anna),
        ("contact", "ANNA@ACME.DE", anna),
        ("contact", "+49 151 12345678", anna),
        ("contact", "0151 12345678", anna),
        ("contact", "015112345678", anna),  # no contact has that id: a phone
        ("contact", "0151/123 456-78", anna),
        ("contact", "Anna Müller", anna),
        ("contact", "anna muller", anna),
        ("contact", "soren odegard", soren),  # ø is no o with an accent to NFKD, yet people type o
        ("contact", "SØREN", soren),
        ("contact", "Anna M", anna),  # a prefix
        ("contact", "müller", anna),  # a word
        ("contact", "Øde", soren),  # the beginning of a word
        ("contact", "contact:anna@acme.de", anna),
        ("company", str(acme), acme),
        ("company", f"company:{acme}", acme),
        ("company", "acme.de", acme),
        ("company", "https://www.acme.de/about", acme),
        ("company", "info@acme.de", acme),
        ("company", "030 1234567", acme),
        ("company", "acme gmbh", acme),
        ("company", "ACME, Inc.", acme),  # legal forms ignored
        ("company", "acme", acme),
        ("deal", str(deal), deal),
        ("deal", f"deal:#{deal}", deal),
        ("deal", "website relaunch muller", deal),
        ("deal", "Müller", deal),  # the one deal whose title has the word
        ("deal", "Website", deal),
    ]
    resolver = {"contact": lookup.resolve_contact, "company": lookup.resolve_company, "deal": lookup.resolve_deal}
    for kind, ref, expected in table:
        assert resolver[kind](session, ref).id == expected, (kind, ref)
        assert lookup.resolve(session, ref, (kind,))[0] == kind


def test_a_subject_email_names_the_contact_before_the_companys_domain(session) -> None:
    ids = _people(session)
    contact, company, deal = lookup.resolve_subject(session, "anna@acme.de")
    assert (contact.id, company, deal) == (ids["anna"], None, None)
    contact, company, deal = lookup.resolve_subject(session, "info@acme.de")  # nobody has it: the domain
    assert (contact, company.id, deal) == (None, ids["acme"], None)
    contact, company, deal = lookup.resolve_subject(session, f"deal:{ids['deal']}")
    assert (contact, company, deal.id) == (None, None, ids["deal"])


def test_a_kind_prefix_of_another_kind_is_refused(session) -> None:
    ids = _people(session)
    with pytest.raises(Invalid, match="names a company: a contact is wanted here"):
        lookup.resolve_contact(session, f"company:{ids['acme']}")
    with pytest.raises(Invalid, match="a follow-up id is wanted here"):
        followups.parse_id(f"contact:{ids['anna']}")
    assert followups.parse_id("followup:12").value == 12
    assert str(followups.parse_id("follow-up:#c7")) == "c7"


def test_an_exact_spelling_wins_over_other_spellings_of_the_same_key(session) -> None:
    folded = contacts.add_contact(session, name="Anna Muller")
    exact = contacts.add_contact(session, name="Anna Müller", allow_duplicate=True)
    assert lookup.resolve_contact(session, "Anna Müller").id == exact.id
    assert lookup.resolve_contact(session, "Anna Muller").id == folded.id
    with pytest.raises(Ambiguous) as info:
        lookup.resolve_contact(session, "anna muller")  # neither spelling: both are meant
    assert {c.id for c in info.value.choices} == {folded.id, exact.id}


def test_a_whole_word_wins_over_the_beginning_of_one(session) -> None:
    whole = deals.add_deal(session, title="Relaunch Müller")
    deals.add_deal(session, title="Müllerstraße office move")
    assert lookup.resolve_deal(session, "müller").id == whole.id
    assert lookup.resolve_deal(session, "müllerstr").title == "Müllerstraße office move"


def test_ambiguity_carries_the_candidates(session) -> None:
    ids = _people(session)
    other = contacts.add_contact(session, name="Hans Müller", emails=["hans@x.de"])
    with pytest.raises(Ambiguous) as info:
        lookup.resolve_subject(session, "Müller")
    choices = info.value.choices
    assert [(c.kind, c.id) for c in choices] == [("contact", ids["anna"]), ("contact", other.id), ("deal", ids["deal"])]
    assert choices[0].company == "Acme GmbH" and choices[2].company == "Acme GmbH"
    assert info.value.candidates[0] == f"contact #{ids['anna']} Anna Müller (Acme GmbH) <anna@acme.de>"
    assert info.value.candidates[2] == f"deal #{ids['deal']} Website relaunch Müller (Acme GmbH, open)"
    assert "matches 2 contacts and 1 deal" in str(info.value)
    # a chooser (the command line's prompt on a terminal) may pick one; declining leaves it ambiguous
    lookup.set_chooser(lambda ref, candidates: candidates[1])
    try:
        assert lookup.resolve_subject(session, "Müller")[0].id == other.id
        lookup.set_chooser(lambda ref, candidates: None)
        with pytest.raises(Ambiguous):
            lookup.resolve_subject(session, "Müller")
    finally:
        lookup.set_chooser(None)


def test_nothing_found_suggests_the_closest_names(session) -> None:
    ids = _people(session)
    with pytest.raises(NotFound) as info:
        lookup.resolve_contact(session, "Anna Mueler")
    assert str(info.value) == f"no contact matches 'Anna Mueler'; did you mean Anna Müller (contact #{ids['anna']})?"
    with pytest.raises(NotFound) as info:
        lookup.resolve_subject(session, "Zzyzx Qwertz")
    assert str(info.value) == "no contact, company or deal matches 'Zzyzx Qwertz'"
    with pytest.raises(NotFound, match="no deal with id 999999$"):
        lookup.resolve_deal(session, "999999")
    with pytest.raises(NotFound, match="no deal with id 99999999999$"):  # beyond 32 bits: none, not a database error
        lookup.resolve_deal(session, "99999999999")
    with pytest.raises(NotFound, match="no follow-up with id 99999999999"):
        followups.get_followup(session, "99999999999")


def test_company_names_fold_and_und_and_legal_forms_alike() -> None:
    assert company_key("Müller und Söhne") == company_key("Müller & Söhne GmbH") == "mullersohne"
    assert company_key("Procter and Gamble Inc.") == company_key("Procter & Gamble")
    assert company_key("Smith and Co") == "smith"
    assert company_key("And Partners") == "andpartners"  # a first word stays
    assert name_key("Søren Ødegård") == "soren odegard" and name_key("Łódź Æble") == "lodz aeble"
    names = {1: "Acme GmbH", 2: "Müller & Söhne GmbH", 3: "Siemens AG"}
    assert closest_company("Müller und Söhne", names) == 2
    assert closest_company("Mueller & Soehne", names) == 2  # a close fuzzy match
    assert closest_company("ACME, Inc.", names) == 1
    assert closest_company("Siemans", names) is None  # one letter in seven is another company
    assert closest_company("Müller Bau", names) is None


def test_find_or_create_uses_a_near_company_and_says_so(session) -> None:
    firm = companies.add_company(session, name="Müller & Söhne GmbH")
    lookup.take_notes()
    assert companies.find_or_create(session, "Müller und Söhne").id == firm.id
    assert lookup.take_notes() == [f"using company #{firm.id} Müller & Söhne GmbH for 'Müller und Söhne'"]
    assert companies.find_or_create(session, "müller & söhne gmbh").id == firm.id
    assert lookup.take_notes() == []  # the same name: nothing to say
    other = companies.find_or_create(session, "Müller und Söhne", new_company=True)
    assert other.id != firm.id and other.name == "Müller und Söhne"
    with pytest.raises(NotFound):
        companies.find_or_create(session, "company:999999")  # a reference, not a new name
    person = contacts.add_contact(session, name="Jo", company="Mueller & Soehne")  # as close to both: the oldest
    assert person.company_id == firm.id


# ---------------------------------------------------------------- the command line


def _book(cli) -> None:
    ok(cli("config", "set", "default_region", "DE"))
    ok(cli("contacts", "add", "A", "-e", "anna@acme.de", "-c", "Acme GmbH"))
    ok(cli("companies", "edit", "Acme GmbH", "--domain", "acme.de"))


def test_cli_email_names_the_contact_and_kind_prefixes_work_everywhere(cli) -> None:
    _book(cli)
    logged = ok(cli("log", "anna@acme.de", "x"))  # was: "is contact #1 and company #1"
    assert logged.stderr.startswith("Logged note") and "on A" in logged.stderr
    ok(cli("log", "info@acme.de", "y"))  # nobody has that address: the company of its domain
    company = json.loads(ok(cli("companies", "show", "acme.de", "-f", "json")).stdout)
    contact_id = json.loads(ok(cli("contacts", "show", "anna@acme.de", "-f", "json")).stdout)["id"]
    on = {a["text"]: (a["contact_id"], a["company_id"]) for a in company["activities"]}
    assert on == {"x": (contact_id, None), "y": (None, company["id"])}
    ref = f"contact:{contact_id}"
    deal_id = ok(cli("deals", "add", "Renewal", "-c", ref, "-q")).stdout.strip()  # was refused
    assert json.loads(ok(cli("deals", "show", f"deal:{deal_id}", "-f", "json")).stdout)["contact"] == "A"
    ok(cli("contacts", "cadence", ref, "30d"))  # was refused
    ok(cli("log", ref, "z"))
    ok(cli("contacts", "show", ref))
    ok(cli("contacts", "edit", ref, "--title", "CTO"))
    ok(cli("followups", "add", ref, "--due", "3d"))
    ok(cli("followups", "add", f"company:{company['id']}", "--due", "3d"))
    fid = ok(cli("followups", "add", f"deal:{deal_id}", "--due", "3d", "-q")).stdout.strip()
    ok(cli("followups", "show", f"followup:{fid}"))
    ok(cli("companies", "show", f"company:{company['id']}"))
    ok(cli("contacts", "list", "--company", f"company:{company['id']}"))
    one_line_error(cli("deals", "add", "X", "-c", f"company:{company['id']}"), 1, "a contact is wanted here")


def test_cli_accent_blind_prefix_and_word_references(cli) -> None:
    _book(cli)
    ok(cli("contacts", "add", "Søren Ødegård", "-e", "soren@nord.no"))
    assert "on Søren Ødegård" in ok(cli("log", "soren odegard", "hei")).stderr
    ok(cli("deals", "add", "Website relaunch Müller", "-c", "soren@nord.no"))
    moved = ok(cli("deals", "move", "Müller", "Qualified"))  # was: needs the exact title
    assert "Website relaunch Müller" in moved.stderr
    shown = json.loads(ok(cli("deals", "show", "relaunch", "-f", "json")).stdout)
    assert shown["stage"] == "Qualified"
    assert "on Acme GmbH" in ok(cli("log", "acme", "a word of the company's name")).stderr


@pytest.mark.in_process
def test_cli_ambiguity_and_did_you_mean(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import questionary

    _book(cli)
    first = ok(cli("contacts", "add", "Anna Müller", "-e", "a1@x.de", "-c", "Acme GmbH", "-q")).stdout.strip()
    second = ok(cli("contacts", "add", "Anna Müller", "-e", "a2@x.de", "--allow-duplicate", "-q")).stdout.strip()

    def no_prompt(*args, **kwargs):
        raise AssertionError("prompted without a terminal")

    monkeypatch.setattr(questionary, "select", no_prompt)
    monkeypatch.setattr(prompts, "interactive", lambda: True)  # stdin a terminal, stdout a pipe: still no list
    result = cli("log", "Anna Müller", "hi")
    one_line_error(result, 1, "'Anna Müller' matches 2 contacts: ")
    assert (
        f"contact #{first} Anna Müller (Acme GmbH) <a1@x.de>; contact #{second} Anna Müller <a2@x.de>" in result.stderr
    )
    one_line_error(cli("contacts", "show", "Anna Mueler"), 1, f"did you mean Anna Müller (contact #{first})")
    one_line_error(cli("log", "Zzyzx", "hi"), 1, "no contact, company or deal matches 'Zzyzx'")
    assert "did you mean" not in cli("log", "Zzyzx", "hi").stderr


@pytest.mark.in_process
def test_cli_on_a_terminal_an_ambiguous_ref_is_chosen_from_a_list(cli, monkeypatch: pytest.MonkeyPatch) -> None:
    import questionary

    _book(cli)
    ok(cli("contacts", "add", "Anna Müller", "-e", "a1@x.de", "-q"))
    second = ok(cli("contacts", "add", "Anna Müller", "-e", "a2@x.de", "--allow-duplicate", "-q")).stdout.strip()
    asked: list = []

    class Pick:
        def __init__(self, question, choices):
            asked.append((question, [c.title for c in choices]))
            self.value = choices[1].value

        def ask(self):
            return self.value

    monkeypatch.setattr(prompts, "can_choose", lambda: True)
    monkeypatch.setattr(questionary, "select", lambda question, choices: Pick(question, choices))
    ok(cli("log", "Anna Müller", "chosen"))
    assert asked[0][0] == "'Anna Müller' matches 2: which one?"
    assert asked[0][1][1] == f"contact #{second} Anna Müller <a2@x.de>"
    shown = json.loads(ok(cli("contacts", "show", f"contact:{second}", "-f", "json")).stdout)
    assert [a["text"] for a in shown["activities"]] == ["chosen"]

    class Escape:
        def __init__(self, *args, **kwargs):
            pass

        def ask(self):
            return None

    monkeypatch.setattr(questionary, "select", Escape)
    one_line_error(cli("log", "Anna Müller", "no"), 1, "cancelled")


def test_cli_merged_ids_still_work(cli) -> None:
    _book(cli)
    keep = ok(cli("contacts", "add", "Bo Berg", "-e", "bo@x.de", "-q")).stdout.strip()
    gone = ok(cli("contacts", "add", "Bo Berg", "-e", "bo@y.de", "--allow-duplicate", "-q")).stdout.strip()
    ok(cli("contacts", "merge", keep, gone, "--yes"))
    for ref in (gone, f"#{gone}", f"contact:{gone}"):
        result = ok(cli("log", ref, "after the merge"))
        assert f"#{gone} was merged into #{keep}" in result.stderr


def test_cli_near_company_names_link_and_new_company_makes_one(cli) -> None:
    ok(cli("contacts", "add", "B", "-c", "Müller & Söhne GmbH"))
    firm = json.loads(ok(cli("companies", "show", "Müller & Söhne GmbH", "-f", "json")).stdout)["id"]
    result = ok(cli("contacts", "add", "C", "-c", "Müller und Söhne"))  # was: a second company
    assert f"using company #{firm} Müller & Söhne GmbH for 'Müller und Söhne' (--new-company makes a new one)" in (
        result.stderr
    )
    ok(cli("contacts", "add", "D", "-c", "Mueller & Soehne"))
    assert len(ok(cli("companies", "list", "-q")).stdout.split()) == 1
    edited = ok(cli("contacts", "edit", "D", "-c", "MÜLLER UND SÖHNE"))
    assert f"using company #{firm}" in edited.stderr
    ok(cli("contacts", "add", "E", "-c", "Müller und Söhne", "--new-company"))
    ok(cli("contacts", "add", "F", "-c", "Müller Bau"))  # another name: another company, nothing said
    assert len(ok(cli("companies", "list", "-q")).stdout.split()) == 3
    people = json.loads(ok(cli("companies", "show", f"company:{firm}", "-f", "json")).stdout)["contacts"]
    assert sorted(p["name"] for p in people) == ["B", "C", "D"]


def test_migration_0010_refolds_stored_name_keys(tmp_path) -> None:
    from pathlib import Path

    from alembic import command
    from alembic.config import Config

    from crmcli import storage

    url = f"sqlite:///{tmp_path / 'old.db'}"
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(storage.__file__).parent / "migrations"))
    with storage.get_engine(url).begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0008")  # storage.upgrade takes it on: 0009 needs foreign keys off
        for table, name, key in (
            ("contact", "Søren Ødegård", "søren ødegard"),
            ("company", "Łódź Logistik", "łodz logistik"),
        ):
            conn.exec_driver_sql(  # the keys as stored before 0010: ø and ł kept
                f"INSERT INTO {table} (name, name_key, custom, created_at, updated_at) "
                "VALUES (?, ?, '{}', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                (name, key),
            )
        conn.exec_driver_sql(  # its search document as compose() folded it before 0010
            "INSERT INTO search_doc (kind, ref_id, title, body) "
            "VALUES ('contact', 1, 'Søren Ødegård', 'Søren Ødegård Søren Ødegard')"
        )
    storage.dispose_all()
    storage.open_engine(url)  # upgrades
    with storage.session_scope(url) as s:
        keys = s.connection().exec_driver_sql("SELECT name_key FROM contact UNION ALL SELECT name_key FROM company")
        assert sorted(k for (k,) in keys) == ["lodz logistik", "soren odegard"]
        assert lookup.resolve_contact(s, "soren odegard").name == "Søren Ødegård"
        assert lookup.resolve_company(s, "Lodz Logistik").name == "Łódź Logistik"
        from crmcli.domain import search

        assert [hit["title"] for hit in search.search(s, "soren odegard")] == ["Søren Ødegård"]


def test_a_real_terminal_chooses_an_ambiguous_ref_with_the_arrow_keys(cli, db_url: str) -> None:
    """Through a real pseudo-terminal: questionary's list, the down arrow, Enter; the activity is
    logged on the second candidate."""
    import os
    import pty
    import select
    import sys
    import time

    ok(cli("contacts", "add", "Anna Müller", "-e", "a1@x.de", "-q"))
    second = ok(cli("contacts", "add", "Anna Müller", "-e", "a2@x.de", "--allow-duplicate", "-q")).stdout.strip()
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "CRM_DEBUG")}
    env.update({"CRM_DB": db_url, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"})
    pid, fd = pty.fork()
    if pid == 0:  # the child: crm with the pty as its terminal (stdin and stdout)
        try:
            os.execvpe(sys.executable, [sys.executable, "-m", "crmcli", "log", "anna muller", "chosen"], env)
        finally:
            os._exit(127)
    seen, sent, deadline = b"", False, time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
        if not sent and b"which one?" in seen and b"a2@x.de" in seen:
            time.sleep(0.3)  # let questionary finish drawing before the keys arrive
            os.write(fd, b"\x1b[B")  # down arrow
            time.sleep(0.3)
            os.write(fd, b"\r")
            sent = True
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    assert sent, seen
    assert os.waitstatus_to_exitcode(status) == 0, seen
    shown = json.loads(ok(cli("contacts", "show", f"contact:{second}", "-f", "json")).stdout)
    assert [a["text"] for a in shown["activities"]] == ["chosen"]
