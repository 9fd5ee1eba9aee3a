"""Parse the times people type for --at / --since: ISO dates and times plus a few words.

The follow-up issue extends this with phrases ("tomorrow 9am", "in 3 days"); everything
here is deterministic for a given clock.now().
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from crmcli import clock
from crmcli.errors import Invalid

_AGO = re.compile(r"^(\d+)\s*(m|min|h|d|w)(?:\s+ago)?$")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
EXAMPLES = "e.g. 2026-11-23, '2026-11-23 14:30', now, today, yesterday, 3d (3 days ago)"


def parse_past(text: str) -> datetime:
    """A moment at or before now, as aware UTC. Dates mean local midnight."""
    raw = text.strip().lower()
    now = clock.now()
    local_now = clock.to_local(now)
    if raw == "now":
        return now
    if raw in ("today", "yesterday"):
        day = local_now.date() - timedelta(days=1 if raw == "yesterday" else 0)
        return clock.as_utc(datetime.combine(day, time()))
    m = _AGO.match(raw)
    if m:
        return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"cannot read the time '{text}' ({EXAMPLES})") from None
    return clock.as_utc(value)
