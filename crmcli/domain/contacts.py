"""Contacts: add, find, edit, remove and list (the single customer view: crmcli.domain.views)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import exists, or_
from sqlmodel import Session, col, select

from crmcli.domain import fields, rules, search, settings, suppression
from crmcli.domain.activities import last_touch
from crmcli.domain.companies import find_company, find_or_create
from crmcli.domain.filters import apply_sort, where_clauses
from crmcli.domain.indexing import contact_details, reindex_contacts
from crmcli.domain.lookup import resolve_company
from crmcli.domain.records import ContactRecord, PossibleDuplicate
from crmcli.domain.tags import having_tag, set_tags
from crmcli.errors import Conflict, Hint, Invalid, NotFound
from crmcli.models import (
    Activity,
    Company,
    Contact,
    ContactEmail,
    ContactPhone,
    ContactTag,
)
from crmcli.storage import advisory_locks
from crmcli.values import clock
from crmcli.values.addressbook import normalize_birthday, normalize_website
from crmcli.values.matching import Identity, Verdict, verdict
from crmcli.values.normalize import (
    company_key,
    name_key,
    normalize_email,
    normalize_name,
    normalize_phone,
    optional_notes,
    optional_text,
)
from crmcli.values.when import parse_past

SORTS = {
    "name": Contact.name_key,
    "created": Contact.created_at,
    "updated": Contact.updated_at,
    "id": Contact.id,
    "company": Company.name_key,
}
# Plain text columns, cleaned on write; --where compares them with the value cleaned the same way.
TEXT_FIELDS = ("title", "owner", "source", "street", "city", "region", "postcode", "country")


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _region(session: Session, region: str | None) -> str:
    return region or settings.get(session, "default_region") or "US"


ANYWAY = Hint("{allow_duplicate} adds it anyway")  # the hint of a refused duplicate


def _check_duplicates(session: Session, emails: list[str], phones: list[str], exclude: int | None = None) -> None:
    for column, contact_id, values, what in (
        (col(ContactEmail.email), col(ContactEmail.contact_id), emails, "email"),
        (col(ContactPhone.phone), col(ContactPhone.contact_id), phones, "phone"),
    ):
        if not values:
            continue
        query = (
            select(column, Contact.id, Contact.name)
            .join(Contact, col(Contact.id) == contact_id)
            .where(column.in_(values))
        )
        if exclude is not None:
            query = query.where(Contact.id != exclude)
        hit = session.exec(query.order_by(col(Contact.id))).first()
        if hit is not None:
            value, other_id, other_name = hit
            raise Conflict(f"{what} {value} already belongs to #{other_id} {other_name}", hint=ANYWAY)


def lock_values(session: Session, emails: Iterable[str], phones: Iterable[str], names: Iterable[str] = ()) -> None:
    """Serialise the check-then-insert of these emails, phones and name keys on PostgreSQL
    (storage.advisory_locks; nothing on SQLite, whose writers already go one at a time). The
    importer may take the same locks for a batch: the keys are storage.advisory_key("email", e),
    ("phone", p) and ("name", key)."""
    keys = [("email", e) for e in emails] + [("phone", p) for p in phones] + [("name", n) for n in names]
    advisory_locks(session, keys)


def _company_key_of(session: Session, company: str | None, new_company: bool = False) -> str:
    """normalize.company_key of the company COMPANY (a REF or a name) names, before it is created."""
    ref = optional_text(company)
    if not ref:
        return ""
    if new_company:
        return company_key(ref)
    try:
        found, _ = find_company(session, ref)
    except NotFound:
        return ""  # said when the company is looked up to be linked
    return company_key(found.name if found else ref)


def _matches(
    session: Session, mine: Identity, exclude: int | None = None
) -> list[tuple[Verdict, int, Identity, str | None]]:
    """The contacts sharing an email or a phone with MINE (a matching.Identity) or its name, each
    with matching's verdict, the different ones left out, oldest first: (verdict, id, identity, company name)."""
    ids: set[int] = set()
    if mine.emails:
        ids.update(session.exec(select(ContactEmail.contact_id).where(col(ContactEmail.email).in_(mine.emails))))
    if mine.phones:
        ids.update(session.exec(select(ContactPhone.contact_id).where(col(ContactPhone.phone).in_(mine.phones))))
    named = session.exec(select(col(Contact.id)).where(Contact.name_key == name_key(mine.name or "")))
    ids.update(cid for cid in named if cid is not None)
    if exclude is not None:
        ids.discard(exclude)
    if not ids:
        return []
    emails, phones, _tags = contact_details(session, sorted(ids))
    rows = session.exec(
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to four columns
            Contact.id, Contact.name, Contact.external_id, Contact.source, Company.name
        )
        .outerjoin(Company, col(Company.id) == Contact.company_id)
        .where(col(Contact.id).in_(ids))
        .order_by(col(Contact.id))
    )
    out = []
    for cid, name, external_id, source, company_name in rows:
        theirs = Identity(
            name, emails.get(cid, []), phones.get(cid, []), external_id, source, company_key(company_name)
        )
        found = verdict(mine, theirs)
        if found != "different":
            out.append((found, cid, theirs, company_name))
    return out


