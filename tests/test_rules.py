"""Assignment rules (issue 18, item 4): who new contacts, companies and deals go to when they are
added without an owner, by `add`, `import` or any caller of the domain; on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from crmcli.domain import companies, contacts, deals, rules
from crmcli.errors import Invalid, NotFound, UsageError
from crmcli.models import Company
from tests.test_cli import ok, one_line_error


def owner_of(cli, *args: str) -> str | None:
    """`crm ARGS -f json` of an add: the new record's owner."""
    return json.loads(ok(cli(*args, "-f", "json")).stdout)["owner"]


def you(db_url: str) -> str:
    """The default owner: CRM_USER on SQLite, the database role on PostgreSQL."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    return url.username or "" if url.get_backend_name() == "postgresql" else "tester"


def listed(cli) -> list[dict]:
    return json.loads(ok(cli("rules", "list", "-f", "json")).stdout)


# ---------------------------------------------------------------- the domain: each matcher


def test_country_matches_the_address_by_name_or_code_else_the_phone(session) -> None:
    rules.add_rule(session, entity="contacts", field="country", value="Deutschland", owner="ana")
    assert [r["value"] for r in rules.list_rules(session)] == ["DE"]  # kept as its ISO code

    def add(name: str, **kw) -> str | None:
        return contacts.add_contact(session, name=name, default_owner="me", **kw).owner

    assert add("Address in German", country="Deutschland") == "ana"
    assert add("Address in English", country="germany") == "ana"
    assert add("Address as a code", country="de") == "ana"
    assert add("Only a phone", phones=["+49 151 12345678"]) == "ana"  # no address: the phone's country
    assert add("French address, German phone", country="France", phones=["+49 151 12345679"]) == "me"
    assert add("Nothing known") == "me"  # no rule matches: the default


def test_a_deal_is_where_its_contact_is_else_where_its_company_is(session) -> None:
    rules.add_rule(session, entity="deals", field="country", value="DE", owner="ana")
    rules.add_rule(session, entity="deals", field="region", value="FR", owner="ben")
    paris = companies.add_company(session, name="Paris SA", country="France", phone="+33 1 42 68 53 00", owner="x")
    jo = contacts.add_contact(session, name="Jo", phones=["+49 151 12345678"], company=str(paris.id), owner="x")
    assert deals.add_deal(session, title="Jo's", contact=str(jo.id), default_owner="me").owner == "ana"
    assert deals.add_deal(session, title="Paris'", company=str(paris.id), default_owner="me").owner == "ben"
    assert deals.add_deal(session, title="Nobody's", default_owner="me").owner == "me"


def test_region_matches_the_first_phones_country_only(session) -> None:
    rules.add_rule(session, entity="contacts", field="region", value="FR", owner="ben")
    owner = contacts.add_contact(session, name="Zoé", phones=["+33 6 12 34 56 78"], country="Germany").owner
    assert owner == "ben"
    other = contacts.add_contact(session, name="Ole", phones=["+49 151 22345678", "+33 6 12 34 56 79"], country="FR")
    assert other.owner is None  # the first phone is German; the address does not count for region


def test_industry_of_a_company_and_of_a_contacts_or_deals_company(session) -> None:
    rules.add_rule(session, entity="companies", field="industry", value="saas", owner="ana")
    rules.add_rule(session, entity="contacts", field="industry", value="SaaS", owner="ben")
    rules.add_rule(session, entity="deals", field="industry", value="SAAS", owner="mei")
    acme = companies.add_company(session, name="Acme", industry="SaaS", default_owner="me")
    shop = companies.add_company(session, name="Shop", industry="Retail", default_owner="me")
    assert (acme.owner, shop.owner) == ("ana", "me")
    assert contacts.add_contact(session, name="Ann", company=str(acme.id), default_owner="me").owner == "ben"
    assert contacts.add_contact(session, name="Bob", company=str(shop.id), default_owner="me").owner == "me"
    assert deals.add_deal(session, title="Pilot", company=str(acme.id), default_owner="me").owner == "mei"
    assert deals.add_deal(session, title="Via Ann", contact="Ann", default_owner="me").owner == "mei"  # her company's
    assert deals.add_deal(session, title="Shop deal", company=str(shop.id), default_owner="me").owner == "me"


def test_source_and_tag_compare_case_and_accent_blind(session) -> None:
    rules.add_rule(session, entity="contacts", field="source", value="Messe München", owner="ana")
    rules.add_rule(session, entity="contacts", field="tag", value="Key Account", owner="ben")
    rules.add_rule(session, entity="deals", field="tag", value="vip", owner="mei")
    assert contacts.add_contact(session, name="A", source="messe munchen").owner == "ana"
    assert contacts.add_contact(session, name="B", tags=["key-account"]).owner == "ben"
    vip = contacts.add_contact(session, name="C", tags=["VIP"], owner="zoe")  # explicit: no rule
    assert vip.owner == "zoe"
    assert deals.add_deal(session, title="For a VIP", contact=str(vip.id)).owner == "mei"  # its contact's tags


def test_any_is_a_catch_all_and_the_first_match_by_position_wins(session) -> None:
    catch_all = rules.add_rule(session, entity="contacts", field="any", owner="zoe")
    rules.add_rule(session, entity="contacts", field="source", value="fair", owner="ana")  # after the catch-all
    assert contacts.add_contact(session, name="A", source="fair").owner == "zoe"
    first = rules.add_rule(session, entity="contacts", field="source", value="fair", owner="ben", position=1)
    assert [(r["position"], r["owner"]) for r in rules.list_rules(session)] == [(1, "ben"), (2, "zoe"), (3, "ana")]
    assert contacts.add_contact(session, name="B", source="fair").owner == "ben"
    assert contacts.add_contact(session, name="C", source="web").owner == "zoe"
    rules.remove_rule(session, first.id)  # the rules after it move up
    assert [(r["position"], r["id"]) for r in rules.list_rules(session)][0] == (1, catch_all.id)
    assert [r["position"] for r in rules.list_rules(session)] == [1, 2]
    # a position past the end is the end
    late = rules.add_rule(session, entity="contacts", field="tag", value="x", owner="a", position=99)
    assert late.position == 3


def test_an_explicit_owner_wins_and_an_empty_one_stays_empty(session) -> None:
    rules.add_rule(session, entity="contacts", field="any", owner="zoe")
    rules.add_rule(session, entity="companies", field="any", owner="zed")
    assert contacts.add_contact(session, name="A", owner="kim").owner == "kim"
    assert contacts.add_contact(session, name="B", owner="").owner is None
    assert companies.add_company(session, name="C", owner="kim").owner == "kim"
    # a company a contact add creates goes by the companies' rules when the contact names no owner
    person = contacts.add_contact(session, name="D", company="New Co", default_owner="me")
    assert person.owner == "zoe"
    assert session.get(Company, person.company_id).owner == "zed"


def test_round_robin_deals_in_turn(session) -> None:
    rule = rules.add_rule(session, entity="deals", field="any", round_robin=["ana", "ben", "mei"])
    owners = [deals.add_deal(session, title=f"D{i}").owner for i in range(9)]
    assert owners == ["ana", "ben", "mei"] * 3
    assert rules.get_rule(session, rule.id).turn == 9
    assert rules.rule_record(rule)["next"] == "ana"


def test_rule_errors_speak_about_the_data(session) -> None:
    with pytest.raises(UsageError) as field:
        rules.add_rule(session, entity="contacts", field="colour", value="red", owner="ana")
    assert field.value.message.startswith("'colour' is no field a rule matches by: country, region")
    with pytest.raises(UsageError) as entity:
        rules.add_rule(session, entity="leads", field="any", owner="ana")
    assert "'leads' is no kind of record" in entity.value.message
    with pytest.raises(UsageError) as nobody:
        rules.add_rule(session, entity="contacts", field="any")
    assert nobody.value.hint is not None and nobody.value.hint.keywords == ("owner", "round_robin")
    with pytest.raises(UsageError):
        rules.add_rule(session, entity="contacts", field="any", owner="a", round_robin=["b", "c"])
    with pytest.raises(Invalid) as country:
        rules.add_rule(session, entity="contacts", field="country", value="Narnia", owner="ana")
    assert country.value.message == "unknown country 'Narnia': use a name (Germany) or a two-letter code (DE)"
    with pytest.raises(NotFound):
        rules.get_rule(session, 404)
    for exc in (field, entity, nobody, country):
        assert "--" not in exc.value.message


# ---------------------------------------------------------------- the command line


def test_cli_add_list_test_rm(cli, db_url: str) -> None:
    added = ok(cli("rules", "add", "contacts", "--country", "Germany", "--owner", "ana"))
    assert added.stdout.strip() == "1" and "Added rule #1 (for contacts, tried 1st): country DE → ana" in added.stderr
    ok(cli("rules", "add", "contacts", "--any", "--round-robin", "ben, mei"))
    ok(cli("rules", "add", "contacts", "--tag", "VIP", "--owner", "zoe", "--position", "1"))
    ok(cli("rules", "add", "deals", "--source", "trade fair", "--owner", "ivy"))
    rows = listed(cli)
    assert [(r["entity"], r["position"], r["matches"], r["owner"]) for r in rows] == [
        ("contacts", 1, "tag vip", "zoe"),
        ("contacts", 2, "country DE", "ana"),
        ("contacts", 3, "any", "round robin: ben, mei"),
        ("deals", 1, "source trade fair", "ivy"),
    ]
    assert ok(cli("rules", "list", "deals", "-q")).stdout.split() == ["4"]
    plain = ok(cli("rules", "list", "-f", "plain")).stdout.splitlines()
    assert plain[0].split("\t") == ["3", "contacts", "1", "tag vip", "zoe", "zoe"]

    assert owner_of(cli, "contacts", "add", "Jonas", "-p", "+49 171 5550123") == "ana"
    assert owner_of(cli, "contacts", "add", "Vera", "-t", "vip", "--country", "DE") == "zoe"
    assert owner_of(cli, "contacts", "add", "Ed") == "ben"
    assert owner_of(cli, "contacts", "add", "Flo", "--owner", "kim") == "kim"  # an explicit owner wins
    assert owner_of(cli, "contacts", "add", "Gil") == "mei"
    assert owner_of(cli, "deals", "add", "Fair deal", "--source", "Trade Fair") == "ivy"
    assert owner_of(cli, "deals", "add", "Other deal") == you(db_url)  # none matches: you, as before
    assert owner_of(cli, "companies", "add", "No Rule Co") == you(db_url)

    shown = json.loads(ok(cli("rules", "test", "Jonas", "-f", "json")).stdout)
    assert (shown["rule"]["id"], shown["owner"], shown["region"], shown["record"]) == (
        1,
        "ana",
        "DE",
        "contact #1 Jonas",
    )
    again = json.loads(ok(cli("rules", "test", "Ed", "-f", "json")).stdout)
    assert (again["rule"]["id"], again["owner"]) == (2, "ben")  # the next turn of the round robin …
    assert json.loads(ok(cli("rules", "test", "Ed", "-f", "json")).stdout)["owner"] == "ben"  # … not taken
    table = ok(cli("rules", "test", "deal:Other deal", "-f", "plain")).stdout
    assert "Rule\tnone matches" in table and "Owner" not in table
    described = ok(cli("rules", "test", "--entity", "contacts", "--region", "de", "-f", "plain")).stdout
    assert "Rule\t#1: country DE → ana\n" in described and "Owner\tana\n" in described
    assert ok(cli("rules", "test", "--entity", "deals", "--source", "trade fair", "-f", "ids")).stdout == "4\n"

    one_line_error(cli("rules", "rm", "2"), 2, "not a terminal: add --yes to remove rule #2")
    removed = ok(cli("rules", "rm", "#2", "--yes"))
    assert "Removed rule #2 (for contacts, tried 3rd): any → round robin: ben, mei" in removed.stderr
    assert [r["id"] for r in listed(cli)] == [3, 1, 4]
    one_line_error(cli("rules", "rm", "2", "--yes"), 1, "no assignment rule with id 2")


def test_cli_usage_errors(cli) -> None:
    one_line_error(cli("rules", "add", "contacts", "--owner", "ana"), 2, "a rule matches by one of --country")
    one_line_error(
        cli("rules", "add", "contacts", "--any", "--tag", "x", "--owner", "ana"), 2, "a rule matches by only one of"
    )
    one_line_error(
        cli("rules", "add", "contacts", "--any"),
        2,
        "a rule must name who gets the records it matches: --owner names one user, --round-robin several",
    )
    one_line_error(cli("rules", "add", "contacts", "--any", "--owner", "a", "--round-robin", "b,c"), 2, "not both")
    one_line_error(cli("rules", "add", "contacts", "--any", "--round-robin", " , "), 2, "must name who gets")
    one_line_error(cli("rules", "add", "contacts", "--colour", "red", "--owner", "a"), 2, "No such option")
    one_line_error(cli("rules", "add", "leads", "--any", "--owner", "a"), 2, "leads")
    one_line_error(cli("rules", "add", "contacts", "--country", "Narnia", "--owner", "a"), 1, "unknown country")
    one_line_error(cli("rules", "add", "contacts", "--any", "--owner", "a", "--position", "0"), 2, "--position")
    one_line_error(cli("rules", "test"), 2, "give a REF, or --entity")
    one_line_error(cli("rules", "test", "1", "--entity", "contacts"), 2, "not both")
    assert listed(cli) == []


def test_round_robin_over_nine_adds_gives_three_each(cli) -> None:
    ok(cli("rules", "add", "contacts", "--any", "--round-robin", "ana,ben,mei"))
    owners = [owner_of(cli, "contacts", "add", f"Person {i}") for i in range(9)]
    assert Counter(owners) == {"ana": 3, "ben": 3, "mei": 3}
    assert listed(cli)[0]["turn"] == 9


ADDER = """
import sys, time
from pathlib import Path
from crmcli.cli import run

