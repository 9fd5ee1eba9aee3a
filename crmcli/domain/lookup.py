"""Lookup: the one resolver every command that takes a contact, company, deal (or follow-up) REF
uses, so that a reference finds what a person means by it: resolve_contact, resolve_company,
resolve_deal and resolve_subject (any of the three) are built on resolve().

In this order, the first step that finds anything decides:

1. ``kind:REF`` (contact:, company:, deal:, followup:) says which kind; accepted wherever a REF of
   that kind is taken, refused where another kind is wanted;
2. an id, ``12`` or ``#12`` (a contact or company merged away gives the one it lives on, with a note);
3. an email: the contact with that address, else (where companies are taken) the company of its domain;
4. a phone in any format (read for the configured default region): the contacts and companies with it;
5. the name (deal title): an exact match, else a case- and accent-blind one ('soren odegard' is
   Søren Ødegård), by the indexed name key; for companies then a domain (acme.de), then the name
   with legal forms and "&"/"and"/"und" ignored (normalize.company_key);
6. whole words of the name ('Müller' is the one deal whose title has that word), else a prefix of
   the name or of its words ('Anna M', 'Øde'); scanned only when the indexed lookups found nothing.

Several matches raise Ambiguous listing them (kind, id, name, company), unless the command line
installed a chooser (interaction) that lets a person at a terminal pick one. Nothing found raises
NotFound suggesting the closest names (rapidfuzz).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlalchemy import or_
from sqlalchemy import select as sa_select
from sqlalchemy.orm import Mapped
from sqlmodel import Session, col, select

from crmcli.domain import settings
from crmcli.errors import Ambiguous, Hint, Invalid, NotFound
from crmcli.models import Company, Contact, ContactEmail, ContactPhone, Deal, MergeRecord
from crmcli.values import clock
from crmcli.values.normalize import (
    NAME_MAX,
    brief,
    clean_text,
    company_key,
    name_key,
    normalize_email,
    normalize_phone,
    optional_text,
)

MAX_LISTED = 5
CHOICE_MAX = 20  # a chooser is offered at most this many candidates; more is narrowed by the REF
KINDS = ("contact", "company", "deal")
ID_MAX = 2**31 - 1
_KIND_NAMES = {k: k for k in ("contact", "company", "deal", "followup")} | {"follow-up": "followup"}
_PHONE_LIKE = re.compile(r"\+?[\d\s().\-/]+")

Record = Contact | Company | Deal  # what a REF names
Hit = tuple[str, "Record | _Unloaded"]  # (kind, record) a step found
T = TypeVar("T")
Merged = TypeVar("Merged", Contact, Company)  # what can be merged away

# Notes the resolve_* functions leave for people ("#35 was merged into #3 …"), and the chooser that
# may settle an ambiguous REF, belong to a block of work, not to the process: context variables,
# like the local zone (crmcli.values.clock). `with lookup.interaction(sink, chooser):` says where
# notes go and who chooses until the block ends, in the thread (or asyncio task) that entered it;
# the command line does so for each invocation (notes on stderr, a prompt on a terminal) and the
# library itself never does. Without a sink, notes wait for take_notes in the thread or task that
# left them.


class Note(str):
    """A note: its text, about the data, and HINT (crmcli.errors.Hint), what the caller can do
    about it in the terms of the call (the command line words it with its options)."""

    hint: Hint | None

    def __new__(cls, text: str, hint: Hint | None = None) -> Note:
        made = super().__new__(cls, text)
        made.hint = hint
        return made


NoteSink = Callable[[Note], None]
# CHOOSER(ref, candidates) picks one of several matches (a prompt on a terminal), or None
Chooser = Callable[[str, list["Candidate"]], "Candidate | None"]

_sink: ContextVar[NoteSink | None] = ContextVar("crm_note_sink", default=None)
# a tuple, replaced on each note: a context copied from this one (a task, a thread started with
# copy_context) gets notes of its own instead of appending to a list it would share
_notes: ContextVar[tuple[Note, ...]] = ContextVar("crm_notes", default=())
_chooser: ContextVar[Chooser | None] = ContextVar("crm_chooser", default=None)


@contextmanager
def interaction(sink: NoteSink | None = None, chooser: Chooser | None = None) -> Iterator[None]:
    """Inside the block, notes go to SINK as they are left (None: they wait for take_notes, and
    those not taken end with the block) and CHOOSER may pick one of several matches (None: the REF
    is ambiguous); afterwards, what held before. Only this thread or task sees it (context
    variables, as with crmcli.values.clock.local_time)."""
    sink_token, notes_token, chooser_token = _sink.set(sink), _notes.set(()), _chooser.set(chooser)
    try:
        yield
    finally:
        _chooser.reset(chooser_token)
        _notes.reset(notes_token)
        _sink.reset(sink_token)


def set_note_sink(sink: NoteSink | None) -> None:
    """Send notes to SINK from here on in this thread or task (None: keep them for take_notes), for
    a script or a test that wants it throughout; the library never calls it (see interaction)."""
    _sink.set(sink)


def note(text: str, hint: Hint | None = None) -> None:
    said = Note(text, hint)
    sink = _sink.get()
    if sink is not None:
        sink(said)
    else:  # a long-running caller that never reads them keeps only the latest
        _notes.set((*_notes.get()[-99:], said))


def take_notes() -> list[Note]:
    """The notes left in this thread or task since the last call (when no sink prints them)."""
    taken = list(_notes.get())
    _notes.set(())
    return taken


def as_id(ref: str) -> int | None:
    text = ref.strip().lstrip("#")
    return int(text) if text.isdigit() else None


def pick_one(what: str, ref: str, matches: Sequence[T], describe: Callable[[T], str]) -> T:
    """The single match, or NotFound / Ambiguous naming the candidates."""
    if not matches:
        raise NotFound(f"no {what} matches '{ref}'")
    if len(matches) > 1:
        listed = [describe(m) for m in matches[:MAX_LISTED]]
        more = f" and {len(matches) - MAX_LISTED} more" if len(matches) > MAX_LISTED else ""
        many = f"{what[:-1]}ies" if what.endswith("y") else f"{what}s"  # companies, activities
        raise Ambiguous(f"'{ref}' matches {len(matches)} {many}: {'; '.join(listed)}{more} (use the id)", listed)
    return matches[0]


def follow_merges(session: Session, entity: str, record_id: int) -> tuple[int, datetime] | None:
    """(the id RECORD_ID now lives on, when it was first merged away) after following the merge log
    of ENTITY (contact or company) through later merges, or None when it was never merged."""
    current, seen = record_id, {record_id}
    at: datetime | None = None
    while True:
        row = session.exec(
            select(MergeRecord.kept_id, MergeRecord.at)
            .where(MergeRecord.entity == entity, MergeRecord.merged_id == current)
            .order_by(col(MergeRecord.id).desc())
        ).first()
        if row is None or row[0] in seen:
            break
        current, at = row[0], at or row[1]
        seen.add(current)
    return None if at is None else (current, at)


def merged_record(session: Session, model: type[Merged], entity: str, record_id: int) -> Merged:
    """The record RECORD_ID was merged into (following later merges), with a note saying so, or
    NotFound: no ENTITY with that id, saying where a merged one went if it is gone too."""
    found = follow_merges(session, entity, record_id)
    if found is None:
        raise NotFound(f"no {entity} with id {record_id}")
    kept_id, at = found
    day = clock.show_local(at)[:10]
    record = session.get(model, kept_id)
    if record is None:
        raise NotFound(f"no {entity} with id {record_id} (merged into #{kept_id} on {day}, since removed)")
    note(f"#{record_id} was merged into #{kept_id} {record.name} on {day}; using #{kept_id}")
    return record


# ---------------------------------------------------------------- the resolver


def set_chooser(chooser: Chooser | None) -> None:
    """CHOOSER(ref, candidates) may pick one of several matches (a prompt on a terminal) from here
    on in this thread or task; None, or a chooser that returns None, leaves the REF ambiguous. For
    a script or a test that wants it throughout; the library never calls it (see interaction)."""
    _chooser.set(chooser)


@dataclass(frozen=True)
class Candidate:
    """One record a REF may mean, as people are shown it."""

    kind: str  # contact, company or deal
    id: int
    name: str
    company: str | None = None  # a contact's or deal's company
    detail: str | None = None  # a contact's email, a company's domain, a deal's status

    @property
    def ref(self) -> str:
        """The REF that names this record and nothing else: contact:12."""
        return f"{self.kind}:{self.id}"

    def label(self) -> str:
        """contact #3 Anna Müller (Acme GmbH) <anna@acme.de>; company #4 Acme GmbH (acme.de);
        deal #9 Müller relaunch (Acme GmbH, open)."""
        text = f"{self.kind} #{self.id} {self.name}"
        if self.kind == "contact":
            return text + (f" ({self.company})" if self.company else "") + (f" <{self.detail}>" if self.detail else "")
        extra = ", ".join(part for part in (self.company, self.detail) if part)
        return text + (f" ({extra})" if extra else "")


