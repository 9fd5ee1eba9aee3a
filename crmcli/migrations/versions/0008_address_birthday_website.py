"""the fields people keep: addresses, birthdays, websites, industries; import source ids and reports

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23

- contact: street, city, region, postcode, country, birthday ("1985-04-15", or "--04-15" when the
  year is unknown, as vCard 4 writes it), website.
- company: street, city, region, postcode, country, industry (website it had already).
- import_change.source_id: the id a row had in its source file, so a later file (deals after
  contacts, Salesforce's ACCOUNTID) can link to the record it became; looked up by entity.
- import_run.report_file: where the import's report went.

Nullable columns only: SQLite adds them in place (batch mode copies no table for this). The
downgrade drops them in place too (SQLite 3.35+): copying contact or company in batch mode would
drop the old table, and with foreign keys on that deletes every email, phone and activity.
"""

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ADDRESS = ("street", "city", "region", "postcode", "country")
NEW_COLUMNS = {
    "contact": (*ADDRESS, "birthday", "website"),
    "company": (*ADDRESS, "industry"),
    "import_run": ("report_file",),
}


def upgrade() -> None:
    for table, columns in NEW_COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.add_column(sa.Column(column, sqlmodel.sql.sqltypes.AutoString(), nullable=True))
    with op.batch_alter_table("import_change", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True))
        batch_op.create_index("ix_import_change_entity_source", ["entity", "source_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_import_change_entity_source", table_name="import_change")
    op.drop_column("import_change", "source_id")
    for table, columns in NEW_COLUMNS.items():
        for column in reversed(columns):
            op.drop_column(table, column)
