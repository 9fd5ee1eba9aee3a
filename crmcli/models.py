"""SQLModel tables. Times are stored in UTC (aware on PostgreSQL, naive-UTC text on SQLite)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.sql import false
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Aware datetimes in, aware UTC datetimes out, on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


def _utc_column(*, index: bool = False, nullable: bool = False) -> Any:
    return Field(sa_column=Column(UTCDateTime(), index=index, nullable=nullable))


def _json_column() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))


def _fk(target: str, *, ondelete: str, nullable: bool = True, index: bool = True) -> Any:
    return Field(
        default=None,
        sa_column=Column(Integer, ForeignKey(target, ondelete=ondelete), index=index, nullable=nullable),
    )


class Company(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str
    name_key: str = Field(index=True)  # case-folded name, for exact lookups
    domain: str | None = Field(default=None, index=True)
    phone: str | None = None
    website: str | None = None  # https://acme.de
    owner: str | None = Field(default=None, index=True)
    private: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    # private: seen only by its owner and admins (PostgreSQL team databases enforce it)
    source: str | None = None
    notes: str | None = None
    external_id: str | None = Field(default=None, index=True)
    custom: dict[str, Any] = _json_column()
    created_at: datetime = _utc_column(index=True)
    updated_at: datetime = _utc_column()
    street: str | None = None
    city: str | None = None
    region: str | None = None  # state, province, county
    postcode: str | None = None
    country: str | None = None
    industry: str | None = None


class Contact(SQLModel, table=True):
    # the importer matches by normalised name within a company; lookups by name use it too
    __table_args__ = (Index("ix_contact_name_key_company", "name_key", "company_id"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str
    name_key: str
    title: str | None = None
    company_id: int | None = _fk("company.id", ondelete="SET NULL")
    owner: str | None = Field(default=None, index=True)
    private: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    # private: seen only by its owner and admins (PostgreSQL team databases enforce it)
    source: str | None = None
    notes: str | None = None
    external_id: str | None = Field(default=None, index=True)
    custom: dict[str, Any] = _json_column()
    cadence_days: int | None = None  # keep in touch: hear from this person every N days
    created_at: datetime = _utc_column(index=True)
    updated_at: datetime = _utc_column()
    street: str | None = None
    city: str | None = None
    region: str | None = None  # state, province, county
    postcode: str | None = None
    country: str | None = None
    birthday: str | None = None  # "1985-04-15", or "--04-15" when the year is unknown (vCard 4)
    website: str | None = None  # https://…


class ContactEmail(SQLModel, table=True):
    __tablename__ = "contact_email"
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = _fk("contact.id", ondelete="CASCADE", nullable=False)
    email: str = Field(index=True)
    is_primary: bool = False


class ContactPhone(SQLModel, table=True):
    __tablename__ = "contact_phone"
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = _fk("contact.id", ondelete="CASCADE", nullable=False)
    phone: str = Field(index=True)  # E.164
    is_primary: bool = False


class ContactTag(SQLModel, table=True):
    __tablename__ = "contact_tag"
    contact_id: int = Field(sa_column=Column(Integer, ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True))
    tag: str = Field(primary_key=True, index=True)


class CompanyTag(SQLModel, table=True):
    __tablename__ = "company_tag"
    company_id: int = Field(sa_column=Column(Integer, ForeignKey("company.id", ondelete="CASCADE"), primary_key=True))
    tag: str = Field(primary_key=True, index=True)


class FieldDef(SQLModel, table=True):
    """A declared custom field: its type is checked on every write."""

    __tablename__ = "field_def"
    __table_args__ = (UniqueConstraint("entity", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    entity: str  # contacts | companies | deals
    name: str
    type: str  # text | number | date | bool | choice | email | url
    choices: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))


class Activity(SQLModel, table=True):
    """An interaction: call, email, meeting or note, on a contact, a company and/or a deal."""

    __table_args__ = (
        Index("ix_activity_contact_at", "contact_id", "at"),
        Index("ix_activity_company_at", "company_id", "at"),
        Index("ix_activity_deal_at", "deal_id", "at"),
        Index("ix_activity_at_by", "at", "by"),  # KPIs: activities per owner in a period, from the index alone
    )
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int | None = _fk("contact.id", ondelete="CASCADE", index=False)
    company_id: int | None = _fk("company.id", ondelete="CASCADE", index=False)
    deal_id: int | None = _fk("deal.id", ondelete="CASCADE", index=False)
    type: str
    text: str
    at: datetime = _utc_column(index=True)
    by: str | None = None
    created_at: datetime = _utc_column()
    direction: str | None = None  # mail: "in" (to the user) or "out" (from the user)


class Setting(SQLModel, table=True):
    key: str = Field(primary_key=True)
    value: str


class SearchDoc(SQLModel, table=True):
    """One searchable document per record; full-text indexes (FTS5 / tsvector) are built on it."""

    __tablename__ = "search_doc"
    __table_args__ = (UniqueConstraint("kind", "ref_id"),)
    id: int | None = Field(default=None, primary_key=True)
    kind: str  # contact | company | activity
    ref_id: int
    title: str
    body: str


class Pipeline(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    position: int = 0
    created_at: datetime = _utc_column()


class Stage(SQLModel, table=True):
    """A step of a pipeline. kind says what reaching it means: open, won or lost."""

    __table_args__ = (
        UniqueConstraint("pipeline_id", "name"),
        Index("ix_stage_pipeline_position", "pipeline_id", "position"),
    )
    id: int | None = Field(default=None, primary_key=True)
    pipeline_id: int = _fk("pipeline.id", ondelete="CASCADE", nullable=False, index=False)
    name: str
    position: int
    probability: int  # percent, 0-100
    kind: str = "open"  # open | won | lost
    rot_days: int | None = None  # a deal sitting here longer than this is stalled
    required: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    on_enter: str | None = None  # "3d: chase the proposal": a follow-up made when a deal enters


class Deal(SQLModel, table=True):
    __table_args__ = (
        # the board and the KPIs group open deals by stage and currency and sum amounts, and the KPIs
        # count the stalled ones by when they entered: covering index
        Index("ix_deal_stage_currency_amount_entered", "stage_id", "currency", "amount_minor", "stage_entered_at"),
        # the KPIs' forecast: open deals closing in a period, summed per currency from the index
        Index("ix_deal_close_stage_amount", "close_date", "stage_id", "currency", "amount_minor"),
        # the KPIs' open pipeline at a past time: the deals that moved since
        Index("ix_deal_stage_entered_at", "stage_entered_at"),
        # the board's biggest deals per stage, and its stalled deals per stage
        Index("ix_deal_stage_amount", "stage_id", "amount_minor"),
        Index("ix_deal_stage_entered", "stage_id", "stage_entered_at"),
        Index("ix_deal_status_closed", "status", "closed_at"),
    )
    id: int | None = Field(default=None, primary_key=True)
    title: str
    title_key: str = Field(index=True)
    pipeline_id: int = _fk("pipeline.id", ondelete="RESTRICT", nullable=False)
    stage_id: int = _fk("stage.id", ondelete="RESTRICT", nullable=False, index=False)
    contact_id: int | None = _fk("contact.id", ondelete="SET NULL")
    company_id: int | None = _fk("company.id", ondelete="SET NULL")
    amount_minor: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # in minor units
    currency: str
    close_date: date | None = Field(default=None, index=True)
    owner: str | None = Field(default=None, index=True)
    private: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default=false()))
    # private: seen only by its owner and admins (PostgreSQL team databases enforce it)
    source: str | None = None
    notes: str | None = None
    status: str = "open"  # open | won | lost: the kind of its stage, kept here for fast filters
    stage_entered_at: datetime = _utc_column()
    closed_at: datetime | None = _utc_column(nullable=True)  # when it was won or lost
    lost_reason: str | None = None
    external_id: str | None = Field(default=None, index=True)
    custom: dict[str, Any] = _json_column()
    created_at: datetime = _utc_column(index=True)
    updated_at: datetime = _utc_column()


class StageChange(SQLModel, table=True):
    """One move of a deal, written in the same transaction as the move. Stage names are kept
    so the history survives a stage being renamed or removed."""

    __tablename__ = "stage_history"
    __table_args__ = (
        # a deal's moves in order (id breaks ties); to_stage_id for the KPIs' conversion, from the index
        Index("ix_stage_history_deal_at_id_to", "deal_id", "at", "id", "to_stage_id"),
        Index("ix_stage_history_to_at", "to_stage_id", "at"),
        Index("ix_stage_history_at_to_deal", "at", "to_stage_id", "deal_id"),  # KPIs: who entered what, when
    )
    id: int | None = Field(default=None, primary_key=True)
    deal_id: int = _fk("deal.id", ondelete="CASCADE", nullable=False, index=False)
    from_stage_id: int | None = None
    from_stage: str | None = None
    to_stage_id: int
    to_stage: str
    at: datetime = _utc_column()
    by: str | None = None


class FollowUp(SQLModel, table=True):
    """A reminder to get back to a contact, company or deal."""

    __tablename__ = "followup"
    __table_args__ = (
        Index("ix_followup_open_due", "done_at", "due_at"),
        Index("ix_followup_owner_open_due", "owner", "done_at", "due_at"),
        Index("ix_followup_due_done_owner", "due_at", "done_at", "owner"),  # KPIs: due in a period, done when
    )
    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(unique=True)  # stable identity for calendar exports
    contact_id: int | None = _fk("contact.id", ondelete="CASCADE")
    company_id: int | None = _fk("company.id", ondelete="CASCADE")
    deal_id: int | None = _fk("deal.id", ondelete="CASCADE")
    due_at: datetime = _utc_column()
    note: str | None = None
    owner: str | None = None
    every: str | None = None  # daily | weekly | 2w | monthly | quarterly
    from_done: bool = False  # a recurring one counts its next date from completion, not from due
    origin: str = "manual"  # manual | stage
    done_at: datetime | None = _utc_column(nullable=True)
    created_at: datetime = _utc_column()
    updated_at: datetime = _utc_column()


class Target(SQLModel, table=True):
    """A goal for a KPI over a period, for the team (owner None) or one owner."""

    id: int | None = Field(default=None, primary_key=True)
    metric: str  # won_value | won_count | win_rate | new_contacts | activities | speed_to_lead_hours | cycle_days
    value: str  # a Decimal, as text: exact for money and rates alike
    period: str  # month | quarter | year
    owner: str | None = Field(default=None, index=True)
    currency: str | None = None  # for money metrics
    created_at: datetime = _utc_column()
    updated_at: datetime = _utc_column()


class ImportRun(SQLModel, table=True):
    """One `crm import`: what was read, with which options, by whom, and what came of it."""

    __tablename__ = "import_run"
    id: int | None = Field(default=None, primary_key=True)
    file: str
    sha256: str = Field(index=True)
    kind: str  # contacts | companies | deals | activities
    options: dict[str, Any] = _json_column()
    by: str | None = None
    status: str = "running"  # running | done | interrupted | undone
    counts: dict[str, Any] = _json_column()  # read, created, updated, merged, skipped, rejected
    rejects_file: str | None = None
    report_file: str | None = None  # the report of everything not taken as it was
    started_at: datetime = _utc_column(index=True)
    finished_at: datetime | None = _utc_column(nullable=True)
    undone_at: datetime | None = _utc_column(nullable=True)


class ImportChange(SQLModel, table=True):
    """A record an import created or changed, with what it was before, so the import can be undone."""

    __tablename__ = "import_change"
    __table_args__ = (
        Index("ix_import_change_run_entity", "import_id", "entity"),
        Index("ix_import_change_entity_source", "entity", "source_id"),  # a later file links to a source id
    )
    id: int | None = Field(default=None, primary_key=True)
    import_id: int = _fk("import_run.id", ondelete="CASCADE", nullable=False, index=False)
    entity: str  # contact | company | deal | activity
    record_id: int
    action: str  # created | updated | merged
    row: int | None = None  # the line or row of the file
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    after_updated_at: datetime | None = _utc_column(nullable=True)  # to tell later edits apart
    source_id: str | None = None  # the id the row had in its source file


class MergeRecord(SQLModel, table=True):
    """A duplicate merged into another record: who went where, and what the removed one held."""

    __tablename__ = "merge_log"
    __table_args__ = (Index("ix_merge_log_entity_kept", "entity", "kept_id"),)
    id: int | None = Field(default=None, primary_key=True)
    entity: str  # contact | company
    kept_id: int
    merged_id: int
    merged_name: str
    snapshot: dict[str, Any] = _json_column()
    reason: str | None = None
    at: datetime = _utc_column()
    by: str | None = None


class ChangeSet(SQLModel, table=True):
    """One transaction's writes made through crm: when, who and via what (crmcli.changelog)."""

    __tablename__ = "change_set"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc_column(index=True)
    who: str | None = Field(default=None, index=True)  # PostgreSQL: the database role, set by the database
    via: str  # the command line, "import 12", "undo 7", "mcp"
    kind: str  # command | import | undo | mcp | mail | api
    import_id: int | None = Field(default=None, index=True)
    undoes: int | None = Field(default=None, index=True)  # the change set this one took back


