"""JSON and JSON Lines as tables: what `crm export … x.json` and `crm … list -f json` write, and
what other tools' APIs dump.

- .json: an array of objects; an object holding one (`{"contacts": [...]}`, `{"data": [...]}`);
  or a single object. Numbered by position (record 1, 2, …).
- .jsonl / .ndjson: one object a line, numbered by line; a line that is not an object is
  reported as a rejected row and the rest import.

Limits, as for CSV: a JSON file is read whole (json.load), so one of more than MAX_JSON bytes is
refused in one line (JSON Lines streams: each line may be up to table.MAX_LINE characters), and
a record may have at most table.MAX_COLUMNS keys.

Objects are flattened as exports flatten them (`{"custom": {"tier": "gold"}}` → `custom.tier`),
lists of plain values are one cell with a value a line (emails, phones, tags), JSON's types are
kept: a custom field whose values are all true/false is declared yes/no (`custom.KEY:bool`), all
numbers a number. Lists of objects (a record's activities …) are not taken and are reported.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crmcli.errors import Invalid
from crmcli.importer.table import MAX_COLUMNS, MAX_LINE, Table, Unreadable

MAX_JSON = 100 * 1024**2  # a JSON array held in memory takes ~10x its size: bigger files should be JSON Lines

LIST_KEYS = ("data", "records", "results", "items", "rows", "contacts", "companies", "deals", "activities", "followups")


def _flat(record: dict[str, Any], out: dict[str, Any], prefix: str, nested: set[str]) -> dict[str, Any]:
    for key, value in record.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            _flat(value, out, f"{name}.", nested)
        elif isinstance(value, list) and any(isinstance(v, (dict, list)) for v in value):
            nested.add(name)  # a list of records: not a value of this one
        elif isinstance(value, list):
            out[name] = "\n".join("" if v is None else str(v) if not isinstance(v, bool) else str(v).lower()
                                  for v in value)  # fmt: skip
        else:
            out[name] = value
    return out


def _records(path: Path) -> tuple[str, Iterator[tuple[int, Any]]]:
    """('json' | 'json lines', (number, object or Unreadable) …)."""
    if path.suffix.lower() in (".jsonl", ".ndjson"):

        def lines() -> Iterator[tuple[int, Any]]:
            with path.open("r", encoding="utf-8-sig") as fh:
                number = 0
                while line := fh.readline(MAX_LINE + 1):
                    number += 1
                    if len(line) > MAX_LINE:
                        raise Invalid(
                            f"cannot import {path.name}: line {number:,} is longer than {MAX_LINE:,} characters"
                        )
                    if not line.strip():
                        continue
                    try:
                        value = json.loads(line)
                    except json.JSONDecodeError as exc:
                        yield number, Unreadable(f"not JSON: {exc.msg} (column {exc.colno})", line.strip()[:200])
                        continue
                    if not isinstance(value, dict):
                        yield number, Unreadable(f"not a JSON object but {type(value).__name__}", line.strip()[:200])
                        continue
                    yield number, value

        return "json lines", lines()
    size = path.stat().st_size
    if size > MAX_JSON:
        raise Invalid(
            f"cannot import {path.name}: {size:,} bytes of JSON is more than {MAX_JSON:,} to hold at once; "
            "write it as JSON Lines (.jsonl, a record a line) instead"
        )
    try:
        with path.open("r", encoding="utf-8-sig") as fh:
            data = json.load(fh)
    except json.JSONDecodeError as exc:
        raise Invalid(f"cannot read {path.name}: not JSON ({exc.msg}, line {exc.lineno} column {exc.colno})") from None
    except UnicodeDecodeError:
        raise Invalid(f"cannot read {path.name}: not UTF-8 text") from None
    if isinstance(data, dict):
        lists = [data[k] for k in LIST_KEYS if isinstance(data.get(k), list)]
        lists = lists or [v for v in data.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        data = lists[0] if lists else [data]
    if not isinstance(data, list):
        raise Invalid(f"cannot import {path.name}: JSON holding {type(data).__name__}, not records")

    def items() -> Iterator[tuple[int, Any]]:
        for number, value in enumerate(data, start=1):
            if isinstance(value, dict):
                yield number, value
            else:
                yield number, Unreadable(f"record {number} is not a JSON object but {type(value).__name__}")

    return "json", items()


def read_json(path: Path) -> Table:
    """PATH as a table; read twice for JSON Lines (once for the columns, once for the rows) so a
    big file is never held whole."""
    kind, first = _records(path)
    if kind == "json":  # held whole by json.load anyway: read once
        first = iter(held := list(first))
    headers: dict[str, None] = {}
    types: dict[str, set[str]] = {}
    nested: set[str] = set()
    count = 0
    for _, record in first:
        count += 1
        if isinstance(record, Unreadable):
            continue
        flat = _flat(record, {}, "", nested)
        headers.update(dict.fromkeys(flat))
        if len(headers) > MAX_COLUMNS:
            raise Invalid(f"cannot import {path.name}: its records have more than {MAX_COLUMNS:,} keys")
        for key, value in flat.items():
            if key.startswith("custom.") and value is not None and value != "":
                types.setdefault(key, set()).add(
                    "bool" if isinstance(value, bool) else "number" if isinstance(value, (int, float)) else "text"
                )
    if not headers:
        raise Invalid(f"cannot import {path.name}: no records in it")
    names = list(headers)
    shown = [f"{k}:{next(iter(types[k]))}" if len(types.get(k, ())) == 1 and "text" not in types[k] else k
             for k in names]  # fmt: skip

    def rows() -> Iterator[tuple[int, Any]]:
        again = iter(held) if kind == "json" else _records(path)[1]
        for number, record in again:
            if isinstance(record, Unreadable):
                yield number, record
                continue
            flat = _flat(record, {}, "", set())
            yield number, ["" if flat.get(k) is None else flat.get(k) for k in names]

    return Table(shown, rows(), kind, estimate=count, ignored=sorted(nested - set(names)))
