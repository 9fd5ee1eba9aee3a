"""Deals: add, edit, move through stages (every move recorded), remove a stage with the deals in
it, and the board (the deal view: crmcli.domain.views).

Amounts are integers in the currency's minor unit; sums and weighted values are computed in
SQL and handed out as Decimal, never float.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from crmcli.domain import fields, search, settings
from crmcli.domain import rules as assignment
from crmcli.domain.filters import apply_sort, where_clauses
from crmcli.domain.followups import add_followup
from crmcli.domain.indexing import reindex_deal
from crmcli.domain.lookup import resolve_company, resolve_contact
from crmcli.domain.pipeline import check_removable, get_pipeline, parse_rule, resolve_stage, stage_of_kind, stages
from crmcli.domain.pipeline import remove_stage as remove_empty_stage
from crmcli.domain.records import DealRecord
from crmcli.errors import Invalid, NotFound
from crmcli.models import Activity, Company, Contact, Deal, Pipeline, Stage, StageChange
from crmcli.values import clock
from crmcli.values.money import currency_code, parse_amount, to_decimal
from crmcli.values.normalize import clean_text, name_key, normalize_name, optional_notes, optional_text
from crmcli.values.when import parse_date

STATUSES = ("open", "won", "lost")
SORTS = {
    "close": Deal.close_date,
    "amount": Deal.amount_minor,
    "title": Deal.title_key,
    "stage": Stage.position,
    "created": Deal.created_at,
    "updated": Deal.updated_at,
    "id": Deal.id,
}


# ---------------------------------------------------------------- reading values


def parse_close_date(value: str | date | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = clean_text(value)
    if not text:
        return None
    # the one date reader (values.when), leaning ahead: 2026-12-31, 'in 3 weeks', eom, 'end of quarter', 12/31/2026
    return parse_date(text, what="close date", lean="future", error=Invalid)


# ---------------------------------------------------------------- rules and moves


def missing_for(deal: Deal, stage: Stage) -> list[str]:
    """The fields STAGE requires that DEAL lacks."""
    present = {
        "amount": deal.amount_minor is not None,
        "close_date": deal.close_date is not None,
        "contact": deal.contact_id is not None,
        "company": deal.company_id is not None,
        "owner": bool(deal.owner),
        "source": bool(deal.source),
        "notes": bool(deal.notes),
    }
    return [f for f in stage.required if not present.get(f, deal.custom.get(f) not in (None, ""))]


def _enter(
    session: Session,
    deal: Deal,
    stage: Stage,
    *,
    at: datetime,
    by: str | None,
    previous: Stage | None,
    rules: bool = True,
) -> StageChange:
    """Put DEAL into STAGE: the stage-history row, status and dates, and the stage's follow-up rule."""
    assert deal.id is not None and stage.id is not None
    change = StageChange(
        deal_id=deal.id,
        from_stage_id=previous.id if previous else None,
        from_stage=previous.name if previous else None,
        to_stage_id=stage.id,
        to_stage=stage.name,
        at=at,
        by=optional_text(by),
    )
    session.add(change)
    deal.stage_id = stage.id
    deal.stage_entered_at = at
    deal.status = stage.kind
    deal.closed_at = at if stage.kind != "open" else None
    if stage.kind != "lost":
        deal.lost_reason = None
    deal.updated_at = clock.now()
    session.add(deal)
    if rules and stage.on_enter:
        delay, note = parse_rule(stage.on_enter)
        add_followup(session, deal=deal, due_at=at + delay, note=note, owner=deal.owner, origin="stage")
    session.flush()
    return change


