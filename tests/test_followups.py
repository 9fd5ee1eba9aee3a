"""The follow-ups domain module, on SQLite and PostgreSQL, with frozen time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from crmcli import clock, companies, contacts, followups
from crmcli.errors import UsageError
from crmcli.models import Deal

NOW = "2026-11-23T10:00:00+00:00"  # a Monday


@pytest.fixture(autouse=True)
def frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_NOW", NOW)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC) if "+" not in text else datetime.fromisoformat(text)


def make_deal(session, title: str = "Acme renewal", contact=None, company=None) -> Deal:
    """A deal row written directly (the deals module is not needed here); pipeline 1 always exists."""
    from sqlmodel import select

    from crmcli.models import Stage

    stage = session.exec(select(Stage).where(Stage.pipeline_id == 1).order_by(Stage.position)).first()
    now = clock.now()
    deal = Deal(
        title=title,
        title_key=title.casefold(),
        pipeline_id=1,
        stage_id=stage.id,
        contact_id=contact.id if contact else None,
        company_id=company.id if company else None,
        currency="EUR",
        stage_entered_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(deal)
    session.flush()
    return deal


def test_open_followups_of_a_contact_soonest_first_with_relative_wording(session) -> None:
    anna = contacts.add_contact(session, name="Anna Müller")
    bert = contacts.add_contact(session, name="Bert")
    followups.add_followup(session, due_at=at("2026-11-26T09:00"), note="send pricing", contact=anna, owner="ana")
    followups.add_followup(session, due_at=at("2026-11-21T10:00"), note="call back", contact=anna, owner="ana")
    followups.add_followup(session, due_at=at("2026-11-23T13:00"), note="today", contact=anna)
    followups.add_followup(session, due_at=at("2026-11-22T10:00"), note="not hers", contact=bert)
    rows = followups.open_followups(session, contact_id=anna.id)
    assert [r["note"] for r in rows] == ["call back", "today", "send pricing"]
    assert [r["relative"] for r in rows] == ["2 days overdue", "in 3 h", "in 3 days"]
    assert [r["status"] for r in rows] == ["overdue", "today", "upcoming"]
    first = rows[0]
    assert first["subject"] == "Anna Müller" and first["subject_kind"] == "contact"
    assert first["owner"] == "ana" and first["every"] is None and isinstance(first["id"], int)
    assert first["due_at"] == at("2026-11-21T10:00") and first["due_at"].tzinfo is not None


def test_open_followups_of_a_deal_and_a_company(session) -> None:
    acme = companies.add_company(session, name="Acme GmbH")
    deal = make_deal(session, company=acme)
    followups.add_followup(session, due_at=at("2026-11-24T09:00"), note="chase", deal=deal, origin="stage")
    followups.add_followup(session, due_at=at("2026-11-25T09:00"), note="budget", company=acme)
    (row,) = followups.open_followups(session, deal_id=deal.id)
    assert row["subject"] == "Acme renewal" and row["subject_kind"] == "deal" and row["origin"] == "stage"
    assert row["relative"] == "tomorrow 09:00"
    (row,) = followups.open_followups(session, company_id=acme.id)
    assert row["subject"] == "Acme GmbH" and row["subject_kind"] == "company"
    with pytest.raises(UsageError):
        followups.open_followups(session)
