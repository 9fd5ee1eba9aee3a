"""Reporting periods: the current week, month, quarter or year in the local zone, a named one
(2026-10, 2026-Q3, 2026-W44, 2026), or any span of days, and the period before it.

A period is a run of local days. Its bounds are local midnights, handed to SQL as UTC, so a
day in a zone with daylight saving is 23 or 25 hours long and a deal closed at 00:30 local
time on the 1st belongs to the month it was closed in, wherever the server is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from crmcli.errors import Hint, Invalid, UsageError, literal
from crmcli.values import clock
from crmcli.values.when import add_months, day_start, parse_date

KINDS = ("week", "month", "quarter", "year")
_NAMED = re.compile(r"^(\d{4})(?:-(?:(\d{1,2})|[qQ]([1-4])|[wW](\d{1,2})))?$")
PERIOD_HELP = (
    "week, month, quarter or year: the current one (local time); or a named one: 2026-10, 2026-Q3, 2026-W44, 2026."
)


@dataclass(frozen=True)
class Window:
    """The local days FIRST..LAST (inclusive) of a period; START and END (exclusive) are their
    bounds as aware UTC times, for queries."""

    kind: str  # week | month | quarter | year | days
    first: date
    last: date

    @property
    def start(self) -> datetime:
        return day_start(self.first)

    @property
    def end(self) -> datetime:
        return day_start(self.last + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        if self.kind == "year":
            return f"{self.first.year}"
        if self.kind == "quarter":
            return f"Q{(self.first.month - 1) // 3 + 1} {self.first.year}"
        if self.kind == "month":
            return f"{self.first:%B %Y}"
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"Week {week} {year}"
        return f"{self.first.isoformat()} – {self.last.isoformat()}"

    @property
    def span(self) -> str:
        """'1–30 Nov 2026', for a header."""
        if self.first.year != self.last.year:
            return f"{self.first:%-d %b %Y} – {self.last:%-d %b %Y}"
        if self.first.month != self.last.month:
            return f"{self.first:%-d %b} – {self.last:%-d %b %Y}"
        return f"{self.first.day}–{self.last:%-d %b %Y}"

    def previous(self) -> Window:
        """The period before: the previous week, month, quarter or year; for a span of days, as
        many days ending the day before it starts."""
        if self.kind == "week":
            return Window("week", self.first - timedelta(days=7), self.first - timedelta(days=1))
        if self.kind in ("month", "quarter", "year"):
            months = {"month": 1, "quarter": 3, "year": 12}[self.kind]
            first = add_months(self.first, -months)
            return Window(self.kind, first, self.first - timedelta(days=1))
        return Window("days", self.first - timedelta(days=self.days), self.first - timedelta(days=1))

    def elapsed(self, now: datetime | None = None) -> float:
        """The share of the period that has passed: 0 before it starts, 1 once it is over."""
        now = now or clock.now()
        total = (self.end - self.start).total_seconds()
        return min(1.0, max(0.0, (now - self.start).total_seconds() / total))

    def is_current(self, now: datetime | None = None) -> bool:
        now = now or clock.now()
        return self.start <= now < self.end

    def as_dict(self) -> dict[str, object]:
        return {"label": self.label, "kind": self.kind, "first_day": self.first, "last_day": self.last}


def containing(kind: str, day: date) -> Window:
    """The week, month, quarter or year that DAY falls in."""
    if kind == "week":
        first = day - timedelta(days=day.weekday())
        return Window("week", first, first + timedelta(days=6))
    if kind == "month":
        first = day.replace(day=1)
        return Window("month", first, add_months(first, 1) - timedelta(days=1))
    if kind == "quarter":
        first = date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        return Window("quarter", first, add_months(first, 3) - timedelta(days=1))
    if kind == "year":
        return Window("year", date(day.year, 1, 1), date(day.year, 12, 31))
    raise UsageError(f"unknown period '{kind}': use {', '.join(KINDS)}")


def today() -> date:
    return clock.to_local(clock.now()).date()


def _named(text: str) -> Window | None:
    m = _NAMED.match(text)
    if not m:
        return None
    year = int(m.group(1))
    try:
        if m.group(2):
            return containing("month", date(year, int(m.group(2)), 1))
        if m.group(3):
            return containing("quarter", date(year, (int(m.group(3)) - 1) * 3 + 1, 1))
        if m.group(4):
            return containing("week", date.fromisocalendar(year, int(m.group(4)), 1))
    except ValueError:
        return None
    return containing("year", date(year, 1, 1))


_DAY_EXAMPLES = "use a date such as 2026-11-01, yesterday, 'start of month' or 30d"


def _day(text: str, keyword: str) -> date:
    """A period bound, through the one date reader (crmcli.values.when), leaning back: 2026-11-01,
    yesterday, 'last fri', 'start of month', 'end of last quarter', 30d, 1/11/2026 (date order).
    KEYWORD (since, until) is the argument of window() it came as."""
    try:
        return parse_date(text, what=keyword, lean="past")
    except (UsageError, Invalid):
        what = "first day" if keyword == "since" else "last day"
        raise UsageError(
            f"invalid {what} '{text}': {_DAY_EXAMPLES}",
            hint=Hint(f"invalid {{{keyword}}} '{literal(text)}': {_DAY_EXAMPLES}", form="{hint}"),
        ) from None


def window(
    period: str | None = None, since: str | None = None, until: str | None = None, *, default: str = "month"
) -> Window:
    """The period the options name: --period (current or named), or --since/--until (local days,
    both included; --until defaults to today), else the current DEFAULT period."""
    if period and (since or until):
        raise UsageError(
            "a period and a first or last day: one of them, not both",
            hint=Hint("give either {period} or {since}/{until}, not both", form="{hint}"),
        )
    if since or until:
        if not since:
            raise UsageError("a last day without a first day", hint=Hint("{until} needs {since}", form="{hint}"))
        first = _day(since, "since")
        last = _day(until, "until") if until else today()
        if last < first:
            raise UsageError(
                f"the last day {last} is before the first day {first}",
                hint=Hint(f"{{until}} {last} is before {{since}} {first}", form="{hint}"),
            )
        return Window("days", first, last)
    text = (period or default).strip().lower()
    if text in KINDS:
        return containing(text, today())
    found = _named(text)
    if found is None:
        raise UsageError(f"unknown period '{period}': use {PERIOD_HELP}")
    return found


def months_from(first: date, count: int) -> list[Window]:
    """COUNT calendar months starting with the one FIRST falls in."""
    start = first.replace(day=1)
    return [containing("month", add_months(start, i)) for i in range(count)]
