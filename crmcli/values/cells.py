"""What crm writes into a file's cell or JSON text: safe for a spreadsheet, a terminal and a reader.

A cell that a spreadsheet would run as a formula ("=1+2", "@SUM(…)") is written with a leading
apostrophe, and `unneutralize` gives back exactly what was written, so an export imports again as
it was. JSON escapes what json.dumps leaves raw (C1 controls, bidi overrides and isolates).
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# What json.dumps(ensure_ascii=False) leaves raw that a terminal or an editor would act on.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
_NEUTRALISED = re.compile(r"'+[=+\-@\t\r]")
_FIRST = frozenset("=+-@\t\r'")  # the first characters worth a closer look


def neutralize(text: str) -> str:
    """TEXT made safe for a spreadsheet cell: "=1+2" → "'=1+2"; "+4915112345678" and "-5" stay."""
    if not text or text[0] not in _FIRST or _PLAIN_NUMBER.fullmatch(text):
        return text
    if text[0] != "'" or _NEUTRALISED.match(text):
        return "'" + text
    return text


def unneutralize(text: str) -> str:
    """The inverse of neutralize, for importers: "'=1+2" → "=1+2"; "'tis" stays."""
    if isinstance(text, str) and text[:1] == "'" and _NEUTRALISED.match(text):
        return text[1:]
    return text


def jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float)):  # most values: nothing to convert
        return value
    from crmcli.values.clock import iso_utc

    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def dumps(data: Any) -> str:
    """DATA as JSON for stdout: what json.dumps leaves raw (C1, bidi controls) escaped as \\u0085."""
    text = json.dumps(jsonable(data), ensure_ascii=False, indent=2)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
