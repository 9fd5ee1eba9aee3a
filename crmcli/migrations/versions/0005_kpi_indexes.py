"""indexes for the KPIs and reports

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23

The KPI queries (crmcli/analytics/kpi.py) aggregate in SQL; these indexes let them read only the rows
of the period, mostly from the index alone (see bench/RESULTS.md, section kpi):

- activity (at, by): activities per owner in a period.
- deal (stage_id, currency, amount_minor, stage_entered_at) replaces (stage_id, currency,
  amount_minor): the board's sums as before, plus the stalled count per stage.
- deal (close_date, stage_id, currency, amount_minor): the forecast of a period.
- deal (stage_entered_at): the deals that moved since a past time (open pipeline back then).
- followup (due_at, done_at, owner): follow-ups due in a period and when they were done.
- stage_history (deal_id, at, id, to_stage_id) replaces (deal_id, at): a deal's moves in order,
  ties broken by id, with the stage each entered, for conversion; (at, to_stage_id, deal_id):
  the deals that entered each stage in a period.
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.create_index("ix_activity_at_by", ["at", "by"], unique=False)

    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_stage_currency_amount")
        batch_op.create_index(
            "ix_deal_stage_currency_amount_entered",
            ["stage_id", "currency", "amount_minor", "stage_entered_at"],
            unique=False,
        )
        batch_op.create_index(
            "ix_deal_close_stage_amount", ["close_date", "stage_id", "currency", "amount_minor"], unique=False
        )
        batch_op.create_index("ix_deal_stage_entered_at", ["stage_entered_at"], unique=False)

    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.create_index("ix_followup_due_done_owner", ["due_at", "done_at", "owner"], unique=False)

    with op.batch_alter_table("stage_history", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_history_deal_at")
        batch_op.create_index("ix_stage_history_at_to_deal", ["at", "to_stage_id", "deal_id"], unique=False)
        batch_op.create_index("ix_stage_history_deal_at_id_to", ["deal_id", "at", "id", "to_stage_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stage_history", schema=None) as batch_op:
        batch_op.drop_index("ix_stage_history_deal_at_id_to")
        batch_op.drop_index("ix_stage_history_at_to_deal")
        batch_op.create_index("ix_stage_history_deal_at", ["deal_id", "at"], unique=False)

    with op.batch_alter_table("followup", schema=None) as batch_op:
        batch_op.drop_index("ix_followup_due_done_owner")

    with op.batch_alter_table("deal", schema=None) as batch_op:
        batch_op.drop_index("ix_deal_stage_entered_at")
        batch_op.drop_index("ix_deal_close_stage_amount")
        batch_op.drop_index("ix_deal_stage_currency_amount_entered")
        batch_op.create_index("ix_deal_stage_currency_amount", ["stage_id", "currency", "amount_minor"], unique=False)

    with op.batch_alter_table("activity", schema=None) as batch_op:
        batch_op.drop_index("ix_activity_at_by")
