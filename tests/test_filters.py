"""List filters refuse what they do not know (issue 13, item 3): --where with an unknown field or a
value the field cannot hold exits 2 naming the fields; deals and follow-ups filter by --contact and
--company, contacts by --company."""

from __future__ import annotations

import json

import pytest

from crmcli.domain import contacts, deals, fields, followups
from crmcli.errors import NotFound, UsageError
from tests.test_cli import ok, one_line_error


def _ids(result) -> list[str]:
    return ok(result).stdout.split()


def _people(cli) -> dict[str, str]:
    """Anna and Bo at Acme, Cem at Globex, Dana at none; a deal for each of Anna, Cem and Dana."""
    ids = {
        "anna": ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de", "-c", "Acme GmbH", "-q")).stdout,
        "bo": ok(cli("contacts", "add", "Bo Berg", "-e", "bo@acme.de", "-c", "Acme GmbH", "-q")).stdout,
        "cem": ok(cli("contacts", "add", "Cem Aydın", "-e", "cem@globex.com", "-c", "Globex", "-q")).stdout,
        "dana": ok(cli("contacts", "add", "Dana Roth", "-e", "dana@example.org", "-q")).stdout,
    }
    ids = {k: v.strip() for k, v in ids.items()}
    ids["deal_anna"] = ok(cli("deals", "add", "Acme renewal", "-c", "anna@acme.de", "-q")).stdout.strip()
    ids["deal_cem"] = ok(cli("deals", "add", "Globex pilot", "-c", "cem@globex.com", "-q")).stdout.strip()
    # Dana's deal names Acme as its company: Acme's deal though she is not one of its people
    ids["deal_dana"] = ok(
        cli("deals", "add", "Dana for Acme", "-c", "dana@example.org", "--company", "Acme GmbH", "-q")
    ).stdout.strip()
    return ids


# ---------------------------------------------------------------- --where: unknown fields


def test_where_with_an_unknown_field_exits_2_and_names_the_fields(cli) -> None:
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de", "-c", "Acme GmbH"))
    ok(cli("fields", "add", "contacts", "tier", "--type", "choice", "--choices", "Gold,Silver"))
    # the reported fault: a typo listed nothing and exited 0
    result = cli("contacts", "list", "--where", "compny=Acme GmbH")
    one_line_error(result, 2, "contacts have no field 'compny'")
    assert result.stdout == ""
    message = result.stderr
    for name in ("name", "email", "phone", "company", "city", "birthday"):
        assert name in message
    assert "custom fields: tier" in message
    one_line_error(cli("companies", "list", "-w", "industy=SaaS"), 2, "companies have no field 'industy'")
    one_line_error(cli("deals", "list", "--where", "amout=5"), 2, "deals have no field 'amout'")
    one_line_error(cli("export", "contacts", "-", "--where", "compny=x"), 2, "no field 'compny'")
    one_line_error(cli("export", "deals", "-", "--where", "titel=x"), 2, "deals have no field 'titel'")
    # not FIELD=VALUE at all
    one_line_error(cli("contacts", "list", "--where", "city"), 2, "'city' is not key=value")


def test_custom_fields_are_known_when_declared_or_kept_by_a_record(cli) -> None:
    """A declared field is a field even before any record has it (no match, exit 0); an undeclared
    key is a field once a record keeps it; a key neither declared nor kept is unknown."""
    anna = ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de", "-F", "hobby=chess", "-q")).stdout.strip()
    ok(cli("fields", "add", "contacts", "seats", "--type", "number"))
    assert _ids(cli("contacts", "list", "--where", "seats=5", "-q")) == []
    assert _ids(cli("contacts", "list", "--where", "hobby=chess", "-q")) == [anna]
    assert _ids(cli("contacts", "list", "--where", "hobby=golf", "-q")) == []
    result = cli("contacts", "list", "--where", "hobbies=chess")
    one_line_error(result, 2, "no field 'hobbies'")
    assert "custom fields: hobby, seats" in result.stderr
    # other record types keep their own keys
    one_line_error(cli("companies", "list", "--where", "hobby=chess"), 2, "companies have no field 'hobby'")


# ---------------------------------------------------------------- --where: values


