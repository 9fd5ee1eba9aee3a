"""The floor for `crm kpi --period quarter`: the same SQL statements crm sends, run with the
standard sqlite3 module, every row fetched. No SQLAlchemy, no Typer, no crmcli.

    python bench/kpi_baseline.py DB STATEMENTS.json

STATEMENTS.json is [[sql, params], ...] as bench/kpi.py recorded them from crm itself (the
`before_cursor_execute` event of its engine), so the statements are crm's, word for word.
"""

from __future__ import annotations

import json
import sqlite3
import sys


def main() -> None:
    db, statements = sys.argv[1], json.loads(open(sys.argv[2]).read())
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = [con.execute(sql, params).fetchall() for sql, params in statements]
    sys.stdout.write(json.dumps({"statements": len(rows), "rows": sum(len(r) for r in rows)}) + "\n")


if __name__ == "__main__":
    main()
