"""REF arguments: an id (12 or #12), an email, or a name that matches exactly one record."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from crmcli.errors import Ambiguous, NotFound

MAX_LISTED = 5


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
        raise Ambiguous(f"'{ref}' matches {len(matches)} {what}s: {'; '.join(listed)}{more} (use the id)", listed)
    return matches[0]
