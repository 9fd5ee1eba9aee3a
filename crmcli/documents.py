"""Search documents: what each record's row in search_doc says. No database here, so the
importer's worker process can compose documents without importing SQLAlchemy."""

from __future__ import annotations

from typing import Any

from crmcli.normalize import clean_text, fold_accents


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
) -> list[str | None]:
    """What a contact's search document is made of (the importer writes the same)."""
    return [name, title, company, " ".join(emails), " ".join(phones), " ".join(tags), notes,
            *(str(v) for v in custom.values())]  # fmt: skip


def contact_document(
    name: str,
    title: str | None,
    company: str | None,
    emails: list[str],
    phones: list[str],
    tags: list[str],
    notes: str | None,
    custom: dict[str, Any],
) -> str:
    """A contact's document body, tags in order (the importer's rows and records)."""
    return compose(*document_parts(name, title, company, emails, phones, sorted(tags), notes, custom))
