"""One reader for the dates and times people type: every option that takes one (--at, --since,
--until, --due, --close, --closing-before, period bounds) and the date cells of an import.

`read` is the reader: a pure function of the text, a reference moment (`now`, aware), the local
zone and the date order (how 1/2/2027 reads: dmy, mdy or ymd). It leans to the future (--due,
snooze --until, --close) or to the past (--at, --since, period bounds), which decides what a
weekday, a bare time, an age like 3d or a date without a year mean. It reads, in this order:

  ISO 8601       2026-12-01, 2026-12-01 15:30, 2026-12-01T15:30+01:00
  moments        now, in 3 h, 30 min, 2 hours ago
  days           today, tomorrow, yesterday; mon … sun (next, last, this); 3d, 2w, 1mo, 1y,
                 in 3 days, 3 days ago, a week ago; eod, eow, eom, eoq, eoy, end of [this|next|last]
                 week/month/quarter/year, start of …; 1/2/2027, 1.2.27 (the date order),
                 2027/1/2 (year first is always year-month-day); dec 1, 1 december 2026
  DAY TIME       tomorrow 9am, fri 14:00, 2027-01-02 9:30, 1/2/2027 15:00, in 3 days at noon
  TIME           14:00, 9am, 9:30 pm, noon, midnight, 14h: leaning ahead the next such time
                 (today if still ahead, else tomorrow), leaning back the last one
  anything else  other English phrases ("next week", "in two weeks"), through dateparser,
                 imported only then (the cron path never loads it)

A day without a time is DEFAULT_TIME (09:00 local) leaning ahead, local midnight leaning back.
An age leaning back (3d, 2w) keeps the time of day: `--since 1d` is the last 24 hours.
"End of" a week is its Friday (the working week), at END_OF_DAY (17:00) leaning ahead; eow,
eom, eoq, eoy, eod and "end of week" without this/next/last are never already over when asked:
once that moment has passed they mean the next one (Friday 18:00: eow is next Friday 17:00).
"Start of month" (and week, quarter, year) likewise leaning ahead. Days are local days,
so "tomorrow 9:00" and "in 1 week" keep the wall-clock time across a daylight-saving change;
hours and minutes (in 24 h) are exact. A wall time that a DST change skips (02:30 on the night
clocks go forward) is read with the offset before the change (03:30 summer time), one that
occurs twice as its first occurrence.
"""

from __future__ import annotations

import calendar
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache

from crmcli.errors import Hint, Invalid, UsageError
from crmcli.values import clock

DEFAULT_TIME = time(9, 0)  # a follow-up given as a day is due at the start of the working day
END_OF_DAY = time(17, 0)  # "end of week/month/…": the end of the working day
ORDERS = ("dmy", "mdy", "ymd")
RANGE = "times between the years 1 and 9999"
EXAMPLES = "e.g. 2026-11-23, '2026-11-23 14:30', now, today, 'yesterday 15:00', 3d (3 days ago), 'last fri'"
FUTURE_EXAMPLES = "tomorrow 9am, 'in 3 days', 3d, 2w, 'next monday', 'fri 14:00', eom, 2026-12-01, '2026-12-01 15:30'"
DATE_EXAMPLES = "2026-12-31, 'in 3 weeks', eom, 'end of quarter', 'dec 31', or 12/31/2026 as config date_order says"

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
MONTHS = {
    name: number
    for number, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        start=1,
    )
    for name in names
}
_UNIT = r"(mo|mos|months?|min|mins|minutes?|m|h|hrs?|hours?|d|days?|w|wks?|weeks?|y|yrs?|years?)"
_OFFSET = re.compile(
    rf"^(in\s+)?(?:(\d+)\s*|(an?|one)\s+){_UNIT}(\s+ago|\s+from\s+now|\s+later)?$",
)
_TIME = re.compile(r"^(\d{1,2})(?:[:.h](\d{2})(?::(\d{2}))?)?\s*(am|pm|h)?$")
_BOUND = re.compile(
    r"^(?:(eo)(d|w|m|q|y)|(end|start|beginning)\s+of\s+(?:the\s+)?(?:(this|next|last|previous)\s+)?"
    r"(day|week|month|quarter|year))$"
)
_NUMERIC = re.compile(r"^(\d{1,4})([/.-])(\d{1,2})\2(\d{1,4})\.?$")
_SHORT = re.compile(r"^(\d{1,2})/(\d{1,2})$")
_ORDINAL = r"(\d{1,2})(?:st|nd|rd|th)?"
_MONTH_DAY = re.compile(rf"^([a-z]+)\.?\s+{_ORDINAL}(?:\s+(\d{{4}}))?$")
_DAY_MONTH = re.compile(rf"^{_ORDINAL}\.?\s+(?:of\s+)?([a-z]+)\.?(?:\s+(\d{{4}}))?$")
_ISO = re.compile(r"\d{4}-\d\d-\d\d(?:[Tt ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?)?(?:[Zz]|[+-]\d\d(?::?\d\d)?)?")