go, me = Path(sys.argv[1]), sys.argv[2]
while not go.exists():
    time.sleep(0.005)
for i in range(10):
    if run(["contacts", "add", f"Writer {me} person {i}", "-q"]) != 0:
        sys.exit(1)
"""


def test_concurrent_writers_take_turns(cli, db_url: str, tmp_path: Path) -> None:
    """4 processes adding 10 contacts each at once: the round robin stays fair (each add takes the
    rule's next turn with one UPDATE … RETURNING in its own transaction)."""
    ok(cli("rules", "add", "contacts", "--any", "--round-robin", "ana,ben,mei"))
    go = tmp_path / "go"
    env = {**os.environ, "CRM_DB": db_url, "CRM_SERVER": "0", "CRM_USER": "tester"}
    root = Path(__file__).resolve().parent.parent
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", ADDER, str(go), str(n)],
            env=env,
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )  # fmt: skip
        for n in range(4)
    ]
    time.sleep(0.5)
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()
    people = json.loads(ok(cli("contacts", "list", "-f", "json", "-n", "0")).stdout)
    counts = Counter(p["owner"] for p in people)
    assert sum(counts.values()) == 40 and set(counts) == {"ana", "ben", "mei"}
    assert max(counts.values()) - min(counts.values()) <= 1, counts
    assert listed(cli)[0]["turn"] == 40


