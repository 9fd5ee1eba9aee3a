"""`crm mcp`: the CRM for AI assistants, a Model Context Protocol server on stdin and stdout.

Each tool calls the domain and analytics layers as the command it mirrors does, with the same
defaults (the owner of a new record is the user crm runs as, settings.current_user()), in one session and
transaction of its own on the database the command line uses (--db, CRM_DB, else the default), in
a context of its own: the config's zone and date order, the notes the lookups leave and the change
log's "via" end with the call. A result is the JSON that the command's `--format json` prints
(crmcli.values.cells.dumps, the encoder crmcli.output writes with) as the first text block; what
the command says on stderr (a message after a write, a note such as "using company #3 …") follows
as text blocks of their own. An error (not found, ambiguous, invalid, conflict) is a tool error of
one line, the command's wording with its hint in terms of the tool's arguments; never a traceback.

The tools that write are offered only with `--allow-write`; without it they are neither listed nor
run. Every write is a change set with kind "mcp" and via "mcp TOOL" in the history, so `crm undo`
takes it back. Nothing deletes, merges or imports for real.

The SDK (the `mcp` package) is imported only by build(), so the rest of crm never loads it.
"""

from __future__ import annotations

import contextvars
import inspect
import logging
import sys
import typing
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field
from sqlmodel import Session

from crmcli import changelog, storage
from crmcli.analytics import kpi as kpi_
from crmcli.analytics import reports
from crmcli.analytics.summary import kpi_summary
from crmcli.domain import activities, companies, contacts, deals, fields, lookup, settings, views
from crmcli.domain import followups as followups_
from crmcli.domain import search as search_
from crmcli.errors import CrmError, Hint, UsageError
from crmcli.output import ERROR_MAX, one_line
from crmcli.values import clock, periods
from crmcli.values.cells import dumps
from crmcli.values.normalize import split_multi
from crmcli.values.when import parse_past, parse_when

if TYPE_CHECKING:
    from mcp.types import CallToolResult

logger = logging.getLogger("crmcli.mcp")

INSTRUCTIONS = """\
A CRM: contacts, companies, deals in pipelines, follow-ups (reminders), the activity log, KPIs and reports.
- REF: a record is named by its id (12 or #12), an email, a phone in any format, its name or title, or a
  unique part of it; contact:REF, company:REF or deal:REF says the kind. A REF that matches several
  records is an error listing them (kind, id, name): call again with the id.
- Results are JSON, as `crm … --format json` prints them: times in ISO 8601 UTC (2026-11-23T09:00:00Z),
  days as 2026-12-31, money as decimal strings ("12000.00") beside its ISO currency code, summed per
  currency, never across currencies. Text blocks after the JSON are what crm tells a person.
- Dates and times you pass: ISO 8601 (2026-12-31, 2026-12-01 14:00) or the phrases crm reads: today,
  tomorrow 9am, in 3 days, 3d, 2w, next monday, fri 14:00, eow, eom; a time without a zone is local.
- Periods (kpi, report): week, month, quarter, year (the current one), or 2026-10, 2026-Q3, 2026-W44, 2026;
  or since/until days.
- Writes, when offered, are recorded in the history as made via "mcp TOOL"; `crm undo` takes one back.
"""

# ---------------------------------------------------------------- argument types (the tools' JSON schema)