class PastTime(UsageError):
    """A time for something still to do that has already passed (the caller may allow it)."""


@dataclass(frozen=True)
class Reading:
    """What a text means: the moment AT (aware UTC), its local DAY, and whether the text named a
    time of day or a moment (TIMED) rather than only a day."""

    at: datetime
    day: date
    timed: bool

    def is_past(self, now: datetime, zone: tzinfo | None) -> bool:
        """Before NOW: a day is past once it is over (today is not), a time once it has passed."""
        if self.timed:
            return self.at < now
        return self.day < now.astimezone(zone).date()


@dataclass(frozen=True)
class _Ctx:
    now: datetime
    zone: tzinfo | None
    order: str | None
    ahead: bool
    day_time: time
    local_now: datetime

    @property
    def today(self) -> date:
        return self.local_now.date()

    def wall(self, day: date, at: time) -> datetime:
        """The local wall time AT on DAY, as aware UTC (the zone's own DST rules)."""
        naive = datetime.combine(day, at)
        aware = naive.replace(tzinfo=self.zone) if self.zone is not None else naive.astimezone()
        return aware.astimezone(UTC)

    def date_order(self) -> str:
        return self.order or locale_order()


@dataclass(frozen=True)
class _Day:
    day: date
    default: time | None = None  # this phrase's own time of day when none is named
    exact: bool = False  # the default is a moment (3d ago keeps the time of day): the reading is timed
    roll: Callable[[], date] | None = None  # leaning ahead, the next such day once this one has passed


def read(
    text: str,
    *,
    now: datetime,
    zone: tzinfo | None = None,
    order: str | None = None,
    lean: str = "future",
    day_time: time | None = None,
    fallback: bool = True,
) -> Reading | None:
    """TEXT as a Reading, or None when it is no date or time. NOW: the reference moment (aware);
    ZONE: the local zone (None: the system's); ORDER: dmy, mdy or ymd for numeric dates (None:
    the locale's, see locale_order); LEAN: "future" or "past"; DAY_TIME: the time of a day given
    without one (default: 09:00 leaning ahead, midnight leaning back); FALLBACK: try dateparser on
    other English phrases. Raises OverflowError or ValueError for moments outside years 1-9999."""
    if lean not in ("future", "past"):
        raise ValueError(f"lean must be future or past, not {lean!r}")
    if order is not None and order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {order!r}")
    stripped = (text or "").strip()
    raw = " ".join(stripped.lower().replace("a.m.", "am").replace("p.m.", "pm").split())
    if not raw or (raw.startswith("in ") and raw.endswith(" ago")):  # "in 3 days ago": which?
        return None
    ahead = lean == "future"
    ctx = _Ctx(
        now=now,
        zone=zone,
        order=order,
        ahead=ahead,
        day_time=day_time if day_time is not None else (DEFAULT_TIME if ahead else time()),
        local_now=now.astimezone(zone),
    )
    found = _iso(stripped, ctx) or _moment(raw, ctx) or _phrase(raw, ctx)
    if found is None and fallback and re.search(r"[a-z]", raw) and not re.fullmatch(r"[\d\s:.apm]+", raw):
        found = _dateparser(raw, ctx)
    return found


