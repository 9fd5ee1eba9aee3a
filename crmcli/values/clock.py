"""Time in one place: now() in UTC (frozen by CRM_NOW for tests and demos) and the local zone.

The local zone (and how numeric dates read) is the system's unless a caller says otherwise for a
block of work: ``with clock.local_time("Europe/Berlin"):`` — what the command line does with the
config's timezone and date_order. It is a context variable, not a process-wide setting: it holds for
the thread (or asyncio task) that entered the block, until the block ends, and the library itself
never sets it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, tzinfo

_zone: ContextVar[tzinfo | None] = ContextVar("crm_local_zone", default=None)
_date_order: ContextVar[str | None] = ContextVar("crm_date_order", default=None)


def now() -> datetime:
    """The current time, aware, in UTC. ``CRM_NOW`` (ISO 8601) freezes it."""
    frozen = os.environ.get("CRM_NOW")
    if frozen:
        return as_utc(datetime.fromisoformat(frozen))
    return datetime.now(UTC)


def zone_of(zone: str | tzinfo | None) -> tzinfo | None:
    """ZONE as a tzinfo: an IANA name (Europe/Berlin) or a tzinfo; None or '' for the system's."""
    if not zone:
        return None
    if isinstance(zone, tzinfo):
        return zone
    from zoneinfo import ZoneInfo

    return ZoneInfo(zone)


@contextmanager
def local_time(zone: str | tzinfo | None = None, date_order: str | None = None) -> Iterator[None]:
    """Inside the block, times show in ZONE and times typed without a zone are read in it (None:
    the system's), and numeric dates read in DATE_ORDER (dmy, mdy or ymd; None: the locale's);
    afterwards, what held before. Only this thread or task sees it (a context variable)."""
    zone_token = _zone.set(zone_of(zone))
    order_token = _date_order.set(date_order or None)
    try:
        yield
    finally:
        _date_order.reset(order_token)
        _zone.reset(zone_token)


def set_local_zone(name: str | tzinfo | None) -> None:
    """Use the zone NAME from here on in this thread or task (None: the system's), for a script or
    a test that wants one zone throughout; the library never calls it (see local_time)."""
    _zone.set(zone_of(name))


def local_zone() -> tzinfo | None:
    """The zone in force (local_time), or None for the system's own (which honours TZ)."""
    return _zone.get()


def set_date_order(order: str | None) -> None:
    """How numeric dates read from here on in this thread or task: dmy, mdy or ymd; None: the
    locale's (see local_time; the library never calls it)."""
    _date_order.set(order or None)


def date_order() -> str | None:
    """The date order in force (local_time), or None for the locale's (crmcli.values.when.locale_order)."""
    return _date_order.get()


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive value is taken as local time."""
    if value.tzinfo is None:
        zone = _zone.get()
        value = value.replace(tzinfo=zone) if zone is not None else value.astimezone()
    return value.astimezone(UTC)


def to_local(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(_zone.get())  # None: the system's local zone, DST included


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a Z, seconds precision: the form JSON and CSV carry."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"  # 5x strftime's speed


def show_local(value: datetime) -> str:
    """Local time for people: 2026-11-23 14:05."""
    return to_local(value).strftime("%Y-%m-%d %H:%M")