def _refuse_same(session: Session, mine: Identity) -> None:
    """Conflict naming the first contact that matching calls the same person as MINE."""
    for found, cid, theirs, company_name in _matches(session, mine):
        if found != "same":
            continue
        if found.on in ("email", "phone"):
            value = found.reason.removeprefix(f"same {found.on} ")  # "same email anna@acme.de"
            problem = f"{found.on} {value} already belongs to #{cid} {theirs.name}"
        else:
            at = f" at {company_name}" if company_name else ""
            problem = f"{mine.name} already exists as #{cid} {theirs.name}{at}"
        raise Conflict(problem, hint=ANYWAY)


def possible_duplicates(session: Session, contact: Contact) -> list[PossibleDuplicate]:
    """The contacts matching calls possible duplicates of CONTACT (a shared info@ address with
    another name, the same name and company with other emails …), oldest first: [{id, name, reason}]."""
    assert contact.id is not None
    emails, phones, _tags = contact_details(session, [contact.id])
    company = session.get(Company, contact.company_id) if contact.company_id else None
    mine = Identity(
        contact.name,
        emails.get(contact.id, []),
        phones.get(contact.id, []),
        contact.external_id,
        contact.source,
        company_key(company.name) if company else "",
    )
    possible: list[PossibleDuplicate] = []
    for found, cid, theirs, _company in _matches(session, mine, exclude=contact.id):
        if found == "possible":
            assert theirs.name is not None  # a stored contact's
            possible.append({"id": cid, "name": theirs.name, "reason": found.reason})
    return possible


def _as_stored(normalize: Callable[[str], str], value: str) -> str:
    """VALUE as it would be stored; a value that no longer passes the checks (crm doctor finds
    those) is taken as it is written, so that it can still be removed."""
    try:
        return normalize(value)
    except Invalid:
        return value.strip()


def _set_values(
    session: Session,
    model: Any,
    column_name: str,
    contact_id: int,
    add: list[str],
    remove: list[str],
    primary: str | None,
) -> None:
    rows = list(session.exec(select(model).where(model.contact_id == contact_id).order_by(model.id)))
    by_value = {getattr(r, column_name): r for r in rows}
    for value in remove:
        row = by_value.pop(value, None)
        if row is None:
            raise NotFound(f"contact #{contact_id} has no {column_name} {value}")
        session.delete(row)
    for value in add:
        if value not in by_value:
            row = model(contact_id=contact_id, **{column_name: value}, is_primary=False)
            session.add(row)
            by_value[value] = row
    if primary is not None and primary not in by_value:
        raise NotFound(f"contact #{contact_id} has no {column_name} {primary}")
    chosen = primary or next((v for v, r in by_value.items() if r.is_primary), next(iter(by_value), None))
    for value, row in by_value.items():
        row.is_primary = value == chosen
        session.add(row)
    session.flush()