def move_deal(
    session: Session,
    deal: Deal,
    stage: Stage | str,
    *,
    by: str | None = None,
    lost_reason: str | None = None,
    at: datetime | None = None,
    check_rules: bool = True,
) -> StageChange:
    """Move DEAL to STAGE (a Stage or its name), refusing when the stage's required fields are missing."""
    # Lock the deal, so two people moving it at once write a history whose moves follow each other.
    session.refresh(deal, with_for_update=True)
    pipeline = session.get(Pipeline, deal.pipeline_id)
    assert pipeline is not None
    target = stage if isinstance(stage, Stage) else resolve_stage(session, pipeline, stage)
    if target.pipeline_id != deal.pipeline_id:
        raise Invalid(f"stage {target.name} belongs to another pipeline")
    if target.id == deal.stage_id:
        raise Invalid(f"deal #{deal.id} is already in {target.name}")
    if check_rules:
        missing = missing_for(deal, target)
        if missing:
            raise Invalid(
                f"deal #{deal.id} cannot enter {target.name}: it needs {', '.join(missing)} "
                f"(crm deals edit {deal.id} …)"
            )
    previous = session.get(Stage, deal.stage_id)
    if target.kind == "lost":
        deal.lost_reason = optional_text(lost_reason)
    return _enter(session, deal, target, at=at or clock.now(), by=by, previous=previous)


def win(session: Session, deal: Deal, *, by: str | None = None, at: datetime | None = None) -> StageChange:
    pipeline = session.get(Pipeline, deal.pipeline_id)
    assert pipeline is not None
    if deal.status == "won":
        raise Invalid(f"deal #{deal.id} is won already")
    return move_deal(session, deal, stage_of_kind(session, pipeline, "won"), by=by, at=at)


def lose(
    session: Session, deal: Deal, *, reason: str | None = None, by: str | None = None, at: datetime | None = None
) -> StageChange:
    pipeline = session.get(Pipeline, deal.pipeline_id)
    assert pipeline is not None
    if deal.status == "lost":
        raise Invalid(f"deal #{deal.id} is lost already")
    return move_deal(session, deal, stage_of_kind(session, pipeline, "lost"), by=by, lost_reason=reason, at=at)


def reopen(session: Session, deal: Deal, *, stage: str | None = None, by: str | None = None) -> StageChange:
    """Back to STAGE, or to the open stage the deal was in before it closed, or the first open stage."""
    if deal.status == "open":
        raise Invalid(f"deal #{deal.id} is open already")
    pipeline = session.get(Pipeline, deal.pipeline_id)
    assert pipeline is not None
    if stage:
        target = resolve_stage(session, pipeline, stage)
        if target.kind != "open":
            raise Invalid(f"{target.name} is a {target.kind} stage; reopen into an open one")
    else:
        last = session.exec(
            select(StageChange)
            .where(StageChange.deal_id == deal.id, StageChange.to_stage_id == deal.stage_id)
            .order_by(col(StageChange.at).desc(), col(StageChange.id).desc())
        ).first()
        before = session.get(Stage, last.from_stage_id) if last and last.from_stage_id else None
        open_stages = [s for s in stages(session, pipeline) if s.kind == "open"]
        if before is None or before.kind != "open" or before.pipeline_id != pipeline.id:
            if not open_stages:
                raise NotFound(f"pipeline {pipeline.name} has no open stage")
            before = open_stages[0]
        target = before
    return move_deal(session, deal, target, by=by, check_rules=False)


def remove_stage(session: Session, stage: Stage, *, move_deals_to: str | None = None, by: str | None = None) -> int:
    """Remove STAGE (crmcli.domain.pipeline.remove_stage); deals sitting there move to MOVE_DEALS_TO
    first (refused without one). Returns how many deals moved. The stage history keeps the
    removed stage's name."""
    check_removable(session, stage)
    sitting = list(session.exec(select(Deal).where(Deal.stage_id == stage.id)))
    if sitting and move_deals_to:
        pipeline = session.get(Pipeline, stage.pipeline_id)
        assert pipeline is not None
        target = resolve_stage(session, pipeline, move_deals_to)
        if target.id == stage.id:
            raise Invalid("the deals cannot move to the stage being removed")
        for deal in sitting:
            move_deal(session, deal, target, by=by, check_rules=False)
    remove_empty_stage(session, stage)  # Conflict when deals sit there and MOVE_DEALS_TO is none
    return len(sitting)