_REF = (
    "its id (12 or #12), {what}, or a unique part of it; {kind}:REF says the kind. "
    "A REF matching several records is an error listing them: call again with the id."
)
ContactRef = Annotated[
    str,
    Field(
        description="The contact: " + _REF.format(what="an email, a phone in any format, the name", kind="contact"),
        min_length=1,
    ),
]
CompanyRef = Annotated[
    str,
    Field(
        description="The company: " + _REF.format(what="its domain (acme.de), the name", kind="company"),
        min_length=1,
    ),
]
DealRef = Annotated[str, Field(description="The deal: " + _REF.format(what="the title", kind="deal"), min_length=1)]
SubjectRef = Annotated[
    str,
    Field(
        description="A contact, company or deal: its id, an email, a phone, a name or title, or a unique part "
        "of it; contact:REF, company:REF or deal:REF says the kind (a bare id is tried as contact, then company, "
        "then deal). A REF matching several records is an error listing them.",
        min_length=1,
    ),
]
Timeline = Annotated[int, Field(ge=0, description="How many of the latest activities to include (0: all).")]
Limit = Annotated[int, Field(ge=0, description="At most this many records (0: all).")]
Text = Annotated[str | None, Field(description="Leave out to keep as it is; '' clears.")]
Owner = Annotated[
    str | None, Field(description="Owner, a user name (default: the user crm runs as, CRM_USER or the login).")
]
OwnerFilter = Annotated[str | None, Field(description="Only those of this owner (a user name).")]
NewOwner = Annotated[str | None, Field(description="New owner, a user name ('' clears).")]
Tags = Annotated[list[str] | None, Field(description="Tags (lower-cased: 'Key Account' is key-account).")]
Custom = Annotated[
    dict[str, str] | None,
    Field(description="Custom fields, {key: value}; declared fields are type-checked (crm fields list)."),
]
CustomEdit = Annotated[
    dict[str, str] | None,
    Field(description="Custom fields to set, {key: value}; a value '' removes the field."),
]
Region = Annotated[
    str | None,
    Field(description="Country (ISO code, e.g. DE) for phones written without +code (default: config default_region)."),
]
Where = Annotated[
    list[str] | None,
    Field(
        description="FIELD=VALUE conditions, all must hold: built-in fields (city=Berlin, email=…) or custom "
        "fields (tier=Gold). An unknown field is an error naming the fields there are."
    ),
]
Since = Annotated[str | None, Field(description="Created at or after this day or time: 2026-11-01, 7d, yesterday.")]
Period = Annotated[
    str | None,
    Field(
        description="week, month, quarter or year: the current one (local time); or a named one: 2026-10, "
        "2026-Q3, 2026-W44, 2026. Not together with since/until."
    ),
]
PeriodSince = Annotated[str | None, Field(description="First day of a period of your own (local): 2026-11-01, 30d.")]
PeriodUntil = Annotated[str | None, Field(description="Last day of it, included (default: today).")]
PipelineFilter = Annotated[
    str | None, Field(description="Only deals in this pipeline, by name or id (default: all pipelines).")
]
PipelinePick = Annotated[str | None, Field(description="The pipeline, by name or id (default: the first).")]
Money = Annotated[
    str | None,
    Field(description="Amount as a decimal string in the deal's currency: '12000' or '1999.99' ('' clears on edit)."),
]
Currency = Annotated[str | None, Field(description="ISO 4217 code, e.g. EUR (default: config currency).")]
CloseDate = Annotated[
    str | None,
    Field(description="Expected close date: 2026-12-31, 'in 3 weeks', eom, eoq ('' clears on edit)."),
]
ActivityType = Literal["call", "email", "meeting", "note"]
Street = Annotated[str | None, Field(description="Street and number of the postal address ('' clears on edit).")]
City = Annotated[str | None, Field(description="City or town ('' clears on edit).")]
AddressState = Annotated[str | None, Field(description="State, province or county of the address ('' clears on edit).")]
Postcode = Annotated[str | None, Field(description="Postcode or ZIP code ('' clears on edit).")]
Country = Annotated[str | None, Field(description="Country of the address ('' clears on edit).")]
Website = Annotated[str | None, Field(description="Web address; acme.de means https://acme.de ('' clears on edit).")]
NewCompany = Annotated[
    bool, Field(description="Make a new company of the company name, even if an existing one is close to it.")
]
AllowSuppressed = Annotated[
    bool, Field(description="Take an email or phone of a person erased on request (the suppression list).")
]

# ---------------------------------------------------------------- the tools

Handler = Callable[..., Any]
READ: dict[str, Handler] = {}
WRITE: dict[str, Handler] = {}
DESTRUCTIVE: set[str] = set()  # writes that change or close what exists, rather than only add
PREVIEWS = {"import_preview"}  # offered with the writes (it reads any file it is given), writing nothing

_said: ContextVar[list[str]] = ContextVar("crm_mcp_said")


def _read(fn: Handler) -> Handler:
    READ[fn.__name__] = fn
    return fn


def _write(*, changes: bool) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        WRITE[fn.__name__] = fn
        if changes:
            DESTRUCTIVE.add(fn.__name__)
        return fn

    return register


def _say(text: str) -> None:
    """What the command would tell a person on stderr: a text block after the result."""
    _said.get().append(text)


def _line(message: str, hint: Hint | None) -> str:
    """MESSAGE with its hint, the hint's keywords being the tools' argument names (allow_duplicate)."""
    return hint.line(message) if hint else message


def _owner_of(owner: str | None, mine: bool) -> str | None:
    if owner and mine:
        raise UsageError("give owner or mine, not both")
    return settings.current_user() if mine else owner


def _custom(values: dict[str, str] | None) -> dict[str, str]:
    """{key: value} as the command line's KEY=VALUE options are read (keys cleaned the same way)."""
    return fields.parse_assignments([f"{k}={v}" for k, v in (values or {}).items()])


@_read
def search(
    s: Session,
    text: Annotated[
        str,
        Field(
            description="Words to find, all must match (parts of words, accents optional, CJK works); "
            "at most 200 characters and 20 words.",
            min_length=1,
        ),
    ],
    kinds: Annotated[
        list[Literal["contact", "company", "deal", "activity"]] | None,
        Field(description="Only these kinds of record (default: all)."),
    ] = None,
    limit: Annotated[int, Field(ge=1, description="At most this many matches.")] = 20,
) -> Any:
    """Search contacts, companies, deals and activity text, best matches first (exact names, then
    people, companies and deals, then activities). Each match: kind, id, title and the matching text."""
    return search_.search(s, text, kinds=list(kinds) if kinds else None, limit=limit)


@_read
def show_contact(s: Session, ref: ContactRef, timeline: Timeline = 20) -> Any:
    """Everything about one contact (the single customer view): details, company, emails, phones,
    address, tags, custom fields, owner, last touch, keep-in-touch cadence, deals (open and closed,
    with open pipeline, weighted and won revenue per currency), open follow-ups and the latest
    activities. As `crm contacts show REF --format json`."""
    return views.contact_view(s, lookup.resolve_contact(s, ref), timeline_limit=timeline or None)


@_read
def show_company(s: Session, ref: CompanyRef, timeline: Timeline = 20) -> Any:
    """Everything about one company: details, its people, its deals and its people's (open pipeline
    and won revenue per currency), open follow-ups and the activity of the company and its people.
    As `crm companies show REF --format json`."""
    return views.company_view(s, lookup.resolve_company(s, ref), timeline_limit=timeline or None)


