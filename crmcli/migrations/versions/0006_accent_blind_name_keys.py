"""name keys fold accents: recompute them

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

Contacts, companies and deals are looked up and matched by a key that is now accent-folded
as well as case-folded ('anna muller' finds 'Anna Müller'). Keys stored before are rewritten.
"""

import sqlalchemy as sa
from alembic import op

from crmcli.values.normalize import name_key

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = (("contact", "name", "name_key"), ("company", "name", "name_key"), ("deal", "title", "title_key"))


def upgrade() -> None:
    conn = op.get_bind()
    for table, source, key in TABLES:
        t = sa.table(table, sa.column("id", sa.Integer), sa.column(source, sa.String), sa.column(key, sa.String))
        changed = [
            {"b_id": row.id, "b_key": name_key(getattr(row, source))}
            for row in conn.execute(sa.select(t.c.id, t.c[source], t.c[key]))
            if name_key(getattr(row, source)) != getattr(row, key)
        ]
        if changed:
            conn.execute(t.update().where(t.c.id == sa.bindparam("b_id")).values({key: sa.bindparam("b_key")}), changed)


def downgrade() -> None:
    conn = op.get_bind()
    for table, source, key in TABLES:
        t = sa.table(table, sa.column("id", sa.Integer), sa.column(source, sa.String), sa.column(key, sa.String))
        rows = [
            {"b_id": r.id, "b_key": " ".join(r[1].split()).casefold()}
            for r in conn.execute(sa.select(t.c.id, t.c[source]))
        ]
        if rows:
            conn.execute(t.update().where(t.c.id == sa.bindparam("b_id")).values({key: sa.bindparam("b_key")}), rows)
