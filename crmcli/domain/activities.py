"""The activity log: calls, emails, meetings and notes on contacts, companies and deals."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from crmcli.domain import search
from crmcli.domain.records import ActivityRecord
from crmcli.errors import Invalid
from crmcli.models import Activity, Company, Contact, Deal
from crmcli.values import clock
from crmcli.values.normalize import clean_text, optional_notes

TYPES = ("call", "email", "meeting", "note")


def log_activity(
    session: Session,
    *,
    type: str,
    text: str,
    contact: Contact | None = None,
    company: Company | None = None,
    deal: Deal | None = None,
    at: datetime | None = None,
    by: str | None = None,
) -> Activity:
    if type not in TYPES:
        raise Invalid(f"unknown activity type '{type}': use one of {', '.join(TYPES)}")
    body = optional_notes(text, "the activity text") or ""  # its lines kept, controls removed
    if not body:
        raise Invalid("the activity text must not be empty")
    if contact is None and company is None and deal is None:
        raise Invalid("an activity needs a contact, a company or a deal")
    now = clock.now()
    activity = Activity(
        contact_id=contact.id if contact else None,
        company_id=company.id if company else None,
        deal_id=deal.id if deal else None,
        type=type,
        text=body,
        at=at or now,
        by=clean_text(by) or None,
        created_at=now,
    )
    session.add(activity)
    session.flush()
    subject = contact.name if contact else company.name if company else deal.title if deal else ""
    assert activity.id is not None
    search.upsert(session, "activity", activity.id, f"{type} · {subject}", body)
    return activity


def activity_record(activity: Activity, subject: str | None = None) -> ActivityRecord:
    assert activity.id is not None  # a stored activity
    return {
        "id": activity.id,
        "at": activity.at,
        "type": activity.type,
        "text": activity.text,
        "by": activity.by,
        "contact_id": activity.contact_id,
        "company_id": activity.company_id,
        "deal_id": activity.deal_id,
        "subject": subject,
    }


def timeline(
    session: Session, *, contact_ids: list[int] | None = None, company_id: int | None = None, limit: int | None = 20
) -> tuple[list[ActivityRecord], int]:
    """Activities, newest first, on the given contacts and/or the company; with the total count."""
    conditions: list[ColumnElement[bool]] = []
    if contact_ids:
        conditions.append(col(Activity.contact_id).in_(contact_ids))
    if company_id is not None:
        conditions.append(col(Activity.company_id) == company_id)
    if not conditions:
        return [], 0
    where = or_(*conditions)
    total = session.exec(select(func.count()).select_from(Activity).where(where)).one()
    query = (
        select(Activity, Contact.name)
        .outerjoin(Contact, col(Contact.id) == Activity.contact_id)
        .where(where)
        .order_by(col(Activity.at).desc(), col(Activity.id).desc())
    )
    if limit:
        query = query.limit(limit)
    rows = [activity_record(a, name) for a, name in session.exec(query)]
    return rows, total


def last_touch(session: Session, contact_ids: list[int]) -> dict[int, datetime]:
    """The time of each contact's latest activity."""
    if not contact_ids:
        return {}
    query = (
        select(Activity.contact_id, func.max(Activity.at))
        .where(col(Activity.contact_id).in_(contact_ids))
        .group_by(col(Activity.contact_id))
    )
    return {contact_id: at for contact_id, at in session.exec(query) if at is not None}  # type: ignore[misc]