# ---------------------------------------------------------------- writing


def _link(session: Session, contact: str | None, company: str | None) -> tuple[Contact | None, Company | None]:
    contact_obj = resolve_contact(session, contact) if contact is not None and optional_text(contact) else None
    company_obj = resolve_company(session, company) if company is not None and optional_text(company) else None
    if company_obj is None and contact_obj is not None and contact_obj.company_id:
        company_obj = session.get(Company, contact_obj.company_id)
    return contact_obj, company_obj


def add_deal(
    session: Session,
    *,
    title: str,
    contact: str | None = None,
    company: str | None = None,
    amount: str | int | Decimal | None = None,
    currency: str | None = None,
    stage: str | None = None,
    pipeline: str | None = None,
    close_date: str | date | None = None,
    owner: str | None = None,
    source: str | None = None,
    notes: str | None = None,
    custom: dict[str, str] | None = None,
    by: str | None = None,
    created_at: datetime | None = None,
    rules: bool = True,
    private: bool = False,
    default_owner: str | None = None,
) -> Deal:
    """A new deal in STAGE (default: the pipeline's first stage). CONTACT and COMPANY are REFs;
    a contact's company is taken when no company is given. CREATED_AT (default now) is when it
    entered its first stage, for deals brought over from elsewhere. RULES false skips the stage's
    on-enter follow-up (imports of history). OWNER None: the first assignment rule of deals that
    matches gives the owner (crmcli.domain.rules), else DEFAULT_OWNER."""
    clean_title = normalize_name(title, "deal title")
    pipeline_obj = get_pipeline(session, pipeline)
    all_stages = stages(session, pipeline_obj)
    if not all_stages:
        raise NotFound(f"pipeline {pipeline_obj.name} has no stages")
    target = resolve_stage(session, pipeline_obj, stage) if stage else all_stages[0]
    code = currency_code(currency or settings.get(session, "currency") or "EUR")
    contact_obj, company_obj = _link(session, contact, company)
    if owner is None:
        facts = partial(assignment.deal_facts, session, contact_obj, company_obj, source)
        owner = assignment.assign(session, "deals", facts) or default_owner
    now = clock.now()
    created = created_at or now
    assert pipeline_obj.id is not None and target.id is not None
    deal = Deal(
        title=clean_title,
        title_key=name_key(clean_title),
        pipeline_id=pipeline_obj.id,
        stage_id=target.id,
        contact_id=contact_obj.id if contact_obj else None,
        company_id=company_obj.id if company_obj else None,
        amount_minor=parse_amount(amount, code) if amount not in (None, "") else None,
        currency=code,
        close_date=parse_close_date(close_date),
        owner=optional_text(owner),
        source=optional_text(source),
        notes=optional_notes(notes),
        custom=fields.apply({}, fields.validate(session, "deals", custom or {})),
        private=private,
        stage_entered_at=created,
        created_at=created,
        updated_at=now,
    )
    missing = missing_for(deal, target)
    if missing:
        raise Invalid(f"a deal in {target.name} needs {', '.join(missing)}")
    session.add(deal)
    session.flush()
    _enter(session, deal, target, at=created, by=by, previous=None, rules=rules)
    reindex_deal(session, deal)
    return deal


