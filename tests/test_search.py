"""Search over contacts, companies and activities: ranked, CJK and accent-blind, on both backends."""

from __future__ import annotations

from crmcli.domain import activities, companies, contacts, lookup, search


def _seed(session):
    anna = contacts.add_contact(session, name="Anna Müller", emails=["anna@acme.de"], company="Acme GmbH", tags=["vip"])
    zhang = contacts.add_contact(session, name="张伟明", emails=["zhang@yuntu.cn"], company="深圳云图科技有限公司")
    contacts.add_contact(session, name="Annabelle Smith", notes="met at the Acme booth")
    companies.add_company(session, name="Müller Logistik")
    activities.log_activity(session, type="call", text="Discussed the renewal with procurement", contact=anna)
    activities.log_activity(session, type="note", text="喜欢喝茶", contact=zhang)
    session.flush()
    return anna, zhang


def test_cjk_names_are_found_by_any_part(session) -> None:
    _anna, zhang = _seed(session)
    for query in ("张伟明", "伟明", "张伟", "云图科技"):
        hits = search.search(session, query)
        assert any(h["kind"] == "contact" and h["id"] == zhang.id for h in hits), query
    assert search.search(session, "喝茶")[0]["kind"] == "activity"


def test_accents_do_not_matter(session) -> None:
    anna, _ = _seed(session)
    for query in ("müller", "Muller", "MÜLLER"):
        kinds = {(h["kind"], h["title"]) for h in search.search(session, query)}
        assert ("contact", "Anna Müller") in kinds, query
        assert ("company", "Müller Logistik") in kinds, query


def test_exact_name_ranks_first_then_people_before_activities(session) -> None:
    anna, _ = _seed(session)
    hits = search.search(session, "anna müller")
    assert hits[0] == {**hits[0], "kind": "contact", "id": anna.id}
    acme = search.search(session, "acme")
    assert acme[0]["kind"] == "company" and acme[0]["title"] == "Acme GmbH"
    assert [h["kind"] for h in acme].index("contact") < len(acme)
    renewal = search.search(session, "renewal")
    assert renewal[0]["kind"] == "activity"
    assert "renewal" in renewal[0]["match"]


def test_all_words_must_match_and_kinds_filter(session) -> None:
    _seed(session)
    assert [h["title"] for h in search.search(session, "anna vip")] == ["Anna Müller"]
    assert search.search(session, "anna nothing-like-this") == []
    assert {h["kind"] for h in search.search(session, "acme", kinds=["company"])} == {"company"}
    assert search.search(session, "   ") == []
    assert len(search.search(session, "a", limit=2)) == 2


def test_index_follows_edits(session) -> None:
    anna, _ = _seed(session)
    contacts.edit_contact(session, anna, name="Anna Schmidt", add_emails=["anna@neu.de"])
    session.flush()
    assert [h["id"] for h in search.search(session, "schmidt")] == [anna.id]
    assert any(h["id"] == anna.id for h in search.search(session, "anna@neu.de"))
    company = lookup.resolve_company(session, "Acme GmbH")
    companies.edit_company(session, company, name="Initech AG")
    session.flush()
    assert {h["title"] for h in search.search(session, "initech")} >= {"Initech AG", "Anna Schmidt"}