def normalize_domain(value: str | None) -> str | None:
    """acme.de of 'https://www.Acme.de/about', 'anna@acme.de' or 'acme.de'; None for nothing;
    Invalid for text that is no domain."""
    text = optional_text(value)
    if not text:
        return None
    text = re.sub(r"^[a-z]+://", "", text.lower()).split("/", 1)[0]
    text = text.removeprefix("www.")
    if "@" in text:
        text = text.rsplit("@", 1)[1]
    if "." not in text or " " in text:
        raise Invalid(f"invalid domain '{value}': use a name such as example.com")
    return text


def split_kind(ref: str) -> tuple[str | None, str]:
    """'contact:12' → ('contact', '12'); 'Follow-up: 3' → ('followup', '3'); a REF without a known
    kind before its first colon → (None, REF)."""
    head, sep, rest = ref.partition(":")
    kind = _KIND_NAMES.get(head.strip().casefold()) if sep else None
    return (kind, rest.strip()) if kind else (None, ref)


def _what(kinds: Sequence[str]) -> str:
    """contact; contact or deal; contact, company or deal."""
    return kinds[0] if len(kinds) == 1 else f"{', '.join(kinds[:-1])} or {kinds[-1]}"


def _plural(kind: str, count: int) -> str:
    if count == 1:
        return kind
    return f"{kind[:-1]}ies" if kind.endswith("y") else f"{kind}s"