class Change(SQLModel, table=True):
    """One row written: appended by the database's triggers, never by crm's code (crmcli.changelog)."""

    __tablename__ = "change"
    __table_args__ = (Index("ix_change_kind_record", "kind", "record_id"),)
    id: int | None = Field(default=None, primary_key=True)
    set_id: int | None = Field(default=None, index=True)  # None: written around crm (a SQL shell)
    tbl: str
    op: str  # insert | update | delete
    kind: str  # the kind of record the row belongs to: contact, company, deal, …
    record_id: int | None = None
    contact_id: int | None = Field(default=None, index=True)  # the person the row is about
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONType, nullable=True))
    who: str | None = None  # PostgreSQL: the database role that wrote the row


class Suppression(SQLModel, table=True):
    """A forgotten person's email or phone, as a salted hash: add and import refuse it."""

    __tablename__ = "suppression"
    id: int | None = Field(default=None, primary_key=True)
    kind: str  # email | phone
    digest: str = Field(unique=True)
    at: datetime = _utc_column()
    erasure_id: int | None = None


class Erasure(SQLModel, table=True):
    """That a person was forgotten: when, by whom, what went; nothing about the person."""

    __tablename__ = "erasure"
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _utc_column()
    by: str | None = None
    counts: dict[str, Any] = _json_column()


