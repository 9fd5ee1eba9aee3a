"""team databases on PostgreSQL: row-level security policies and the change log's integrity

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30

Installs the functions and row-level security policies of crmcli.access on PostgreSQL (nothing
on SQLite): private records are seen by their owner and admins only, and the groups made by
`crm team setup` (crm_viewer, crm_member, crm_manager, crm_admin) may change what their role
allows. Until that setup there are no such groups and the database's owner, who owns the tables,
is not bound by the policies: a single user sees no difference. The change log's rows are
written by its trigger function as the owner, and a change set's `who` is the database's answer.
"""

from alembic import op

from crmcli import access

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    access.install_policies(conn)
    access.apply_grants(conn)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    op.execute(access.DROP_ALL)
    for table, _statements in access.policies():
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute("DROP TRIGGER IF EXISTS crm_set_who ON change_set")
