"""Tags on any record type, kept in a link table (contact_tag, company_tag, …)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, select

from crmcli.values.normalize import normalize_tag


def set_tags(
    session: Session, link: Any, fk: str, record_id: int, add: Iterable[str], remove: Iterable[str] = ()
) -> None:
    """Add and remove tags (normalised) on one record."""
    column = getattr(link, fk)
    current = set(session.exec(select(link.tag).where(column == record_id)))
    for tag in dict.fromkeys(normalize_tag(t) for t in add):
        if tag not in current:
            session.add(link(**{fk: record_id, "tag": tag}))
    drop = {normalize_tag(t) for t in remove} & current
    if drop:
        session.execute(delete(link).where(column == record_id, link.tag.in_(drop)))
    session.flush()


def tags_of(session: Session, link: Any, fk: str, ids: list[int]) -> dict[int, list[str]]:
    """Each record's tags, sorted."""
    out: dict[int, list[str]] = defaultdict(list)
    if ids:
        column = getattr(link, fk)
        for record_id, tag in session.exec(select(column, link.tag).where(column.in_(ids)).order_by(link.tag)):
            out[record_id].append(tag)
    return out


def having_tag(model: Any, link: Any, fk: str, tag: str) -> Any:
    """A WHERE clause: records of MODEL carrying TAG."""
    return model.id.in_(select(getattr(link, fk)).where(link.tag == normalize_tag(tag)))
