"""Follow-ups as iCalendar (RFC 5545), written with the icalendar library.

One VEVENT per open follow-up. Its UID is the follow-up's own (kept for its whole life, a
recurring one included), so importing a newer export updates the events instead of adding
copies; SEQUENCE and LAST-MODIFIED grow with each change. Times are in UTC. Recurring
follow-ups carry an RRULE; every event has a VALARM at its start. Imported only by
`crm followups export`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from icalendar import Alarm, Calendar, Event

from crmcli.domain.followups import rrule

PRODID = "-//crmcli//follow-ups//EN"
DURATION = timedelta(minutes=15)
ALARM_BEFORE = timedelta(0)  # remind when the follow-up is due


def _summary(row: dict[str, Any]) -> str:
    what = row["note"] or "Follow up"
    return f"{what} – {row['subject']}" if row.get("subject") else what


def _description(row: dict[str, Any]) -> str:
    lines = [f"{(row['subject_kind'] or 'record').capitalize()}: {row['subject']}"]
    if row.get("note"):
        lines.append(row["note"])
    if row.get("owner"):
        lines.append(f"Owner: {row['owner']}")
    lines.append(f"Done? crm followups done {row['id']}")
    return "\n".join(lines)


def _sequence(row: dict[str, Any]) -> int:
    """A revision number that grows with each change: seconds from creation to the last update."""
    created: datetime = row["created_at"]
    updated: datetime = row["updated_at"] or created
    return max(0, int((updated - created).total_seconds()))


def followups_ics(rows: list[dict[str, Any]]) -> bytes:
    """An iCalendar file with one event per follow-up row (as followups.list_followups gives them)."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "crm follow-ups")
    for row in rows:
        event = Event()
        event.add("uid", row["uid"])
        event.add("dtstamp", row["updated_at"] or row["created_at"])
        event.add("created", row["created_at"])
        event.add("last-modified", row["updated_at"] or row["created_at"])
        event.add("sequence", _sequence(row))
        event.add("dtstart", row["due_at"])
        event.add("duration", DURATION)
        event.add("summary", _summary(row))
        event.add("description", _description(row))
        event.add("categories", ["follow-up", row["kind"]])
        event.add("transp", "TRANSPARENT")
        if row["kind"] == "followup" and row.get("every"):
            event.add("rrule", rrule(row["every"]))
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", _summary(row))
        alarm.add("trigger", -ALARM_BEFORE)
        event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical()