def _models() -> dict[str, tuple[type[Record], Mapped[str]]]:
    """kind → (model, its name-key column)."""
    return {
        "contact": (Contact, col(Contact.name_key)),
        "company": (Company, col(Company.name_key)),
        "deal": (Deal, col(Deal.title_key)),
    }


def _get(session: Session, kind: str, record_id: int) -> Record | None:
    """The KIND (contact, company or deal) with RECORD_ID, or None."""
    found = session.get(_models()[kind][0], record_id)
    return found if isinstance(found, Contact | Company | Deal) else None


def _name_of(record: object) -> str:
    return str(getattr(record, "name", None) or getattr(record, "title", ""))


def resolve(session: Session, ref: str, kinds: Sequence[str] = KINDS, *, words: bool = True) -> tuple[str, Record]:
    """(kind, record) of the one record of KINDS that REF names (see the module's docstring);
    NotFound, Ambiguous, or Invalid for a REF of another kind (company:3 where a contact is wanted).
    WORDS=False stops after the whole name (and says nothing of close names): a name to be made."""
    text = clean_text(ref)
    words = words and len(text) <= NAME_MAX  # longer than any name: no scan for parts of names
    ref = brief(ref)
    wanted = tuple(kinds)
    kind, rest = split_kind(text)
    if kind is not None:
        if kind not in wanted:
            raise Invalid(f"'{ref}' names a {kind.replace('followup', 'follow-up')}: a {_what(wanted)} is wanted here")
        wanted, text = (kind,), rest
    if not text:
        raise NotFound(f"no {_what(wanted)} matches '{ref}'")
    steps = (_by_id, _by_email, _by_phone, _by_name, _by_domain) + ((_by_company_key, _by_words) if words else ())
    for step in steps:
        hits = step(session, text, wanted)
        if hits:
            return _decide(session, ref, wanted, hits)
    if as_id(text) is not None:  # digits that were neither an id nor a phone
        raise NotFound(f"no {_what(wanted)} with id or phone {text}")
    raise NotFound(f"no {_what(wanted)} matches '{ref}'" + (_suggestions(session, text, wanted) if words else ""))