def edit_deal(
    session: Session,
    deal: Deal,
    *,
    title: str | None = None,
    contact: str | None = None,
    company: str | None = None,
    amount: str | None = None,
    currency: str | None = None,
    close_date: str | None = None,
    owner: str | None = None,
    source: str | None = None,
    notes: str | None = None,
    custom: dict[str, str] | None = None,
    private: bool | None = None,
) -> Deal:
    """Change what is given ('' clears an optional value). A change that would leave the deal
    without a field its current stage requires is refused."""
    session.refresh(deal, with_for_update=True)
    stage = session.get(Stage, deal.stage_id)
    assert stage is not None
    missing_before = set(missing_for(deal, stage))
    if title is not None:
        deal.title = normalize_name(title, "deal title")
        deal.title_key = name_key(deal.title)
    if contact is not None or company is not None:
        contact_obj, company_obj = _link(session, contact, company)
        if contact is not None:
            deal.contact_id = contact_obj.id if contact_obj else None
        if company is not None or (contact_obj is not None and company_obj is not None and not deal.company_id):
            deal.company_id = company_obj.id if company_obj else None
    if currency is not None:
        new_code = currency_code(currency)
        if deal.amount_minor is not None and amount is None:
            # keep the value, not the minor units: 12.50 EUR becomes 12.50 USD (or is refused for JPY)
            deal.amount_minor = parse_amount(to_decimal(deal.amount_minor, deal.currency) or 0, new_code)
        deal.currency = new_code
    if amount is not None:
        deal.amount_minor = parse_amount(amount, deal.currency) if clean_text(amount) else None
    if close_date is not None:
        deal.close_date = parse_close_date(close_date)
    for attr, value in (("owner", owner), ("source", source), ("notes", notes)):
        if value is not None:
            setattr(deal, attr, optional_notes(value) if attr == "notes" else optional_text(value, attr))
    if custom:
        deal.custom = fields.apply(deal.custom, fields.validate(session, "deals", custom))
    newly_missing = [f for f in missing_for(deal, stage) if f not in missing_before]
    if newly_missing:
        raise Invalid(f"deal #{deal.id} is in {stage.name}, which requires {', '.join(newly_missing)}")
    if private is not None:
        deal.private = private
    deal.updated_at = clock.now()
    session.add(deal)
    session.flush()
    reindex_deal(session, deal)
    return deal


def remove_deal(session: Session, deal: Deal) -> None:
    assert deal.id is not None
    activity_ids = list(session.exec(select(Activity.id).where(Activity.deal_id == deal.id)))
    search.remove(session, "activity", activity_ids)  # type: ignore[arg-type]
    search.remove(session, "deal", [deal.id])
    session.delete(deal)
    session.flush()


# ---------------------------------------------------------------- reading


def _days(since: datetime, until: datetime | None = None) -> int:
    return max(0, ((until or clock.now()) - since).days)


def deal_record(deal: Deal, stage: Stage, pipeline: str, contact: str | None, company: str | None) -> DealRecord:
    assert deal.id is not None  # a stored deal
    amount = to_decimal(deal.amount_minor, deal.currency)
    days = _days(deal.stage_entered_at)
    return {
        "id": deal.id,
        "title": deal.title,
        "pipeline": pipeline,
        "stage": stage.name,
        "status": deal.status,
        "probability": stage.probability,
        "amount": amount,
        "currency": deal.currency,
        "weighted": (amount * stage.probability / 100).quantize(amount) if amount is not None else None,
        "contact": contact,
        "contact_id": deal.contact_id,
        "company": company,
        "company_id": deal.company_id,
        "close_date": deal.close_date,
        "owner": deal.owner,
        "source": deal.source,
        "days_in_stage": days,
        "stalled": deal.status == "open" and stage.rot_days is not None and days > stage.rot_days,
        "closed_at": deal.closed_at,
        "lost_reason": deal.lost_reason,
        "notes": deal.notes,
        "custom": deal.custom,
        "external_id": deal.external_id,
        "created_at": deal.created_at,
        "updated_at": deal.updated_at,
    }


def _status(value: str) -> str:
    status = clean_text(value).lower()
    if status not in STATUSES:
        raise Invalid(f"unknown status '{value}': use open, won or lost")
    return status


