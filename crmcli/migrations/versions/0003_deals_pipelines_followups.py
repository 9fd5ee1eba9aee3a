"""deals, pipelines, stage history, follow-ups

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

Pipelines with their stages (a fresh database gets the default sales pipeline), deals, the
stage history of every move, follow-ups, activities on deals, and contact cadences.
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

from crmcli.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pipeline",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "stage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("rot_days", sa.Integer(), nullable=True),
        sa.Column(
            "required", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("on_enter", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipeline.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("pipeline_id", "name"),
    )
    with op.batch_alter_table("stage", schema=None) as batch_op:
        batch_op.create_index("ix_stage_pipeline_position", ["pipeline_id", "position"], unique=False)

    op.create_table(
        "deal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("title_key", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("pipeline_id", sa.Integer(), nullable=False),
        sa.Column("stage_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("amount_minor", sa.BigInteger(), nullable=True),
        sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("close_date", sa.Date(), nullable=True),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("notes", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("stage_entered_at", UTCDateTime(), nullable=False),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("lost_reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column(
            "custom", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["pipeline_id"], ["pipeline.id"], ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(["stage_id"], ["stage.id"], ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deal_close_date"), ["close_date"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_external_id"), ["external_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_owner"), ["owner"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_pipeline_id"), ["pipeline_id"], unique=False)
        batch_op.create_index("ix_deal_stage_currency_amount", ["stage_id", "currency", "amount_minor"], unique=False)
        batch_op.create_index("ix_deal_stage_amount", ["stage_id", "amount_minor"], unique=False)
        batch_op.create_index("ix_deal_stage_entered", ["stage_id", "stage_entered_at"], unique=False)
        batch_op.create_index("ix_deal_status_closed", ["status", "closed_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_deal_title_key"), ["title_key"], unique=False)

    op.create_table(
        "followup",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uid", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("deal_id", sa.Integer(), nullable=True),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("every", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("from_done", sa.Boolean(), nullable=False),
        sa.Column("origin", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["contact_id"], ["contact.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("uid"),
    )
    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_followup_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_followup_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_followup_deal_id"), ["deal_id"], unique=False)
        batch_op.create_index("ix_followup_open_due", ["done_at", "due_at"], unique=False)
        batch_op.create_index("ix_followup_owner_open_due", ["owner", "done_at", "due_at"], unique=False)

    op.create_table(
        "stage_history",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deal_id", sa.Integer(), nullable=False),
        sa.Column("from_stage_id", sa.Integer(), nullable=True),
        sa.Column("from_stage", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("to_stage_id", sa.Integer(), nullable=False),
        sa.Column("to_stage", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["deal_id"], ["deal.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stage_history", schema=None) as batch_op:
        batch_op.create_index("ix_stage_history_deal_at", ["deal_id", "at"], unique=False)
        batch_op.create_index("ix_stage_history_to_at", ["to_stage_id", "at"], unique=False)

    # SQLite cannot add a foreign key in place: batch mode copies the table (once, on upgrade).
    with op.batch_alter_table("activity") as batch_op:
        batch_op.add_column(sa.Column("deal_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_activity_deal_id", "deal", ["deal_id"], ["id"], ondelete="CASCADE")
    op.create_index("ix_activity_deal_at", "activity", ["deal_id", "at"], unique=False)

    op.add_column("contact", sa.Column("cadence_days", sa.Integer(), nullable=True))
    _default_pipeline()


DEFAULT_STAGES = [  # name, probability %, kind
    ("Lead", 10, "open"),
    ("Qualified", 25, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
]


def _default_pipeline() -> None:
    from datetime import UTC, datetime

    pipeline = sa.table(
        "pipeline",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("position", sa.Integer),
        sa.column("created_at", UTCDateTime()),
    )
    stage = sa.table(
        "stage",
        sa.column("pipeline_id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("position", sa.Integer),
        sa.column("probability", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("rot_days", sa.Integer),
        sa.column("required", sa.JSON),
        sa.column("on_enter", sa.String),
    )
    op.bulk_insert(pipeline, [{"id": 1, "name": "Sales", "position": 0, "created_at": datetime.now(UTC)}])
    op.bulk_insert(
        stage,
        [
            {
                "pipeline_id": 1,
                "name": name,
                "position": i,
                "probability": p,
                "kind": kind,
                "rot_days": 30 if kind == "open" else None,
                "required": [],
                "on_enter": None,
            }
            for i, (name, p, kind) in enumerate(DEFAULT_STAGES)
        ],
    )
    if op.get_bind().dialect.name == "postgresql":  # the explicit id 1 must not collide with the sequence later
        op.execute("SELECT setval(pg_get_serial_sequence('pipeline', 'id'), 1)")


def downgrade() -> None:
    op.drop_index("ix_activity_deal_at", table_name="activity")
    with op.batch_alter_table("activity") as batch_op:  # SQLite: copies the table without the column
        batch_op.drop_column("deal_id")
    with op.batch_alter_table("contact") as batch_op:
        batch_op.drop_column("cadence_days")
    for table in ("stage_history", "followup", "deal", "stage", "pipeline"):
        op.drop_table(table)
