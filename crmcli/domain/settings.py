"""Settings kept in the database, so a team on one PostgreSQL shares them."""

from __future__ import annotations

from collections.abc import Callable

from sqlmodel import Session, col, select

from crmcli import changelog
from crmcli.errors import Invalid
from crmcli.models import Setting
from crmcli.values.money import currency_code
from crmcli.values.normalize import normalize_email, normalize_name, valid_region
from crmcli.values.when import parse_cadence, valid_order


def _region(value: str) -> str:
    return valid_region(value)


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone '{value}': use an IANA name such as Europe/Berlin") from None
    return value.strip()


def _currency(value: str) -> str:
    return currency_code(value)


def _date_order(value: str) -> str:
    return valid_order(value)


def _backup_keep(value: str) -> str:
    text = value.strip()
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise Invalid(f"invalid number of backups to keep '{value}': a whole number from 1 to 1000")
    return str(int(text))


def _retention(value: str) -> str:
    days = parse_cadence(value)
    return f"{days}d" if days else "off"


def _my_emails(value: str) -> str:
    found = [normalize_email(part) for part in value.replace(";", ",").split(",") if part.strip()]
    if not found:
        raise Invalid("my_emails takes one address or more, separated by commas")
    return ",".join(dict.fromkeys(found))


def _speed_to_lead(value: str) -> str:
    text = value.strip().lower().replace("-", "_")
    if text not in ("any", "outgoing_email"):
        raise Invalid(f"invalid speed_to_lead '{value}': any (the first activity) or outgoing_email")
    return text


def _user(value: str) -> str:
    return normalize_name(value, "user")


# key: (default, validator, help)
KNOWN: dict[str, tuple[str | None, Callable[[str], str], str]] = {
    "default_region": ("US", _region, "country assumed for phone numbers without +country code"),
    "currency": ("EUR", _currency, "default currency for deal amounts (ISO 4217)"),
    "timezone": (None, _timezone, "IANA zone for showing times (default: the system's, TZ)"),
    "date_order": (
        None,
        _date_order,
        "how 1/2/2027 reads: dmy, mdy or ymd (default: the locale's, LC_ALL/LC_TIME/LANG; C: mdy)",
    ),
    "my_emails": (
        None,
        _my_emails,
        "your own addresses, comma-separated: crm mail import logs mail from them as outgoing",
    ),
    "speed_to_lead": (
        "any",
        _speed_to_lead,
        "what reaches a new lead in the KPI: any (the first activity) or outgoing_email (the first email sent)",
    ),
    "retention": (
        "36mo",
        _retention,
        "crm doctor lists contacts untouched (no edit, no activity) for longer: 730d, 24mo, off",
    ),
    "backup.keep": ("10", _backup_keep, "automatic backups kept per database (made before a restore or an undo)"),
}


def get(session: Session, key: str) -> str | None:
    row = session.get(Setting, key)
    if row is not None:
        return row.value
    default = KNOWN.get(key)
    return default[0] if default else None


def get_many(session: Session, *keys: str) -> list[str | None]:
    """The values of KEYS (as get gives them), read in one query."""
    stored = dict(session.exec(select(Setting.key, Setting.value).where(col(Setting.key).in_(keys))).all())
    return [stored[key] if key in stored else (KNOWN[key][0] if key in KNOWN else None) for key in keys]


def set_value(session: Session, key: str, value: str) -> str:
    if key not in KNOWN:
        raise Invalid(f"unknown setting '{key}': known settings are {', '.join(sorted(KNOWN))}")
    cleaned = KNOWN[key][1](value)
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=cleaned))
    else:
        row.value = cleaned
    session.flush()
    return cleaned


def unset(session: Session, key: str) -> None:
    if key not in KNOWN:
        raise Invalid(f"unknown setting '{key}': known settings are {', '.join(sorted(KNOWN))}")
    row = session.get(Setting, key)
    if row is not None:
        session.delete(row)
        session.flush()


def all_settings(session: Session) -> list[dict[str, str | None]]:
    stored = {row.key: row.value for row in session.exec(select(Setting))}
    return [
        {"key": key, "value": stored.get(key, default), "default": default, "help": help_}
        for key, (default, _validator, help_) in sorted(KNOWN.items())
    ]


def current_user() -> str:
    """Who is at the keyboard: on PostgreSQL the database role of the open session, else CRM_USER,
    else the login name. Used as the default owner."""
    return changelog.current_user()
