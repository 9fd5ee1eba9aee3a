"""Address-book fields of contacts and companies: postal address, birthday, website.

Cleaned the same way wherever they are written (crm contacts add, the importer's worker, the
demo), so no database here. A birthday is stored as vCard 4 writes it: "1985-04-15", or
"--04-15" when the year is unknown. A website is an http(s) address: "acme.de" becomes
"https://acme.de".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from crmcli.errors import Invalid
from crmcli.values import clock
from crmcli.values.normalize import clean_text

ADDRESS = ("street", "city", "region", "postcode", "country")

_ISO = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")  # a year written first is never followed by the day
_BASIC = re.compile(r"(\d{4})(\d{2})(\d{2})")
_NO_YEAR = re.compile(r"--(\d{2})-?(\d{2})")  # vCard 4 "--04-15", and its basic form "--0415"


def normalize_birthday(value: str | None) -> str | None:
    """'1985-04-15', '--04-15' (no year), or what dateutil reads as one day only: '15 April 1985',
    '15.04.1985', 'April 15' (no year). '04/05/1985' is refused: April 5 or May 4?"""
    text = clean_text(value)
    if not text:
        return None
    if m := _NO_YEAR.fullmatch(text):
        return _checked(text, None, int(m[1]), int(m[2]))
    if m := _ISO.fullmatch(text) or _BASIC.fullmatch(text):
        return _checked(text, int(m[1]), int(m[2]), int(m[3]))
    from dateutil.parser import ParserError, parse

    # Each reading with two different defaults: a part the text leaves out comes out different.
    readings = set()
    for dayfirst in (False, True):
        for yearfirst in (False, True):
            try:
                pair = [
                    parse(text, default=default, dayfirst=dayfirst, yearfirst=yearfirst)
                    for default in (datetime(2000, 1, 1), datetime(1904, 2, 2))  # both leap years: Feb 29 stays
                ]
            except (ParserError, ValueError, OverflowError):
                continue
            readings.add(tuple((d.year, d.month, d.day) for d in pair))
    if not readings:
        raise Invalid(f"invalid birthday '{text}': use YYYY-MM-DD, or --MM-DD when the year is unknown")
    if len(readings) > 1:
        raise Invalid(f"ambiguous birthday '{text}': write it as YYYY-MM-DD (or --MM-DD)")
    (first, second) = readings.pop()
    if first[1:] != second[1:]:
        raise Invalid(f"invalid birthday '{text}': a birthday needs a day and a month")
    return _checked(text, first[0] if first[0] == second[0] else None, first[1], first[2])


def _checked(text: str, year: int | None, month: int, day: int) -> str:
    try:
        day_ = date(year or 2000, month, day)  # 2000 is a leap year: --02-29 is a birthday
    except ValueError:
        raise Invalid(f"invalid birthday '{text}': no such day") from None
    if year is None:
        return f"--{month:02d}-{day:02d}"
    if day_ > clock.now().date():
        raise Invalid(f"invalid birthday '{text}': it is in the future")
    return day_.isoformat()


def show_birthday(value: str | None) -> str | None:
    """A stored birthday for people: '1985-04-15', or '04-15 (year unknown)'."""
    if value and value.startswith("--"):
        return f"{value[2:]} (year unknown)"
    return value


_SCHEME = re.compile(r"([a-z][a-z0-9+.-]*)://", re.IGNORECASE)
_LABEL = re.compile(r"[^\W_](?:[\w-]*[^\W_])?")  # letters and digits of any script, inner dashes


def normalize_website(value: str | None) -> str | None:
    """An http(s) address: 'acme.de' → 'https://acme.de'; scheme and host in lower case, the rest
    as written. An email, a bare word or another scheme (ftp://, mailto:) is refused."""
    from urllib.parse import urlsplit

    text = clean_text(value)
    if not text:
        return None
    hint = f"invalid website '{text}': use a web address such as https://example.com"
    if " " in text:
        raise Invalid(hint)
    scheme = _SCHEME.match(text)
    if scheme is None:
        text = "https:" + text if text.startswith("//") else "https://" + text
    elif scheme[1].lower() not in ("http", "https"):
        raise Invalid(hint)
    try:
        parts = urlsplit(text)
        port = parts.port  # raises on a port that is not a number
    except ValueError:
        raise Invalid(hint) from None
    if "@" in parts.netloc:
        raise Invalid(f"invalid website '{clean_text(value)}': that is an email address, not a web address")
    host = (parts.hostname or "").rstrip(".")
    labels = host.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
        if not re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", host):  # an IPv4 address will do
            raise Invalid(hint)
    netloc = host + (f":{port}" if port is not None else "")
    path = "" if parts.path == "/" and not parts.query and not parts.fragment else parts.path
    query = f"?{parts.query}" if parts.query else ""
    fragment = f"#{parts.fragment}" if parts.fragment else ""
    return f"{parts.scheme.lower()}://{netloc}{path}{query}{fragment}"


# Countries that write the postcode after the city and region ("Springfield, IL 62701"); the
# rest of the world mostly writes it first ("10115 Berlin").
_POSTCODE_LAST = {
    "us", "usa", "united states", "united states of america", "ca", "canada", "au", "australia", "gb", "uk",
    "united kingdom", "great britain", "england", "scotland", "wales", "ie", "ireland",
}  # fmt: skip


def address_line(record: Mapping[str, Any]) -> str | None:
    """RECORD's postal address on one line, the parts it has: 'Hauptstraße 5, 10115 Berlin, Germany',
    '1 Main St, Springfield, IL 62701, USA'."""
    street, city, region, postcode, country = (clean_text(record.get(k)) for k in ADDRESS)
    if region.casefold() == city.casefold():  # Berlin, Berlin; 上海, 上海
        region = ""
    if (country or "").casefold() in _POSTCODE_LAST:
        parts = [street, city, " ".join(p for p in (region, postcode) if p), country]
    else:
        parts = [street, " ".join(p for p in (postcode, city) if p), region, country]
    return ", ".join(p for p in parts if p) or None