@_read
def show_deal(s: Session, ref: DealRef, timeline: Timeline = 20) -> Any:
    """One deal: pipeline, stage, status (open, won, lost), days in stage and whether it is stalled,
    amount and weighted value, probability, contact, company, expected close date, owner, stage
    history with days in each stage, activities and open follow-ups. As `crm deals show REF --format json`."""
    return views.deal_view(s, lookup.resolve_deal(s, ref), timeline_limit=timeline or None)


@_read
def list_contacts(
    s: Session,
    tag: Annotated[str | None, Field(description="Only contacts with this tag.")] = None,
    company: Annotated[str | None, Field(description="Only people of this company (a company REF).")] = None,
    owner: OwnerFilter = None,
    where: Where = None,
    since: Since = None,
    sort: Annotated[
        str, Field(description="name, company, created, updated or id; prefix - to reverse (-created).")
    ] = "name",
    limit: Limit = 50,
) -> Any:
    """List contacts, filtered and sorted: id, name, company, email, phone, tags, owner, last touch.
    As `crm contacts list --format json` with the same options."""
    return contacts.list_contacts(
        s, tag=tag, company=company, owner=owner, where=where, since=since, sort=sort, limit=limit or None
    )


@_read
def list_companies(
    s: Session,
    tag: Annotated[str | None, Field(description="Only companies with this tag.")] = None,
    owner: OwnerFilter = None,
    where: Where = None,
    since: Since = None,
    sort: Annotated[str, Field(description="name, created, updated or id; prefix - to reverse.")] = "name",
    limit: Limit = 50,
) -> Any:
    """List companies with how many people each has, filtered and sorted. As `crm companies list
    --format json` with the same options."""
    return companies.list_companies(s, tag=tag, owner=owner, where=where, since=since, sort=sort, limit=limit or None)


@_read
def list_deals(
    s: Session,
    status: Annotated[
        Literal["open", "won", "lost"] | None, Field(description="Only open, won or lost deals (default: all).")
    ] = None,
    stage: Annotated[str | None, Field(description="Only deals in this stage (of pipeline, else the first).")] = None,
    pipeline: PipelineFilter = None,
    owner: OwnerFilter = None,
    contact: Annotated[str | None, Field(description="Only this contact's deals (a contact REF).")] = None,
    company: Annotated[
        str | None, Field(description="Only this company's deals and its people's (a company REF).")
    ] = None,
    closing_before: Annotated[
        str | None, Field(description="Only deals expected to close before this day: 2026-12-31, eoq.")
    ] = None,
    where: Where = None,
    sort: Annotated[
        str,
        Field(description="close, amount, title, stage, created, updated or id; prefix - to reverse (-amount)."),
    ] = "close",
    limit: Limit = 50,
) -> Any:
    """List deals, filtered and sorted (by expected close date unless sort says otherwise): id,
    title, pipeline, stage, status, amount and weighted value with currency, contact, company,
    close date, owner, days in stage. As `crm deals list --format json` with the same options."""
    return deals.list_deals(
        s, stage=stage, pipeline=pipeline, owner=owner, status=status, closing_before=closing_before,
        contact=contact, company=company, where=where, sort=sort, limit=limit or None,
    )  # fmt: skip


@_read
def followups(
    s: Session,
    window: Annotated[
        Literal["due", "overdue", "today", "upcoming", "all"],
        Field(
            description="due: overdue and today's (the default); overdue: due before today (local day); "
            "today; upcoming: today and the next span; all: every open one."
        ),
    ] = "due",
    span: Annotated[str, Field(description="For upcoming: how far ahead, 7d, 2w or 30 (days).")] = "7d",
    owner: OwnerFilter = None,
    mine: Annotated[bool, Field(description="Only your own (the user crm runs as).")] = False,
    contact: Annotated[str | None, Field(description="Only those on this contact (a contact REF).")] = None,
    company: Annotated[str | None, Field(description="Only those on this company (a company REF).")] = None,
    cadence: Annotated[bool, Field(description="Include keep-in-touch cadence follow-ups (ids like c12).")] = True,
    limit: Limit = 50,
) -> Any:
    """List open follow-ups (reminders), soonest first, with how far they are from now (relative)
    and what they are on (subject). Ids like c12 are the keep-in-touch cadence of contact 12. As
    `crm followups list --format json` with the same options."""
    days = 7
    if window == "upcoming":
        try:
            days = followups_.parse_cadence(span) or 0
        except UsageError:
            raise UsageError(f"cannot read span '{span}': use e.g. 7d, 2w, 30 (days)") from None
    return followups_.list_followups(
        s, window=window, days=days, owner=_owner_of(owner, mine), cadence=cadence, contact=contact,
        company=company, limit=limit or None,
    )  # fmt: skip


@_read
def kpi(
    s: Session,
    period: Period = None,
    since: PeriodSince = None,
    until: PeriodUntil = None,
    owner: Annotated[
        str | None, Field(description="Only this owner's deals, activities (logged by them) and follow-ups.")
    ] = None,
    pipeline: PipelineFilter = None,
) -> Any:
    """The KPIs of a period (default: the current month) beside the period before: open pipeline,
    forecast, won and lost (count, value), win rate, deal size, sales cycle, stage conversion,
    stalled deals, activity, follow-ups, speed to lead, new contacts and companies, and targets
    with attainment. As `crm kpi --format json`."""
    return kpi_summary(s, periods.window(period, since, until), owner=owner, pipeline=pipeline)


