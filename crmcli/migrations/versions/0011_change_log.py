"""the change log: every write traced, with who and via what; suppression list and erasures

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30

Adds change_set (one per transaction crm writes in), change (one per row written, appended by
triggers on every table that holds records, with the row before and after), suppression (salted
hashes of a forgotten person's emails and phones) and erasure (that a person was forgotten).
SQLite gets change_current, the one-row table through which a write transaction tells the
triggers its change set. crmcli.changelog.install builds the triggers from the tables as they
are; a later migration that changes a logged table's columns calls it again.

Nothing written before this revision is in the log: history starts here.
"""

import sqlalchemy as sa
from alembic import op

from crmcli import changelog

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def _json() -> sa.types.TypeEngine:
    from sqlalchemy.dialects.postgresql import JSONB

    return sa.JSON().with_variant(JSONB(), "postgresql")


def _utc() -> sa.types.TypeEngine:
    from crmcli.models import UTCDateTime

    return UTCDateTime()


def upgrade() -> None:
    conn = op.get_bind()
    pg = conn.dialect.name == "postgresql"
    op.create_table(
        "change_set",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("who", sa.String, nullable=True, server_default=sa.text("current_user") if pg else None),
        sa.Column("via", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("import_id", sa.Integer, nullable=True),
        sa.Column("undoes", sa.Integer, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_change_set_at", "change_set", ["at"])
    op.create_index("ix_change_set_who", "change_set", ["who"])
    op.create_index("ix_change_set_import_id", "change_set", ["import_id"])
    op.create_index("ix_change_set_undoes", "change_set", ["undoes"])
    op.create_table(
        "change",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("set_id", sa.Integer, nullable=True),
        sa.Column("tbl", sa.String, nullable=False),
        sa.Column("op", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("record_id", sa.Integer, nullable=True),
        sa.Column("contact_id", sa.Integer, nullable=True),
        sa.Column("before", _json(), nullable=True),
        sa.Column("after", _json(), nullable=True),
        sa.Column("who", sa.String, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_change_set_id", "change", ["set_id"])
    op.create_index("ix_change_kind_record", "change", ["kind", "record_id"])
    op.create_index("ix_change_contact_id", "change", ["contact_id"])
    op.create_table(
        "suppression",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("digest", sa.String, nullable=False, unique=True),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("erasure_id", sa.Integer, nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "erasure",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("by", sa.String, nullable=True),
        sa.Column("counts", _json(), nullable=False),
        sqlite_autoincrement=True,
    )
    if not pg:
        op.create_table(
            "change_current",
            sa.Column("k", sa.Integer, primary_key=True),
            sa.Column("set_id", sa.Integer, nullable=True),
            sa.Column("paused", sa.Integer, nullable=False, server_default="0"),
            sa.Column("rewrite", sa.Integer, nullable=False, server_default="0"),
            sa.CheckConstraint("k = 1", name="ck_change_current_one_row"),
        )
    changelog.install(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        for table in changelog.LOGGED:
            op.execute(f'DROP TRIGGER IF EXISTS crm_log ON "{table}"')
        op.execute("DROP TRIGGER IF EXISTS crm_log_keep ON change")
        op.execute("DROP TRIGGER IF EXISTS crm_log_keep ON change_set")
        op.execute("DROP FUNCTION IF EXISTS crm_log()")
        op.execute("DROP FUNCTION IF EXISTS crm_log_keep()")
    else:
        names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'crm_log_%'")
        for (name,) in list(names):
            op.execute(f'DROP TRIGGER "{name}"')
        op.drop_table("change_current")
    for table in ("erasure", "suppression", "change", "change_set"):
        op.drop_table(table)
