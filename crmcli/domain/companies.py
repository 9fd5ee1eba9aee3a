"""Companies: add, find, edit, remove and list (the company view: crmcli.domain.views)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from crmcli.domain import fields, rules, search, settings
from crmcli.domain.filters import apply_sort, where_clauses
from crmcli.domain.indexing import reindex_company, reindex_contacts
from crmcli.domain.lookup import as_id, like_escape, normalize_domain, note, resolve, split_kind
from crmcli.domain.records import CompanyRecord
from crmcli.domain.tags import having_tag, set_tags, tags_of
from crmcli.errors import Hint, Invalid, NotFound
from crmcli.models import Activity, Company, CompanyTag, Contact
from crmcli.values import clock
from crmcli.values.addressbook import normalize_website
from crmcli.values.matching import closest_company
from crmcli.values.normalize import clean_text, name_key, normalize_name, normalize_phone, optional_notes, optional_text
from crmcli.values.when import parse_past

SORTS = {"name": Company.name_key, "created": Company.created_at, "updated": Company.updated_at, "id": Company.id}
# Plain text columns, cleaned on write; --where compares them with the value cleaned the same way.
TEXT_FIELDS = ("street", "city", "region", "postcode", "country", "industry")


def find_company(session: Session, ref: str, *, near: bool = True) -> tuple[Company | None, bool]:
    """The company a company option's REF names, without making one: (company, True when only
    NEAR: its name matches once legal forms, "&"/"and"/"und", case and accents are ignored, or
    is a close fuzzy match, matching.closest_company), or (None, False) for a new name. An id or
    company:REF must name one (NotFound otherwise); an email, domain or phone may; a name is
    matched whole (case- and accent-blind), never by a part of it."""
    text = clean_text(ref)
    try:
        record = resolve(session, text, ("company",), words=False)[1]
        assert isinstance(record, Company)
        return record, False
    except NotFound:
        if as_id(text) is not None or split_kind(text)[0] is not None:
            raise
    if not near:
        return None, False
    # the companies whose name begins as TEXT does (a typo in the first two letters is rare): one
    # pass of the database over the names, instead of folding every name here
    start = like_escape(name_key(text)[:2])
    query = (
        select(Company.id, Company.name)
        .where(col(Company.name_key).like(f"{start}%", escape="\\"))
        .order_by(col(Company.id))
    )
    names = {company_id: name for company_id, name in session.exec(query) if company_id is not None}
    found = closest_company(text, names)
    return (session.get(Company, found), True) if found is not None else (None, False)


def find_or_create(
    session: Session,
    ref: str,
    *,
    owner: str | None = None,
    new_company: bool = False,
    default_owner: str | None = None,
) -> Company:
    """The company REF names (see find_company); a name of none makes a new company (OWNER and
    DEFAULT_OWNER as add_company takes them). A near match
    is used, and said in a note (crmcli.domain.lookup.note); NEW_COMPANY makes a new company of the name
    REF whatever exists."""
    if new_company:
        if split_kind(clean_text(ref))[0] is not None:
            raise Invalid(f"'{ref}' is a reference to a company, not a name for a new one")
        return add_company(session, name=ref, owner=owner, default_owner=default_owner)
    company, near = find_company(session, ref)
    if company is None:
        return add_company(session, name=ref, owner=owner, default_owner=default_owner)
    if near:
        said = f"using company #{company.id} {company.name} for '{clean_text(ref)}'"
        note(said, Hint("{new_company} makes a new one"))
    return company


def add_company(
    session: Session,
    *,
    name: str,
    domain: str | None = None,
    phone: str | None = None,
    website: str | None = None,
    tags: list[str] | None = None,
    owner: str | None = None,
    source: str | None = None,
    notes: str | None = None,
    custom: dict[str, str] | None = None,
    region: str | None = None,
    street: str | None = None,
    city: str | None = None,
    state: str | None = None,
    postcode: str | None = None,
    country: str | None = None,
    industry: str | None = None,
    private: bool = False,
    default_owner: str | None = None,
) -> Company:
    """A new company, cleaned and checked. REGION is the country phones without +code are read
    for; STATE is the address's region (state, province, county), stored as region. OWNER None:
    the first assignment rule of companies that matches gives the owner (crmcli.domain.rules),
    else DEFAULT_OWNER."""
    clean_name = normalize_name(name, "company name")
    values = fields.apply({}, fields.validate(session, "companies", custom or {}))
    now = clock.now()
    clean_phone = (
        normalize_phone(phone, region or settings.get(session, "default_region"))
        if phone is not None and optional_text(phone)
        else None
    )
    if owner is None:
        facts = rules.Facts(country=country, phones=[clean_phone] if clean_phone else [], industry=industry,
                            source=source, tags=tags or [])  # fmt: skip
        owner = rules.assign(session, "companies", lambda needs: facts) or default_owner
    company = Company(
        name=clean_name,
        name_key=name_key(clean_name),
        domain=normalize_domain(domain),
        phone=clean_phone,
        website=normalize_website(website),
        owner=optional_text(owner),
        source=optional_text(source),
        notes=optional_notes(notes),
        custom=values,
        street=optional_text(street),
        city=optional_text(city),
        region=optional_text(state),
        postcode=optional_text(postcode),
        country=optional_text(country),
        industry=optional_text(industry),
        private=private,
        created_at=now,
        updated_at=now,
    )
    session.add(company)
    session.flush()
    assert company.id is not None
    set_tags(session, CompanyTag, "company_id", company.id, tags or [])
    reindex_company(session, company)
    return company


def edit_company(
    session: Session,
    company: Company,
    *,
    name: str | None = None,
    domain: str | None = None,
    phone: str | None = None,
    website: str | None = None,
    owner: str | None = None,
    source: str | None = None,
    notes: str | None = None,
    add_tags: list[str] | None = None,
    remove_tags: list[str] | None = None,
    custom: dict[str, str] | None = None,
    region: str | None = None,
    street: str | None = None,
    city: str | None = None,
    state: str | None = None,
    postcode: str | None = None,
    country: str | None = None,
    industry: str | None = None,
    private: bool | None = None,
) -> Company:
    """Change what is given; an empty string clears an optional value. STATE is the address's
    region (REGION: the country phones without +code are read for)."""
    session.refresh(company, with_for_update=True)  # no lost updates: see contacts.edit_contact
    if name is not None:
        company.name = normalize_name(name, "company name")
        company.name_key = name_key(company.name)
    if domain is not None:
        company.domain = normalize_domain(domain)
    if phone is not None:
        company.phone = (
            normalize_phone(phone, region or settings.get(session, "default_region")) if optional_text(phone) else None
        )
    if website is not None:
        company.website = normalize_website(website)
    texts = {"owner": owner, "source": source, "notes": notes, "street": street, "city": city, "region": state,
             "postcode": postcode, "country": country, "industry": industry}  # fmt: skip
    for attr, value in texts.items():
        if value is not None:
            setattr(company, attr, optional_notes(value) if attr == "notes" else optional_text(value, attr))
    if custom:
        company.custom = fields.apply(company.custom, fields.validate(session, "companies", custom))
    if private is not None:
        company.private = private
    company.updated_at = clock.now()
    session.add(company)
    assert company.id is not None
    set_tags(session, CompanyTag, "company_id", company.id, add_tags or [], remove_tags or [])
    reindex_company(session, company)
    if name is not None:  # the people's search documents carry the company name
        people = session.exec(select(col(Contact.id)).where(Contact.company_id == company.id))
        reindex_contacts(session, [person for person in people if person is not None])
    return company


def remove_company(session: Session, company: Company) -> int:
    """Delete the company; its people stay, without a company. Returns how many people that was."""
    assert company.id is not None
    found = session.exec(select(col(Contact.id)).where(Contact.company_id == company.id))
    people = [person for person in found if person is not None]
    activities = session.exec(select(col(Activity.id)).where(Activity.company_id == company.id))
    search.remove(session, "activity", [activity for activity in activities if activity is not None])
    search.remove(session, "company", [company.id])
    session.execute(update(Contact).where(col(Contact.company_id) == company.id).values(company_id=None))
    session.delete(company)
    session.flush()
    reindex_contacts(session, people)
    return len(people)


def company_record(company: Company, tags: list[str], people: int) -> CompanyRecord:
    assert company.id is not None  # a stored company
    return {
        "id": company.id,
        "name": company.name,
        "domain": company.domain,
        "phone": company.phone,
        "website": company.website,
        "tags": tags,
        "owner": company.owner,
        "source": company.source,
        "people": people,
        "notes": company.notes,
        "custom": company.custom,
        "external_id": company.external_id,
        "created_at": company.created_at,
        "updated_at": company.updated_at,
        # after the keys scripts already read, so CSV columns keep their places
        "street": company.street,
        "city": company.city,
        "region": company.region,
        "postcode": company.postcode,
        "country": company.country,
        "industry": company.industry,
    }


def _where_fields(session: Session) -> dict[str, Callable[[str], Any]]:
    """The built-in fields --where takes, each with the clause it makes of a value (cleaned as a
    write would clean it)."""

    def text_field(column: Any) -> Callable[[str], Any]:
        return lambda value: column == optional_text(value)

    def phone(value: str) -> Any:
        return Company.phone == normalize_phone(value, settings.get(session, "default_region"))

    return {
        "name": lambda value: Company.name_key == name_key(value),
        "domain": lambda value: Company.domain == normalize_domain(value),
        "website": lambda value: Company.website == normalize_website(value),
        "owner": text_field(Company.owner),
        "source": text_field(Company.source),
        "phone": phone,
        **{key: text_field(getattr(Company, key)) for key in TEXT_FIELDS},
        "state": text_field(Company.region),
    }


def list_companies(
    session: Session,
    *,
    tag: str | None = None,
    owner: str | None = None,
    where: list[str] | None = None,
    since: str | None = None,
    sort: str = "name",
    limit: int | None = None,
) -> list[CompanyRecord]:
    query = select(Company)
    if tag:
        query = query.where(having_tag(Company, CompanyTag, "company_id", tag))
    if owner:
        query = query.where(Company.owner == owner)
    if since:
        query = query.where(Company.created_at >= parse_past(since))
    for clause in where_clauses(session, Company, "companies", where, _where_fields(session)):
        query = query.where(clause)
    query = apply_sort(query, SORTS, sort, Company.id)
    if limit:
        query = query.limit(limit)
    companies = list(session.exec(query))
    ids = [c.id for c in companies if c.id is not None]
    tags = tags_of(session, CompanyTag, "company_id", ids)
    counts = (
        dict(
            session.exec(
                select(Contact.company_id, func.count())
                .where(col(Contact.company_id).in_(ids))
                .group_by(col(Contact.company_id))
            ).all()
        )
        if ids
        else {}
    )
    return [company_record(c, tags.get(c.id, []), counts.get(c.id, 0)) for c in companies]
