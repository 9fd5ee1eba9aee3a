"""mail import: messages taken, IMAP mailboxes' positions, activity direction

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30

`crm mail import` logs messages as email activities: mail_message remembers each message taken
(by Message-ID) so that importing a mailbox again adds nothing, mail_source where an IMAP mailbox
got to (UIDVALIDITY and the last UID), and activity.direction says whether a message came in or
went out. The change-log triggers are rebuilt: activity has a column more, and mail_message is
logged (an undone mail import can be imported again).
"""

import sqlalchemy as sa
from alembic import op

from crmcli import changelog

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def _utc() -> sa.types.TypeEngine:
    from crmcli.models import UTCDateTime

    return UTCDateTime()


def upgrade() -> None:
    op.add_column("activity", sa.Column("direction", sa.String, nullable=True))
    op.create_table(
        "mail_message",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("message_id", sa.String, nullable=False, unique=True),
        sa.Column("at", _utc(), nullable=True),
        sa.Column("logged", sa.Integer, nullable=False, server_default="0"),
        sa.Column("imported_at", _utc(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "mail_source",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String, nullable=False, unique=True),
        sa.Column("uidvalidity", sa.BigInteger, nullable=True),
        sa.Column("last_uid", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("updated_at", _utc(), nullable=False),
    )
    changelog.install(op.get_bind())


def downgrade() -> None:
    conn = op.get_bind()
    changelog.uninstall(conn)  # SQLite drops no column a trigger names
    op.drop_table("mail_source")
    op.drop_table("mail_message")
    op.execute("ALTER TABLE activity DROP COLUMN direction")  # in place: a copy would cascade
    changelog.install(conn)
