"""The suppression list: the emails and phones of people forgotten on request, kept only as
salted hashes, so that adding or importing them again is refused (or skipped and reported) while
nothing readable about them stays.

The salt is random per database (a setting no command shows); the hash is SHA-256 of salt, kind
and the value as crm stores it (an email lower-cased, a phone in E.164)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable

from sqlmodel import Session, col, select

from crmcli.errors import Conflict, Hint
from crmcli.models import Setting, Suppression
from crmcli.values import clock

SALT_KEY = "privacy.salt"
ALLOW = Hint("{allow_suppressed} adds it anyway")


def _salt(session: Session, create: bool = False) -> str | None:
    row = session.get(Setting, SALT_KEY)
    if row is None and create:
        row = Setting(key=SALT_KEY, value=secrets.token_hex(16))
        session.add(row)
        session.flush()
    return row.value if row is not None else None


def digest(salt: str, kind: str, value: str) -> str:
    return hashlib.sha256(f"{salt}\x00{kind}\x00{value}".encode()).hexdigest()


def add(session: Session, emails: Iterable[str], phones: Iterable[str], erasure_id: int | None = None) -> int:
    """Suppress EMAILS and PHONES (as stored); returns how many were new to the list."""
    salt = _salt(session, create=True)
    assert salt is not None
    wanted = {digest(salt, "email", e): "email" for e in emails} | {digest(salt, "phone", p): "phone" for p in phones}
    have = (
        set(session.exec(select(Suppression.digest).where(col(Suppression.digest).in_(list(wanted)))))
        if wanted
        else set()
    )
    now = clock.now()
    for value, kind in wanted.items():
        if value not in have:
            session.add(Suppression(kind=kind, digest=value, at=now, erasure_id=erasure_id))
    session.flush()
    return len(set(wanted) - have)


def suppressed(session: Session, emails: Iterable[str] = (), phones: Iterable[str] = ()) -> list[str]:
    """Those of EMAILS and PHONES (as stored) that are on the suppression list."""
    salt = _salt(session)
    if salt is None:
        return []
    by_digest = {digest(salt, "email", e): e for e in emails} | {digest(salt, "phone", p): p for p in phones}
    if not by_digest:
        return []
    found = set(session.exec(select(Suppression.digest).where(col(Suppression.digest).in_(list(by_digest)))))
    return [value for key, value in by_digest.items() if key in found]


def refuse(session: Session, emails: Iterable[str] = (), phones: Iterable[str] = ()) -> None:
    """Conflict when any of EMAILS or PHONES belongs to a person forgotten on request."""
    hit = suppressed(session, emails, phones)
    if hit:
        raise Conflict(f"{hit[0]} belongs to a person erased on request (the suppression list): not added", hint=ALLOW)
