"""Cell values as people and Excel write them, made into what crm stores.

Numbers stored as text and text stored as numbers, Excel date serials, phones that lost their
leading 0 or their + (or turned into 4.9176e+11), several emails or phones in one cell,
non-breaking spaces and full-width digits.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from crmcli.errors import Invalid
from crmcli.values import clock, when
from crmcli.values.addressbook import normalize_birthday, normalize_website
from crmcli.values.cells import unneutralize
from crmcli.values.normalize import clean_multiline, clean_text, normalize_email, normalize_phone

_SPLIT = re.compile(r"\s*(?::::|[;,\n\r])\s*")  # Google joins values with " ::: "
_SCIENTIFIC = re.compile(r"^([+-]?\d)(?:[.,](\d+))?[eE]\+?(\d+)$")
EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 1 = 1900-01-01, counting Excel's phantom 1900-02-29


def text(value: Any) -> str:
    """Any cell as clean text: integral floats lose their '.0', dates become ISO."""
    if value.__class__ is str:  # most cells
        return clean_text(unneutralize(value))  # crm's exports write "=1+2" as "'=1+2"
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        # a spreadsheet's date cell arrives as a datetime at midnight: the date is what was written
        return value.date().isoformat() if value.time() == time() and value.tzinfo is None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return clean_text(unneutralize(str(value)))  # crm's exports write "=1+2" as "'=1+2"


def text_lines(value: Any) -> str:
    """A cell as text that keeps its line breaks (notes, addresses): each line cleaned."""
    if isinstance(value, str):
        return multiline(unneutralize(value))
    return text(value)


def multiline(raw: str) -> str:
    """Each line cleaned, blank lines at either end dropped, CR LF read as one break: the notes
    cleaning every write uses (normalize.clean_multiline)."""
    return clean_multiline(raw)


def split(value: Any) -> list[str]:
    """'a@x.de; b@x.de', 'a ::: b' or one per line → the parts."""
    raw = unneutralize(value) if isinstance(value, str) else text(value)
    return [part for part in (clean_text(p) for p in _SPLIT.split(raw)) if part]


def emails(value: Any) -> list[str]:
    return list(dict.fromkeys(email(part) for part in split(value)))


_MAILTO = re.compile(r"^mailto:", re.IGNORECASE)


def email(part: str) -> str:
    """One address: 'mailto:' and angle brackets ('Anna <anna@x.de>') taken off, then checked."""
    raw = _MAILTO.sub("", part.strip())
    inner = re.search(r"<([^<>]+@[^<>]+)>", raw)
    return normalize_email(inner.group(1) if inner else raw)


def _digits_of(value: Any) -> str:
    """A phone cell that Excel made a number: 491761234567.0 → '491761234567'; scientific notation
    keeps its digits only when the mantissa still holds them all."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if isinstance(value, float) and not value.is_integer():
            raise Invalid(f"invalid phone '{value}': not a whole number")
        return str(int(value))
    raw = unicodedata.normalize("NFKC", text(value))
    m = _SCIENTIFIC.match(raw.replace(" ", ""))
    if m:
        lead, fraction, exponent = m.group(1), m.group(2) or "", int(m.group(3))
        if len(fraction) < exponent:
            raise Invalid(
                f"invalid phone '{raw}': Excel turned it into scientific notation and dropped digits; "
                "store the column as text and export again"
            )
        return lead + fraction[:exponent] if len(fraction) == exponent else raw
    return raw


def phone(value: Any, region: str) -> str:
    """E.164, recovering a lost '+' (491761234567) or a lost leading 0 (1761234567 in DE)."""
    import phonenumbers

    raw = _digits_of(value)
    digits = re.sub(r"\D", "", raw)
    bare = bool(digits) and len(digits) == len(re.sub(r"[\s().\-/]", "", raw))  # only digits and separators
    candidates = [raw]
    if bare and not digits.startswith("0"):
        code = str(phonenumbers.country_code_for_region(region.upper()))
        # digits that start with the region's country code most likely lost their '+'
        lost_plus, lost_zero = f"+{digits}", f"0{digits}"
        candidates = (
            [lost_plus, raw, lost_zero]
            if digits.startswith(code) and len(digits) >= 10
            else [raw, lost_plus, lost_zero]
        )
    first: Invalid | None = None
    for candidate in candidates:
        try:
            return normalize_phone(candidate, region)
        except Invalid as exc:
            first = first or exc
    assert first is not None
    raise Invalid(str(first).replace(f"'{candidates[0]}'", f"'{raw}'")) from None