REPORTS = ("funnel", "forecast", "owners", "customers", "stalled", "lost-reasons", "trend")


@_read
def report(
    s: Session,
    name: Annotated[
        Literal["funnel", "forecast", "owners", "customers", "stalled", "lost-reasons", "trend"],
        Field(
            description="funnel: deals entering each stage and the shares moving on and won; forecast: weighted "
            "open value by expected close month; owners: leaderboard; customers: won value per company with an "
            "RFM segment; stalled: open deals past their stage's rot days; lost-reasons; trend: month by month."
        ),
    ],
    period: Annotated[
        str | None,
        Field(
            description="As for kpi (default: the current quarter; forecast and trend: the current month). "
            "stalled: those stalled now unless a period is given."
        ),
    ] = None,
    since: PeriodSince = None,
    until: PeriodUntil = None,
    owner: OwnerFilter = None,
    pipeline: Annotated[
        str | None,
        Field(description="Pipeline by name or id (funnel: the one drawn, default the first; else a filter)."),
    ] = None,
    months: Annotated[
        int | None,
        Field(ge=1, le=120, description="forecast: months ahead (default 6, at most 60); trend: months back (12)."),
    ] = None,
    limit: Annotated[int, Field(ge=0, description="stalled: at most this many deals (0: all).")] = 0,
) -> Any:
    """A sales report, as `crm report NAME --format json` prints it: funnel (per stage, the deals that
    entered it in the period, how many moved on and were won), forecast (weighted open value per
    expected close month and currency), owners (leaderboard), customers (lifetime won value per
    company, RFM segment), stalled (open deals past their stage's rot days), lost-reasons (with
    the period before), trend (month by month: won, lost, win rate, new contacts, activities)."""
    if months is not None and name not in ("forecast", "trend"):
        raise UsageError("months applies to the forecast and trend reports only")
    if name == "forecast" and months is not None and months > 60:
        raise UsageError("the forecast looks at most 60 months ahead")

    def scope(default: str = "quarter") -> kpi_.Scope:
        return kpi_.make_scope(s, periods.window(period, since, until, default=default), owner, pipeline)

    if name == "funnel":
        return reports.funnel(s, scope())
    if name == "forecast":
        return reports.forecast(s, scope("month"), months or 6)
    if name == "owners":
        return reports.owners(s, scope())
    if name == "customers":
        return reports.customers(s, scope())
    if name == "stalled":
        window = periods.window(period, since, until) if (period or since or until) else None
        return reports.stalled(
            s, kpi_.make_scope(s, window or periods.window("month"), owner, pipeline), window, limit or None
        )
    if name == "lost-reasons":
        return reports.lost_reasons_report(s, scope())
    return reports.trend(s, scope("month"), months or 12)


@_read
def pipeline_board(
    s: Session,
    pipeline: PipelinePick = None,
    owner: OwnerFilter = None,
    limit: Annotated[int, Field(ge=0, description="Deals shown per stage, biggest first (0: all).")] = 8,
) -> Any:
    """The open deals of a pipeline by stage: per stage its probability, count, totals and weighted
    values per currency, stalled count, and its biggest deals (days in stage, stalled or not).
    As `crm pipeline board --format json`."""
    return deals.board(s, pipeline=pipeline, owner=owner, per_stage=limit or None)


# ---------------------------------------------------------------- writes


@_write(changes=False)
def log_activity(
    s: Session,
    ref: SubjectRef,
    text: Annotated[str, Field(description="What happened; line breaks are kept.", min_length=1)],
    type: Annotated[ActivityType, Field(description="call, email, meeting or note.")] = "note",
    at: Annotated[
        str | None, Field(description="When it happened (default: now): 2026-11-20 15:00, 'yesterday 15:00', 2d.")
    ] = None,
    by: Annotated[str | None, Field(description="Who did it (default: the user crm runs as).")] = None,
) -> Any:
    """Log a call, email, meeting or note on a contact, company or deal (`crm log`). Returns the
    activity: id, type, text, when, by whom, on what."""
    contact, company, deal = lookup.resolve_subject(s, ref)
    when = parse_past(at) if at else None
    activity = activities.log_activity(
        s, type=type, text=text, contact=contact, company=company, deal=deal, at=when,
        by=by if by is not None else settings.current_user(),
    )  # fmt: skip
    subject = contact.name if contact else company.name if company else deal.title if deal else ""
    _say(f"Logged {type} #{activity.id} on {subject}")
    return activities.activity_record(activity, subject)


def _due_said(row: Any) -> str:
    return f"{clock.show_local(row['due_at'])} ({row['relative']})"