def _named(session: Session, model: Any, what: str) -> Callable[[str], Any]:
    """--where stage=NAME, pipeline=NAME: any pipeline's, case-insensitively; a name none has is refused."""

    def clause(value: str) -> Any:
        wanted = clean_text(value).casefold()
        names = sorted({n for n in session.exec(select(model.name)) if n.casefold() == wanted})
        if not names:
            known = ", ".join(dict.fromkeys(session.exec(select(model.name).order_by(model.id))))
            raise Invalid(f"no {what} named '{value}': {what}s are {known}")
        return model.name.in_(names)

    return clause


def _where_fields(session: Session) -> dict[str, Callable[[str], Any]]:
    """The built-in fields --where takes, each with the clause it makes of a value."""
    return {
        "title": lambda value: Deal.title_key == name_key(value),
        "stage": _named(session, Stage, "stage"),
        "pipeline": _named(session, Pipeline, "pipeline"),
        "owner": lambda value: Deal.owner == optional_text(value),
        "source": lambda value: Deal.source == optional_text(value),
        "currency": lambda value: Deal.currency == currency_code(value),
        "status": lambda value: Deal.status == _status(value),
        "contact": lambda value: Contact.name_key == name_key(value),
        "company": lambda value: Company.name_key == name_key(value),
    }


def _record_rows() -> Any:
    """Deals with what deal_record shows of them: stage, pipeline name, contact and company names."""
    return (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to four columns
            Deal, Stage, Pipeline.name, Contact.name, Company.name
        )
        .join(Stage, col(Stage.id) == Deal.stage_id)
        .join(Pipeline, col(Pipeline.id) == Deal.pipeline_id)
        .outerjoin(Contact, col(Contact.id) == Deal.contact_id)
        .outerjoin(Company, col(Company.id) == Deal.company_id)
    )


def _of_company(company_id: int) -> ColumnElement[bool]:
    """A company's deals: its own, and those of its people that name no company."""
    people = select(Contact.id).where(Contact.company_id == company_id)
    return (col(Deal.company_id) == company_id) | (col(Deal.company_id).is_(None) & col(Deal.contact_id).in_(people))


def list_deals(
    session: Session,
    *,
    stage: str | None = None,
    pipeline: str | None = None,
    owner: str | None = None,
    status: str | None = None,
    closing_before: str | date | None = None,
    where: list[str] | None = None,
    contact: str | None = None,
    company: str | None = None,
    sort: str = "close",
    limit: int | None = None,
) -> list[DealRecord]:
    """Deals as plain records, filtered and sorted (close date first by default, undated last).
    CONTACT: that contact's deals; COMPANY: the company's own and its people's that name no
    company (as `crm companies show` counts them); both REFs."""
    query = _record_rows()
    if pipeline or stage:
        pipeline_obj = get_pipeline(session, pipeline)
        query = query.where(Deal.pipeline_id == pipeline_obj.id)
        if stage:
            query = query.where(Deal.stage_id == resolve_stage(session, pipeline_obj, stage).id)
    if owner:
        query = query.where(Deal.owner == owner)
    if status:
        if status not in STATUSES:
            raise Invalid(f"unknown status '{status}': use open, won or lost")
        query = query.where(Deal.status == status)
    if closing_before:
        query = query.where(col(Deal.close_date) < parse_close_date(closing_before))
    if contact:
        query = query.where(Deal.contact_id == resolve_contact(session, contact).id)
    if company:
        company_id = resolve_company(session, company).id
        assert company_id is not None
        query = query.where(_of_company(company_id))
    for clause in where_clauses(session, Deal, "deals", where, _where_fields(session)):
        query = query.where(clause)
    query = apply_sort(query, SORTS, sort, Deal.id)
    if limit:
        query = query.limit(limit)
    return [deal_record(d, s, p, c, co) for d, s, p, c, co in session.exec(query)]


