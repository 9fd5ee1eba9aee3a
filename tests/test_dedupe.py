"""Duplicates already inside: finding clusters, merging contacts and companies, the merge history;
domain functions and the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import event, select
from test_cli import ok, one_line_error

from crmcli.domain import activities, companies, contacts, deals, dedupe, followups, lookup, search, views
from crmcli.errors import Invalid
from crmcli.models import Activity, Contact, ContactEmail, Deal, FollowUp, MergeRecord
from crmcli.values import clock

# ---------------------------------------------------------------- finding


def _people(session) -> dict[str, Contact]:
    add = contacts.add_contact
    people = {
        "anna": add(
            session, name="Anna Müller", emails=["anna@acme.de"], phones=["+4915112345678"], company="Acme GmbH"
        ),
        "anna2": add(
            session,
            name="Anna Mueller",
            emails=["anna.m@acme.de", "anna@acme.de"],
            company="ACME Inc.",
            allow_duplicate=True,
        ),
        "hans": add(session, name="Hans Müller", phones=["+4915112345678"], company="Acme GmbH", allow_duplicate=True),
        "jon": add(session, name="Jon Smith", company="Globex Corp"),
        "john": add(session, name="John Smith", company="Globex Corporation"),
        "john_elsewhere": add(session, name="John Smith", company="Initech"),
        "wei": add(session, name="黄伟明", emails=["wm@yuanhang.cn"], company="上海远航物流有限公司"),
        "wei2": add(session, name="黄伟明", company="上海远航物流股份有限公司", allow_duplicate=True),
        "lone": add(session, name="Lone Wolf", emails=["wolf@x.de"]),
        "lone2": add(session, name="Lone Wolf", emails=["wolf2@x.de"]),
    }
    session.flush()
    return people


def _cluster_of(clusters: list[dict], contact: Contact) -> dict | None:
    return next((c for c in clusters if contact.id in c["ids"]), None)


def test_contact_clusters_by_email_phone_and_name_within_a_company(session) -> None:
    p = _people(session)
    found = dedupe.contact_clusters(session)
    anna = _cluster_of(found, p["anna"])
    # the same email with names alike joins Anna Müller and Anna Mueller; Hans shares their switchboard
    # phone, a possible duplicate only: listed by default, at its lower score
    assert anna is not None and anna["ids"] == [p["anna"].id, p["anna2"].id, p["hans"].id]
    assert anna["score"] == 75 and anna["exact"] is False
    assert anna["reasons"] == ["same email anna@acme.de", "same phone +4915112345678, other name"]
    assert anna["command"] == f"crm contacts merge {p['anna'].id} {p['anna2'].id} {p['hans'].id}"
    smith = _cluster_of(found, p["jon"])
    assert smith is not None and smith["ids"] == [p["jon"].id, p["john"].id]  # not the John Smith of Initech
    assert smith["exact"] is False and smith["score"] == 95
    assert smith["reasons"] == ["similar name (95) at Globex Corp"]
    wei = _cluster_of(found, p["wei"])  # the same name at the same company, no identifier against it: the same
    assert wei is not None and wei["ids"] == [p["wei"].id, p["wei2"].id] and wei["score"] == 100 and wei["exact"]
    assert wei["reasons"] == ["same name at 上海远航物流有限公司"]
    # the same name without a company, but other emails: possible, with only the name for it: 70, not by default
    assert _cluster_of(found, p["lone"]) is None
    (lone,) = [c for c in dedupe.contact_clusters(session, threshold=70) if p["lone"].id in c["ids"]]
    assert lone["ids"] == [p["lone"].id, p["lone2"].id] and lone["exact"] is False
    assert lone["score"] == 70 and lone["reasons"] == ["same name, no company, other emails"]
    assert [c["cluster"] for c in found] == list(range(1, len(found) + 1))
    assert [c["score"] for c in found] == sorted((c["score"] for c in found), reverse=True)


def test_threshold_and_exact_only(session) -> None:
    p = _people(session)
    high = dedupe.contact_clusters(session, threshold=76)
    assert _cluster_of(high, p["anna"])["ids"] == [p["anna"].id, p["anna2"].id]
    assert _cluster_of(high, p["hans"]) is None
    exact = dedupe.contact_clusters(session, exact_only=True)
    assert [c["ids"] for c in exact] == [[p["anna"].id, p["anna2"].id], [p["wei"].id, p["wei2"].id]]
    with pytest.raises(Invalid):
        dedupe.contact_clusters(session, threshold=101)


def _set(session, record, **values) -> None:
    for key, value in values.items():
        setattr(record, key, value)
    session.add(record)
    session.flush()


def test_a_shared_role_address_is_a_possible_duplicate_listed_by_default_never_merged(session) -> None:
    anna = contacts.add_contact(session, name="Anna Müller", emails=["info@acme-gmbh.de"], company="Acme GmbH")
    hans = contacts.add_contact(session, name="Hans Meier", emails=["info@acme-gmbh.de"], company="Acme GmbH")
    (cluster,) = dedupe.contact_clusters(session)
    assert cluster["ids"] == [anna.id, hans.id] and cluster["exact"] is False
    assert cluster["score"] == dedupe.EMAIL_OTHER_NAME >= dedupe.DEFAULT_THRESHOLD
    assert cluster["reasons"] == ["same email info@acme-gmbh.de, other name"]
    assert dedupe.auto_merge(session, "contact") == []


def test_different_external_ids_are_never_a_cluster(session) -> None:
    """Twenty cards with twenty UIDs and one email are twenty people; a record without a UID that
    could be either joins only one of them."""
    cards = [
        contacts.add_contact(session, name="Support", emails=["help@x.de"], allow_duplicate=True) for _ in range(3)
    ]
    for n, card in enumerate(cards):
        _set(session, card, external_id=f"urn:uuid:{n}", source="vcard")
    assert dedupe.contact_clusters(session, threshold=0) == []
    loose = contacts.add_contact(session, name="Support", emails=["help@x.de"], allow_duplicate=True)
    found = dedupe.contact_clusters(session, threshold=0)
    assert [c["ids"] for c in found] == [[cards[0].id, loose.id]]
    results = dedupe.auto_merge(session, "contact")
    assert [r["ids"] for r in results] == [[cards[0].id, loose.id]]
    assert dedupe.contact_clusters(session, threshold=0) == []  # the merged record has a UID: the others differ
    # ids from another system say nothing about these
    other = contacts.add_contact(session, name="Support", emails=["help@x.de"], allow_duplicate=True)
    _set(session, other, external_id="003A", source="salesforce")
    assert [c["ids"] for c in dedupe.contact_clusters(session, exact_only=True)] == [[cards[0].id, other.id]]


def test_same_name_and_company_is_the_same_only_without_a_conflicting_identifier(session) -> None:
    lena = contacts.add_contact(session, name="Lena Schröder", emails=["lena@schulz.de"], company="Bäckerei Schulz KG")
    other = contacts.add_contact(
        session, name="Schröder, Lena", emails=["l.schroeder@schulz.de"], company="Bäckerei Schulz"
    )
    (cluster,) = dedupe.contact_clusters(session)
    assert cluster["ids"] == [lena.id, other.id] and cluster["exact"] is False
    assert cluster["score"] == 90 and cluster["reasons"] == ["same name at Bäckerei Schulz KG, other emails"]
    assert dedupe.auto_merge(session, "contact") == []
    third = contacts.add_contact(session, name="Lena Schroder", company="Bäckerei Schulz KG", allow_duplicate=True)
    # the third is the same as each, but the first two are only possibly one: --auto merges the third
    # into the first, the cluster of all three is for people to look at
    exact = dedupe.contact_clusters(session, exact_only=True)
    assert [c["ids"] for c in exact] == [[lena.id, third.id]]
    (listed,) = dedupe.contact_clusters(session)
    assert listed["ids"] == [lena.id, other.id, third.id] and listed["score"] == 99 and not listed["exact"]
    assert listed["reasons"] == ["same name at Bäckerei Schulz KG", "same name at Bäckerei Schulz KG, other emails"]
    # and never a record that is another one by its external id
    _set(session, lena, external_id="1")
    _set(session, third, external_id="2")
    assert [c["ids"] for c in dedupe.contact_clusters(session, exact_only=True)] == [[other.id, third.id]]


def test_namesakes_without_a_company(session) -> None:
    """No company on either side counts as the same company, as the importer has always matched."""
    add = contacts.add_contact
    a = add(session, name="Bo Berg")
    b = add(session, name="bo berg", allow_duplicate=True)
    c = add(session, name="Berg, Bo", emails=["bo@x.de"])  # "Berg, Bo" has another name key: not refused
    d = add(session, name="Bo Berg", emails=["other@x.de"], allow_duplicate=True)
    assert [c["ids"] for c in dedupe.contact_clusters(session, exact_only=True)] == [[a.id, b.id, c.id]]
    (listed,) = dedupe.contact_clusters(session)
    assert listed["ids"] == [a.id, b.id, c.id, d.id] and listed["score"] == 99 and listed["exact"] is False
    assert listed["reasons"] == ["same name, no company"]  # c and d (other emails): 70, under the threshold
    results = dedupe.auto_merge(session, "contact")
    assert [r["ids"] for r in results] == [[a.id, b.id, c.id]]


def test_company_clusters(session) -> None:
    acme = companies.add_company(session, name="Acme GmbH", domain="acme.de")
    acme_inc = companies.add_company(session, name="ACME, Inc.")
    acme_robotics = companies.add_company(session, name="Acme Robotics", domain="acme.de")
    bakery = companies.add_company(session, name="Anna's Bakery", domain="gmail.com")
    plumbing = companies.add_company(session, name="Bob's Plumbing", domain="gmail.com")
    acme_com = companies.add_company(session, name="Acme AG", domain="acme.com")
    found = dedupe.company_clusters(session)
    assert [c["ids"] for c in found] == [
        [acme.id, acme_inc.id, acme_robotics.id, acme_com.id],
        [bakery.id, plumbing.id],
    ]
    acme_cluster, gmail = found
    assert acme_cluster["reasons"] == [
        "same name once the legal form is ignored",
        "same domain acme.de",
        "same name once the legal form is ignored, other domains",
    ]
    # Acme AG (acme.com) is the same as ACME, Inc. (no domain), but only possibly Acme GmbH (acme.de)
    assert acme_cluster["score"] == 99 and acme_cluster["exact"] is False
    assert acme_cluster["command"].startswith("crm companies merge ")
    # a shared free-mail domain with other names: possible, listed by default
    assert gmail["score"] == 80 and gmail["reasons"] == ["same domain gmail.com, other name"]
    exact = dedupe.company_clusters(session, exact_only=True)
    assert [c["ids"] for c in exact] == [[acme.id, acme_inc.id, acme_robotics.id]]
    _set(session, acme_inc, external_id="001A", source="salesforce")
    _set(session, acme, external_id="001B", source="salesforce")
    exact = dedupe.company_clusters(session, exact_only=True)
    assert [c["ids"] for c in exact] == [[acme.id, acme_robotics.id], [acme_inc.id, acme_com.id]]


def test_finding_costs_a_few_queries_whatever_the_size(session, db_url: str) -> None:
    """No query per contact: the statements counted for 20 and for 200 contacts are the same."""
    engine = session.get_bind()
    counts = []
    for batch in (20, 180):
        for i in range(batch):
            contacts.add_contact(
                session,
                name=f"Person {i} Example",
                emails=[f"p{len(counts)}-{i}@example.com"],
                phones=[f"+49151{len(counts)}{i:07d}"],
                company=f"Company {i % 7}",
            )
        session.flush()
        statements: list[str] = []

        def listener(*args: object, seen: list[str] = statements) -> None:
            seen.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", listener)
        try:
            dedupe.contact_clusters(session)
            dedupe.company_clusters(session)
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 8, counts


# ---------------------------------------------------------------- merging contacts


def test_merge_contacts_moves_everything_and_keeps_keeps_values(session) -> None:
    keep = contacts.add_contact(
        session, name="Anna Müller", emails=["anna@acme.de"], company="Acme GmbH", title="CTO", tags=["vip"]
    )
    other = contacts.add_contact(
        session,
        name="Anna Mueller",
        emails=["anna.m@acme.de", "anna@acme.de"],
        phones=["+4915112345678"],
        company="ACME Inc.",
        new_company=True,  # a company of its own (else the near name is Acme GmbH's)
        title="CEO",
        tags=["newsletter", "vip"],
        owner="ben",
        source="fair",
        notes="Met at the fair",
        custom={"industry": "SaaS"},
        allow_duplicate=True,
    )
    activity = activities.log_activity(session, type="call", text="Pricing call xylophone", contact=other)
    deal = deals.add_deal(session, title="Renewal", contact=str(other.id), amount="1200")
    followup = followups.add_followup(session, due_at=clock.now() + timedelta(days=2), contact=other, note="Call")
    other_id, deal_id = other.id, deal.id
    result = dedupe.merge_contacts(session, keep, [other], by="tester", reason="same person")
    assert result["id"] == keep.id and result["merged"] == [{"id": other_id, "name": "Anna Mueller"}]
    assert result["moved"] == {"emails": 1, "phones": 1, "activities": 1, "deals": 1, "followups": 1}
    assert result["tags_added"] == ["newsletter", "vip"]
    assert set(result["filled"]) == {"owner", "source", "notes", "custom.industry"}
    assert result["not_taken"][other_id]["title"] == "CEO"
    assert result["not_taken"][other_id]["company"] == "ACME Inc."

    assert session.get(Contact, other_id) is None
    view = views.contact_view(session, session.get(Contact, keep.id))
    assert view["title"] == "CTO" and view["company"] == "Acme GmbH"  # KEEP's values stay
    assert view["owner"] == "ben" and view["source"] == "fair" and view["notes"] == "Met at the fair"
    assert view["emails"] == ["anna@acme.de", "anna.m@acme.de"]  # KEEP's primary stays primary
    assert view["phones"] == ["+4915112345678"]
    assert view["tags"] == ["newsletter", "vip"]
    assert view["custom"] == {"industry": "SaaS"}
    assert view["activity_count"] == 1 and [f["id"] for f in view["followups"]] == [followup.id]
    assert session.get(Deal, deal_id).contact_id == keep.id
    assert session.get(Activity, activity.id).contact_id == keep.id
    assert session.get(FollowUp, followup.id).contact_id == keep.id
    primaries = session.scalars(select(ContactEmail).where(ContactEmail.contact_id == keep.id)).all()
    assert sum(1 for e in primaries if e.is_primary) == 1

    # the search index follows: the other's email finds KEEP, the activity carries KEEP's name
    hits = search.search(session, "anna.m@acme.de")
    assert [(h["kind"], h["id"]) for h in hits if h["kind"] == "contact"] == [("contact", keep.id)]
    assert [h["title"] for h in search.search(session, "xylophone")] == ["call · Anna Müller"]
    assert not [h for h in search.search(session, "Anna Mueller") if h["kind"] == "contact" and h["id"] == other_id]

    record = session.scalars(select(MergeRecord)).one()
    assert (record.entity, record.kept_id, record.merged_id, record.merged_name) == (
        "contact",
        keep.id,
        other_id,
        "Anna Mueller",
    )
    assert record.by == "tester" and record.reason == "same person"
    snap = record.snapshot
    assert snap["emails"] == ["anna.m@acme.de", "anna@acme.de"] and snap["phones"] == ["+4915112345678"]
    assert snap["title"] == "CEO" and snap["company"] == "ACME Inc." and snap["custom"] == {"industry": "SaaS"}
    assert snap["moved"] == {"activities": [activity.id], "deals": [deal_id], "followups": [followup.id]}
    assert snap["created_at"].endswith("Z")
    history = view["merged"]
    assert [(h["merged_id"], h["merged_name"], h["by"]) for h in history] == [(other_id, "Anna Mueller", "tester")]


def test_merge_into_a_contact_without_emails_takes_the_others_primary(session) -> None:
    keep = contacts.add_contact(session, name="Bo")
    a = contacts.add_contact(session, name="Bo Bo", emails=["bo1@x.de", "bo2@x.de"], phones=["+4915112345678"])
    b = contacts.add_contact(session, name="Bo B.", emails=["bo3@x.de"])
    dedupe.merge_contacts(session, keep, [b, a])
    view = views.contact_view(session, session.get(Contact, keep.id))
    assert view["emails"][0] == "bo1@x.de" and set(view["emails"]) == {"bo1@x.de", "bo2@x.de", "bo3@x.de"}
    rows = session.scalars(select(ContactEmail).where(ContactEmail.contact_id == keep.id)).all()
    assert [e.email for e in rows if e.is_primary] == ["bo1@x.de"]
    assert view["phone"] == "+4915112345678"


def test_merge_refuses_nonsense(session) -> None:
    a = contacts.add_contact(session, name="A")
    b = contacts.add_contact(session, name="B")
    with pytest.raises(Invalid, match="into itself"):
        dedupe.merge_contacts(session, a, [a])
    with pytest.raises(Invalid, match="named twice"):
        dedupe.merge_contacts(session, a, [b, b])
    with pytest.raises(Invalid, match="at least one"):
        dedupe.merge_contacts(session, a, [])


def test_merge_history_follows_chains_and_old_ids_say_where_they_went(session) -> None:
    a = contacts.add_contact(session, name="Ann A")
    b = contacts.add_contact(session, name="Ann B")
    c = contacts.add_contact(session, name="Ann C")
    a_id, b_id = a.id, b.id
    dedupe.merge_contacts(session, b, [a])
    dedupe.merge_contacts(session, c, [b])
    history = dedupe.merge_history(session, "contact", c.id)
    assert [h["merged_id"] for h in history] == [b_id, a_id]
    assert history[1]["what"] == f"#{a_id} Ann A (into #{b_id})"
    assert dedupe.merged_into(session, "contact", a_id).startswith(f"merged into #{c.id} on ")
    assert dedupe.merged_into(session, "contact", c.id) is None
    assert lookup.resolve_contact(session, str(a_id)).id == c.id  # the old id leads to the kept one


# ---------------------------------------------------------------- merging companies


def test_merge_companies_moves_people_deals_activities_and_followups(session) -> None:
    keep = companies.add_company(session, name="Acme GmbH", tags=["customer"])
    other = companies.add_company(
        session, name="ACME Inc.", domain="acme.com", phone="+4930123456", tags=["partner"], custom={"size": "50"}
    )
    person = contacts.add_contact(session, name="Zed Zylinski", company=str(other.id))
    company_note = activities.log_activity(session, type="note", text="Budget cycle quokka", company=other)
    person_call = activities.log_activity(session, type="call", text="Hello", contact=person, company=other)
    deal = deals.add_deal(session, title="Big one", company=str(other.id))
    due = followups.add_followup(session, due_at=clock.now() + timedelta(days=1), company=other)
    other_id = other.id
    result = dedupe.merge_companies(session, keep, [other], by="tester")
    assert result["moved"] == {"contacts": 1, "activities": 2, "deals": 1, "followups": 1}
    assert set(result["filled"]) == {"domain", "phone", "custom.size"}
    assert session.get(companies.Company, other_id) is None
    kept = session.get(companies.Company, keep.id)
    assert (kept.domain, kept.phone, kept.custom) == ("acme.com", "+4930123456", {"size": "50"})
    view = views.company_view(session, kept)
    assert [p["id"] for p in view["contacts"]] == [person.id]
    assert view["tags"] == ["customer", "partner"]
    assert {a["id"] for a in view["activities"]} == {company_note.id, person_call.id}
    assert session.get(Deal, deal.id).company_id == keep.id
    assert session.get(FollowUp, due.id).company_id == keep.id
    assert view["merged"][0]["merged_name"] == "ACME Inc."
    # people's search documents carry the kept company's name; the company note is retitled
    assert any(h["id"] == person.id for h in search.search(session, "Zylinski Acme GmbH") if h["kind"] == "contact")
    assert [h["title"] for h in search.search(session, "quokka")] == ["note · Acme GmbH"]
    assert lookup.resolve_company(session, str(other_id)).id == keep.id  # the old id leads to the kept one


def test_auto_merge_merges_only_exact_matches(session) -> None:
    p = _people(session)
    results = dedupe.auto_merge(session, "contact", by="tester")
    assert [r["ids"] for r in results] == [[p["anna"].id, p["anna2"].id], [p["wei"].id, p["wei2"].id]]
    assert [r["reasons"] for r in results] == [["same email anna@acme.de"], ["same name at 上海远航物流有限公司"]]
    for kept in ("jon", "john", "hans", "lone", "lone2"):  # possible duplicates stay apart
        assert session.get(Contact, p[kept].id) is not None
    records = session.scalars(select(MergeRecord).order_by(MergeRecord.id)).all()
    assert [r.reason for r in records] == ["auto: same email anna@acme.de", "auto: same name at 上海远航物流有限公司"]
    assert dedupe.auto_merge(session, "contact") == []


# ---------------------------------------------------------------- CLI


def _add(cli, *args: str) -> str:
    return ok(cli("contacts", "add", *args)).stdout.strip()


def test_cli_dedupe_lists_clusters_in_every_format(cli) -> None:
    anna = _add(cli, "Anna Müller", "-e", "anna@acme.de", "-c", "Acme GmbH")
    anna2 = _add(cli, "Anna Mueller", "-e", "anna@acme.de", "-c", "ACME Inc.", "--new-company", "--allow-duplicate")
    jon = _add(cli, "Jon Smith", "-c", "Globex")
    john = _add(cli, "John Smith", "-c", "Globex")
    _add(cli, "Hugo Lefèvre", "-c", "Globex")
    plain = ok(cli("contacts", "dedupe")).stdout.splitlines()
    assert plain == [
        f"1\t100\t#{anna} Anna Müller, #{anna2} Anna Mueller\tsame email anna@acme.de"
        f"\tcrm contacts merge {anna} {anna2}",
        f"2\t95\t#{jon} Jon Smith, #{john} John Smith\tsimilar name (95) at Globex\tcrm contacts merge {jon} {john}",
    ]
    assert ok(cli("contacts", "dedupe", "-q")).stdout == f"{anna} {anna2}\n{jon} {john}\n"
    assert ok(cli("contacts", "dedupe", "--threshold", "96", "-q")).stdout == f"{anna} {anna2}\n"
    assert ok(cli("contacts", "dedupe", "-n", "1", "-q")).stdout == f"{anna} {anna2}\n"
    data = json.loads(ok(cli("contacts", "dedupe", "-f", "json")).stdout)
    assert data[0]["ids"] == [int(anna), int(anna2)] and data[0]["exact"] is True
    assert data[0]["members"][1] == {
        "id": int(anna2),
        "name": "Anna Mueller",
        "company": "ACME Inc.",
        "email": "anna@acme.de",
        "phone": None,
    }
    table = ok(cli("contacts", "dedupe", "-f", "table")).stdout
    assert "Score" in table and "Anna Mueller" in table
    one_line_error(cli("contacts", "dedupe", "--threshold", "101"), 2, "--threshold")


def test_cli_dedupe_with_nothing_to_report(cli) -> None:
    _add(cli, "Only One")
    assert ok(cli("contacts", "dedupe")).stdout == ""
    assert json.loads(ok(cli("contacts", "dedupe", "-f", "json")).stdout) == []
    result = ok(cli("contacts", "dedupe", "--auto"))
    assert result.stdout == "" and result.stderr == "No exact duplicate contacts.\n"


def test_cli_merge_then_show_and_the_old_id(cli, me) -> None:
    keep = _add(cli, "Anna Müller", "-e", "anna@acme.de", "--title", "CTO")
    other = _add(cli, "Anna Mueller", "-e", "a2@acme.de", "--title", "CEO", "-t", "vip")
    ok(cli("log", other, "--type", "call", "Intro call"))
    result = ok(cli("contacts", "merge", keep, other, "--reason", "same person", "--yes"))
    assert result.stdout == f"{keep}\n"
    assert result.stderr.splitlines() == [
        f"Merged #{other} Anna Mueller into #{keep} Anna Müller: 1 email, 1 activity, 1 tag",
        f'  #{keep} kept its own values; #{other} had title "CEO"',
    ]
    shown = ok(cli("contacts", "show", keep)).stdout
    assert "merged\t" in shown and f"#{other} Anna Mueller\tsame person\t{me}" in shown
    table = ok(cli("contacts", "show", keep, "-f", "table")).stdout
    assert "Merged (1)" in table and "Intro call" in table
    data = json.loads(ok(cli("contacts", "show", keep, "-f", "json")).stdout)
    assert data["emails"] == ["anna@acme.de", "a2@acme.de"] and data["tags"] == ["vip"] and data["title"] == "CTO"
    assert data["merged"][0]["merged_id"] == int(other) and data["merged"][0]["at"].endswith("Z")
    moved = ok(cli("contacts", "show", other, "-f", "json"))  # the old id shows the kept one, with a note
    assert json.loads(moved.stdout)["id"] == int(keep)
    assert moved.stderr.startswith(f"#{other} was merged into #{keep} Anna Müller on ")
    as_json = json.loads(ok(cli("contacts", "merge", keep, _add(cli, "Third"), "-f", "json", "-y")).stdout)
    assert as_json["id"] == int(keep) and as_json["moved"]["emails"] == 0


def test_cli_merge_errors(cli) -> None:
    keep = _add(cli, "Anna")
    one_line_error(cli("contacts", "merge", keep, keep, "--yes"), 1, "into itself")
    one_line_error(cli("contacts", "merge", keep, "999", "--yes"), 1, "no contact with id 999")
    result = cli("contacts", "merge", keep, "--yes")
    assert result.exit_code == 2
    assert ok(cli("contacts", "show", keep, "-q")).stdout == f"{keep}\n"


def test_cli_dedupe_auto(cli) -> None:
    a = _add(cli, "Anna Müller", "-e", "anna@acme.de", "-p", "+49 151 12345678")
    b = _add(cli, "Anna", "-e", "anna@acme.de", "--allow-duplicate")
    c = _add(cli, "A. Müller", "-p", "+49 151 12345678", "--allow-duplicate")
    hans = _add(cli, "Hans Müller", "-p", "+49 151 12345678", "--allow-duplicate")
    result = ok(cli("contacts", "dedupe", "--auto", "--yes"))
    assert result.stdout == f"{a}\n"
    lines = result.stderr.splitlines()
    assert lines[0].startswith(f"Merged #{b} Anna, #{c} A. Müller into #{a} Anna Müller")
    assert lines[-1] == "Merged 2 duplicate contacts into 1 contact."
    remaining = ok(cli("contacts", "list", "-q", "--sort", "id")).stdout.split()
    assert remaining == [a, hans]  # the same switchboard number, another person: left alone
    assert ok(cli("contacts", "dedupe", "--auto", "-f", "json")).stdout == "[]\n"


def test_cli_contacts_add_refuses_the_same_person_and_names_a_possible_duplicate(cli) -> None:
    anna = _add(cli, "Anna Müller", "-e", "info@acme-gmbh.de", "-c", "Acme GmbH")
    one_line_error(
        cli("contacts", "add", "Anna Mueller", "-e", "info@acme-gmbh.de"),
        1,
        f"email info@acme-gmbh.de already belongs to #{anna} Anna Müller (--allow-duplicate adds it anyway)",
    )
    one_line_error(
        cli("contacts", "add", "anna müller", "-c", "ACME Inc."),
        1,
        f"anna müller already exists as #{anna} Anna Müller at Acme GmbH (--allow-duplicate adds it anyway)",
    )
    # a shared info@ address with another name: added, and named on stderr; stdout keeps to the id
    result = ok(cli("contacts", "add", "Hans Meier", "-e", "info@acme-gmbh.de", "-q"))
    hans = result.stdout.strip()
    assert result.stdout == f"{hans}\n"
    assert result.stderr.splitlines() == [
        f"Added contact #{hans}: Hans Meier",
        f"possible duplicate of #{anna} Anna Müller (same email info@acme-gmbh.de, other name): "
        "crm contacts dedupe lists it",
    ]
    assert ok(cli("contacts", "dedupe", "-q")).stdout == f"{anna} {hans}\n"
    as_json = ok(cli("contacts", "add", "Anna Müller", "-e", "anna@acme.de", "-c", "Acme GmbH", "-f", "json"))
    anna2 = json.loads(as_json.stdout)["id"]
    assert as_json.stderr.splitlines()[1] == (
        f"possible duplicate of #{anna} Anna Müller (same name and company, other emails): crm contacts dedupe lists it"
    )
    # --allow-duplicate adds the same person without refusing, and without a word about it
    forced = ok(cli("contacts", "add", "Anna Mueller", "-e", "info@acme-gmbh.de", "--allow-duplicate"))
    assert forced.stderr == f"Added contact #{forced.stdout.strip()}: Anna Mueller\n"
    assert ok(cli("contacts", "add", "Lone Wolf")).stderr.count("\n") == 1
    listed = json.loads(ok(cli("contacts", "dedupe", "-f", "json")).stdout)
    assert [c["ids"] for c in listed] == [[int(anna), int(hans), anna2, int(forced.stdout)]]
    assert listed[0]["exact"] is False


def test_cli_companies_dedupe_and_merge(cli) -> None:
    acme = ok(cli("companies", "add", "Acme GmbH", "--domain", "acme.de")).stdout.strip()
    inc = ok(cli("companies", "add", "ACME, Inc.", "--domain", "acme.de")).stdout.strip()
    person = _add(cli, "Zed", "-c", inc)
    assert ok(cli("companies", "dedupe", "-q")).stdout == f"{acme} {inc}\n"
    result = ok(cli("companies", "dedupe", "--auto", "--yes"))
    assert "same domain acme.de" in result.stderr
    data = json.loads(ok(cli("contacts", "show", person, "-f", "json")).stdout)
    assert data["company"] == "Acme GmbH"
    shown = json.loads(ok(cli("companies", "show", acme, "-f", "json")).stdout)
    assert shown["merged"][0]["merged_name"] == "ACME, Inc."
    assert "Merged (1)" in ok(cli("companies", "show", acme, "-f", "table")).stdout
    other = ok(cli("companies", "add", "Acme Robotics")).stdout.strip()
    merged = ok(cli("companies", "merge", "acme.de", other, "--yes"))
    assert merged.stderr.startswith(f"Merged #{other} Acme Robotics into #{acme} Acme GmbH")
    assert "was merged into" in ok(cli("companies", "show", other)).stderr


def test_the_commands_default_threshold_is_the_domains() -> None:
    import inspect

    from crmcli.commands import dedupe as commands

    for command in (commands.contacts_dedupe, commands.companies_dedupe):
        assert inspect.signature(command).parameters["threshold"].default == dedupe.DEFAULT_THRESHOLD


def test_a_merge_takes_an_address_whole_and_the_new_fields_it_lacks(session) -> None:
    keep = contacts.add_contact(session, name="Lena Schröder", emails=["lena@a.de"], city="Berlin")
    other = contacts.add_contact(
        session, name="Lena Schröder", emails=["lena@b.de"], street="Hauptstraße 5", city="Hamburg",
        postcode="20095", country="Germany", birthday="--04-15", website="lena.example.de",
    )  # fmt: skip
    bare = contacts.add_contact(session, name="Lena Schröder", emails=["lena@c.de"], allow_duplicate=True)
    sibling = contacts.add_contact(session, name="Lena Schröder", emails=["lena@d.de"], allow_duplicate=True)
    sibling.street, sibling.city = "Am Markt 1", "Leipzig"
    result = dedupe.merge_contacts(session, keep, [other])
    assert (keep.street, keep.city, keep.birthday, keep.website) == (
        None,
        "Berlin",
        "--04-15",
        "https://lena.example.de",
    )
    assert "address" in str(result) and "Hamburg" in str(result)  # a different address is named, not mixed in
    dedupe.merge_contacts(session, bare, [sibling])
    assert (bare.street, bare.city) == ("Am Markt 1", "Leipzig")  # no address of its own: the other's, whole