@_write(changes=False)
def add_followup(
    s: Session,
    ref: SubjectRef,
    due: Annotated[
        str,
        Field(
            description="When it is due: tomorrow 9am, 'in 3 days', 3d, 2w, 'next monday', 'fri 14:00', eow, eom, "
            "2026-12-01 (a day without a time is 09:00 local).",
            min_length=1,
        ),
    ],
    note: Annotated[str | None, Field(description="What to do.")] = None,
    every: Annotated[
        str | None, Field(description="Repeat: daily, weekly, 2w, monthly, quarterly (or Nd, Nw, Nmo).")
    ] = None,
    from_done: Annotated[
        bool, Field(description="Count the next occurrence from completion, not from the due date (with every).")
    ] = False,
    owner: Owner = None,
    allow_past: Annotated[bool, Field(description="Accept a due time already past (else refused).")] = False,
) -> Any:
    """Add a follow-up reminder on a contact, company or deal (`crm followups add`). Returns the
    follow-up: id, due time, how far from now, subject, note, owner, repeat."""
    due_at = parse_when(due, what="due time", allow_past=allow_past)
    contact, company, deal = lookup.resolve_subject(s, ref)
    followup = followups_.add_followup(
        s, due_at=due_at, note=note, owner=settings.current_user() if owner is None else owner, contact=contact,
        company=company, deal=deal, every=every, from_done=from_done,
    )  # fmt: skip
    assert followup.id is not None
    record = followups_.followup_view(s, followup.id)
    _say(f"Added follow-up #{record['id']} on {record['subject']}: due {_due_said(record)}")
    return record


@_write(changes=True)
def complete_followup(
    s: Session,
    ids: Annotated[
        list[str],
        Field(description="Follow-up ids (12), or c12 for the keep-in-touch cadence of contact 12.", min_length=1),
    ],
    log: Annotated[str | None, Field(description="Log this text as an activity on the same record.")] = None,
    type: Annotated[ActivityType, Field(description="Type of the logged activity.")] = "note",
) -> Any:
    """Mark follow-ups done (`crm followups done`); a recurring one moves on to its next date, a
    cadence one (c12) logs an activity (log, or "Kept in touch"). Returns per follow-up: id,
    done_at, next_due, activity_id, subject."""
    results = []
    for id_ in ids:
        result = followups_.complete(s, id_, log=log, log_type=type, by=settings.current_user())
        view = followups_.followup_view(s, result["id"])
        results.append({**result, "subject": view["subject"]})
        after = f"; next due {clock.show_local(result['next_due'])}" if result["next_due"] else ""
        logged = f", logged activity #{result['activity_id']}" if result["activity_id"] else ""
        label = f"#{result['id']}" if isinstance(result["id"], int) else result["id"]
        _say(f"Done follow-up {label} on {view['subject']}{logged}{after}")
    return results


@_write(changes=False)
def add_contact(
    s: Session,
    name: Annotated[str, Field(description="Full name.", min_length=1)],
    emails: Annotated[list[str] | None, Field(description="Emails; the first is the primary one.")] = None,
    phones: Annotated[
        list[str] | None, Field(description="Phones in any format; the first is the primary one.")
    ] = None,
    title: Annotated[str | None, Field(description="Job title.")] = None,
    company: Annotated[
        str | None,
        Field(description="Company REF or name: a new name creates the company; a near one is used (said after)."),
    ] = None,
    tags: Tags = None,
    owner: Owner = None,
    source: Annotated[str | None, Field(description="Where the contact came from.")] = None,
    notes: Annotated[str | None, Field(description="Free text.")] = None,
    street: Street = None,
    city: City = None,
    state: AddressState = None,
    postcode: Postcode = None,
    country: Country = None,
    birthday: Annotated[str | None, Field(description="1985-04-15, or --04-15 when the year is unknown.")] = None,
    website: Website = None,
    custom: Custom = None,
    allow_duplicate: Annotated[
        bool,
        Field(
            description="Add even if a stored contact seems the same person (email or phone and name, or name and "
            "company)."
        ),
    ] = False,
    allow_suppressed: AllowSuppressed = False,
    new_company: NewCompany = False,
    region: Region = None,
) -> Any:
    """Add a contact (`crm contacts add`); values are cleaned and checked (emails, phones, names). The
    same person as a stored contact is refused, naming it, unless allow_duplicate; a possible
    duplicate is added and named after the result. Returns the contact as show_contact does."""
    contact = contacts.add_contact(
        s, name=name, emails=split_multi(emails), phones=split_multi(phones), title=title, company=company,
        tags=split_multi(tags), owner=owner, default_owner=settings.current_user(), source=source,
        notes=notes, custom=_custom(custom), allow_duplicate=allow_duplicate, allow_suppressed=allow_suppressed,
        region=region, street=street, city=city, state=state, postcode=postcode, country=country,
        birthday=birthday, website=website, new_company=new_company,
    )  # fmt: skip
    record = views.contact_view(s, contact, timeline_limit=0)
    _say(f"Added contact #{contact.id}: {contact.name}")
    possible = [] if allow_duplicate else contacts.possible_duplicates(s, contact)
    if possible:
        others = ", ".join(f"#{p['id']} {p['name']} ({p['reason']})" for p in possible)
        _say(f"possible duplicate of {others}: crm contacts dedupe lists {'it' if len(possible) == 1 else 'them'}")
    return record