def history(session: Session, deal: Deal) -> list[dict[str, Any]]:
    """Every move, oldest first, with the days the deal spent in the stage it entered."""
    rows = list(
        session.exec(
            select(StageChange).where(StageChange.deal_id == deal.id).order_by(col(StageChange.at), col(StageChange.id))
        )
    )
    out = []
    for i, row in enumerate(rows):
        until = rows[i + 1].at if i + 1 < len(rows) else (deal.closed_at if deal.status != "open" else None)
        out.append({
            "at": row.at, "from": row.from_stage, "to": row.to_stage, "by": row.by,
            "days": _days(row.at, until), "current": i == len(rows) - 1,
        })  # fmt: skip
    return out


def deals_of(session: Session, *, contact_id: int | None = None, company_id: int | None = None) -> list[DealRecord]:
    """The deals of one contact, or of one company (its own, and those of its people that name no
    company), as list_deals shows them, in no particular order."""
    query = _record_rows()
    if company_id is not None:
        query = query.where(_of_company(company_id))
    elif contact_id is not None:
        query = query.where(Deal.contact_id == contact_id)
    else:
        raise Invalid("deals_of needs a contact or a company")
    return [deal_record(d, st, p, c, co) for d, st, p, c, co in session.exec(query)]


def board(
    session: Session, *, pipeline: str | None = None, owner: str | None = None, per_stage: int | None = 10
) -> dict[str, Any]:
    """The open stages of a pipeline as columns: counts, totals and weighted values per currency
    (summed in SQL), stalled counts, and the biggest deals of each stage."""
    pipeline_obj = get_pipeline(session, pipeline)
    now = clock.now()
    open_stages = [s for s in stages(session, pipeline_obj) if s.kind == "open"]
    # A deal's stage fixes its pipeline and status, so filtering on open stage ids alone lets the
    # (stage_id, currency, amount_minor) index answer the sums without reading the table.
    mine: list[ColumnElement[bool]] = [col(Deal.owner) == owner] if owner else []
    scope = [col(Deal.stage_id).in_([s.id for s in open_stages]), *mine]
    sums: dict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for stage_id, currency, count, total in session.exec(
        select(Deal.stage_id, Deal.currency, func.count(), func.coalesce(func.sum(Deal.amount_minor), 0))
        .where(*scope)
        .group_by(col(Deal.stage_id), col(Deal.currency))
    ):
        assert total is not None  # coalesced to 0
        sums[stage_id].append((currency, count, int(total)))
    columns = []
    grand: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for stage in open_stages:
        assert stage.id is not None
        stalled = 0
        if stage.rot_days:
            stalled = session.exec(
                select(func.count())
                .select_from(Deal)
                .where(*mine, Deal.stage_id == stage.id, Deal.stage_entered_at < now - timedelta(days=stage.rot_days))
            ).one()
        totals = []
        for currency, _count, total in sorted(sums.get(stage.id, [])):
            amount = to_decimal(total, currency) or Decimal(0)
            weighted = (amount * stage.probability / 100).quantize(amount)
            totals.append({"currency": currency, "amount": amount, "weighted": weighted})
            grand[currency][0] += amount
            grand[currency][1] += weighted
        count = sum(c for _cur, c, _t in sums.get(stage.id, []))
        top = (
            select(Deal, Contact.name, Company.name)
            .outerjoin(Contact, col(Contact.id) == Deal.contact_id)
            .outerjoin(Company, col(Company.id) == Deal.company_id)
            .where(*mine, Deal.stage_id == stage.id)
            .order_by(col(Deal.amount_minor).desc().nulls_last(), col(Deal.id).desc())
        )
        if per_stage:
            top = top.limit(per_stage)
        deals = [deal_record(d, stage, pipeline_obj.name, c, co) for d, c, co in session.exec(top)]
        columns.append({
            "id": stage.id, "name": stage.name, "probability": stage.probability, "rot_days": stage.rot_days,
            "count": count, "stalled": stalled, "totals": totals, "deals": deals, "more": count - len(deals),
        })  # fmt: skip
    return {
        "pipeline": pipeline_obj.name,
        "owner": owner,
        "stages": columns,
        "totals": [{"currency": c, "amount": v[0], "weighted": v[1]} for c, v in sorted(grand.items())],
    }
