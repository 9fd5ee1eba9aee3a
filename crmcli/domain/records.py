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


class PossibleDuplicate(TypedDict):
    """A contact that may be the same person as a new one (crmcli.domain.contacts.possible_duplicates)."""

    id: int
    name: str
    reason: str  # matching's, e.g. "same email info@acme.de, other name"


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


class DuplicateMember(TypedDict):
    """A record of a DuplicateCluster: a contact with its company, primary email and phone; a
    company with its domain and phone."""

    id: int
    name: str
    company: NotRequired[str | None]  # contacts
    email: NotRequired[str | None]  # contacts
    domain: NotRequired[str | None]  # companies
    phone: str | None


class DuplicateCluster(TypedDict):
    """Likely duplicates, as `crm contacts dedupe` lists them (crmcli.domain.dedupe.clusters)."""

    id: int  # the one a merge keeps: the oldest
    cluster: int  # its number in the list, best first
    ids: list[int]
    score: int  # 0-100: its weakest joining link
    exact: bool  # what --auto merges
    reasons: list[str]
    names: list[str]  # "#3 Anna Müller"
    members: list[DuplicateMember]
    command: str  # the merge that joins them


class MergedAway(TypedDict):
    id: int
    name: str


class MergeResult(TypedDict):
    """What a merge did (crmcli.domain.dedupe.merge): the kept record, the ones merged into it."""

    id: int
    name: str
    merged: list[MergedAway]
    moved: dict[str, int]  # how many moved: activities, deals, followups; emails, phones or contacts
    tags_added: list[str]
    filled: list[str]  # the kept record's empty fields filled from the others
    not_taken: dict[int, dict[str, Any]]  # per merged id: its values that differed, kept in the merge record


class AutoMergeResult(MergeResult):
    """One cluster `dedupe --auto` merged (crmcli.domain.dedupe.auto_merge)."""

    reasons: list[str]
    ids: list[int]


class MergeHistoryRow(TypedDict):
    """A record merged into another (crmcli.domain.dedupe.merge_history)."""

    id: int  # of the merge
    merged_id: int
    merged_name: str
    into: int
    at: datetime
    by: str | None
    reason: str | None
    what: str  # "#35 Anna Mueller (into #12)"


class DoctorItem(TypedDict):
    """One record behind a `crm doctor` finding, with the command that fixes it (crmcli.domain.doctor.items)."""

    id: int | str  # a record's id; a follow-up's as it is listed
    record: str
    problem: str
    fix: str


class IntegrityReport(TypedDict):
    """The database's own check (crmcli.domain.doctor.integrity)."""

    backend: str  # sqlite | postgresql
    ok: bool
    ran: list[str]  # what was checked
    problems: list[str]


class DoctorFinding(TypedDict):
    id: str  # the check's: unreachable, no_owner, …
    title: str
    count: int
    examples: list[str]
    fix: str | None  # the command that fixes it in general, when there is something to fix


class DoctorReport(TypedDict):
    """`crm doctor` (crmcli.domain.doctor.report)."""

    ok: bool  # the integrity check's verdict
    backend: str
    integrity: IntegrityReport
    findings: list[DoctorFinding]
    problems: int  # findings with a count
