"""The floor for `crm followups overdue --format json`: the same two SQL statements crm sends
(the dated follow-ups, then the keep-in-touch cadences), run with the standard sqlite3 module
and printed as JSON. No SQLAlchemy, no Typer, no crmcli.

    python bench/followups_baseline.py DB [BEFORE]

BEFORE is the start of today in UTC as crm stores times ('2026-11-23 00:00:00.000000').
bench/followups.py checks that these statements are, word for word, the ones crm sends.
"""

from __future__ import annotations

import json
import sqlite3
import sys

OVERDUE_SQL = """
SELECT followup.id, followup.due_at, followup.note, followup.owner, followup.every, followup.from_done,
 followup.origin, followup.contact_id, followup.company_id, followup.deal_id, followup.uid, followup.done_at,
 followup.created_at, followup.updated_at, deal.title, contact.name, company.name AS name_1
FROM followup LEFT OUTER JOIN deal ON deal.id = followup.deal_id
 LEFT OUTER JOIN contact ON contact.id = followup.contact_id
 LEFT OUTER JOIN company ON company.id = followup.company_id
WHERE followup.done_at IS NULL AND followup.due_at < ? ORDER BY followup.due_at, followup.id
"""
CADENCE_SQL = """
SELECT contact.id, contact.name, contact.owner, contact.cadence_days, contact.created_at,
 (SELECT max(activity.at) AS max_1 FROM activity WHERE activity.contact_id = contact.id) AS last
FROM contact WHERE contact.cadence_days IS NOT NULL
"""
KEYS = (
    "id due_at note owner every from_done origin contact_id company_id deal_id uid done_at created_at updated_at "
    "deal contact company"
).split()


def main() -> None:
    db = sys.argv[1]
    before = sys.argv[2] if len(sys.argv) > 2 else "2026-11-23 00:00:00.000000"
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = [dict(zip(KEYS, r, strict=True)) for r in con.execute(OVERDUE_SQL, (before,))]
    # cadence contacts are due cadence_days after their last activity: the ones already overdue
    from datetime import datetime, timedelta

    start = datetime.fromisoformat(before)
    for cid, name, owner, days, created, last in con.execute(CADENCE_SQL):
        base = max(created, last) if last else created
        due = datetime.fromisoformat(base) + timedelta(days=days)
        if due < start:
            rows.append({"id": f"c{cid}", "due_at": due.isoformat(), "contact": name, "owner": owner})
    sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