def resolve_contact(session: Session, ref: str) -> Contact:
    """The one contact REF names: contact:REF, an id (12 or #12), an email, a phone, the name
    (case- and accent-blind), a prefix or words of it (resolve). The id of a contact merged into
    another gives that other one, with a note (note)."""
    record = resolve(session, ref, ("contact",))[1]
    assert isinstance(record, Contact)
    return record


def resolve_company(session: Session, ref: str) -> Company:
    """The one company REF names: company:REF, an id, an email at its domain, a phone, the name
    (case- and accent-blind), its domain, a prefix or words of the name (resolve). The id of a
    company merged into another gives that other one, with a note (note)."""
    record = resolve(session, ref, ("company",))[1]
    assert isinstance(record, Company)
    return record


def resolve_deal(session: Session, ref: str) -> Deal:
    """The one deal REF names: deal:REF, an id (12 or #12), the title (case- and accent-blind), a
    prefix or words of it: 'Müller' is the one deal whose title has that word (resolve)."""
    record = resolve(session, ref, ("deal",))[1]
    assert isinstance(record, Deal)
    return record


def resolve_subject(session: Session, ref: str) -> tuple[Contact | None, Company | None, Deal | None]:
    """A contact, a company or a deal (resolve), as (contact, company, deal) with one of them set.
    'contact:REF', 'company:REF' and 'deal:REF' say which; otherwise all three are looked for, an
    email names a contact before a company's domain, and a REF that names more than one record is
    ambiguous."""
    record = resolve(session, ref, ("contact", "company", "deal"))[1]
    return (
        record if isinstance(record, Contact) else None,
        record if isinstance(record, Company) else None,
        record if isinstance(record, Deal) else None,
    )


def _decide(session: Session, ref: str, kinds: Sequence[str], hits: list[Hit]) -> tuple[str, Record]:
    """The single hit; several are Ambiguous (or chosen at a terminal, see interaction)."""
    if len(hits) == 1:
        return _loaded(hits[0])
    candidates = describe(session, hits[:CHOICE_MAX])
    chooser = _chooser.get()
    if chooser is not None and len(hits) <= CHOICE_MAX:
        picked = chooser(ref, candidates)
        if picked is not None:
            return _loaded(next(hit for hit, c in zip(hits, candidates, strict=True) if c == picked))
    listed = [c.label() for c in candidates[:MAX_LISTED]]
    more = f" and {len(hits) - MAX_LISTED} more" if len(hits) > MAX_LISTED else ""
    counts: dict[str, int] = {}
    for kind, _ in hits:
        counts[kind] = counts.get(kind, 0) + 1
    parts = [f"{n} {_plural(k, n)}" for k, n in counts.items()]
    many = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
    if len(counts) == 1:
        how = "use the id"
    elif len(hits) == 2:
        how = f"say {candidates[0].ref} or {candidates[1].ref}"
    else:
        how = f"say which, e.g. {candidates[0].ref}"
    raise Ambiguous(f"'{ref}' matches {many}: {'; '.join(listed)}{more} ({how})", listed, candidates)


def _loaded(hit: Hit) -> tuple[str, Record]:
    kind, record = hit
    assert not isinstance(record, _Unloaded)  # only matches beyond those a person is shown are left unloaded
    return kind, record


def describe(session: Session, hits: Sequence[Hit]) -> list[Candidate]:
    """HITS (kind, record) as Candidates: a contact with its company and primary email, a company
    with its domain, a deal with its company and status."""
    company_ids = {getattr(r, "company_id", None) for _, r in hits} - {None}
    companies: dict[int, str] = {}
    if company_ids:
        rows = session.exec(select(Company.id, Company.name).where(col(Company.id).in_(company_ids)))
        companies = {company_id: name for company_id, name in rows if company_id is not None}
    contact_ids = [r.id for k, r in hits if k == "contact"]
    emails: dict[int, str] = {}
    if contact_ids:
        for contact_id, email in session.exec(
            select(ContactEmail.contact_id, ContactEmail.email)
            .where(col(ContactEmail.contact_id).in_(contact_ids))
            .order_by(col(ContactEmail.is_primary).desc(), col(ContactEmail.id))
        ):
            emails.setdefault(contact_id, email)
    out = []
    for kind, record in hits:
        assert record.id is not None
        company = companies.get(getattr(record, "company_id", None) or 0)
        detail = {"contact": emails.get(record.id), "company": getattr(record, "domain", None)}.get(
            kind, getattr(record, "status", None)
        )
        out.append(Candidate(kind, record.id, _name_of(record), company if kind != "company" else None, detail))
    return out