def add_contact(
    session: Session,
    *,
    name: str,
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    title: str | None = None,
    company: str | None = None,
    tags: Iterable[str] = (),
    owner: str | None = None,
    source: str | None = None,
    notes: str | None = None,
    custom: dict[str, str] | None = None,
    allow_duplicate: bool = False,
    region: str | None = None,
    street: str | None = None,
    city: str | None = None,
    state: str | None = None,
    postcode: str | None = None,
    country: str | None = None,
    birthday: str | None = None,
    website: str | None = None,
    new_company: bool = False,
    allow_suppressed: bool = False,
    private: bool = False,
    default_owner: str | None = None,
) -> Contact:
    """A new contact, cleaned and checked; the first email and phone are the primary ones.

    OWNER None: the first assignment rule of contacts that matches gives the owner
    (crmcli.domain.rules), else DEFAULT_OWNER; a company it creates goes by the companies' rules.

    COMPANY is a company REF or name; a name of none creates the company, a name near one
    (companies.find_or_create) uses it with a note; NEW_COMPANY makes a new company. REGION is the country
    phones without +code are read for; STATE is the address's region (state, province, county),
    stored as region. BIRTHDAY takes 1985-04-15, --04-15 (no year) or an unambiguous date.
    An email or phone of a person erased on request is refused unless ALLOW_SUPPRESSED.
    """
    clean_name = normalize_name(name)
    born, web = normalize_birthday(birthday), normalize_website(website)
    clean_emails = _unique(normalize_email(e) for e in emails)
    region_code = _region(session, region)
    clean_phones = _unique(normalize_phone(p, region_code) for p in phones)
    if not allow_suppressed:
        suppression.refuse(session, clean_emails, clean_phones)
    values = fields.apply({}, fields.validate(session, "contacts", custom or {}))
    if not allow_duplicate:
        # On PostgreSQL two adds of one address at once would both pass the check below: each
        # email, phone and name is locked until the transaction ends, so they take turns.
        lock_values(session, clean_emails, clean_phones, [name_key(clean_name)])
    if not allow_duplicate:  # the same person (matching.verdict) is refused; a possible duplicate is added
        mine = Identity(clean_name, clean_emails, clean_phones, None, optional_text(source))
        mine.company_key = _company_key_of(session, company, new_company)
        _refuse_same(session, mine)
    company_obj = None
    if optional_text(company):
        company_obj = find_or_create(
            session, company or "", owner=owner, default_owner=default_owner, new_company=new_company
        )
    if owner is None:
        tags = list(tags)
        industry = company_obj.industry if company_obj else None
        facts = rules.Facts(country=country, phones=clean_phones, industry=industry, source=source, tags=tags)
        owner = rules.assign(session, "contacts", lambda needs: facts) or default_owner
    now = clock.now()
    contact = Contact(
        name=clean_name,
        name_key=name_key(clean_name),
        title=optional_text(title),
        company_id=company_obj.id if company_obj else None,
        owner=optional_text(owner),
        source=optional_text(source),
        notes=optional_notes(notes),
        custom=values,
        street=optional_text(street),
        city=optional_text(city),
        region=optional_text(state),
        postcode=optional_text(postcode),
        country=optional_text(country),
        birthday=born,
        website=web,
        private=private,
        created_at=now,
        updated_at=now,
    )
    session.add(contact)
    session.flush()
    assert contact.id is not None
    for i, email in enumerate(clean_emails):
        session.add(ContactEmail(contact_id=contact.id, email=email, is_primary=i == 0))
    for i, phone in enumerate(clean_phones):
        session.add(ContactPhone(contact_id=contact.id, phone=phone, is_primary=i == 0))
    set_tags(session, ContactTag, "contact_id", contact.id, tags)
    reindex_contacts(session, [contact.id])
    return contact


