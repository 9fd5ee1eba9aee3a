"""Re-indexing: the search documents (crmcli.domain.search) of contacts, companies and deals,
rewritten from what is stored after a write. Every module that changes a record a document shows
(the record itself, a contact's company name, a merge) calls these, so it needs no other entity
module to do it."""

from __future__ import annotations

from collections import defaultdict

from sqlmodel import Session, col, select

from crmcli.domain import search
from crmcli.domain.tags import tags_of
from crmcli.models import Company, CompanyTag, Contact, ContactEmail, ContactPhone, ContactTag, Deal
from crmcli.values.documents import company_parts, document_parts


def contact_details(
    session: Session, ids: list[int]
) -> tuple[dict[int, list[str]], dict[int, list[str]], dict[int, list[str]]]:
    """(emails, phones, tags) of the contacts IDS, each a list per contact id, primary first."""
    emails: dict[int, list[str]] = defaultdict(list)
    phones: dict[int, list[str]] = defaultdict(list)
    if ids:
        for cid, email in session.exec(
            select(ContactEmail.contact_id, ContactEmail.email)
            .where(col(ContactEmail.contact_id).in_(ids))
            .order_by(col(ContactEmail.is_primary).desc(), col(ContactEmail.id))
        ):
            emails[cid].append(email)
        for cid, phone in session.exec(
            select(ContactPhone.contact_id, ContactPhone.phone)
            .where(col(ContactPhone.contact_id).in_(ids))
            .order_by(col(ContactPhone.is_primary).desc(), col(ContactPhone.id))
        ):
            phones[cid].append(phone)
    return emails, phones, tags_of(session, ContactTag, "contact_id", ids)


def reindex_contacts(session: Session, ids: list[int]) -> None:
    """Rewrite the search documents of these contacts (name, emails, phones, company, tags, fields)."""
    if not ids:
        return
    session.flush()
    emails, phones, tags = contact_details(session, ids)
    rows = session.exec(
        select(Contact, Company.name)
        .outerjoin(Company, col(Company.id) == Contact.company_id)
        .where(col(Contact.id).in_(ids))
    )
    for contact, company_name in rows:
        assert contact.id is not None
        search.upsert(
            session, "contact", contact.id, contact.name,
            *document_parts(contact.name, contact.title, company_name, emails.get(contact.id, []),
                            phones.get(contact.id, []), tags.get(contact.id, []), contact.notes, contact.custom,
                            street=contact.street, city=contact.city, region=contact.region,
                            postcode=contact.postcode, country=contact.country, website=contact.website),
        )  # fmt: skip


def reindex_company(session: Session, company: Company) -> None:
    """Rewrite the search document of COMPANY (its people's documents carry its name: reindex_contacts)."""
    assert company.id is not None
    session.flush()
    tags = tags_of(session, CompanyTag, "company_id", [company.id]).get(company.id, [])
    search.upsert(session, "company", company.id, company.name, *company_parts(
        company.name, domain=company.domain, website=company.website, phone=company.phone, tags=tags,
        notes=company.notes, custom=company.custom, street=company.street, city=company.city,
        region=company.region, postcode=company.postcode, country=company.country, industry=company.industry,
    ))  # fmt: skip


def reindex_deal(session: Session, deal: Deal) -> None:
    """Rewrite the search document of DEAL (title, contact and company names, owner, notes, fields)."""
    assert deal.id is not None
    contact = session.get(Contact, deal.contact_id) if deal.contact_id else None
    company = session.get(Company, deal.company_id) if deal.company_id else None
    search.upsert(
        session, "deal", deal.id, deal.title, deal.title, contact.name if contact else None,
        company.name if company else None, deal.owner, deal.notes, deal.lost_reason,
        *(str(v) for v in deal.custom.values()),
    )  # fmt: skip


def reindex_deals(session: Session, deal_ids: list[int]) -> None:
    """reindex_deal for each of DEAL_IDS that still exists."""
    for deal_id in deal_ids:
        deal = session.get(Deal, deal_id)
        if deal is not None:
            reindex_deal(session, deal)