@_write(changes=True)
def edit_contact(
    s: Session,
    ref: ContactRef,
    name: Annotated[str | None, Field(description="New name.")] = None,
    title: Text = None,
    company: Annotated[str | None, Field(description="Company REF or name, as for add_contact ('' clears).")] = None,
    owner: NewOwner = None,
    source: Text = None,
    notes: Text = None,
    street: Street = None,
    city: City = None,
    state: AddressState = None,
    postcode: Postcode = None,
    country: Country = None,
    birthday: Annotated[str | None, Field(description="1985-04-15, or --04-15 without the year ('' clears).")] = None,
    website: Website = None,
    add_emails: Annotated[list[str] | None, Field(description="Emails to add.")] = None,
    remove_emails: Annotated[list[str] | None, Field(description="Emails to remove.")] = None,
    primary_email: Annotated[str | None, Field(description="Make this email the primary one.")] = None,
    add_phones: Annotated[list[str] | None, Field(description="Phones to add.")] = None,
    remove_phones: Annotated[list[str] | None, Field(description="Phones to remove.")] = None,
    primary_phone: Annotated[str | None, Field(description="Make this phone the primary one.")] = None,
    add_tags: Annotated[list[str] | None, Field(description="Tags to add.")] = None,
    remove_tags: Annotated[list[str] | None, Field(description="Tags to remove.")] = None,
    custom: CustomEdit = None,
    allow_duplicate: Annotated[bool, Field(description="Accept an email or phone another contact has.")] = False,
    allow_suppressed: AllowSuppressed = False,
    new_company: NewCompany = False,
    region: Region = None,
) -> Any:
    """Change a contact (`crm contacts edit`); arguments left out stay as they are. Returns the
    contact as show_contact does."""
    contact = lookup.resolve_contact(s, ref)
    contacts.edit_contact(
        s, contact, name=name, title=title, company=company, owner=owner, source=source, notes=notes,
        add_emails=split_multi(add_emails), remove_emails=split_multi(remove_emails), primary_email=primary_email,
        add_phones=split_multi(add_phones), remove_phones=split_multi(remove_phones), primary_phone=primary_phone,
        add_tags=split_multi(add_tags), remove_tags=split_multi(remove_tags), custom=_custom(custom),
        allow_duplicate=allow_duplicate, allow_suppressed=allow_suppressed, region=region, street=street,
        city=city, state=state, postcode=postcode, country=country, birthday=birthday, website=website,
        new_company=new_company,
    )  # fmt: skip
    record = views.contact_view(s, contact, timeline_limit=0)
    _say(f"Updated contact #{contact.id}: {contact.name}")
    return record


@_write(changes=False)
def add_company(
    s: Session,
    name: Annotated[str, Field(description="Company name.", min_length=1)],
    domain: Annotated[str | None, Field(description="Web domain, e.g. acme.de.")] = None,
    phone: Annotated[str | None, Field(description="Switchboard phone.")] = None,
    website: Website = None,
    industry: Annotated[str | None, Field(description="What the company does: SaaS, Retail …")] = None,
    tags: Tags = None,
    owner: Owner = None,
    source: Annotated[str | None, Field(description="Where it came from.")] = None,
    notes: Annotated[str | None, Field(description="Free text.")] = None,
    street: Street = None,
    city: City = None,
    state: AddressState = None,
    postcode: Postcode = None,
    country: Country = None,
    custom: Custom = None,
    region: Region = None,
) -> Any:
    """Add a company (`crm companies add`). Returns the company as show_company does."""
    company = companies.add_company(
        s, name=name, domain=domain, phone=phone, website=website, tags=split_multi(tags),
        owner=owner, default_owner=settings.current_user(), source=source, notes=notes,
        custom=_custom(custom), region=region, street=street, city=city, state=state, postcode=postcode,
        country=country, industry=industry,
    )  # fmt: skip
    record = views.company_view(s, company, timeline_limit=0)
    _say(f"Added company #{company.id}: {company.name}")
    return record


@_write(changes=True)
def edit_company(
    s: Session,
    ref: CompanyRef,
    name: Annotated[str | None, Field(description="New name.")] = None,
    domain: Text = None,
    phone: Text = None,
    website: Website = None,
    industry: Text = None,
    owner: NewOwner = None,
    source: Text = None,
    notes: Text = None,
    street: Street = None,
    city: City = None,
    state: AddressState = None,
    postcode: Postcode = None,
    country: Country = None,
    add_tags: Annotated[list[str] | None, Field(description="Tags to add.")] = None,
    remove_tags: Annotated[list[str] | None, Field(description="Tags to remove.")] = None,
    custom: CustomEdit = None,
    region: Region = None,
) -> Any:
    """Change a company (`crm companies edit`); arguments left out stay as they are. Returns the
    company as show_company does."""
    company = lookup.resolve_company(s, ref)
    companies.edit_company(
        s, company, name=name, domain=domain, phone=phone, website=website, owner=owner, source=source,
        notes=notes, add_tags=split_multi(add_tags), remove_tags=split_multi(remove_tags), custom=_custom(custom),
        region=region, street=street, city=city, state=state, postcode=postcode, country=country,
        industry=industry,
    )  # fmt: skip
    record = views.company_view(s, company, timeline_limit=0)
    _say(f"Updated company #{company.id}: {company.name}")
    return record


