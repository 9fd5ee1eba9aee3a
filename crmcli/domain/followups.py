"""Follow-up reminders on contacts, companies and deals, and keep-in-touch cadences.

Two kinds of open follow-up are listed side by side:

- stored ones (table followup), dated, optionally recurring (`every`), with an integer id;
- cadence ones, derived and never stored: a contact with cadence_days N is due N days after
  its last activity (or its creation, if nothing was logged yet). Their id is "c" + the
  contact id ("c12"); completing one logs an activity, which moves the next one on.

"Overdue" and "today" are local days: a follow-up due earlier today is not overdue yet.
Lists are read with SQLAlchemy Core, not ORM objects: `crm followups overdue` runs from cron.
The stage rules of the pipeline call add_followup(..., deal=deal, origin="stage").
"""

from __future__ import annotations

import math
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from crmcli.domain.activities import log_activity
from crmcli.domain.lookup import ID_MAX, resolve_company, resolve_contact, split_kind
from crmcli.domain.records import FollowUpRow
from crmcli.errors import Conflict, Hint, Invalid, NotFound, UsageError
from crmcli.models import Activity, Company, Contact, Deal, FollowUp
from crmcli.values import clock
from crmcli.values.normalize import optional_notes, optional_text
from crmcli.values.when import (
    add_months,
    day_start,
    parse_cadence,  # noqa: F401  (followups.parse_cadence: where callers find it)
)

if TYPE_CHECKING:
    from sqlmodel import Session

ORIGINS = ("manual", "stage")
WINDOWS = ("due", "overdue", "today", "upcoming", "all")
EVERY_EXAMPLES = "daily, weekly, 2w, monthly, quarterly (or Nd, Nw, Nmo)"
_NAMED = {
    "daily": (1, 0),
    "weekly": (7, 0),
    "biweekly": (14, 0),
    "fortnightly": (14, 0),
    "monthly": (0, 1),
    "quarterly": (0, 3),
    "yearly": (0, 12),
    "annually": (0, 12),
}
_CANONICAL = {(1, 0): "daily", (7, 0): "weekly", (0, 1): "monthly", (0, 3): "quarterly", (0, 12): "yearly"}
_SPEC = re.compile(r"^(\d+)\s*(d|days?|w|weeks?|mo|months?)$")
_CADENCE_ID = re.compile(r"^c(\d+)$")


# ---------------------------------------------------------------- recurrence


def _step(every: str) -> tuple[int, int]:
    """(days, months) of one step of EVERY."""
    if every in _NAMED:
        return _NAMED[every]
    m = _SPEC.match(every)
    if not m or int(m.group(1)) == 0:
        raise UsageError(f"cannot read the repeat '{every}': use {EVERY_EXAMPLES}")
    n, unit = int(m.group(1)), m.group(2)
    if unit.startswith("mo"):
        return 0, n
    return (n * 7, 0) if unit.startswith("w") else (n, 0)


def parse_every(spec: str | None) -> str | None:
    """A repeat SPEC in its stored form: daily, weekly, monthly, quarterly, yearly, or Nd / Nw / Nmo.
    None, '', 'none', 'off' and 'never' mean no repeat."""
    raw = (spec or "").strip().lower()
    if raw in ("", "none", "off", "never", "no"):
        return None
    days, months = _step(raw)
    if (days, months) in _CANONICAL:
        return _CANONICAL[(days, months)]
    if months:
        return f"{months}mo"
    return f"{days // 7}w" if days % 7 == 0 else f"{days}d"


def advance(due: datetime, every: str, steps: int = 1) -> datetime:
    """DUE moved on by STEPS repeats, at the same local wall time (so across a change of
    daylight-saving time a 09:00 follow-up stays at 09:00)."""
    days, months = _step(every)
    local = clock.to_local(due)
    day = local.date() + timedelta(days=days * steps)
    if months:
        day = add_months(local.date(), months * steps)
    return clock.as_utc(datetime.combine(day, local.time().replace(tzinfo=None)))