def phones(value: Any, region: str) -> list[str]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return [phone(value, region)]
    return list(dict.fromkeys(phone(part, region) for part in split(value)))


def moment(value: Any, *, dayfirst: bool = False, order: str | None = None, lean: str = "past") -> datetime | None:
    """A date or time cell as aware UTC: datetimes, dates (local midnight), Excel serials, ISO
    text, what `crm` options take (crmcli.values.when: 1/2/2027 in the date ORDER, else month first, or
    day first with DAYFIRST; 'yesterday 15:00', 'dec 1'), then what dateutil reads ('Tue, 3 Mar 2026
    10:00:00 +0100')."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return clock.as_utc(value)
    if isinstance(value, date):
        return clock.as_utc(datetime.combine(value, time()))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _serial(float(value))
    raw = unicodedata.normalize("NFKC", text(value))
    if not raw:
        return None
    if re.fullmatch(r"\d{5}(\.\d+)?", raw):
        return _serial(float(raw))
    try:
        return clock.as_utc(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        pass
    order = order or ("dmy" if dayfirst else "mdy")
    try:  # the reader of crm's options, without its dateparser fallback (a million rows)
        found = when.read(
            raw, now=clock.now(), zone=clock.local_zone(), order=order, lean=lean, day_time=time(), fallback=False
        )
    except (OverflowError, ValueError):
        found = None
    if found is not None:
        return found.at
    from dateutil import parser

    try:
        return clock.as_utc(parser.parse(raw, dayfirst=order == "dmy", yearfirst=order == "ymd"))
    except (ValueError, OverflowError):
        raise Invalid(f"invalid date '{raw}': use YYYY-MM-DD (or a date Excel understands)") from None


def as_date(value: Any) -> Any:
    """A spreadsheet's date or datetime cell as a date; anything else as it is."""
    if isinstance(value, datetime):
        return value.date()
    return value


def birthday(value: Any) -> str:
    """A birthday cell as crm stores it (addressbook.normalize_birthday): a spreadsheet's date cell
    is its day; Apple writes an unknown year as 1604."""
    if isinstance(value, datetime):
        value = value.date()
    raw = value.isoformat() if isinstance(value, date) else text(value)
    if raw.startswith("1604-"):
        raw = "--" + raw[5:]
    found = normalize_birthday(raw)
    if found is None:
        raise Invalid("empty birthday")
    return found


def website(value: Any) -> str:
    """A web address (addressbook.normalize_website): 'acme.de' → 'https://acme.de'."""
    found = normalize_website(text(value))
    if found is None:
        raise Invalid("empty website")
    return found


def _serial(number: float) -> datetime:
    if not 1 <= number < 2_958_466:  # Excel's range: 1900-01-01 … 9999-12-31
        raise Invalid(f"invalid date '{number:g}': not an Excel date")
    return clock.as_utc(EXCEL_EPOCH + timedelta(days=number))


def day(value: Any, *, dayfirst: bool = False, order: str | None = None) -> date | None:
    """A calendar date (close dates): the local day of the moment; phrases lean ahead (eoq)."""
    found = moment(value, dayfirst=dayfirst, order=order, lean="future")
    return clock.to_local(found).date() if found else None


def decimal(value: Any) -> Decimal | None:
    """'12,000.50', '12.000,50', '€ 1 200', 1.5e3 → Decimal; '' → None."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    raw = unicodedata.normalize("NFKC", text(value))
    raw = re.sub(r"[^\d,.\-eE]", "", raw)
    if "," in raw and "." in raw:
        raw = raw.replace(",", "") if raw.rfind(".") > raw.rfind(",") else raw.replace(".", "").replace(",", ".")
    elif "," in raw:
        raw = raw.replace(",", ".") if re.search(r",\d{1,2}$", raw) and raw.count(",") == 1 else raw.replace(",", "")
    try:
        return Decimal(raw) if raw else None
    except InvalidOperation:
        raise Invalid(f"invalid amount '{text(value)}'") from None