def _iso(text: str, ctx: _Ctx) -> Reading | None:
    if not _ISO.fullmatch(text):
        return None
    try:
        value = datetime.fromisoformat(text.upper().replace(",", "."))
    except ValueError:
        return None
    if len(text) == 10:  # a day
        return _reading(_Day(value.date()), None, ctx)
    at = ctx.wall(value.date(), value.time()) if value.tzinfo is None else value.astimezone(UTC)
    return Reading(at, at.astimezone(ctx.zone).date(), True)


def _offset(raw: str, ctx: _Ctx) -> tuple[int, str] | None:
    """(signed count, unit) of 3d, 2 weeks, in 3 days, 2 hours ago, a week ago; a bare age counts
    the way the reader leans."""
    m = _OFFSET.match(raw)
    if not m or (m.group(1) and m.group(5) and "ago" in m.group(5)):
        return None
    n = int(m.group(2)) if m.group(2) else 1
    unit = m.group(4)
    if unit.startswith("mo"):
        unit = "months"
    elif unit.startswith("mi") or unit == "m":
        unit = "minutes"
    else:
        unit = {"h": "hours", "d": "days", "w": "weeks", "y": "years"}[unit[0]]
    if m.group(5) and "ago" in m.group(5):
        sign = -1
    elif m.group(1) or m.group(5):
        sign = 1
    else:
        sign = 1 if ctx.ahead else -1
    return sign * n, unit


def _moment(raw: str, ctx: _Ctx) -> Reading | None:
    """now, and ages in hours and minutes: exact, whatever the wall clock does."""
    if raw in ("now", "right now"):
        return Reading(ctx.now, ctx.today, True)
    found = _offset(raw, ctx)
    if found is None or found[1] not in ("hours", "minutes"):
        return None
    at = ctx.now + timedelta(**{found[1]: found[0]})
    return Reading(at, at.astimezone(ctx.zone).date(), True)


def _merge_ampm(words: list[str]) -> list[str]:
    """'9 am' → '9am', wherever it is."""
    out: list[str] = []
    for word in words:
        if word in ("am", "pm") and out and re.fullmatch(r"[\d:.]+", out[-1]):
            out[-1] += word
        else:
            out.append(word)
    return out


def _phrase(raw: str, ctx: _Ctx) -> Reading | None:
    """DAY [at] [TIME], TIME [on] DAY, or a TIME alone."""
    words = _merge_ampm(raw.replace(",", " ").split())
    n = len(words)
    for cut in range(n, 0, -1):  # DAY [at] [TIME]
        rest = words[cut:]
        if rest and rest[0] in ("at", "@"):
            rest = rest[1:]
        at = None
        if rest:
            at = _time_of(" ".join(rest))
            if at is None:
                continue
        day = _day_of(words[:cut], ctx)
        if day is not None:
            return _reading(day, at, ctx)
    for cut in range(1, n):  # TIME [on] DAY
        at = _time_of(" ".join(w for w in words[:cut] if w not in ("at", "@")))
        if at is None:
            continue
        rest = words[cut:]
        if rest[0] == "on":
            rest = rest[1:]
        day = _day_of(rest, ctx) if rest else None
        if day is not None:
            return _reading(day, at, ctx)
    at = _time_of(" ".join(w for w in words if w not in ("at", "@")))
    if at is None:
        return None
    today = ctx.today
    candidate = ctx.wall(today, at)
    if ctx.ahead:  # the next such time: today if still ahead, else tomorrow
        on = today if candidate > ctx.now else today + timedelta(days=1)
    else:  # the last one: today if already passed, else yesterday
        on = today if candidate <= ctx.now else today - timedelta(days=1)
    return Reading(ctx.wall(on, at), on, True)


