"""REF arguments: an id (12 or #12), an email, or a name that matches exactly one record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from crmcli.errors import Ambiguous, NotFound

MAX_LISTED = 5

# Notes the resolve_* functions leave for people ("#35 was merged into #3 …"). The command line
# prints them on stderr as they come (set_note_sink); a library caller may read them with take_notes.
_sink: Callable[[str], None] | None = None
_notes: list[str] = []


def set_note_sink(sink: Callable[[str], None] | None) -> None:
    global _sink
    _sink = sink


def note(text: str) -> None:
    if _sink is not None:
        _sink(text)
    else:
        del _notes[:-99]  # a long-running caller that never reads them keeps only the latest
        _notes.append(text)


def take_notes() -> list[str]:
    """The notes left since the last call (when no sink prints them)."""
    taken = _notes[:]
    _notes.clear()
    return taken


def as_id(ref: str) -> int | None:
    text = ref.strip().lstrip("#")
    return int(text) if text.isdigit() else None


def pick_one(what: str, ref: str, matches: Sequence[Any], describe: Callable[[Any], str]) -> Any:
    """The single match, or NotFound / Ambiguous naming the candidates."""
    if not matches:
        raise NotFound(f"no {what} matches '{ref}'")
    if len(matches) > 1:
        listed = [describe(m) for m in matches[:MAX_LISTED]]
        more = f" and {len(matches) - MAX_LISTED} more" if len(matches) > MAX_LISTED else ""
        many = f"{what[:-1]}ies" if what.endswith("y") else f"{what}s"  # companies, activities
        raise Ambiguous(f"'{ref}' matches {len(matches)} {many}: {'; '.join(listed)}{more} (use the id)", listed)
    return matches[0]


def follow_merges(session: Any, entity: str, record_id: int) -> tuple[int, Any] | None:
    """(the id RECORD_ID now lives on, when it was first merged away) after following the merge log
    of ENTITY (contact or company) through later merges, or None when it was never merged."""
    from sqlmodel import select

    from crmcli.models import MergeRecord

    current, at, seen = record_id, None, {record_id}
    while True:
        row = session.exec(
            select(MergeRecord.kept_id, MergeRecord.at)
            .where(MergeRecord.entity == entity, MergeRecord.merged_id == current)
            .order_by(MergeRecord.id.desc())
        ).first()
        if row is None or row[0] in seen:
            break
        current, at = row[0], at or row[1]
        seen.add(current)
    return None if at is None else (current, at)


def merged_record(session: Any, model: Any, entity: str, record_id: int) -> Any:
    """The record RECORD_ID was merged into (following later merges), with a note saying so, or
    NotFound: no ENTITY with that id, saying where a merged one went if it is gone too."""
    from crmcli import clock

    found = follow_merges(session, entity, record_id)
    if found is None:
        raise NotFound(f"no {entity} with id {record_id}")
    kept_id, at = found
    day = clock.show_local(at)[:10]
    record = session.get(model, kept_id)
    if record is None:
        raise NotFound(f"no {entity} with id {record_id} (merged into #{kept_id} on {day}, since removed)")
    label = getattr(record, "name", "")
    note(f"#{record_id} was merged into #{kept_id} {label} on {day}; using #{kept_id}")
    return record