def edit_contact(
    session: Session,
    contact: Contact,
    *,
    name: str | None = None,
    title: str | None = None,
    company: str | None = None,
    owner: str | None = None,
    source: str | None = None,
    notes: str | None = None,
    add_emails: Iterable[str] = (),
    remove_emails: Iterable[str] = (),
    primary_email: str | None = None,
    add_phones: Iterable[str] = (),
    remove_phones: Iterable[str] = (),
    primary_phone: str | None = None,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    custom: dict[str, str] | None = None,
    allow_duplicate: bool = False,
    region: str | None = None,
    street: str | None = None,
    city: str | None = None,
    state: str | None = None,
    postcode: str | None = None,
    country: str | None = None,
    birthday: str | None = None,
    website: str | None = None,
    new_company: bool = False,
    allow_suppressed: bool = False,
    private: bool | None = None,
) -> Contact:
    """Change what is given. An empty string clears title, company, owner, source, notes, an
    address part, the birthday or the website; an empty custom value removes that field. STATE
    is the address's region (REGION: the country phones without +code are read for). COMPANY
    and NEW_COMPANY are as for add_contact."""
    assert contact.id is not None
    # Re-read the row under a lock, so that two people editing one contact at once on a
    # shared PostgreSQL queue up instead of one silently undoing the other (custom fields
    # are merged from what is stored). On SQLite, BEGIN IMMEDIATE already serialises writers.
    session.refresh(contact, with_for_update=True)
    region_code = _region(session, region)
    new_emails = _unique(normalize_email(e) for e in add_emails)
    new_phones = _unique(normalize_phone(p, region_code) for p in add_phones)
    if not allow_suppressed:
        suppression.refuse(session, new_emails, new_phones)
    if not allow_duplicate:
        lock_values(session, new_emails, new_phones)  # as add_contact: one writer at a time per value
        _check_duplicates(session, new_emails, new_phones, exclude=contact.id)
    if name is not None:
        contact.name = normalize_name(name)
        contact.name_key = name_key(contact.name)
    texts = {"title": title, "owner": owner, "source": source, "notes": notes, "street": street, "city": city,
             "region": state, "postcode": postcode, "country": country}  # fmt: skip
    for attr, value in texts.items():
        if value is not None:
            setattr(contact, attr, optional_notes(value) if attr == "notes" else optional_text(value, attr))
    if birthday is not None:
        contact.birthday = normalize_birthday(birthday)
    if website is not None:
        contact.website = normalize_website(website)
    if company is not None:
        if optional_text(company):
            contact.company_id = find_or_create(session, company, new_company=new_company).id
        else:
            contact.company_id = None
    if custom:
        contact.custom = fields.apply(contact.custom, fields.validate(session, "contacts", custom))
    _set_values(
        session,
        ContactEmail,
        "email",
        contact.id,
        new_emails,
        [_as_stored(normalize_email, e) for e in remove_emails],
        normalize_email(primary_email) if primary_email else None,
    )
    _set_values(
        session,
        ContactPhone,
        "phone",
        contact.id,
        new_phones,
        [_as_stored(lambda v: normalize_phone(v, region_code), p) for p in remove_phones],
        normalize_phone(primary_phone, region_code) if primary_phone else None,
    )
    set_tags(session, ContactTag, "contact_id", contact.id, add_tags, remove_tags)
    if private is not None:
        contact.private = private
    contact.updated_at = clock.now()
    session.add(contact)
    session.flush()
    reindex_contacts(session, [contact.id])
    return contact


def remove_contact(session: Session, contact: Contact) -> None:
    assert contact.id is not None
    activity_ids = list(session.exec(select(Activity.id).where(Activity.contact_id == contact.id)))
    search.remove(session, "activity", activity_ids)  # type: ignore[arg-type]
    search.remove(session, "contact", [contact.id])
    session.delete(contact)
    session.flush()