# ---------------------------------------------------------------- imports


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def owners(cli, kind: str = "contacts") -> dict[str, str | None]:
    rows = json.loads(ok(cli(kind, "list", "-f", "json", "-n", "0")).stdout)
    return {r.get("name") or r.get("title"): r["owner"] for r in rows}


def test_import_applies_the_rules_where_the_file_names_no_owner(cli, tmp_path: Path) -> None:
    ok(cli("rules", "add", "contacts", "--country", "DE", "--owner", "ana"))
    ok(cli("rules", "add", "contacts", "--source", "fair", "--owner", "mei"))
    ok(cli("rules", "add", "contacts", "--any", "--round-robin", "ben,zoe"))
    ok(cli("rules", "add", "companies", "--any", "--owner", "cat"))
    people = write(
        tmp_path / "people.csv",
        "Name,Email,Phone,Country,Source,Company\n"
        "Anna,anna@x.de,+49 151 11111111,,,\n"
        "Bea,bea@x.fr,,France,,\n"
        "Carl,carl@x.com,,,Fair,\n"
        "Dirk,dirk@x.com,,,,New Co\n"
        "Emil,emil@x.com,,,,\n",
    )
    ok(cli("import", str(people)))
    assert owners(cli) == {"Anna": "ana", "Bea": "ben", "Carl": "mei", "Dirk": "zoe", "Emil": "ben"}
    assert owners(cli, "companies") == {"New Co": "cat"}  # a company the contacts name: the companies' rules

    with_column = write(tmp_path / "owned.csv", "Name,Email,Owner,Country\nFay,fay@x.de,kim,\nGus,gus@x.de,,DE\n")
    ok(cli("import", str(with_column)))  # an owner column decides, an empty cell too
    assert {k: v for k, v in owners(cli).items() if k in ("Fay", "Gus")} == {"Fay": "kim", "Gus": None}
    given = write(tmp_path / "given.csv", "Name,Email,Country\nHal,hal@x.de,Germany\n")
    ok(cli("import", str(given), "--owner", "lou"))
    assert owners(cli)["Hal"] == "lou"
    rows = {r["entity"]: r for r in listed(cli) if r["field"] == "any"}
    assert rows["contacts"]["turn"] == 3  # one turn per contact it gave out