class MailMessage(SQLModel, table=True):
    """A message `crm mail import` has taken (logged or counted): importing it again adds nothing."""

    __tablename__ = "mail_message"
    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(unique=True)  # its Message-ID, or "sha256:…" of its headers when it has none
    at: datetime | None = _utc_column(nullable=True)  # the message's date
    logged: int = 0  # activities logged for it
    imported_at: datetime = _utc_column()


class MailSource(SQLModel, table=True):
    """Where an IMAP mailbox's import got to: the next run fetches only what is newer."""

    __tablename__ = "mail_source"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True)  # imaps://user@host:port/MAILBOX (never a password)
    uidvalidity: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))  # 32-bit unsigned
    last_uid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = _utc_column()


class AssignmentRule(SQLModel, table=True):
    """Who a new record goes to: the first rule that matches names an owner, or deals records out
    in turn among several (round robin)."""

    __tablename__ = "assignment_rule"
    id: int | None = Field(default=None, primary_key=True)
    entity: str  # contacts | companies | deals
    position: int = 0  # rules are tried in this order, lowest first
    field: str  # country | region | industry | source | tag | any
    value: str | None = None  # what the field must be (case- and accent-blind); None for "any"
    owners: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    turn: int = 0  # round robin: how many records it has given out
    created_at: datetime = _utc_column()