def _record(
    contact: Contact, company: str | None, emails: list[str], phones: list[str], tags: list[str], touched: Any
) -> ContactRecord:
    assert contact.id is not None  # a stored contact
    return {
        "id": contact.id,
        "name": contact.name,
        "title": contact.title,
        "company": company,
        "company_id": contact.company_id,
        "email": emails[0] if emails else None,
        "emails": emails,
        "phone": phones[0] if phones else None,
        "phones": phones,
        "tags": tags,
        "owner": contact.owner,
        "source": contact.source,
        "last_touch": touched,
        "notes": contact.notes,
        "custom": contact.custom,
        "external_id": contact.external_id,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
        # after the keys scripts already read, so CSV columns keep their places
        "street": contact.street,
        "city": contact.city,
        "region": contact.region,
        "postcode": contact.postcode,
        "country": contact.country,
        "birthday": contact.birthday,
        "website": contact.website,
        "cadence_days": contact.cadence_days,  # an export carries it: the cadence follow-ups follow from it
    }


def contact_record(session: Session, contact: Contact, *, touched: Any = None) -> ContactRecord:
    """CONTACT as list_contacts shows it (its company's name, emails, phones, tags), last touched
    at TOUCHED."""
    assert contact.id is not None
    company = session.get(Company, contact.company_id) if contact.company_id else None
    emails, phones, tags = contact_details(session, [contact.id])
    return _record(
        contact,
        company.name if company else None,
        emails.get(contact.id, []),
        phones.get(contact.id, []),
        tags.get(contact.id, []),
        touched,
    )


def list_contacts(
    session: Session,
    *,
    tag: str | None = None,
    company: str | None = None,
    company_id: int | None = None,
    owner: str | None = None,
    where: list[str] | None = None,
    since: str | None = None,
    sort: str = "name",
    limit: int | None = None,
) -> list[ContactRecord]:
    """Contacts as plain records, filtered; --where takes built-in fields and custom fields."""
    query = select(Contact, Company.name).outerjoin(Company, col(Company.id) == Contact.company_id)
    if tag:
        query = query.where(having_tag(Contact, ContactTag, "contact_id", tag))
    if company:
        company_id = resolve_company(session, company).id
    if company_id is not None:
        query = query.where(Contact.company_id == company_id)
    if owner:
        query = query.where(Contact.owner == owner)
    if since:
        query = query.where(Contact.created_at >= parse_past(since))
    for clause in where_clauses(session, Contact, "contacts", where, _where_fields(session)):
        query = query.where(clause)
    query = apply_sort(query, SORTS, sort, Contact.id)
    if limit:
        query = query.limit(limit)
    rows = list(session.exec(query))
    ids = [c.id for c, _ in rows if c.id is not None]
    emails, phones, tags = contact_details(session, ids)
    touches = last_touch(session, ids)
    return [
        _record(c, company_name, emails.get(c.id, []), phones.get(c.id, []), tags.get(c.id, []), touches.get(c.id))
        for c, company_name in rows
    ]


def _where_fields(session: Session) -> dict[str, Callable[[str], Any]]:
    """The built-in fields --where takes, each with the clause it makes of a value (cleaned as a
    write would clean it, so a value no contact could have is refused, not silently unmatched)."""

    def birthday(value: str) -> Any:
        born = normalize_birthday(value)
        if born and born.startswith("--"):  # a day without a year: that day in any year
            return or_(col(Contact.birthday) == born, col(Contact.birthday).like(f"____{born[1:]}"))
        return Contact.birthday == born

    def text_field(column: Any) -> Callable[[str], Any]:
        return lambda value: column == optional_text(value)

    return {
        "name": lambda value: Contact.name_key == name_key(value),
        "email": lambda value: exists().where(
            col(ContactEmail.contact_id) == Contact.id, col(ContactEmail.email) == normalize_email(value)
        ),
        "phone": lambda value: exists().where(
            col(ContactPhone.contact_id) == Contact.id,
            col(ContactPhone.phone) == normalize_phone(value, _region(session, None)),
        ),
        "company": lambda value: Company.name_key == name_key(value),
        **{key: text_field(getattr(Contact, key)) for key in TEXT_FIELDS},
        "state": text_field(Contact.region),
        "website": lambda value: Contact.website == normalize_website(value),
        "birthday": birthday,
    }
