"""private records and assignment rules

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

contact, company and deal get `private` (seen only by the owner and admins; a team database on
PostgreSQL enforces it with row-level security, see crm team setup). assignment_rule holds the
rules that give new records an owner (crm rules). The change-log triggers are rebuilt for the new
columns, and the rules are logged.
"""

import sqlalchemy as sa
from alembic import op

from crmcli import changelog

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from sqlalchemy.dialects.postgresql import JSONB

    from crmcli.models import UTCDateTime

    for table in ("contact", "company", "deal"):
        op.add_column(table, sa.Column("private", sa.Boolean, nullable=False, server_default=sa.false()))
    json = sa.JSON().with_variant(JSONB(), "postgresql")
    op.create_table(
        "assignment_rule",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entity", sa.String, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("field", sa.String, nullable=False),
        sa.Column("value", sa.String, nullable=True),
        sa.Column("owners", json, nullable=False),
        sa.Column("turn", sa.Integer, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sqlite_autoincrement=True,
    )
    changelog.install(op.get_bind())


def downgrade() -> None:
    conn = op.get_bind()
    changelog.uninstall(conn)  # SQLite drops no column a trigger names
    op.drop_table("assignment_rule")
    for table in ("contact", "company", "deal"):
        # in place (ALTER TABLE … DROP COLUMN, SQLite 3.35+): a copied table would cascade-delete
        # every email, phone, activity and follow-up pointing at it
        op.execute(f"ALTER TABLE {table} DROP COLUMN private")
    changelog.install(conn)
