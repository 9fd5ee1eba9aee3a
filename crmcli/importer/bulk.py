"""The importer's bulk path: rows written with one executemany of the driver."""

from __future__ import annotations

from collections.abc import Callable
from operator import itemgetter
from typing import Any


def placeholder(dialect: Any) -> str:
    """The driver's parameter mark, for statements sent with exec_driver_sql."""
    return "?" if dialect.paramstyle == "qmark" else "%s"


def insert_rows(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """ROWS (dicts with the same keys) inserted with one executemany of the driver, each value
    converted by its column's type as SQLAlchemy would. Core's executemany spends more time
    building per-row parameters than SQLite spends inserting; the importer's batches use this."""
    if not rows:
        return
    dialect = conn.dialect
    columns = list(rows[0])
    processors = [table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    mark = placeholder(dialect)
    sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    get = itemgetter(*columns) if len(columns) > 1 else (lambda r: (r[columns[0]],))
    convert = [(i, _remembering(p)) for i, p in enumerate(processors) if p is not None]
    if not convert:
        conn.exec_driver_sql(sql, [get(r) for r in rows])
        return
    params = []
    for r in rows:
        values = list(get(r))
        for i, p in convert:
            values[i] = p(values[i])
        params.append(tuple(values))
    conn.exec_driver_sql(sql, params)


_EMPTY = object()


def _remembering(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """PROCESS, with its result for each value remembered for one statement: a batch's rows share
    their timestamps and repeat a few JSON values ({} mostly), and converting each again (astimezone,
    json.dumps) cost more than SQLite's inserts. Values are told apart by type too (1, 1.0, True)."""
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        key = (value.__class__, value)
        try:
            return cache[key]
        except KeyError:
            cache[key] = result = process(value)
            return result
        except TypeError:  # unhashable: JSON's dicts ({} mostly, else a few distinct ones) and lists
            if not value:
                key = (value.__class__, _EMPTY)
            elif isinstance(value, dict):
                # in order (JSON keeps the keys' order), each value with its type (1, 1.0, True)
                key = (dict, tuple((k, v.__class__, v) for k, v in value.items()))
            else:
                return process(value)
            try:
                return cache[key]
            except KeyError:
                cache[key] = result = process(value)
                return result
            except TypeError:  # nested lists or dicts
                return process(value)

    return convert