# ---------------------------------------------------------------- the steps, each (kind, record) hits


def _by_id(session: Session, text: str, kinds: Sequence[str]) -> list[Hit]:
    record_id = as_id(text)
    if record_id is None:
        return []
    possible = record_id <= ID_MAX  # ids are 32-bit integers (PostgreSQL refuses to compare with a larger one)
    hits: list[Hit] = [(k, r) for k in kinds if possible and (r := _get(session, k, record_id)) is not None]
    if hits:
        return hits
    merged = [k for k in kinds if possible and k in ("contact", "company") and follow_merges(session, k, record_id)]
    if merged == ["contact"]:  # the record it was merged into, with a note; NotFound when that is gone too
        return [("contact", merged_record(session, Contact, "contact", record_id))]
    if merged == ["company"]:
        return [("company", merged_record(session, Company, "company", record_id))]
    if {"contact", "company"} & set(kinds) and _phone_like(text) and (text.startswith("0") or len(text) >= 8):
        return []  # 015112345678 is no id: perhaps a phone (said below if it is none either)
    raise NotFound(f"no {_what(kinds)} with id {record_id}")


def _by_email(session: Session, text: str, kinds: Sequence[str]) -> list[Hit]:
    """An email names a contact before a company: the company of its domain only when no contact has it."""
    if "@" not in text:
        return []

    try:
        email = normalize_email(text)
    except Invalid:
        email = text.strip().lower()
    if "contact" in kinds:
        query = (
            select(Contact)
            .join(ContactEmail, col(ContactEmail.contact_id) == Contact.id)
            .where(ContactEmail.email == email)
        )
        hits: list[Hit] = [("contact", c) for c in session.exec(query.distinct().order_by(col(Contact.id)))]
        if hits:
            return hits
    return _by_domain(session, text, kinds)


def _phone_like(text: str) -> bool:
    return _PHONE_LIKE.fullmatch(text) is not None and sum(ch.isdigit() for ch in text) >= 6


def _by_phone(session: Session, text: str, kinds: Sequence[str]) -> list[Hit]:
    if not _phone_like(text) or not {"contact", "company"} & set(kinds):
        return []

    try:
        phone = normalize_phone(text, settings.get(session, "default_region"))
    except Invalid:
        return []
    with_ext = phone.replace("%", "").replace("_", "") + " ext.%"  # the number of a desk behind it
    hits: list[Hit] = []
    if "contact" in kinds:
        people = (
            select(Contact)
            .join(ContactPhone, col(ContactPhone.contact_id) == Contact.id)
            .where(or_(col(ContactPhone.phone) == phone, col(ContactPhone.phone).like(with_ext)))
        )
        hits += [("contact", c) for c in session.exec(people.distinct().order_by(col(Contact.id)))]
    if "company" in kinds:
        firms = select(Company).where(or_(col(Company.phone) == phone, col(Company.phone).like(with_ext)))
        hits += [("company", c) for c in session.exec(firms.order_by(col(Company.id)))]
    return hits


def _by_name(session: Session, text: str, kinds: Sequence[str]) -> list[Hit]:
    """The name, case- and accent-blind (the indexed key); an exact spelling among several wins."""
    key = name_key(text)
    hits: list[Hit] = []
    for kind in kinds:
        model, key_column = _models()[kind]
        query = select(model).where(key_column == key).order_by(col(model.id))
        hits += [(kind, r) for r in session.exec(query) if isinstance(r, model)]
    exact = [hit for hit in hits if _name_of(hit[1]) == text]
    return exact if exact and len(exact) < len(hits) else hits


