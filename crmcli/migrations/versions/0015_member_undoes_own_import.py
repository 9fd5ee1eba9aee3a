"""team databases: a member undoes their own imports

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

A member may now remove what an import of theirs added (so `crm imports undo` of their own import
works), and nothing else: members get DELETE on contacts, companies, deals, activities and
follow-ups, their removal policies reach what they see, and a trigger (crm_check_remove, on a team
database) refuses out loud the removal of a row no import of theirs added, or a contact, company or
deal they no longer own — naming the row, or the import being undone. crm_imported_by_me asks the
change log. Nothing changes on SQLite, nor for a single user before `crm team setup`.
"""

from alembic import op

from crmcli import access

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    access.install_policies(conn)
    access.apply_grants(conn)


# the removal policies as 0014 installed them
_SEEN_0014 = "(crm_sees('contact', contact_id) AND crm_sees('company', company_id) AND crm_sees('deal', deal_id))"


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    for table in access.IMPORTED_ONLY_FOR_MEMBERS:
        op.execute(f"DROP TRIGGER IF EXISTS crm_check_remove ON {table}")
        op.execute(f"DROP POLICY IF EXISTS crm_remove ON {table}")
        if table in access.RECORDS:
            using = "(crm_is('admin') OR (crm_is('manager') AND NOT private))"
        else:
            using = f"(crm_is('admin', 'manager') AND {_SEEN_0014})"
        op.execute(f"CREATE POLICY crm_remove ON {table} FOR DELETE USING {using}")
    op.execute("DROP FUNCTION IF EXISTS crm_check_remove()")
    op.execute("DROP FUNCTION IF EXISTS crm_imported_by_me(text, integer)")
    if access.has_team(conn):
        op.execute(f"REVOKE DELETE ON {', '.join(access.IMPORTED_ONLY_FOR_MEMBERS)} FROM crm_member")