def _reading(day: _Day, at: time | None, ctx: _Ctx) -> Reading:
    timed = at is not None or day.exact
    when = at if at is not None else day.default if day.default is not None else ctx.day_time
    found = ctx.wall(day.day, when)
    if day.roll is not None and ctx.ahead and found <= ctx.now:
        later = day.roll()
        return Reading(ctx.wall(later, when), later, timed)
    return Reading(found, day.day, timed)


def _time_of(text: str) -> time | None:
    """9am, 9:30am, 9 pm, 14:00, 14:00:30, 14.30, 14h, noon, midnight; None if TEXT is no time."""
    if text in ("noon", "midday"):
        return time(12, 0)
    if text == "midnight":
        return time(0, 0)
    m = _TIME.match(text)
    if not m:
        return None
    hour, minute, second, ampm = int(m.group(1)), int(m.group(2) or 0), int(m.group(3) or 0), m.group(4)
    if m.group(2) is None and ampm is None:
        return None  # a bare number is no time: "3" could be anything
    if ampm in ("am", "pm"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if ampm == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    return time(hour, minute, second)


def _shift(day: date, count: int, unit: str) -> date:
    if unit == "months":
        return add_months(day, count)
    if unit == "years":
        return add_months(day, 12 * count)
    return day + timedelta(**{unit: count})


def _bounds(kind: str, today: date, shift: int) -> tuple[date, date]:
    """The first and last day of the day, working week (Monday to Friday), month, quarter or
    year SHIFT such units from the one TODAY is in."""
    if kind == "day":
        day = today + timedelta(days=shift)
        return day, day
    if kind == "week":
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=shift)
        return monday, monday + timedelta(days=4)
    months = {"month": 1, "quarter": 3, "year": 12}[kind]
    start = date(today.year, 1, 1) if kind == "year" else date(today.year, (today.month - 1) // months * months + 1, 1)
    first = add_months(start, months * shift)
    return first, add_months(first, months) - timedelta(days=1)


def _day_of(words: list[str], ctx: _Ctx) -> _Day | None:
    """The day WORDS name, or None."""
    phrase = " ".join(words)
    today = ctx.today
    if phrase in ("today", "tod"):
        return _Day(today)
    if phrase in ("tomorrow", "tmrw", "tmr", "tmw"):
        return _Day(today + timedelta(days=1))
    if phrase in ("yesterday", "yday", "yest"):
        return _Day(today - timedelta(days=1))
    offset = _offset(phrase, ctx)
    if offset is not None:
        count, unit = offset
        if unit in ("hours", "minutes"):
            return None
        day = _shift(today, count, unit)
        if ctx.ahead or count > 0:
            return _Day(day)
        return _Day(day, default=ctx.local_now.time().replace(tzinfo=None), exact=True)  # an age: this time of day
    if 1 <= len(words) <= 2 and words[-1] in WEEKDAYS:
        which = words[0] if len(words) == 2 else ""
        if which not in ("", "on", "next", "coming", "last", "past", "this"):
            return None
        target, weekday = WEEKDAYS[words[-1]], today.weekday()
        if which == "this":  # the one in this week, Monday to Sunday
            return _Day(today + timedelta(days=target - weekday))
        if which in ("next", "coming") or (which in ("", "on") and ctx.ahead):
            return _Day(today + timedelta(days=(target - weekday) % 7 or 7))  # never today
        return _Day(today - timedelta(days=(weekday - target) % 7 or 7))  # the last one, never today
    m = _BOUND.match(phrase)
    if m:
        if m.group(1):
            kind = {"d": "day", "w": "week", "m": "month", "q": "quarter", "y": "year"}[m.group(2)]
            end, relative = True, None
        else:
            kind, end, relative = m.group(5), m.group(3) == "end", m.group(4)
        shift = {None: 0, "this": 0, "next": 1, "last": -1, "previous": -1}[relative]
        pick = 1 if end else 0
        roll: Callable[[], date] | None = None
        if relative is None:  # "eow", "end of week": never one already over (leaning ahead)

            def following() -> date:
                return _bounds(kind, today, shift + 1)[pick]

            roll = following

        default = END_OF_DAY if end and ctx.ahead else None
        return _Day(_bounds(kind, today, shift)[pick], default=default, roll=roll)
    return _numeric(phrase, ctx) or _named_month(phrase, ctx)


def _century(year: str, today: date) -> int:
    """A two-digit year: within 50 years ahead of today, else the century before (99 → 1999)."""
    value = int(year)
    if len(year) > 2:
        return value
    full = today.year // 100 * 100 + value
    return full if full <= today.year + 50 else full - 100


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _without_year(month: int, day: int, ctx: _Ctx) -> _Day | None:
    """Day and month without a year: the next such day leaning ahead (today included), else the last."""
    today = ctx.today
    step = 1 if ctx.ahead else -1
    for year in (today.year, today.year + step, today.year + 2 * step, today.year + 4 * step):
        found = _valid(year, month, day)
        if found is not None and (found >= today if ctx.ahead else found <= today):
            return _Day(found)
    return None


def _numeric(phrase: str, ctx: _Ctx) -> _Day | None:
    """1/2/2027, 01.02.27, 2027/1/2, 2027-1-2 and (with a slash) 1/2: a four-digit year first is
    always year-month-day; otherwise the date order says (ymd with the year last: month, day)."""
    m = _NUMERIC.match(phrase)
    if m:
        a, b, c = m.group(1), m.group(3), m.group(4)
        if len(a) == 4:
            if len(c) > 2:
                return None
            y, mo, d = a, b, c
        elif len(a) == 3:
            return None
        elif len(c) > 2:  # the year last
            d, mo, y = (a, b, c) if ctx.date_order() == "dmy" else (b, a, c)
        else:
            order = ctx.date_order()
            parts = dict(zip(order, (a, b, c), strict=True))
            y, mo, d = parts["y"], parts["m"], parts["d"]
        if len(y) == 3:
            return None
        found = _valid(_century(y, ctx.today), int(mo), int(d))
        return _Day(found) if found else None
    m = _SHORT.match(phrase)
    if m:
        a, b = int(m.group(1)), int(m.group(2))
        month, day = (b, a) if ctx.date_order() == "dmy" else (a, b)
        return _without_year(month, day, ctx)
    return None


def _named_month(phrase: str, ctx: _Ctx) -> _Day | None:
    """dec 1, december 1st 2026, 1 dec, 1st of december 2026 (English month names)."""
    m = _MONTH_DAY.match(phrase)
    if m and m.group(1) in MONTHS:
        month, day, year = MONTHS[m.group(1)], int(m.group(2)), m.group(3)
    else:
        m = _DAY_MONTH.match(phrase)
        if not m or m.group(2) not in MONTHS:
            return None
        month, day, year = MONTHS[m.group(2)], int(m.group(1)), m.group(3)
    if year is None:
        return _without_year(month, day, ctx)
    found = _valid(int(year), month, day)
    return _Day(found) if found else None


def _dateparser(raw: str, ctx: _Ctx) -> Reading | None:
    """Other English phrases ("next week", "in two weeks", "last tuesday of march"), through dateparser."""
    import dateparser

    base = ctx.local_now.replace(tzinfo=None)
    value = dateparser.parse(
        raw,
        languages=["en"],
        settings={
            "RELATIVE_BASE": base,
            "PREFER_DATES_FROM": "future" if ctx.ahead else "past",
            "DATE_ORDER": ctx.date_order().upper(),
            "RETURN_AS_TIMEZONE_AWARE": False,
            "STRICT_PARSING": False,
        },
    )
    if value is None:
        return None
    timed = bool(re.search(r"\d[:.h]\d|\d\s*(am|pm)|noon|midnight", raw))
    if not timed and value.time() in (time(), base.time()):
        value = datetime.combine(value.date(), ctx.day_time)  # a day, named in words: the usual time
    return Reading(ctx.wall(value.date(), value.time()), value.date(), timed)


# ---------------------------------------------------------------- the date order


def locale_order(environ: dict[str, str] | None = None) -> str:
    """The date order of the user's locale for dates (LC_ALL, else LC_TIME, else LANG, as POSIX
    ranks them): the order of day, month and year in its short date format (CLDR, through Babel):
    de_DE → dmy, en_US → mdy, ja_JP → ymd. C, POSIX, unset or unknown: mdy (POSIX's %x)."""
    env = os.environ if environ is None else environ
    name = next((env[var] for var in ("LC_ALL", "LC_TIME", "LANG") if env.get(var)), "")
    return _order_of_locale(name)


@lru_cache(maxsize=16)
def _order_of_locale(name: str) -> str:
    base = name.split(".")[0].split("@")[0]
    if base in ("", "C", "POSIX"):
        return "mdy"
    from babel import Locale, UnknownLocaleError
    from babel.dates import get_date_format

    try:
        pattern = get_date_format("short", locale=Locale.parse(base)).pattern
    except (UnknownLocaleError, ValueError, TypeError):  # "xx_YY", "de-DE-x-private": no such locale
        return "mdy"
    positions = {letter: pattern.find(letter) for letter in "yMd"}
    if min(positions.values()) < 0:
        return "mdy"
    return "".join(sorted("yMd", key=positions.__getitem__)).lower()


def valid_order(value: str) -> str:
    """A date order as stored (config date_order): dmy, mdy or ymd."""
    cleaned = value.strip().lower().replace("/", "").replace("-", "").replace(".", "")
    cleaned = {"ddmmyyyy": "dmy", "mmddyyyy": "mdy", "yyyymmdd": "ymd"}.get(cleaned, cleaned)
    if cleaned not in ORDERS:
        raise Invalid(f"unknown date order '{value}': use dmy (31/12/2026), mdy (12/31/2026) or ymd (2026/12/31)")
    return cleaned


# ---------------------------------------------------------------- for commands: clock, zone, config


def _read(text: str, what: str, lean: str, error: type[Exception], day_time: time | None = None) -> Reading | None:
    now = clock.now()
    try:
        return read(text, now=now, zone=clock.local_zone(), order=clock.date_order(), lean=lean, day_time=day_time)
    except (OverflowError, ValueError):  # 99999999d, 'in 100000 months': past the year 9999
        raise error(f"the {what} '{text.strip()}' is out of range: {RANGE}") from None


def parse_when(text: str, *, what: str = "time", allow_past: bool = True) -> datetime:
    """A moment for something to do (a follow-up's due time, a snooze), as aware UTC: leaning
    ahead, a day without a time at 09:00. Unreadable text is a usage error with examples; with
    ALLOW_PAST false, a time already past (a day before today) is PastTime, naming the time."""
    raw = (text or "").strip()
    if not raw:
        raise UsageError(f"missing {what} (try {FUTURE_EXAMPLES})")
    found = _read(raw, what, "future", UsageError)
    if found is None:
        raise UsageError(f"cannot read the {what} '{raw}': try {FUTURE_EXAMPLES}")
    if not allow_past and found.is_past(clock.now(), clock.local_zone()):
        raise PastTime(
            f"the {what} '{raw}' is {clock.show_local(found.at)}, in the past",
            hint=Hint("use {allow_past} to set it anyway", form="{message}: {hint}"),
        )
    return found.at


def parse_past(text: str, *, what: str = "time") -> datetime:
    """A moment that has happened or a lower bound (--at, --since), as aware UTC: leaning back, a
    day means its local midnight and an age (3d) keeps the time of day. Unreadable: Invalid."""
    raw = (text or "").strip()
    found = _read(raw, what, "past", Invalid) if raw else None
    if found is None:
        raise Invalid(f"cannot read the {what} '{raw}' ({EXAMPLES})")
    return found.at


def parse_date(text: str, *, what: str = "date", lean: str = "future", error: type[Exception] = UsageError) -> date:
    """A calendar day (close dates, period bounds): the local day the text names."""
    raw = (text or "").strip()
    found = _read(raw, what, lean, error) if raw else None
    if found is None:
        raise error(f"cannot read the {what} '{raw}': try {DATE_EXAMPLES}")
    return found.day


# ---------------------------------------------------------------- days and months


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