@_write(changes=False)
def add_deal(
    s: Session,
    title: Annotated[str, Field(description="What is being sold.", min_length=1)],
    contact: Annotated[str | None, Field(description="The contact (a contact REF).")] = None,
    company: Annotated[str | None, Field(description="The company (a company REF; default: the contact's).")] = None,
    amount: Money = None,
    currency: Currency = None,
    stage: Annotated[str | None, Field(description="Stage (default: the pipeline's first).")] = None,
    pipeline: PipelinePick = None,
    close: CloseDate = None,
    owner: Owner = None,
    source: Annotated[str | None, Field(description="Where the deal came from.")] = None,
    notes: Annotated[str | None, Field(description="Free text.")] = None,
    custom: Custom = None,
) -> Any:
    """Add a deal (`crm deals add`). Returns the deal as show_deal does."""
    user = settings.current_user()
    deal = deals.add_deal(
        s, title=title, contact=contact, company=company, amount=amount, currency=currency, stage=stage,
        pipeline=pipeline, close_date=close, owner=owner, default_owner=user, source=source, notes=notes,
        custom=_custom(custom), by=user,
    )  # fmt: skip
    record = views.deal_view(s, deal, timeline_limit=0)
    _say(f"Added deal #{deal.id}: {deal.title}")
    return record


@_write(changes=True)
def edit_deal(
    s: Session,
    ref: DealRef,
    title: Annotated[str | None, Field(description="New title.")] = None,
    contact: Annotated[str | None, Field(description="The contact (a contact REF; '' clears).")] = None,
    company: Annotated[str | None, Field(description="The company (a company REF; '' clears).")] = None,
    amount: Money = None,
    currency: Annotated[str | None, Field(description="ISO 4217 code, e.g. EUR.")] = None,
    close: CloseDate = None,
    owner: NewOwner = None,
    source: Text = None,
    notes: Text = None,
    custom: CustomEdit = None,
) -> Any:
    """Change a deal (`crm deals edit`); arguments left out stay as they are (move_deal changes the
    stage). Returns the deal as show_deal does."""
    deal = deals.edit_deal(
        s, lookup.resolve_deal(s, ref), title=title, contact=contact, company=company, amount=amount,
        currency=currency, close_date=close, owner=owner, source=source, notes=notes, custom=_custom(custom),
    )  # fmt: skip
    record = views.deal_view(s, deal, timeline_limit=0)
    _say(f"Updated deal #{deal.id}: {deal.title}")
    return record


@_write(changes=True)
def move_deal(
    s: Session,
    ref: DealRef,
    stage: Annotated[
        str,
        Field(
            description="The stage to move to, of the deal's pipeline (Qualified, Proposal …; Won or Lost closes "
            "the deal; an open stage reopens a closed one).",
            min_length=1,
        ),
    ],
    lost_reason: Annotated[
        str | None, Field(description="Why it was lost, when the stage is a lost one (price, timing, competitor…).")
    ] = None,
) -> Any:
    """Move a deal to another stage of its pipeline (`crm deals move`); every move is recorded in its
    stage history. Refused while the stage requires fields the deal lacks (naming them). Returns the
    deal as show_deal does."""
    deal = lookup.resolve_deal(s, ref)
    change = deals.move_deal(s, deal, stage, by=settings.current_user(), lost_reason=lost_reason)
    record = views.deal_view(s, deal, timeline_limit=0)
    _say(f"Deal #{deal.id} {deal.title}: {change.from_stage or '—'} → {change.to_stage}")
    return record


@_write(changes=False)
def import_preview(
    s: Session,
    path: Annotated[
        str,
        Field(
            description="The file to read, an absolute path on the machine crm runs on: .xlsx, .xlsm, .csv, .tsv, "
            ".txt, .json, .jsonl or .vcf.",
            min_length=1,
        ),
    ],
    kind: Annotated[
        Literal["contacts", "companies", "deals", "activities", "followups"] | None,
        Field(description="What the rows are (default: guessed from the columns)."),
    ] = None,
    sheet: Annotated[str | None, Field(description="Sheet name of a workbook (default: the first).")] = None,
    header_row: Annotated[
        int | None, Field(ge=1, description="Row of the headers (default: the first with two filled cells).")
    ] = None,
    mapping: Annotated[
        dict[str, str] | None,
        Field(description="Columns mapped by hand, {header: field}; a field, custom.KEY, or ignore."),
    ] = None,
    on_duplicate: Annotated[
        Literal["skip", "update", "merge", "create"],
        Field(
            description="What a row matching a stored record would do: skip, update, merge (fill empty fields), create."
        ),
    ] = "merge",
    unknown: Annotated[
        Literal["field", "ignore"], Field(description="Columns nobody recognises: custom fields, or ignored.")
    ] = "field",
    tags: Annotated[list[str] | None, Field(description="Tags every imported record would get.")] = None,
    owner: Annotated[
        str | None, Field(description="Owner where the file names none (default: the user crm runs as).")
    ] = None,
    source: Annotated[str | None, Field(description="Source where the file names none.")] = None,
    region: Region = None,
    dayfirst: Annotated[bool, Field(description="Read 03/04/2026 as 3 April (default: as config date_order).")] = False,
    strict: Annotated[bool, Field(description="Reject a row rather than leave out a value.")] = False,
) -> Any:
    """A dry run of `crm import FILE`: how the columns map, the first rows as they would be stored,
    what the import report would say about them, and the counts (read = created + updated + merged +
    skipped + rejected). Writes nothing: no record, no report file. As `crm import FILE --dry-run
    --format json`."""
    from crmcli import importer

    overrides = {header.strip(): target.strip() for header, target in (mapping or {}).items()}
    result = importer.import_file(
        s, Path(path).expanduser(), kind=kind, sheet=sheet, header_row=header_row, mapping=overrides, dry_run=True,
        on_duplicate=on_duplicate, tags=split_multi(tags), owner=owner, source=source, unknown=unknown,
        region=region, dayfirst=dayfirst, strict=strict, by=settings.current_user(), workers=0,
    )  # fmt: skip
    spelled = [_line(str(h), getattr(h, "hint", None)) for h in result["hints"]]
    hint = result["hint"]
    return {**result, "hint": _line(str(hint), getattr(hint, "hint", None)) if hint else hint, "hints": spelled}


