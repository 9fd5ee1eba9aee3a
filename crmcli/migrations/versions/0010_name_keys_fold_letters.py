"""name keys fold letters such as ø, ł, æ: recompute them

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01

Name keys now read the Latin letters that Unicode does not split into a base letter and an accent
as people type them without the key for it: 'soren odegard' finds 'Søren Ødegård', 'lodz' finds
'Łódź'. Keys stored before are rewritten (only names with such a letter change).
"""

import re
import unicodedata

import sqlalchemy as sa
from alembic import op

from crmcli.values.normalize import name_key

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

TABLES = (("contact", "name", "name_key"), ("company", "name", "name_key"), ("deal", "title", "title_key"))
# the combining marks 0009's keys removed, kept here as they were then
COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")


def upgrade() -> None:
    conn = op.get_bind()
    for table, source, key in TABLES:
        t = sa.table(table, sa.column("id", sa.Integer), sa.column(source, sa.String), sa.column(key, sa.String))
        changed = [
            {"b_id": row.id, "b_key": name_key(getattr(row, source))}
            for row in conn.execute(sa.select(t.c.id, t.c[source], t.c[key]))
            if not getattr(row, source).isascii() and name_key(getattr(row, source)) != getattr(row, key)
        ]
        if changed:
            conn.execute(t.update().where(t.c.id == sa.bindparam("b_id")).values({key: sa.bindparam("b_key")}), changed)

    # search documents carry an accent-folded copy of their text (documents.compose), folded the
    # old way: add the new folding where it differs, so that 'soren' finds what was stored before
    from crmcli.values.normalize import fold_accents

    doc = sa.table("search_doc", sa.column("id", sa.Integer), sa.column("body", sa.String))
    letters = "øØđĐðÐłŁħĦŧŦıæÆœŒþÞ"
    refreshed = []
    for row in conn.execute(sa.select(doc.c.id, doc.c.body)):
        body = row.body or ""
        if body.isascii() or not any(ch in body for ch in letters):
            continue
        folded = fold_accents(body)
        if folded != body and folded not in body:
            refreshed.append({"b_id": row.id, "b_body": f"{body} {folded}"})
    if refreshed:
        conn.execute(
            doc.update().where(doc.c.id == sa.bindparam("b_id")).values(body=sa.bindparam("b_body")), refreshed
        )


def _old_key(value: str) -> str:
    """name_key as 0009 made it: accents NFKD splits off removed, other letters kept."""
    from crmcli.values.normalize import clean_text

    text = clean_text(value)
    if not text.isascii():
        text = unicodedata.normalize("NFC", COMBINING.sub("", unicodedata.normalize("NFKD", text)))
    return " ".join(text.casefold().split())


def downgrade() -> None:
    conn = op.get_bind()
    for table, source, key in TABLES:
        t = sa.table(table, sa.column("id", sa.Integer), sa.column(source, sa.String), sa.column(key, sa.String))
        changed = [
            {"b_id": row.id, "b_key": _old_key(getattr(row, source))}
            for row in conn.execute(sa.select(t.c.id, t.c[source], t.c[key]))
            if not getattr(row, source).isascii() and _old_key(getattr(row, source)) != getattr(row, key)
        ]
        if changed:
            conn.execute(t.update().where(t.c.id == sa.bindparam("b_id")).values({key: sa.bindparam("b_key")}), changed)
