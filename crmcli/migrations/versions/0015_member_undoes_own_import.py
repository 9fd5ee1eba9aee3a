"""team databases: a member undoes their own imports

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30

A member may now remove what an import of theirs added, while undoing it (so `crm imports undo` of
their own import works), and nothing else: members get DELETE on contacts, companies, deals, activities and
follow-ups, their removal policies reach what they see, and a trigger (crm_check_remove, on a team
database) refuses out loud the removal of a row no import of theirs added, or of a contact, company
or deal that is neither theirs nor still with the owner the import gave it (an assignment rule may
give an import's records to others) — naming the row, or the import being undone.
crm_my_import_gave asks the change log. A manager's edit and removal policies
now take in the manager's own private records too (0014 left them out of a manager's edits).
Nothing changes on SQLite, nor for a single user before `crm team setup`.
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
    for table in access.RECORDS:  # the edit policies as 0014 installed them
        edit = "(crm_is('admin') OR (crm_is('manager') AND NOT private) OR (crm_is('member') AND owner = current_user))"
        keep = (
            "(crm_is('admin') OR (crm_is('manager') AND (NOT private OR owner = current_user))"
            " OR (crm_is('member') AND owner = current_user))"
        )
        op.execute(f"DROP POLICY IF EXISTS crm_edit ON {table}")
        op.execute(f"CREATE POLICY crm_edit ON {table} FOR UPDATE USING {edit} WITH CHECK {keep}")
    op.execute("DROP FUNCTION IF EXISTS crm_check_remove()")
    op.execute("DROP FUNCTION IF EXISTS crm_my_import_gave(text, integer, integer)")
    if access.has_team(conn):
        op.execute(f"REVOKE DELETE ON {', '.join(access.IMPORTED_ONLY_FOR_MEMBERS)} FROM crm_member")