# ---------------------------------------------------------------- calling them


def _result(texts: list[str], error: bool = False) -> CallToolResult:
    from mcp.types import CallToolResult, TextContent

    return CallToolResult(content=[TextContent(type="text", text=t) for t in texts], is_error=error)


def _error(text: str) -> CallToolResult:
    """One line, as `Error: …` says it on the command line (without the prefix)."""
    line = one_line(text)
    if len(line) > ERROR_MAX:
        line = line[: ERROR_MAX - 1] + "…"
    return _result([line], error=True)


def call(db: str | None, name: str, handler: Handler, arguments: dict[str, Any]) -> CallToolResult:
    """HANDLER(session, **ARGUMENTS) in one transaction (a write one for the tools that write), traced
    in the change log as via "mcp NAME"; its JSON and what it said, or a one-line error."""
    write = name in WRITE
    said: list[str] = []
    _said.set(said)
    try:
        with (
            changelog.acting(via=f"mcp {name}", kind="mcp"),
            lookup.interaction(sink=lambda note: said.append(_line(note, note.hint)), chooser=None),
        ):
            with storage.session_scope(db, write=write, create=not db) as s:
                zone, order = settings.get_many(s, "timezone", "date_order")
                with clock.local_time(zone, order):
                    data = handler(s, **arguments)
            text = dumps(data)
    except CrmError as exc:
        return _error(_line(exc.message, exc.hint))
    except Exception as exc:  # a bug: one line for the assistant, the traceback in the server's log
        logger.exception("tool %s failed", name)
        return _error(f"unexpected {type(exc).__name__}: {exc}")
    return _result([text, *said])


def _refused_arguments(tool: str, exc: Any) -> str:
    """What is wrong with the arguments of a call the tool's schema refuses (EXC: pydantic's
    ValidationError), in one line without the values: "report: name: Input should be …"."""
    problems = []
    for err in exc.errors():
        where = ".".join(str(part) for part in err["loc"]) or "arguments"
        problems.append(f"{where} is required" if err["type"] == "missing" else f"{where}: {err['msg']}")
    return f"{tool}: " + "; ".join(problems)


def _tool_function(db: str | None, name: str, handler: Handler) -> Callable[..., CallToolResult]:
    """HANDLER as the SDK sees a tool: its arguments without the session (their types and
    descriptions make the JSON schema), each call in a context of its own."""
    hints = typing.get_type_hints(handler, include_extras=True)
    params = list(inspect.signature(handler).parameters.values())[1:]  # the first is the session

    def tool(**arguments: Any) -> CallToolResult:
        return contextvars.copy_context().run(call, db, name, handler, arguments)

    tool.__name__ = name
    tool.__doc__ = handler.__doc__
    setattr(tool, "__signature__", inspect.Signature([p.replace(annotation=hints[p.name]) for p in params]))  # noqa: B010
    return tool


def build(db: str | None, *, allow_write: bool) -> Any:
    """The MCP server (the SDK's MCPServer): the read tools, and the write tools with ALLOW_WRITE.
    A write tool called on a read-only server is refused with a line saying how to allow it."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations
    from pydantic import ValidationError

    from crmcli import __version__

    class CrmServer(MCPServer[Any]):
        async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
            if name in WRITE and not allow_write:
                return _error(
                    f"{name} writes to the CRM and this server is read-only: "
                    "start it with `crm mcp --allow-write` to let an assistant write"
                )
            try:
                return await super().call_tool(name, arguments, context)
            except ToolError as exc:  # arguments the schema refuses: one line, as a usage error is
                if isinstance(exc.__cause__, ValidationError):
                    return _error(_refused_arguments(name, exc.__cause__))
                raise

    server = CrmServer(name="crm", version=__version__, instructions=INSTRUCTIONS, log_level="WARNING", title="crmcli")
    offered = {**READ, **(WRITE if allow_write else {})}
    for name, handler in offered.items():
        server.add_tool(
            _tool_function(db, name, handler),
            name=name,
            description=inspect.cleandoc(handler.__doc__ or ""),
            annotations=ToolAnnotations(
                read_only_hint=name in READ or name in PREVIEWS,
                destructive_hint=None if name in READ or name in PREVIEWS else name in DESTRUCTIVE,
                idempotent_hint=True if name in READ or name in PREVIEWS else None,
                open_world_hint=False,
            ),
            structured_output=False,
        )
    return server


def serve(db: str | None, *, allow_write: bool) -> None:
    """Serve on stdin and stdout until the client closes stdin. The database is opened (and upgraded)
    first, so a wrong --db is one line and exit 1, not a server whose every call fails."""
    with storage.session_scope(db, create=not db):
        pass
    if sys.stdin.isatty():
        mode = "read and write" if allow_write else "read-only"
        sys.stderr.write(
            f"crm mcp: serving this CRM ({mode}) to an assistant on stdin and stdout; an assistant starts "
            "it itself (README: Assistants). Ctrl-D ends.\n"
        )
    build(db, allow_write=allow_write).run("stdio")