def test_where_with_a_value_the_field_cannot_hold_exits_2(cli) -> None:
    ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de", "-F", "seats=12"))
    ok(cli("fields", "add", "contacts", "seats", "--type", "number"))
    ok(cli("fields", "add", "contacts", "newsletter", "--type", "bool"))
    ok(cli("fields", "add", "deals", "tier", "--type", "choice", "--choices", "Gold,Silver"))
    one_line_error(cli("contacts", "list", "--where", "seats=many"), 2, "cannot filter contacts by seats: 'many'")
    one_line_error(cli("contacts", "list", "--where", "newsletter=perhaps"), 2, "'perhaps' is not yes/no")
    one_line_error(cli("contacts", "list", "--where", "email=not-an-email"), 2, "cannot filter contacts by email")
    one_line_error(cli("contacts", "list", "--where", "birthday=someday"), 2, "cannot filter contacts by birthday")
    one_line_error(cli("deals", "list", "--where", "status=maybe"), 2, "unknown status 'maybe'")
    one_line_error(cli("deals", "list", "--where", "currency=XXQ"), 2, "unknown currency 'XXQ'")
    one_line_error(cli("deals", "list", "--where", "tier=Bronze"), 2, "not one of Gold, Silver")
    one_line_error(cli("deals", "list", "--where", "stage=Closing"), 2, "no stage named 'Closing': stages are Lead")
    one_line_error(cli("deals", "list", "--where", "pipeline=Hiring"), 2, "no pipeline named 'Hiring'")
    one_line_error(cli("companies", "list", "--where", "domain=not a domain"), 2, "cannot filter companies by domain")
    # the same values that can be held still match, cleaned as a write cleans them
    assert len(_ids(cli("contacts", "list", "--where", "seats=12.0", "-q"))) == 1
    assert len(_ids(cli("contacts", "list", "--where", "email=Anna@ACME.de", "-q"))) == 1


def test_where_built_in_fields_match(cli) -> None:
    ids = _people(cli)
    assert _ids(cli("contacts", "list", "--where", "company=acme gmbh", "--sort", "id", "-q")) == [
        ids["anna"],
        ids["bo"],
    ]
    ok(cli("deals", "won", ids["deal_cem"]))
    assert _ids(cli("deals", "list", "--where", "status=won", "-q")) == [ids["deal_cem"]]
    assert _ids(cli("deals", "list", "--where", "stage=won", "-q")) == [ids["deal_cem"]]  # any case
    assert sorted(_ids(cli("deals", "list", "--where", "pipeline=Sales", "-q"))) == sorted(
        [ids["deal_anna"], ids["deal_cem"], ids["deal_dana"]]
    )
    assert len(_ids(cli("deals", "list", "--where", "currency=eur", "-q"))) == 3
    assert _ids(cli("deals", "list", "--where", "contact=Cem Aydın", "-q")) == [ids["deal_cem"]]


def test_where_through_the_domain(session) -> None:
    contacts.add_contact(session, name="Anna Müller", emails=["anna@acme.de"])
    fields.add_field(session, entity="deals", name="seats", type="number")
    with pytest.raises(UsageError, match="contacts have no field 'compny'"):
        contacts.list_contacts(session, where=["compny=Acme"])
    with pytest.raises(UsageError, match="cannot filter deals by seats"):
        deals.list_deals(session, where=["seats=lots"])
    assert [r["name"] for r in contacts.list_contacts(session, where=["email=ANNA@acme.de"])] == ["Anna Müller"]


# ---------------------------------------------------------------- --contact / --company


