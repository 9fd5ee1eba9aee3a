"""The contacts domain module, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crmcli.domain import activities, companies, contacts, fields, lookup, settings, views
from crmcli.errors import Ambiguous, Conflict, Invalid, NotFound


def test_add_cleans_every_value(session) -> None:
    c = contacts.add_contact(
        session,
        name="  Jo\u0308rg   Mu\u0308ller ",
        emails=[" Jorg@Example.COM", "jorg@example.com", "j@b.de"],
        phones=["0151 12345678", "+49 30 12345678"],
        title=" CTO ",
        company=" Acme  GmbH ",
        tags=["VIP", "Key Account", "vip"],
        owner="ana",
        custom={"Industry": "SaaS"},
        region="DE",
    )
    view = views.contact_view(session, c)
    assert view["name"] == "Jörg Müller"
    assert view["emails"] == ["jorg@example.com", "j@b.de"]
    assert view["email"] == "jorg@example.com"
    assert view["phones"] == ["+4915112345678", "+493012345678"]
    assert view["title"] == "CTO"
    assert view["company"] == "Acme GmbH"
    assert view["tags"] == ["key-account", "vip"]
    assert view["custom"] == {"industry": "SaaS"}
    assert view["created_at"].tzinfo is not None


def test_default_region_comes_from_config(session) -> None:
    settings.set_value(session, "default_region", "de")
    c = contacts.add_contact(session, name="Lena", phones=["030 12345678"])
    assert views.contact_view(session, c)["phone"] == "+493012345678"


def test_invalid_values_are_refused_and_nothing_is_written(session) -> None:
    with pytest.raises(Invalid, match="invalid email 'nope'"):
        contacts.add_contact(session, name="X", emails=["nope"])
    with pytest.raises(Invalid, match="invalid phone '12'"):
        contacts.add_contact(session, name="X", phones=["12"])
    with pytest.raises(Invalid, match="name must not be empty"):
        contacts.add_contact(session, name=" \u00a0 ")
    assert contacts.list_contacts(session) == []


def test_duplicate_email_or_phone_is_refused_naming_the_other(session) -> None:
    first = contacts.add_contact(session, name="Anna", emails=["anna@acme.de"], phones=["+4915112345678"])
    with pytest.raises(Conflict, match=f"anna@acme.de already belongs to #{first.id} Anna"):
        contacts.add_contact(session, name="Anna B", emails=["ANNA@acme.de"])
    with pytest.raises(Conflict, match=f"already belongs to #{first.id} Anna"):
        contacts.add_contact(session, name="Anna C", phones=["0151 12345678"], region="DE")
    second = contacts.add_contact(session, name="Anna B", emails=["anna@acme.de"], allow_duplicate=True)
    assert second.id != first.id
    other = contacts.add_contact(session, name="Bob", emails=["bob@acme.de"])
    with pytest.raises(Conflict):
        contacts.edit_contact(session, other, add_emails=["anna@acme.de"])


def test_add_refuses_the_same_person_but_adds_a_possible_duplicate(session) -> None:
    """crmcli.values.matching decides: a shared email or phone with a like name, or the same name at the
    same company with no other email or phone, is the same person; a shared info@ with another
    name, or the same name and company with other emails, is only possibly one."""
    anna = contacts.add_contact(session, name="Anna Müller", emails=["info@acme-gmbh.de"], company="Acme GmbH")
    with pytest.raises(Conflict, match=f"^email info@acme-gmbh.de already belongs to #{anna.id} Anna Müller$"):
        contacts.add_contact(session, name="A. Mueller", emails=["INFO@acme-gmbh.de"])
    with pytest.raises(Conflict, match=f"^anna müller already exists as #{anna.id} Anna Müller at Acme GmbH$"):
        contacts.add_contact(session, name="anna müller", company="ACME Inc.")
    hans = contacts.add_contact(session, name="Hans Meier", emails=["info@acme-gmbh.de"], company="Acme GmbH")
    assert contacts.possible_duplicates(session, hans) == [
        {"id": anna.id, "name": "Anna Müller", "reason": "same email info@acme-gmbh.de, other name"}
    ]
    anna2 = contacts.add_contact(session, name="Anna Müller", emails=["anna@acme.de"], company="Acme GmbH")
    assert contacts.possible_duplicates(session, anna2) == [
        {"id": anna.id, "name": "Anna Müller", "reason": "same name and company, other emails"}
    ]
    with pytest.raises(Conflict, match=f"^Hans Meier already exists as #{hans.id} Hans Meier at Acme GmbH"):
        contacts.add_contact(session, name="Hans Meier", company=str(anna.company_id))  # a company by its id
    bo = contacts.add_contact(session, name="Bo")
    with pytest.raises(Conflict, match=f"^bo already exists as #{bo.id} Bo$"):
        contacts.add_contact(session, name="bo")  # no company on either side counts as the same company
    assert contacts.add_contact(session, name="bo", allow_duplicate=True).id != bo.id
    assert contacts.possible_duplicates(session, bo) == []  # the same, not possibly


def test_ref_by_id_email_and_name(session) -> None:
    a = contacts.add_contact(session, name="Anna Müller", emails=["anna@acme.de"])
    contacts.add_contact(session, name="张伟明", emails=["zhang@acme.cn"])
    assert lookup.resolve_contact(session, str(a.id)).id == a.id
    assert lookup.resolve_contact(session, f"#{a.id}").id == a.id
    assert lookup.resolve_contact(session, "ANNA@ACME.DE").id == a.id
    assert lookup.resolve_contact(session, "anna müller").id == a.id
    assert lookup.resolve_contact(session, "张伟明").name == "张伟明"
    with pytest.raises(NotFound):
        lookup.resolve_contact(session, "Nobody")
    with pytest.raises(NotFound):
        lookup.resolve_contact(session, "99999")


def test_ambiguous_ref_lists_the_candidates(session) -> None:
    one = contacts.add_contact(session, name="Anna Müller", emails=["a1@x.de"])
    two = contacts.add_contact(session, name="Anna Müller", emails=["a2@x.de"])
    with pytest.raises(Ambiguous) as info:
        lookup.resolve_contact(session, "Anna Müller")
    assert info.value.candidates == [
        f"contact #{one.id} Anna Müller <a1@x.de>",
        f"contact #{two.id} Anna Müller <a2@x.de>",
    ]
    assert "use the id" in str(info.value)


def test_edit_changes_only_what_is_given(session) -> None:
    c = contacts.add_contact(
        session,
        name="Anna",
        emails=["a@x.de", "b@x.de"],
        phones=["+4915112345678"],
        title="CTO",
        tags=["vip"],
        custom={"size": "10"},
        owner="ana",
    )
    contacts.edit_contact(
        session,
        c,
        title="",
        add_emails=["c@x.de"],
        remove_emails=["a@x.de"],
        primary_email="c@x.de",
        add_tags=["champion"],
        remove_tags=["vip"],
        custom={"size": "", "plan": "pro"},
        company="Neu GmbH",
    )
    view = views.contact_view(session, c)
    assert view["title"] is None
    assert view["emails"] == ["c@x.de", "b@x.de"]
    assert view["phones"] == ["+4915112345678"]
    assert view["tags"] == ["champion"]
    assert view["custom"] == {"plan": "pro"}
    assert view["company"] == "Neu GmbH"
    assert view["owner"] == "ana"
    with pytest.raises(NotFound):
        contacts.edit_contact(session, c, remove_emails=["zzz@x.de"])


def test_typed_custom_fields_are_validated_on_every_write(session) -> None:
    fields.add_field(session, entity="contacts", name="industry", type="choice", choices=["SaaS", "Retail"])
    fields.add_field(session, entity="contacts", name="employees", type="number")
    fields.add_field(session, entity="contacts", name="signed", type="date")
    fields.add_field(session, entity="contacts", name="newsletter", type="bool")
    c = contacts.add_contact(
        session,
        name="A",
        custom={"industry": "saas", "employees": "1,200", "signed": "2026-01-31", "newsletter": "yes"},
    )
    assert c.custom == {"employees": "1200", "industry": "SaaS", "newsletter": True, "signed": "2026-01-31"}
    with pytest.raises(Invalid, match="not one of SaaS, Retail"):
        contacts.add_contact(session, name="B", custom={"industry": "Mining"})
    with pytest.raises(Invalid, match="not a number"):
        contacts.edit_contact(session, c, custom={"employees": "many"})
    with pytest.raises(Invalid, match="not a date"):
        contacts.edit_contact(session, c, custom={"signed": "31/01/2026"})
    with pytest.raises(Invalid, match="built-in field"):
        contacts.add_contact(session, name="C", custom={"email": "x"})
    with pytest.raises(Conflict):
        fields.add_field(session, entity="contacts", name="Industry", type="text")


def test_list_filters_sort_and_limit(session) -> None:
    fields.add_field(session, entity="contacts", name="industry", type="choice", choices=["SaaS", "Retail"])
    a = contacts.add_contact(
        session,
        name="Anna",
        company="Acme",
        tags=["vip"],
        owner="ana",
        custom={"industry": "SaaS"},
        emails=["anna@acme.de"],
    )
    b = contacts.add_contact(session, name="Bert", company="Acme", owner="ben", custom={"industry": "Retail"})
    c = contacts.add_contact(session, name="Chen", company="Globex", tags=["vip"], owner="ana", title="CEO")
    b.created_at = datetime(2020, 1, 1, tzinfo=UTC)
    session.add(b)
    session.flush()

    def names(**kw):
        return [r["name"] for r in contacts.list_contacts(session, **kw)]

    assert names() == ["Anna", "Bert", "Chen"]
    assert names(tag="VIP") == ["Anna", "Chen"]
    assert names(company="acme") == ["Anna", "Bert"]
    assert names(owner="ana") == ["Anna", "Chen"]
    assert names(where=["industry=saas"]) == ["Anna"]
    assert names(where=["title=CEO"]) == ["Chen"]
    assert names(where=["email=ANNA@acme.de"]) == ["Anna"]
    assert names(where=["company=Globex", "owner=ana"]) == ["Chen"]
    assert names(since="2021-01-01") == ["Anna", "Chen"]
    assert names(sort="-name") == ["Chen", "Bert", "Anna"]
    assert names(sort="created")[0] == "Bert"
    assert names(sort="company", limit=2) == ["Anna", "Bert"]
    with pytest.raises(Invalid, match="cannot sort by 'shoe size'"):
        names(sort="shoe size")
    with pytest.raises(NotFound):
        names(company="Initech")
    assert {a.id, c.id} == {r["id"] for r in contacts.list_contacts(session, tag="vip")}


def test_single_customer_view_has_timeline_newest_first(session) -> None:
    c = contacts.add_contact(session, name="Anna", company="Acme")
    base = datetime(2026, 11, 1, 9, tzinfo=UTC)
    for i, kind in enumerate(["call", "email", "meeting", "note"]):
        activities.log_activity(session, type=kind, text=f"step {i}", contact=c, at=base + timedelta(days=i))
    view = views.contact_view(session, c, timeline_limit=3)
    assert [a["text"] for a in view["activities"]] == ["step 3", "step 2", "step 1"]
    assert view["activity_count"] == 4
    assert view["last_touch"] == base + timedelta(days=3)
    listed = contacts.list_contacts(session)[0]
    assert listed["last_touch"] == base + timedelta(days=3)


def test_remove_contact_takes_its_activities_and_search_entries(session) -> None:
    from crmcli.domain import search

    c = contacts.add_contact(session, name="Zora Quux", emails=["z@q.de"])
    activities.log_activity(session, type="call", text="zoraquux call", contact=c)
    contacts.remove_contact(session, c)
    session.flush()
    assert contacts.list_contacts(session) == []
    assert search.search(session, "zora") == []
    assert search.search(session, "zoraquux") == []


def test_company_view_shows_people_and_their_activity(session) -> None:
    a = contacts.add_contact(session, name="Anna", company="Acme GmbH")
    contacts.add_contact(session, name="Bert", company="acme gmbh")
    acme = lookup.resolve_company(session, "ACME GMBH")
    activities.log_activity(session, type="meeting", text="kick-off", contact=a, at=datetime(2026, 1, 2, tzinfo=UTC))
    activities.log_activity(session, type="note", text="big account", company=acme, at=datetime(2026, 1, 3, tzinfo=UTC))
    view = views.company_view(session, acme)
    assert [p["name"] for p in view["contacts"]] == ["Anna", "Bert"]
    assert [x["text"] for x in view["activities"]] == ["big account", "kick-off"]
    assert view["people"] == 2


def test_companies_add_edit_remove(session) -> None:
    acme = companies.add_company(
        session, name=" Acme  Inc. ", domain="https://www.Acme.com/about", tags=["customer"], phone="+1 212 555 0123"
    )
    assert acme.name == "Acme Inc."
    assert acme.domain == "acme.com"
    assert lookup.resolve_company(session, "acme.com").id == acme.id
    assert lookup.resolve_company(session, "someone@acme.com").id == acme.id
    anna = contacts.add_contact(session, name="Anna", company=str(acme.id))
    companies.edit_company(session, acme, name="Acme Corp", add_tags=["partner"], remove_tags=["customer"])
    assert companies.list_companies(session)[0]["tags"] == ["partner"]
    assert views.contact_view(session, anna)["company"] == "Acme Corp"
    assert companies.list_companies(session, tag="partner")[0]["people"] == 1
    with pytest.raises(Invalid):
        companies.add_company(session, name="Bad", domain="not a domain")
    assert companies.remove_company(session, acme) == 1
    assert views.contact_view(session, anna)["company"] is None
    with pytest.raises(NotFound):
        lookup.resolve_company(session, "Acme Corp")


def test_log_subject_resolution(session) -> None:
    person = contacts.add_contact(session, name="Acme", emails=["x@y.de"])
    firm = companies.add_company(session, name="Acme")
    with pytest.raises(Ambiguous, match=f"say contact:{person.id} or company:{firm.id}"):
        lookup.resolve_subject(session, "Acme")
    contact, company, deal = lookup.resolve_subject(session, "company:Acme")
    assert contact is None and company is not None and deal is None
    contact, company, deal = lookup.resolve_subject(session, "x@y.de")
    assert contact is not None and company is None and deal is None
    with pytest.raises(Invalid, match="unknown activity type"):
        activities.log_activity(session, type="fax", text="x", contact=contact)


def test_concurrent_edits_of_one_contact_lose_nothing(db_url: str) -> None:
    """Two sessions edit the same contact's custom fields at once: the second waits for the
    first and merges onto what it wrote."""
    import threading

    from crmcli import storage

    with storage.session_scope(db_url, write=True) as s:
        cid = contacts.add_contact(s, name="Shared", custom={"start": "1"}).id
    engine, _ = storage.open_engine(db_url)
    first = storage.make_session(engine, write=True)
    contacts.edit_contact(first, lookup.resolve_contact(first, str(cid)), custom={"from_first": "a"})
    done = threading.Event()
    errors: list[BaseException] = []

    def second_editor() -> None:
        try:
            with storage.session_scope(db_url, write=True) as other:
                contacts.edit_contact(other, lookup.resolve_contact(other, str(cid)), custom={"from_second": "b"})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            done.set()

    thread = threading.Thread(target=second_editor)
    thread.start()
    assert not done.wait(0.5)  # the second editor waits for the first transaction
    first.commit()
    first.close()
    thread.join(15)
    assert errors == []
    with storage.session_scope(db_url) as s:
        assert lookup.resolve_contact(s, str(cid)).custom == {"from_first": "a", "from_second": "b", "start": "1"}
