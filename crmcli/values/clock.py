"""Time in one place: now() in UTC (frozen by CRM_NOW for tests and demos) and the local zone."""

from __future__ import annotations

import os
from datetime import UTC, datetime, tzinfo

_zone: tzinfo | None = None
_date_order: str | None = None


def now() -> datetime:
    """The current time, aware, in UTC. ``CRM_NOW`` (ISO 8601) freezes it."""
    frozen = os.environ.get("CRM_NOW")
    if frozen:
        return as_utc(datetime.fromisoformat(frozen))
    return datetime.now(UTC)


def set_local_zone(name: str | None) -> None:
    """Use the IANA zone NAME for display and for times typed without a zone (None: the system's)."""
    global _zone
    if name:
        from zoneinfo import ZoneInfo

        _zone = ZoneInfo(name)
    else:
        _zone = None


def local_zone() -> tzinfo | None:
    """The configured zone, or None for the system's own (which honours TZ)."""
    return _zone


def set_date_order(order: str | None) -> None:
    """How numeric dates typed or imported read: dmy, mdy or ymd (config date_order); None: the locale's."""
    global _date_order
    _date_order = order or None


def date_order() -> str | None:
    """The configured date order, or None for the locale's (crmcli.values.when.locale_order)."""
    return _date_order


def as_utc(value: datetime) -> datetime:
    """Aware UTC; a naive value is taken as local time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=_zone) if _zone is not None else value.astimezone()
    return value.astimezone(UTC)


def to_local(value: datetime) -> datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(_zone)  # None: the system's local zone, DST included


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a Z, seconds precision: the form JSON and CSV carry."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"  # 5x strftime's speed


def show_local(value: datetime) -> str:
    """Local time for people: 2026-11-23 14:05."""
    return to_local(value).strftime("%Y-%m-%d %H:%M")
