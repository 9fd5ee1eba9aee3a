"""The customer views: everything about one contact, company or deal, read across the entities
(details, people, timeline, follow-ups, deals with their sums, merge history). They only read,
so they sit above every module they read from and nothing below imports them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from crmcli.domain.activities import activity_record, timeline
from crmcli.domain.companies import company_record
from crmcli.domain.contacts import contact_record, list_contacts
from crmcli.domain.deals import deal_record, deals_of, history
from crmcli.domain.dedupe import merge_history
from crmcli.domain.followups import open_followups
from crmcli.domain.tags import tags_of
from crmcli.errors import Invalid
from crmcli.models import Activity, Company, CompanyTag, Contact, Deal, Pipeline, Stage


def contact_view(session: Session, contact: Contact, *, timeline_limit: int | None = 20) -> dict[str, Any]:
    """The single customer view: details, company, tags, custom fields, last touch, timeline,
    keep-in-touch cadence, open follow-ups, and the contact's deals, open and closed, with the
    open pipeline and won revenue per currency."""
    assert contact.id is not None
    activities, total = timeline(session, contact_ids=[contact.id], limit=timeline_limit)
    record = contact_record(session, contact, touched=activities[0]["at"] if activities else None)
    record["activity_count"] = total
    record["activities"] = activities
    record["followups"] = open_followups(session, contact_id=contact.id)
    record.update(customer_deals(session, contact_id=contact.id))
    record["merged"] = merge_history(session, "contact", contact.id)
    return record


def company_view(session: Session, company: Company, *, timeline_limit: int | None = 20) -> dict[str, Any]:
    """Everything about one company: details, its people, the activity timeline of both, its open
    follow-ups, and its deals (its own and its people's), open and closed, with the open pipeline
    and won revenue per currency."""
    assert company.id is not None
    people = list_contacts(session, company_id=company.id, sort="name")
    record = company_record(
        company, tags_of(session, CompanyTag, "company_id", [company.id]).get(company.id, []), len(people)
    )
    activities, total = timeline(
        session, contact_ids=[p["id"] for p in people], company_id=company.id, limit=timeline_limit
    )
    touches = [p["last_touch"] for p in people if p["last_touch"]] + [a["at"] for a in activities[:1]]
    record["last_touch"] = max(touches) if touches else None
    record["contacts"] = people
    record["activity_count"] = total
    record["activities"] = activities
    record["followups"] = open_followups(session, company_id=company.id)
    record.update(customer_deals(session, company_id=company.id))
    record["merged"] = merge_history(session, "company", company.id)
    return record


def deal_view(session: Session, deal: Deal, *, timeline_limit: int | None = 20) -> dict[str, Any]:
    """Everything about one deal: details, contact, company, stage history, activities, follow-ups."""
    stage = session.get(Stage, deal.stage_id)
    pipeline = session.get(Pipeline, deal.pipeline_id)
    contact = session.get(Contact, deal.contact_id) if deal.contact_id else None
    company = session.get(Company, deal.company_id) if deal.company_id else None
    assert stage is not None and pipeline is not None
    record = deal_record(
        deal, stage, pipeline.name, contact.name if contact else None, company.name if company else None
    )
    record["history"] = history(session, deal)
    query = select(Activity).where(Activity.deal_id == deal.id).order_by(Activity.at.desc(), Activity.id.desc())
    total = session.exec(select(func.count()).select_from(Activity).where(Activity.deal_id == deal.id)).one()
    record["activity_count"] = total
    record["activities"] = [
        activity_record(a, deal.title) for a in session.exec(query.limit(timeline_limit) if timeline_limit else query)
    ]
    record["followups"] = open_followups(session, deal_id=deal.id)
    return record


def customer_deals(session: Session, *, contact_id: int | None = None, company_id: int | None = None) -> dict[str, Any]:
    """The deals of one contact, or of one company (its own, and those of its people that name no
    company), for the single customer view: open ones first by close date (undated last), then
    closed ones, latest first; with the open pipeline (amount and weighted) and the won revenue
    per currency, never added across currencies."""
    if company_id is None and contact_id is None:
        raise Invalid("customer_deals needs a contact or a company")
    records = deals_of(session, contact_id=contact_id, company_id=company_id)
    open_ = sorted(
        (r for r in records if r["status"] == "open"),
        key=lambda r: (r["close_date"] is None, r["close_date"] or date.min, r["id"]),
    )
    closed = sorted(  # latest first; a closed deal without a close time (imported) last
        (r for r in records if r["status"] != "open"),
        key=lambda r: (r["closed_at"] is not None, r["closed_at"], r["id"]),
        reverse=True,
    )

    def per_currency(rows: list[dict[str, Any]], key: str) -> dict[str, Decimal]:
        sums: dict[str, Decimal] = {}
        for r in rows:
            if r[key] is not None:
                sums[r["currency"]] = sums.get(r["currency"], Decimal(0)) + r[key]
        return dict(sorted(sums.items()))

    won = [r for r in closed if r["status"] == "won"]
    return {
        "deals": open_ + closed,
        "open_deals": len(open_),
        "won_deals": len(won),
        "lost_deals": len(closed) - len(won),
        "open_pipeline": per_currency(open_, "amount"),
        "open_weighted": per_currency(open_, "weighted"),
        "won_revenue": per_currency(won, "amount"),
    }