def next_due(due: datetime, every: str, *, from_done: bool, done_at: datetime) -> datetime:
    """The occurrence after one completed at DONE_AT: counted from its due date, skipping those
    already past; or with FROM_DONE, one step from the day it was done, at its usual time."""
    if from_done:
        local_due = clock.to_local(due)
        done_day = clock.to_local(done_at).date()
        start = clock.as_utc(datetime.combine(done_day, local_due.time().replace(tzinfo=None)))
        return advance(start, every)
    steps = 1
    following = advance(due, every, steps)
    while following <= done_at:
        steps += 1
        following = advance(due, every, steps)
    return following


def rrule(every: str) -> dict[str, Any]:
    """The iCalendar RRULE of EVERY: {"FREQ": "WEEKLY", "INTERVAL": 2}."""
    days, months = _step(every)
    if months:
        freq, n = ("YEARLY", months // 12) if months % 12 == 0 else ("MONTHLY", months)
    elif days % 7 == 0:
        freq, n = "WEEKLY", days // 7
    else:
        freq, n = "DAILY", days
    return {"FREQ": freq, "INTERVAL": n} if n != 1 else {"FREQ": freq}


# ---------------------------------------------------------------- cadence


def cadence_due(last: datetime | None, created_at: datetime, days: int) -> datetime:
    """When a contact with a cadence of DAYS is next due: DAYS after the last activity (or its
    creation), at the same local wall time."""
    base = max(last, created_at) if last is not None else created_at
    local = clock.to_local(base)
    return clock.as_utc(datetime.combine(local.date() + timedelta(days=days), local.time().replace(tzinfo=None)))


def set_cadence(session: Session, contact: Contact, days: int | None) -> FollowUpRow | dict[str, Any]:
    """Keep in touch with CONTACT every DAYS days (None: stop). Returns its cadence follow-up, if any."""
    if days is not None and not 1 <= days <= 3660:
        raise Invalid(f"a cadence must be between 1 and 3660 days, not {days}")
    contact.cadence_days = days
    contact.updated_at = clock.now()
    session.add(contact)
    session.flush()
    rows = _cadence_rows(session, contact_id=contact.id) if days else []
    return rows[0] if rows else {"id": None, "contact_id": contact.id, "cadence_days": None}


# ---------------------------------------------------------------- writing


def add_followup(
    session: Session,
    *,
    due_at: datetime,
    note: str | None = None,
    owner: str | None = None,
    contact: Contact | None = None,
    company: Company | None = None,
    deal: Deal | None = None,
    every: str | None = None,
    from_done: bool = False,
    origin: str = "manual",
) -> FollowUp:
    """A reminder due at DUE_AT (aware; naive is local) on a contact, company or deal.
    EVERY (daily, weekly, 2w, monthly, quarterly …) makes it recur; FROM_DONE counts the next
    occurrence from completion instead of from the due date."""
    if contact is None and company is None and deal is None:
        raise Invalid("a follow-up needs a contact, a company or a deal")
    if origin not in ORIGINS:
        raise Invalid(f"unknown follow-up origin '{origin}': use one of {', '.join(ORIGINS)}")
    every = parse_every(every)
    if from_done and every is None:
        raise UsageError(
            "only a recurring follow-up can count from its completion",
            hint=Hint("{from_done} only applies to a recurring follow-up (give {every})", form="{hint}"),
        )
    now = clock.now()
    followup = FollowUp(
        uid=f"{uuid.uuid4()}@crmcli",
        contact_id=contact.id if contact else None,
        company_id=company.id if company else None,
        deal_id=deal.id if deal else None,
        due_at=clock.as_utc(due_at),
        note=optional_notes(note, "the note"),
        owner=optional_text(owner),
        every=every,
        from_done=from_done,
        origin=origin,
        created_at=now,
        updated_at=now,
    )
    session.add(followup)
    session.flush()
    return followup


@dataclass(frozen=True)
class FollowUpId:
    """A stored follow-up (12) or the cadence follow-up of a contact (c12)."""

    value: int
    cadence: bool = False

    def __str__(self) -> str:
        return f"c{self.value}" if self.cadence else str(self.value)


def parse_id(ref: str | int) -> FollowUpId:
    """12, #12 or followup:12 (follow-up:12), and c12 for the cadence of contact #12 (crmcli.domain.lookup)."""
    kind, rest = split_kind(str(ref))
    if kind is not None and kind != "followup":
        raise Invalid(f"'{ref}' names a {kind}: a follow-up id is wanted here")
    raw = rest.strip().lower().lstrip("#")
    if raw.isdigit():
        return FollowUpId(int(raw))
    m = _CADENCE_ID.match(raw)
    if m:
        return FollowUpId(int(m.group(1)), cadence=True)
    raise UsageError(f"'{ref}' is no follow-up id: use the number from 'crm followups list' (or c12 for a cadence)")


def get_followup(session: Session, ref: str | int, *, lock: bool = False) -> FollowUp:
    """The stored follow-up REF (12 or #12); NotFound otherwise. LOCK takes a row lock (PostgreSQL)."""
    fid = parse_id(ref)
    if fid.cadence:
        raise Invalid(
            f"{fid} is the keep-in-touch cadence of contact #{fid.value}, not a stored follow-up: it moves on "
            "when an activity is logged on the contact or it is marked done; the contact's cadence sets how often"
        )
    followup = session.get(FollowUp, fid.value, with_for_update=lock or None) if fid.value <= ID_MAX else None
    if followup is None:
        raise NotFound(f"no follow-up with id {fid.value}")
    return followup


def _cadence_contact(session: Session, fid: FollowUpId) -> Contact:
    contact = session.get(Contact, fid.value) if fid.value <= ID_MAX else None
    if contact is None or not contact.cadence_days:
        raise NotFound(f"no cadence follow-up {fid}: contact #{fid.value} has no keep-in-touch cadence")
    return contact


def _log(session: Session, followup: FollowUp, text: str, type: str, by: str | None, at: datetime) -> Activity:
    """An activity on the record(s) of FOLLOWUP."""
    contact = session.get(Contact, followup.contact_id) if followup.contact_id else None
    company = session.get(Company, followup.company_id) if followup.company_id else None
    deal = session.get(Deal, followup.deal_id) if followup.deal_id else None
    return log_activity(session, type=type, text=text, contact=contact, company=company, deal=deal, at=at, by=by)


def complete(
    session: Session, ref: str | int, *, log: str | None = None, log_type: str = "note", by: str | None = None
) -> dict[str, Any]:
    """Mark a follow-up done. LOG becomes an activity on the same record. A recurring one moves
    on to its next occurrence (its id and calendar UID stay; the done occurrence is kept as a
    done copy). A cadence one (c12) logs an activity (LOG, or "Kept in touch"), which is what
    moves it. Returns {"id", "done_at", "next_due", "activity_id"}."""
    fid = parse_id(ref)
    now = clock.now()
    text = optional_notes(log, "the activity text")
    if fid.cadence:
        contact = _cadence_contact(session, fid)
        logged = log_activity(session, type=log_type, text=text or "Kept in touch", contact=contact, at=now, by=by)
        assert contact.cadence_days is not None
        return {
            "id": str(fid),
            "done_at": now,
            "next_due": cadence_due(now, contact.created_at, contact.cadence_days),
            "activity_id": logged.id,
        }
    followup = get_followup(session, ref, lock=True)
    if followup.done_at is not None:
        raise Conflict(f"follow-up #{followup.id} is already done ({clock.show_local(followup.done_at)})")
    activity = _log(session, followup, text, log_type, by, now) if text else None
    next_at = None
    if followup.every:
        next_at = next_due(followup.due_at, followup.every, from_done=followup.from_done, done_at=now)
        session.add(
            FollowUp(
                uid=f"{uuid.uuid4()}@crmcli",
                contact_id=followup.contact_id,
                company_id=followup.company_id,
                deal_id=followup.deal_id,
                due_at=followup.due_at,
                note=followup.note,
                owner=followup.owner,
                every=None,
                from_done=False,
                origin=followup.origin,
                done_at=now,
                created_at=now,
                updated_at=now,
            )
        )
        followup.due_at = next_at
    else:
        followup.done_at = now
    followup.updated_at = now
    session.add(followup)
    session.flush()
    return {"id": followup.id, "done_at": now, "next_due": next_at, "activity_id": activity.id if activity else None}


def snooze(session: Session, ref: str | int, until: datetime) -> FollowUp:
    """Move an open follow-up to UNTIL."""
    followup = get_followup(session, ref, lock=True)
    if followup.done_at is not None:
        raise Conflict(f"follow-up #{followup.id} is already done")
    followup.due_at = clock.as_utc(until)
    followup.updated_at = clock.now()
    session.add(followup)
    session.flush()
    return followup


_UNSET: Any = object()


def edit_followup(
    session: Session,
    ref: str | int,
    *,
    due_at: datetime | None = None,
    note: str | None = None,
    owner: str | None = None,
    every: str | None = _UNSET,
    from_done: bool | None = None,
) -> FollowUp:
    """Change what is given; an empty note or owner clears it, every='none' stops the repeat."""
    followup = get_followup(session, ref, lock=True)
    if due_at is not None:
        followup.due_at = clock.as_utc(due_at)
    if note is not None:
        followup.note = optional_notes(note, "the note")
    if owner is not None:
        followup.owner = optional_text(owner)
    if every is not _UNSET:
        followup.every = parse_every(every)
    if from_done is not None:
        followup.from_done = from_done
    if followup.every is None:
        followup.from_done = False
    followup.updated_at = clock.now()
    session.add(followup)
    session.flush()
    return followup


def remove_followup(session: Session, ref: str | int) -> FollowUp:
    followup = get_followup(session, ref)
    session.delete(followup)
    session.flush()
    return followup


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class Frame:
    """Now, and the local day boundaries (as UTC) that overdue / today / upcoming are measured by."""

    now: datetime
    today: date
    today_start: datetime
    tomorrow_start: datetime

    @classmethod
    def at(cls, now: datetime | None = None) -> Frame:
        now = now or clock.now()
        today = clock.to_local(now).date()
        return cls(now, today, day_start(today), day_start(today + timedelta(days=1)))

    def status(self, due: datetime) -> str:
        if due < self.today_start:
            return "overdue"
        return "today" if due < self.tomorrow_start else "upcoming"

    def relative(self, due: datetime) -> str:
        """How far DUE is from now, as people say it: '2 days overdue', 'in 3 h', 'tomorrow 09:00'."""
        local = clock.to_local(due)
        days = (local.date() - self.today).days
        if days < 0:
            return f"{-days} day{'s' if days != -1 else ''} overdue"
        seconds = (due - self.now).total_seconds()
        if days == 0:
            if seconds <= 0:
                ago = -seconds
                return "due now" if ago < 60 else f"due {_span(ago)} ago"
            return f"in {_span(seconds)}"
        if days == 1:
            return f"tomorrow {local:%H:%M}"
        if days < 14:
            return f"in {days} days"
        if days < 56:
            return f"in {days // 7} weeks"
        return f"on {local:%Y-%m-%d}"


def _span(seconds: float) -> str:
    if seconds < 3600:
        return f"{max(1, math.floor(seconds / 60))} min"
    return f"{round(seconds / 3600)} h"


def relative(due: datetime, now: datetime | None = None) -> str:
    """'2 days overdue', 'due 3 h ago' (earlier today), 'in 3 h', 'tomorrow 09:00', 'in 5 days'."""
    return Frame.at(now).relative(due)


def _bounds(frame: Frame, window: str, days: int) -> tuple[datetime | None, datetime | None]:
    """[low, high) of due times for WINDOW."""
    if window == "overdue":
        return None, frame.today_start
    if window == "today":
        return frame.today_start, frame.tomorrow_start
    if window == "due":  # overdue and today: what needs doing now
        return None, frame.tomorrow_start
    if window == "upcoming":  # today and the next DAYS days
        return frame.today_start, day_start(frame.today + timedelta(days=days + 1))
    if window == "all":
        return None, None
    raise UsageError(f"unknown window '{window}': use one of {', '.join(WINDOWS)}")


_SUBJECT_KINDS = ("deal", "contact", "company")


def _stored_rows(
    session: Session,
    frame: Frame,
    *,
    low: datetime | None = None,
    high: datetime | None = None,
    owner: str | None = None,
    contact_id: int | None = None,
    company_id: int | None = None,
    deal_id: int | None = None,
    ids: list[int] | None = None,
    open_only: bool = True,
    limit: int | None = None,
) -> list[FollowUpRow]:
    f = FollowUp.__table__.c  # type: ignore[attr-defined]
    contact = Contact.__table__.c  # type: ignore[attr-defined]
    company = Company.__table__.c  # type: ignore[attr-defined]
    deal = Deal.__table__.c  # type: ignore[attr-defined]
    query = (
        select(
            f.id,
            f.due_at,
            f.note,
            f.owner,
            f.every,
            f.from_done,
            f.origin,
            f.contact_id,
            f.company_id,
            f.deal_id,
            f.uid,
            f.done_at,
            f.created_at,
            f.updated_at,
            deal.title,
            contact.name,
            company.name,
        )
        .select_from(
            FollowUp.__table__.outerjoin(Deal.__table__, deal.id == f.deal_id)  # type: ignore[attr-defined]
            .outerjoin(Contact.__table__, contact.id == f.contact_id)  # type: ignore[attr-defined]
            .outerjoin(Company.__table__, company.id == f.company_id)  # type: ignore[attr-defined]
        )
        .order_by(f.due_at, f.id)
    )
    if open_only:
        query = query.where(f.done_at.is_(None))
    if owner is not None:
        query = query.where(f.owner == owner)
    if low is not None:
        query = query.where(f.due_at >= low)
    if high is not None:
        query = query.where(f.due_at < high)
    for column, value in ((f.contact_id, contact_id), (f.company_id, company_id), (f.deal_id, deal_id)):
        if value is not None:
            query = query.where(column == value)
    if ids is not None:
        query = query.where(f.id.in_(ids))
    if limit:
        query = query.limit(limit)
    rows: list[FollowUpRow] = []
    for r in session.execute(query):
        names = (r[14], r[15], r[16])  # deal title, contact name, company name
        ref_ids = (r.deal_id, r.contact_id, r.company_id)
        kind = next((k for k, i in zip(_SUBJECT_KINDS, ref_ids, strict=True) if i is not None), None)
        subject = names[_SUBJECT_KINDS.index(kind)] if kind else None
        rows.append(
            {
                "id": r.id,
                "kind": "followup",
                "due_at": r.due_at,
                "relative": frame.relative(r.due_at) if r.done_at is None else "done",
                "status": frame.status(r.due_at) if r.done_at is None else "done",
                "subject_kind": kind,
                "subject": subject,
                "note": r.note,
                "owner": r.owner,
                "every": r.every,
                "from_done": bool(r.from_done),
                "origin": r.origin,
                "contact_id": r.contact_id,
                "company_id": r.company_id,
                "deal_id": r.deal_id,
                "uid": r.uid,
                "done_at": r.done_at,
                "created_at": r.created_at,
                "updated_at": r.updated_at,
            }
        )
    return rows


def _cadence_rows(
    session: Session,
    frame: Frame | None = None,
    *,
    low: datetime | None = None,
    high: datetime | None = None,
    owner: str | None = None,
    contact_id: int | None = None,
) -> list[FollowUpRow]:
    frame = frame or Frame.at()
    c = Contact.__table__.c  # type: ignore[attr-defined]
    a = Activity.__table__.c  # type: ignore[attr-defined]
    last = select(func.max(a.at)).where(a.contact_id == c.id).scalar_subquery()
    query = select(c.id, c.name, c.owner, c.cadence_days, c.created_at, last.label("last")).where(
        c.cadence_days.is_not(None)
    )
    if owner is not None:
        query = query.where(c.owner == owner)
    if contact_id is not None:
        query = query.where(c.id == contact_id)
    rows: list[FollowUpRow] = []
    for r in session.execute(query):
        if not r.cadence_days:
            continue
        last_at = r.last
        if isinstance(last_at, str):  # SQLite hands a subquery's max() back as text
            last_at = datetime.fromisoformat(last_at)
        if last_at is not None and last_at.tzinfo is None:
            last_at = last_at.replace(tzinfo=UTC)
        due = cadence_due(last_at, r.created_at, r.cadence_days)
        if (low is not None and due < low) or (high is not None and due >= high):
            continue
        rows.append(
            {
                "id": f"c{r.id}",
                "kind": "cadence",
                "due_at": due,
                "relative": frame.relative(due),
                "status": frame.status(due),
                "subject_kind": "contact",
                "subject": r.name,
                "note": f"Keep in touch (every {r.cadence_days} days)",
                "owner": r.owner,
                "every": f"{r.cadence_days}d",
                "from_done": True,
                "origin": "cadence",
                "contact_id": r.id,
                "company_id": None,
                "deal_id": None,
                "uid": f"cadence-{r.id}-{int(r.created_at.timestamp())}@crmcli",
                "done_at": None,
                "created_at": r.created_at,
                "updated_at": last_at or r.created_at,
                "last_touch": last_at,
                "cadence_days": r.cadence_days,
            }
        )
    return rows


def _sort_key(row: FollowUpRow) -> tuple[datetime, int, int]:
    cadence = row["kind"] == "cadence"
    number = int(str(row["id"]).lstrip("c"))
    return row["due_at"], int(cadence), number


def list_followups(
    session: Session,
    *,
    window: str = "due",
    days: int = 7,
    owner: str | None = None,
    cadence: bool = True,
    contact: str | None = None,
    company: str | None = None,
    limit: int | None = None,
) -> list[FollowUpRow]:
    """Open follow-ups, soonest first, stored and cadence ones together. WINDOW: due (overdue and
    today, the default), overdue, today, upcoming (today and the next DAYS days) or all. CONTACT,
    COMPANY (REFs): only those on that contact (its cadence one included) or on that company, as
    its `show` lists them (not those on its deals or people)."""
    frame = Frame.at()
    low, high = _bounds(frame, window, days)
    contact_id = company_id = None
    if contact:
        contact_id = resolve_contact(session, contact).id
    if company:
        company_id = resolve_company(session, company).id
    rows = _stored_rows(
        session, frame, low=low, high=high, owner=owner, contact_id=contact_id, company_id=company_id, limit=limit
    )
    if cadence and company_id is None:  # a cadence follow-up is on a contact
        rows += _cadence_rows(session, frame, low=low, high=high, owner=owner, contact_id=contact_id)
        rows.sort(key=_sort_key)
    return rows[:limit] if limit else rows


def open_followups(
    session: Session, *, contact_id: int | None = None, company_id: int | None = None, deal_id: int | None = None
) -> list[FollowUpRow]:
    """The open follow-ups of one contact (its cadence one included), company or deal, soonest first.
    Each is a dict with id, kind, due_at (aware UTC), relative ("2 days overdue", "in 3 h"), status,
    subject, subject_kind, note, owner, every, from_done, origin, contact_id, company_id, deal_id, uid."""
    if contact_id is None and company_id is None and deal_id is None:
        raise UsageError("open_followups needs a contact_id, company_id or deal_id")
    frame = Frame.at()
    rows = _stored_rows(session, frame, contact_id=contact_id, company_id=company_id, deal_id=deal_id)
    if contact_id is not None and company_id is None and deal_id is None:
        rows += _cadence_rows(session, frame, contact_id=contact_id)
        rows.sort(key=_sort_key)
    return rows


def followup_view(session: Session, ref: str | int) -> FollowUpRow:
    """One follow-up (12 or c12), done or open, as a record."""
    fid = parse_id(ref)
    if fid.cadence:
        _cadence_contact(session, fid)
        rows = _cadence_rows(session, contact_id=fid.value)
    else:
        rows = _stored_rows(session, Frame.at(), ids=[fid.value], open_only=False)
    if not rows:
        raise NotFound(f"no follow-up with id {fid}")
    return rows[0]
