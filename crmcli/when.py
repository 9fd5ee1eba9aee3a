"""Parse the times people type: --at / --since (the past) and --due / --until (the future).

Everything here is deterministic for a given clock.now() and local zone. Days are local days;
a day without a time means DEFAULT_TIME (09:00 local) for the future. The phrases below are
read by a small grammar of our own, so they mean exactly what the README says; anything else
(month names, "in two weeks", "next week") goes to dateparser, English only, imported on demand.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, time, timedelta

from crmcli import clock
from crmcli.errors import Invalid, UsageError

_AGO = re.compile(r"^(\d+)\s*(m|min|h|d|w)(?:\s+ago)?$")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days", "w": "weeks"}
EXAMPLES = "e.g. 2026-11-23, '2026-11-23 14:30', now, today, yesterday, 3d (3 days ago)"

DEFAULT_TIME = time(9, 0)  # a follow-up given as a day is due at the start of the working day
RANGE = "times between the years 1 and 9999"
FUTURE_EXAMPLES = "tomorrow 9am, 'in 3 days', 3d, 2w, 'next monday', 'fri 14:00', eom, 2026-12-01, '2026-12-01 15:30'"

WEEKDAYS = {
    "mon": 0,
    "monday": 0,
    "tue": 1,
    "tues": 1,
    "tuesday": 1,
    "wed": 2,
    "wednesday": 2,
    "thu": 3,
    "thur": 3,
    "thurs": 3,
    "thursday": 3,
    "fri": 4,
    "friday": 4,
    "sat": 5,
    "saturday": 5,
    "sun": 6,
    "sunday": 6,
}
_OFFSET = re.compile(
    r"^(?:in\s+)?(\d+)\s*(min|mins|minutes?|m|h|hrs?|hours?|d|days?|w|wks?|weeks?|mo|months?)$",
)
_TIME = re.compile(r"^(?:at\s+)?(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|h)?$")


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
        try:
            return now - timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
        except OverflowError:  # 9999999d: before the year 1
            raise Invalid(f"the time '{text.strip()}' is out of range: {RANGE}") from None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise Invalid(f"cannot read the time '{text}' ({EXAMPLES})") from None
    try:
        return clock.as_utc(value)
    except OverflowError:  # 0001-01-01 in a zone east of UTC
        raise Invalid(f"the time '{text.strip()}' is out of range: {RANGE}") from None


# ---------------------------------------------------------------- the future


def local_today() -> date:
    return clock.to_local(clock.now()).date()


def day_start(day: date) -> datetime:
    """Local midnight at the start of DAY, as aware UTC (DST-safe: the zone's own rules)."""
    return clock.as_utc(datetime.combine(day, time()))


def at_local(day: date, at: time) -> datetime:
    """The local wall time AT on DAY, as aware UTC."""
    return clock.as_utc(datetime.combine(day, at))


def add_months(day: date, months: int) -> date:
    """DAY moved by MONTHS, the day of month clamped to the month's length (Jan 31 + 1 → Feb 28)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _time_of(text: str) -> time | None:
    """9am, 9:30am, 9 pm, 14:00, 14.30, 14h, noon, midnight; None if TEXT is no time."""
    if text in ("noon", "midday"):
        return time(12, 0)
    if text == "midnight":
        return time(0, 0)
    m = _TIME.match(text)
    if not m:
        return None
    hour, minute, ampm = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if m.group(2) is None and ampm is None:
        return None  # a bare number is no time: "3" could be anything
    if ampm in ("am", "pm"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def _day_of(words: list[str], today: date) -> date | None:
    """The day named by WORDS (today, tomorrow, [next] weekday, eom, eow), or None."""
    phrase = " ".join(words)
    if phrase in ("today", "tod"):
        return today
    if phrase in ("tomorrow", "tmrw", "tmr"):
        return today + timedelta(days=1)
    if phrase == "eom":  # end of month: its last day
        return today.replace(day=calendar.monthrange(today.year, today.month)[1])
    if phrase == "eow":  # end of the working week: the coming Friday (today if it is Friday)
        return today + timedelta(days=(4 - today.weekday()) % 7)
    if words and words[0] == "next" and len(words) == 2:
        words = words[1:]
    if len(words) == 1 and words[0] in WEEKDAYS:
        # A weekday is the coming one, never today ("fri" on a Friday is a week away).
        ahead = (WEEKDAYS[words[0]] - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    return None


def _offset(raw: str, now: datetime, today: date) -> datetime | None:
    """3d, 2w, 'in 3 days', 1mo at DEFAULT_TIME; 3h, 'in 30 min' counted from now."""
    m = _OFFSET.match(raw)
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2)
    if unit.startswith("mo"):
        return at_local(add_months(today, n), DEFAULT_TIME)
    if unit.startswith("m"):
        return now + timedelta(minutes=n)
    if unit.startswith("h"):
        return now + timedelta(hours=n)
    days = n * 7 if unit.startswith("w") else n
    return at_local(today + timedelta(days=days), DEFAULT_TIME)


def _grammar(raw: str, now: datetime) -> datetime | None:
    today = clock.to_local(now).date()
    if raw == "now":
        return now
    found = _offset(raw, now, today)
    if found is not None:
        return found
    words = raw.replace(",", " ").split()
    if words and words[-1] in ("am", "pm") and len(words) >= 2:  # "9 am" → "9am"
        words = words[:-2] + [words[-2] + words[-1]]
    # DAY [at] [TIME], or TIME alone
    for cut in (len(words), len(words) - 1, len(words) - 2):
        if cut < 0:
            continue
        day_words, rest = words[:cut], words[cut:]
        if rest and rest[0] == "at":
            rest = rest[1:]
        at = _time_of(" ".join(rest)) if rest else DEFAULT_TIME
        if at is None:
            continue
        if not day_words:
            # A time alone: today if it is still ahead, else tomorrow.
            candidate = at_local(today, at)
            return candidate if candidate > now else at_local(today + timedelta(days=1), at)
        day = _day_of(day_words, today)
        if day is not None:
            return at_local(day, at)
    return None


def _iso(text: str) -> datetime | None:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        return at_local(value.date(), DEFAULT_TIME)
    return clock.as_utc(value)


def _fallback(raw: str, now: datetime) -> datetime | None:
    """Other English phrases ("next week", "in two weeks", "dec 1 3pm"), through dateparser."""
    import dateparser

    base = clock.to_local(now).replace(tzinfo=None)
    value = dateparser.parse(
        raw,
        languages=["en"],
        settings={
            "RELATIVE_BASE": base,
            "PREFER_DATES_FROM": "future",
            "RETURN_AS_TIMEZONE_AWARE": False,
            "STRICT_PARSING": False,
        },
    )
    if value is None:
        return None
    if not re.search(r"\d[:.h]\d|\d\s*(am|pm)|noon|midnight", raw) and value.time() in (time(), base.time()):
        value = datetime.combine(value.date(), DEFAULT_TIME)  # a day, named in words: the usual time
    return clock.as_utc(value)


def parse_when(text: str, *, what: str = "time") -> datetime:
    """A moment for a follow-up, as aware UTC: ISO dates and times, and the phrases people type
    (today, tomorrow 9am, in 3 days, 3d, 2w, next monday, fri 14:00, eom). Times without a zone
    are local; a day without a time is DEFAULT_TIME. Unreadable text is a usage error with examples."""
    raw = " ".join((text or "").strip().lower().split())
    if not raw:
        raise UsageError(f"missing {what} (try {FUTURE_EXAMPLES})")
    now = clock.now()
    try:
        found = _iso(text.strip()) or _grammar(raw, now)
        if found is None and re.search(r"[a-z]", raw) and not re.fullmatch(r"[\d\s:.apm]+", raw):
            found = _fallback(raw, now)
    except (OverflowError, ValueError):  # 99999999d, 'in 100000 months': past the year 9999
        raise UsageError(f"the {what} '{text.strip()}' is out of range: {RANGE}") from None
    if found is None:
        raise UsageError(f"cannot read the {what} '{text.strip()}': try {FUTURE_EXAMPLES}")
    return found


_CADENCE = re.compile(r"^(\d+)\s*(d|days?|w|weeks?|mo|months?)$")


def parse_cadence(spec: str | int | None) -> int | None:
    """A keep-in-touch cadence in days: 30, 30d, 4w, 3mo (months count 30 days); off/none/0 clears it.
    Also what an import's `cadence` column goes through."""
    if spec is None:
        return None
    raw = str(spec).strip().lower()
    if raw in ("", "off", "none", "never", "no", "0", "0d"):
        return None
    if raw.isdigit():
        return int(raw)
    m = _CADENCE.match(raw)
    if not m or int(m.group(1)) == 0:
        raise UsageError(f"cannot read the cadence '{spec}': use e.g. 30d, 2w, 3mo, 45, or off")
    n, unit = int(m.group(1)), m.group(2)
    return n * 30 if unit.startswith("mo") else n * 7 if unit.startswith("w") else n