def test_import_of_companies_and_deals_applies_their_rules(cli, db_url: str, tmp_path: Path) -> None:
    ok(cli("rules", "add", "companies", "--industry", "SaaS", "--owner", "ana"))
    ok(cli("rules", "add", "companies", "--country", "FR", "--round-robin", "ben,mei"))
    ok(cli("rules", "add", "deals", "--industry", "saas", "--owner", "ivy"))
    ok(cli("rules", "add", "deals", "--tag", "vip", "--owner", "zoe"))
    firms = write(
        tmp_path / "companies.csv",
        "Name,Industry,Country,Phone\nCloudy,SaaS,,\nParis One,,France,\nParis Two,,,+33 1 42 68 53 00\nBerlin,,DE,\n",
    )
    ok(cli("import", str(firms), "--kind", "companies"))
    assert owners(cli, "companies") == {"Cloudy": "ana", "Paris One": "ben", "Paris Two": "mei", "Berlin": you(db_url)}
    ok(cli("contacts", "add", "Vic", "-e", "vic@x.de", "-t", "vip", "--owner", "me"))
    deals_csv = write(
        tmp_path / "deals.csv",
        "Title,Company,Contact\nCloud deal,Cloudy,\nVIP deal,,vic@x.de\nPlain deal,Berlin,\n",
    )
    ok(cli("import", str(deals_csv), "--kind", "deals"))
    assert owners(cli, "deals") == {"Cloud deal": "ivy", "VIP deal": "zoe", "Plain deal": you(db_url)}


def test_mail_import_applies_the_rules_to_the_contacts_it_creates(cli, tmp_path: Path) -> None:
    from tests.test_mail import message, write_mbox

    ok(cli("config", "set", "my_emails", "me@mine.example"))
    ok(cli("rules", "add", "contacts", "--source", "mail", "--round-robin", "ana,ben"))
    raws = [message(f"Person {n} <p{n}@corp.example>", "me@mine.example", f"Hi {n}", "intro") for n in range(3)]
    ok(cli("mail", "import", str(write_mbox(tmp_path / "in.mbox", raws)), "--create-contacts"))
    assert sorted(owners(cli).values()) == ["ana", "ana", "ben"]


def test_a_dry_run_takes_no_turn(cli, tmp_path: Path) -> None:
    ok(cli("rules", "add", "contacts", "--any", "--round-robin", "ana,ben"))
    path = write(tmp_path / "p.csv", "Name\nA\nB\nC\n")
    ok(cli("import", str(path), "--dry-run"))
    assert listed(cli)[0]["turn"] == 0