def _by_domain(session: Session, text: str, kinds: Sequence[str]) -> list[Hit]:
    if "company" not in kinds or "." not in text or " " in text:
        return []

    try:
        domain = normalize_domain(text)
    except Invalid:
        return []
    query = select(Company).where(Company.domain == domain).order_by(col(Company.id))
    return [("company", c) for c in session.exec(query)]


def _by_company_key(session: Session, text: str, kinds: Sequence[str]) -> list[Hit]:
    """Companies whose name is TEXT once legal forms, "&"/"and"/"und", punctuation, case and
    accents are ignored (normalize.company_key: 'Müller und Söhne' is Müller & Söhne GmbH),
    among those whose name begins as TEXT does."""
    if "company" not in kinds:
        return []

    key = company_key(text)
    if not key:
        return []
    start = like_escape(name_key(text)[:2])
    query = select(Company.id, Company.name).where(col(Company.name_key).like(f"{start}%", escape="\\"))
    ids = [cid for cid, name in session.exec(query.order_by(col(Company.id))) if company_key(name) == key]
    return [("company", c) for cid in ids if (c := session.get(Company, cid)) is not None]


def like_escape(text: str) -> str:
    """TEXT for a LIKE pattern (escape character: backslash), matching itself only."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _by_words(session: Session, text: str, kinds: Sequence[str]) -> list[Hit]:
    """Names that have each word of TEXT, else names that start with TEXT or have words that start
    with each of its words. The database narrows by substring (no index: a scan of one column); the
    words are checked here."""
    key = name_key(text)
    words = re.findall(r"\w+", key)
    if not words:
        return []
    whole: list[tuple[str, int]] = []
    prefix: list[tuple[str, int]] = []
    for kind in kinds:
        model, key_column = _models()[kind]
        query = sa_select(col(model.id), key_column)
        for word in words:
            query = query.where(key_column.like(f"%{like_escape(word)}%", escape="\\"))
        for record_id, stored in session.connection().execute(query.order_by(col(model.id))):
            assert record_id is not None
            theirs = re.findall(r"\w+", stored)
            if all(w in theirs for w in words):
                whole.append((kind, record_id))
            elif stored.startswith(key) or all(any(t.startswith(w) for t in theirs) for w in words):
                prefix.append((kind, record_id))
    chosen = whole or prefix
    loaded: list[Hit] = [
        (kind, r) for kind, record_id in chosen[: CHOICE_MAX + 1] if (r := _get(session, kind, record_id)) is not None
    ]
    return loaded + [(kind, _Unloaded(record_id)) for kind, record_id in chosen[CHOICE_MAX + 1 :]]


@dataclass(frozen=True)
class _Unloaded:
    """A match beyond those listed: counted, never shown."""

    id: int
    name: str = ""


def _suggestions(session: Session, text: str, kinds: Sequence[str]) -> str:
    """'; did you mean Anna Müller (contact #3)?' for the closest names, or ''. The names compared
    are those with a word that begins as a word of TEXT does (its first two letters: a typo is
    rarely there in every word), which the database finds in one pass."""
    from rapidfuzz import fuzz, process  # heavy: loaded only when nothing was found

    key = name_key(text)
    starts = {word[:2] for word in re.findall(r"\w+", key)}
    if not starts:
        return ""
    scored: list[tuple[float, str, int]] = []
    for kind in kinds:
        model, key_column = _models()[kind]
        patterns = [p for s in sorted(starts) for p in (f"{like_escape(s)}%", f"% {like_escape(s)}%")]
        near = or_(*(key_column.like(p, escape="\\") for p in patterns))
        rows = session.connection().execute(sa_select(col(model.id), key_column).where(near)).all()
        choices = [row[1] for row in rows]
        for _, score, index in process.extract(key, choices, scorer=fuzz.WRatio, limit=3, score_cutoff=80):
            record_id = rows[index][0]
            assert record_id is not None
            scored.append((score, kind, record_id))
    if not scored:
        return ""
    scored.sort(key=lambda s: (-s[0], s[2]))
    named = [f"{_name_of(_get(session, kind, rid))} ({kind} #{rid})" for _, kind, rid in scored[:3]]
    return f"; did you mean {' or '.join(named)}?"
