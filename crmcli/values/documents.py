"""Search documents: what each record's row in search_doc says. No database here, so the
importer's worker process can compose documents without importing SQLAlchemy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crmcli.values.normalize import clean_text, fold_accents


def compose(*parts: str | None) -> str:
    """A document body: the parts, and an accent-folded copy where that differs."""
    body = " ".join(c for c in (clean_text(p) for p in parts if p) if c)
    folded = fold_accents(body)
    return body if folded == body else f"{body} {folded}"


def document_parts(
    name: str,
    title: str | None,
    company: str | None,
    emails: list[str],
    phones: list[str],
    tags: list[str],
    notes: str | None,
    custom: dict[str, Any],
    *,
    street: str | None = None,
    city: str | None = None,
    region: str | None = None,
    postcode: str | None = None,
    country: str | None = None,
    website: str | None = None,
) -> list[str | None]:
    """What a contact's search document is made of (the importer writes the same). The address and
    website come last: a record without them keeps the document it had."""
    return [name, title, company, " ".join(emails), " ".join(phones), " ".join(tags), notes,
            *(str(v) for v in custom.values()), street, city, region, postcode, country, website]  # fmt: skip


def contact_document(
    name: str,
    title: str | None,
    company: str | None,
    emails: list[str],
    phones: list[str],
    tags: list[str],
    notes: str | None,
    custom: dict[str, Any],
    *,
    street: str | None = None,
    city: str | None = None,
    region: str | None = None,
    postcode: str | None = None,
    country: str | None = None,
    website: str | None = None,
) -> str:
    """A contact's document body, tags in order (the importer's rows and records)."""
    parts = document_parts(
        name, title, company, emails, phones, sorted(tags), notes, custom,
        street=street, city=city, region=region, postcode=postcode, country=country, website=website,
    )  # fmt: skip
    return compose(*parts)


def company_parts(
    name: str,
    *,
    domain: str | None = None,
    website: str | None = None,
    phone: str | None = None,
    tags: Sequence[str] = (),
    notes: str | None = None,
    custom: dict[str, Any] | None = None,
    street: str | None = None,
    city: str | None = None,
    region: str | None = None,
    postcode: str | None = None,
    country: str | None = None,
    industry: str | None = None,
) -> list[str | None]:
    """What a company's search document is made of; the address and industry come last, so a
    company without them keeps the document it had."""
    return [name, domain, website, phone, " ".join(tags), notes, *(str(v) for v in (custom or {}).values()),
            street, city, region, postcode, country, industry]  # fmt: skip


def company_document(name: str, *, tags: Sequence[str] = (), **parts: Any) -> str:
    """A company's document body, tags in order (what indexing.reindex_company writes, for the importer);
    PARTS are company_parts' keywords."""
    return compose(*company_parts(name, tags=sorted(tags), **parts))
