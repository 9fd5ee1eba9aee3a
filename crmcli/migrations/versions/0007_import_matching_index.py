"""contacts matched by name within a company; fewer full-text merges on SQLite

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

- contact (name_key, company_id) replaces contact (name_key): the importer matches a row by
  normalised name + company, and a common name ("Anna Müller") must not pull every contact of
  that name out of a big database for each batch. Lookups by name alone use the same index.
- SQLite's FTS5 index merges its segments less eagerly (automerge 16 instead of 4): a bulk
  import spent half of its indexing time in merges (bench/RESULTS.md, section imports).
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_name_key")
        batch_op.create_index("ix_contact_name_key_company", ["name_key", "company_id"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        op.execute("INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', 16)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("INSERT INTO search_fts(search_fts, rank) VALUES ('automerge', 4)")
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.drop_index("ix_contact_name_key_company")
        batch_op.create_index("ix_contact_name_key", ["name_key"], unique=False)
