"""The records the domain hands to commands, exports and views: one TypedDict per kind of row, so
a reader and a type checker see the fields. At run time they are plain dicts (JSON, CSV and the
tables read them as mappings); the order of the fields here is the order of the keys, which is
the order of the CSV columns.

Ids are those of stored rows, so never None. Times are aware UTC datetimes; money is Decimal in
the record's currency; `custom` holds the custom fields as stored.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, NotRequired, TypedDict


class ContactRecord(TypedDict):
    """A contact as `crm contacts list` shows it (crmcli.domain.contacts.list_contacts, contact_record)."""

    id: int
    name: str
    title: str | None
    company: str | None  # the company's name
    company_id: int | None
    email: str | None  # the primary one: the first of emails
    emails: list[str]
    phone: str | None  # the primary one: the first of phones
    phones: list[str]
    tags: list[str]
    owner: str | None
    source: str | None
    last_touch: datetime | None  # the latest activity logged on the contact
    notes: str | None
    custom: dict[str, Any]
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    # after the keys scripts already read, so CSV columns keep their places
    street: str | None
    city: str | None
    region: str | None
    postcode: str | None
    country: str | None
    birthday: str | None  # "1985-04-15", or "--04-15" without the year
    website: str | None
    cadence_days: int | None


class CompanyRecord(TypedDict):
    """A company as `crm companies list` shows it (crmcli.domain.companies.list_companies, company_record)."""

    id: int
    name: str
    domain: str | None
    phone: str | None
    website: str | None
    tags: list[str]
    owner: str | None
    source: str | None
    people: int  # its contacts
    notes: str | None
    custom: dict[str, Any]
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    # after the keys scripts already read, so CSV columns keep their places
    street: str | None
    city: str | None
    region: str | None
    postcode: str | None
    country: str | None
    industry: str | None


class DealRecord(TypedDict):
    """A deal as `crm deals list` shows it (crmcli.domain.deals.list_deals, deals_of, deal_record)."""

    id: int
    title: str
    pipeline: str  # names, not ids
    stage: str
    status: str  # open | won | lost
    probability: int  # the stage's, in percent
    amount: Decimal | None
    currency: str
    weighted: Decimal | None  # amount × probability
    contact: str | None  # the contact's name
    contact_id: int | None
    company: str | None  # the company's name
    company_id: int | None
    close_date: date | None  # expected
    owner: str | None
    source: str | None
    days_in_stage: int
    stalled: bool  # open, and longer in its stage than the stage's rot days
    closed_at: datetime | None  # when it was won or lost
    lost_reason: str | None
    notes: str | None
    custom: dict[str, Any]
    external_id: str | None
    created_at: datetime
    updated_at: datetime


class ActivityRecord(TypedDict):
    """One logged activity (crmcli.domain.activities.activity_record, timeline)."""

    id: int
    at: datetime
    type: str
    text: str
    by: str | None
    contact_id: int | None
    company_id: int | None
    deal_id: int | None
    subject: str | None  # the name of what it is about


class FollowUpRow(TypedDict):
    """A follow-up as `crm followups` lists it (crmcli.domain.followups): a stored one (id 12, kind
    "followup") or a contact's keep-in-touch cadence (id "c12", kind "cadence", which adds the
    contact's last touch and cadence)."""

    id: int | str
    kind: str  # followup | cadence
    due_at: datetime
    relative: str  # "2 days overdue", "in 3 h", "done"
    status: str
    subject_kind: str | None  # deal | contact | company
    subject: str | None  # its title or name
    note: str | None
    owner: str | None
    every: str | None
    from_done: bool
    origin: str  # manual | stage | cadence
    contact_id: int | None
    company_id: int | None
    deal_id: int | None
    uid: str
    done_at: datetime | None
    created_at: datetime
    updated_at: datetime
    last_touch: NotRequired[datetime | None]  # cadence rows only
    cadence_days: NotRequired[int]  # cadence rows only
