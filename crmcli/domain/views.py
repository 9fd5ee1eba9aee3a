"""The customer views: everything about one contact, company or deal, read across the entities
(details, people, timeline, follow-ups, deals with their sums, merge history). They only read,
so they sit above every module they read from and nothing below imports them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, TypedDict

from sqlalchemy import func
from sqlmodel import Session, col, select

from crmcli.domain.activities import activity_record, timeline
from crmcli.domain.companies import company_record
from crmcli.domain.contacts import contact_record, list_contacts
from crmcli.domain.deals import deal_record, deals_of, history
from crmcli.domain.dedupe import merge_history
from crmcli.domain.followups import open_followups
from crmcli.domain.records import (
    ActivityRecord,
    CompanyRecord,
    ContactRecord,
    DealRecord,
    FollowUpRow,
    MergeHistoryRow,
)
from crmcli.domain.tags import tags_of
from crmcli.errors import Invalid
from crmcli.models import Activity, Company, CompanyTag, Contact, Deal, Pipeline, Stage


class CustomerDeals(TypedDict):
    """A contact's or company's deals, and their sums per currency (never added across currencies)."""

    deals: list[DealRecord]  # open ones first by close date (undated last), then closed ones, latest first
    open_deals: int
    won_deals: int
    lost_deals: int
    open_pipeline: dict[str, Decimal]  # {currency: amount}
    open_weighted: dict[str, Decimal]
    won_revenue: dict[str, Decimal]


class ContactView(ContactRecord, CustomerDeals):
    """`crm contacts show`: the contact's record, then its timeline, follow-ups, deals and merges."""

    activity_count: int  # all of them; activities holds the latest
    activities: list[ActivityRecord]
    followups: list[FollowUpRow]  # open ones, its cadence one included
    merged: list[MergeHistoryRow]  # crmcli.domain.dedupe.merge_history


class CompanyView(CompanyRecord, CustomerDeals):
    """`crm companies show`: the company's record, its people, then timeline, follow-ups, deals and merges."""

    last_touch: datetime | None  # the latest activity on the company or its people
    contacts: list[ContactRecord]
    activity_count: int
    activities: list[ActivityRecord]
    followups: list[FollowUpRow]
    merged: list[MergeHistoryRow]


class DealView(DealRecord):
    """`crm deals show`: the deal's record, its stage history, activities and open follow-ups."""

    history: list[dict[str, Any]]  # crmcli.domain.deals.history: at, from, to, by, days, current
    activity_count: int
    activities: list[ActivityRecord]
    followups: list[FollowUpRow]


def contact_view(session: Session, contact: Contact, *, timeline_limit: int | None = 20) -> ContactView:
    """The single customer view: details, company, tags, custom fields, last touch, timeline,
    keep-in-touch cadence, open follow-ups, and the contact's deals, open and closed, with the
    open pipeline and won revenue per currency."""
    assert contact.id is not None
    activities, total = timeline(session, contact_ids=[contact.id], limit=timeline_limit)
    record = contact_record(session, contact, touched=activities[0]["at"] if activities else None)
    return {
        **record,
        "activity_count": total,
        "activities": activities,
        "followups": open_followups(session, contact_id=contact.id),
        **customer_deals(session, contact_id=contact.id),
        "merged": merge_history(session, "contact", contact.id),
    }


def company_view(session: Session, company: Company, *, timeline_limit: int | None = 20) -> CompanyView:
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
    return {
        **record,
        "last_touch": max(touches) if touches else None,
        "contacts": people,
        "activity_count": total,
        "activities": activities,
        "followups": open_followups(session, company_id=company.id),
        **customer_deals(session, company_id=company.id),
        "merged": merge_history(session, "company", company.id),
    }


def deal_view(session: Session, deal: Deal, *, timeline_limit: int | None = 20) -> DealView:
    """Everything about one deal: details, contact, company, stage history, activities, follow-ups."""
    stage = session.get(Stage, deal.stage_id)
    pipeline = session.get(Pipeline, deal.pipeline_id)
    contact = session.get(Contact, deal.contact_id) if deal.contact_id else None
    company = session.get(Company, deal.company_id) if deal.company_id else None
    assert stage is not None and pipeline is not None
    record = deal_record(
        deal, stage, pipeline.name, contact.name if contact else None, company.name if company else None
    )
    moves = history(session, deal)
    query = (
        select(Activity).where(Activity.deal_id == deal.id).order_by(col(Activity.at).desc(), col(Activity.id).desc())
    )
    total = session.exec(select(func.count()).select_from(Activity).where(Activity.deal_id == deal.id)).one()
    activities = [
        activity_record(a, deal.title) for a in session.exec(query.limit(timeline_limit) if timeline_limit else query)
    ]
    return {
        **record,
        "history": moves,
        "activity_count": total,
        "activities": activities,
        "followups": open_followups(session, deal_id=deal.id),
    }


def customer_deals(session: Session, *, contact_id: int | None = None, company_id: int | None = None) -> CustomerDeals:
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

    def per_currency(rows: list[DealRecord], key: Literal["amount", "weighted"]) -> dict[str, Decimal]:
        sums: dict[str, Decimal] = {}
        for r in rows:
            value = r[key]
            if value is not None:
                sums[r["currency"]] = sums.get(r["currency"], Decimal(0)) + value
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