def test_deals_list_by_contact_and_company(cli) -> None:
    ids = _people(cli)
    # the reported fault: crm deals list had neither option
    assert _ids(cli("deals", "list", "--contact", "anna@acme.de", "-q")) == [ids["deal_anna"]]
    assert _ids(cli("deals", "list", "--contact", ids["cem"], "-q")) == [ids["deal_cem"]]
    assert _ids(cli("deals", "list", "--contact", ids["bo"], "-q")) == []
    # a company's own deals and its people's (Anna's deal took Acme from her)
    acme = sorted(_ids(cli("deals", "list", "--company", "Acme GmbH", "-q")))
    assert acme == sorted([ids["deal_anna"], ids["deal_dana"]])
    assert _ids(cli("deals", "list", "--company", "Globex", "-q")) == [ids["deal_cem"]]
    ok(cli("deals", "edit", ids["deal_anna"], "--company", ""))  # naming no company: still Anna's, so Acme's
    assert sorted(_ids(cli("deals", "list", "--company", "Acme GmbH", "-q"))) == acme
    ok(cli("deals", "edit", ids["deal_anna"], "--company", "Globex"))  # naming another: that one's
    assert _ids(cli("deals", "list", "--company", "Acme GmbH", "-q")) == [ids["deal_dana"]]
    ok(cli("deals", "edit", ids["deal_anna"], "--company", "Acme GmbH"))
    assert _ids(cli("deals", "list", "--company", "Acme GmbH", "--contact", "dana@example.org", "-q")) == [
        ids["deal_dana"]
    ]
    rows = json.loads(ok(cli("export", "deals", "-", "-f", "json", "--company", "Globex")).stdout)
    assert [str(r["id"]) for r in rows] == [ids["deal_cem"]]
    one_line_error(cli("deals", "list", "--contact", "nobody@nowhere.org"), 1, "nobody@nowhere.org")
    one_line_error(cli("deals", "list", "--company", "Initech"), 1, "Initech")


def test_followups_list_by_contact_and_company(cli) -> None:
    ids = _people(cli)
    on_anna = ok(cli("followups", "add", "anna@acme.de", "--due", "tomorrow", "--note", "Call", "-q")).stdout.strip()
    on_acme = ok(
        cli("followups", "add", "company:Acme GmbH", "--due", "tomorrow", "--note", "Review", "-q")
    ).stdout.strip()
    on_deal = ok(
        cli("followups", "add", f"deal:{ids['deal_anna']}", "--due", "tomorrow", "--note", "Chase", "-q")
    ).stdout.strip()
    ok(cli("contacts", "cadence", "anna@acme.de", "30d"))
    ok(cli("contacts", "cadence", "cem@globex.com", "30d"))
    everything = _ids(cli("followups", "list", "--all", "-q"))
    assert {on_anna, on_acme, on_deal, f"c{ids['anna']}", f"c{ids['cem']}"} == set(everything)
    # on the contact, its cadence one included
    assert set(_ids(cli("followups", "list", "--all", "--contact", "anna@acme.de", "-q"))) == {
        on_anna,
        f"c{ids['anna']}",
    }
    assert _ids(cli("followups", "list", "--all", "--contact", "cem@globex.com", "-q")) == [f"c{ids['cem']}"]
    assert _ids(cli("followups", "list", "--all", "--contact", "anna@acme.de", "--no-cadence", "-q")) == [on_anna]
    # on the company (cadence follow-ups are on people)
    assert _ids(cli("followups", "list", "--all", "--company", "Acme GmbH", "-q")) == [on_acme]
    assert _ids(cli("followups", "list", "--all", "--company", "Globex", "-q")) == []
    rows = json.loads(ok(cli("export", "followups", "-", "-f", "json", "--contact", "anna@acme.de")).stdout)
    assert {str(r["id"]) for r in rows} == {on_anna, f"c{ids['anna']}"}
    one_line_error(cli("followups", "list", "--contact", "nobody@nowhere.org"), 1, "nobody@nowhere.org")


def test_contacts_list_by_company(cli) -> None:
    ids = _people(cli)
    assert _ids(cli("contacts", "list", "--company", "Acme GmbH", "--sort", "id", "-q")) == [ids["anna"], ids["bo"]]
    assert _ids(cli("contacts", "list", "-c", "Globex", "-q")) == [ids["cem"]]
    one_line_error(cli("contacts", "list", "--company", "Initech"), 1, "Initech")


def test_list_filters_through_the_domain(session) -> None:
    anna = contacts.add_contact(session, name="Anna Müller", emails=["anna@acme.de"], company="Acme GmbH")
    deal = deals.add_deal(session, title="Acme renewal", contact="anna@acme.de")
    followups.set_cadence(session, anna, 30)
    assert [d["id"] for d in deals.list_deals(session, company="Acme GmbH")] == [deal.id]
    assert [d["id"] for d in deals.list_deals(session, contact="anna@acme.de")] == [deal.id]
    assert [f["id"] for f in followups.list_followups(session, window="all", contact="anna@acme.de")] == [f"c{anna.id}"]
    assert followups.list_followups(session, window="all", company="Acme GmbH") == []
    with pytest.raises(NotFound):
        deals.list_deals(session, company="Initech")
