"""Reports: the funnel, the forecast by month, the owners' leaderboard, customers with their
RFM segment, stalled deals, lost reasons and the monthly trend. Aggregated in SQL (see kpi.py
for the shared definitions); rows are plain dicts, money per currency as {currency: Decimal}.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Date, and_, case, func, or_
from sqlmodel import Session, col, select

from crmcli.analytics.kpi import (
    Scope,
    all_stages,
    at_utc,
    buckets,
    closed_in,
    conversion,
    deal_filters,
    lost_reasons,
    money,
    pipeline_names,
    share,
)
from crmcli.domain import settings
from crmcli.domain.pipeline import get_pipeline
from crmcli.models import Activity, Company, Contact, Deal, FollowUp, Pipeline, Stage
from crmcli.values import clock
from crmcli.values.money import to_decimal
from crmcli.values.periods import Window, months_from
from crmcli.values.when import add_months, day_start

# RFM segments, by recency (days since the last won deal, as of the end of the period or now)
# and frequency (won deals in all): stated in `crm report customers --help` too.
CHAMPION_DAYS, CHAMPION_PURCHASES, LOYAL_DAYS, AT_RISK_DAYS = 90, 2, 180, 365
SEGMENTS = ("champions", "loyal", "at risk", "lost")
SEGMENT_RULES = (
    f"champions: bought in the last {CHAMPION_DAYS} days and {CHAMPION_PURCHASES}+ won deals in all; "
    f"loyal: bought in the last {LOYAL_DAYS} days (and not a champion); "
    f"at risk: last bought {LOYAL_DAYS + 1}-{AT_RISK_DAYS} days ago; lost: longer ago than that"
)


def segment(days_since: int, purchases: int) -> str:
    if days_since <= CHAMPION_DAYS and purchases >= CHAMPION_PURCHASES:
        return "champions"
    if days_since <= LOYAL_DAYS:
        return "loyal"
    if days_since <= AT_RISK_DAYS:
        return "at risk"
    return "lost"


def _month_key(window: Window) -> tuple[str, str]:
    return window.first.strftime("%Y-%m"), window.first.strftime("%b %Y")


# ---------------------------------------------------------------- funnel


def funnel(session: Session, scope: Scope) -> dict[str, Any]:
    """The stages of one pipeline (the first unless the scope names one) with the deals that
    entered each in the period and how many moved on and were won."""
    if scope.pipeline_id is None:
        first = get_pipeline(session)
        scope = Scope(scope.window, scope.owner, first.id)
    rows = conversion(session, scope)
    return {
        "pipeline": pipeline_names(session).get(scope.pipeline_id),  # type: ignore[arg-type]
        "period": scope.window.as_dict(),
        "stages": [r for r in rows if not r["removed"] or r["entered"]],
    }


# ---------------------------------------------------------------- forecast


def forecast(session: Session, scope: Scope, months: int = 6) -> list[dict[str, Any]]:
    """Open deals by the month they are expected to close (close date), from the first month of
    the period on, for MONTHS months: deals, value and weighted value (× stage probability) per
    currency. Open deals whose close date has passed come first ("earlier"), undated ones last."""
    spans = months_from(scope.window.first, max(1, months))
    table = buckets([(w.first, w.last + timedelta(days=1)) for w in spans], "close_month", Date())
    weighted = func.coalesce(func.sum(col(Deal.amount_minor) * col(Stage.probability)), 0)
    base = [Deal.status == "open", *deal_filters(scope)]
    dated = (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to four columns
            table.c.i, Deal.currency, func.count(), func.coalesce(func.sum(Deal.amount_minor), 0), weighted
        )
        .select_from(Deal)
        .join(Stage, Stage.id == Deal.stage_id)
        .join(table, and_(Deal.close_date >= table.c.lo, Deal.close_date < table.c.hi))
        .where(*base)
        .group_by(table.c.i, Deal.currency)
    )
    bucket = case((col(Deal.close_date).is_(None), "undated"), else_="earlier")
    rest = (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to four columns
            bucket, Deal.currency, func.count(), func.coalesce(func.sum(Deal.amount_minor), 0), weighted
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .where(*base, or_(col(Deal.close_date).is_(None), col(Deal.close_date) < spans[0].first))
        .group_by(bucket, Deal.currency)
    )
    cells: dict[Any, dict[str, tuple[int, int, int]]] = defaultdict(dict)
    for key, currency, count, total, weight in [*session.exec(dated), *session.exec(rest)]:
        cells[key][currency] = (count, int(total), int(weight))
    currencies = sorted({c for per in cells.values() for c in per})
    keys: list[tuple[Any, str, str]] = [("earlier", "earlier", "Earlier (overdue)")]
    keys += [(i, *_month_key(w)) for i, w in enumerate(spans)]
    keys.append(("undated", "undated", "No close date"))
    rows = []
    for key, month, label in keys:
        for currency in currencies:
            count, total, weight = cells.get(key, {}).get(currency, (0, 0, 0))
            if key in ("earlier", "undated") and not count:
                continue
            rows.append({
                "month": month, "label": label, "currency": currency, "deals": count,
                "amount": money(total, currency), "weighted": money(Decimal(weight) / 100, currency),
            })  # fmt: skip
    return rows


# ---------------------------------------------------------------- owners


def owners(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """The leaderboard: per owner, deals won (count, value per currency), lost, win rate,
    activities logged in the period, open deals and overdue follow-ups (now)."""
    w = scope.window
    board: dict[str, dict[str, Any]] = {}

    def row(owner: str | None) -> dict[str, Any]:
        key = owner or "(nobody)"
        return board.setdefault(key, {
            "rank": 0, "owner": key, "won": 0, "won_value": {}, "lost": 0, "win_rate": None, "activities": 0,
            "open_deals": 0, "overdue_followups": 0,
        })  # fmt: skip

    closed = (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to four columns
            Deal.owner, Deal.status, Deal.currency, func.count(), func.coalesce(func.sum(Deal.amount_minor), 0)
        )
        .where(*closed_in(scope, ("won", "lost")))
        .group_by(Deal.owner, Deal.status, Deal.currency)
    )
    for owner, status, currency, count, total in session.exec(closed):
        r = row(owner)
        r[status] += count
        if status == "won":
            r["won_value"][currency] = money(total, currency)
    acts = select(Activity.by, func.count()).where(Activity.at >= at_utc(w.start), Activity.at < at_utc(w.end))
    if scope.owner:
        acts = acts.where(Activity.by == scope.owner)
    for owner, count in session.exec(acts.group_by(Activity.by)):
        row(owner)["activities"] = count
    open_ids = [s.id for s in all_stages(session, scope.pipeline_id) if s.kind == "open"]
    if open_ids:
        for owner, count in session.exec(
            select(Deal.owner, func.count())
            .where(col(Deal.stage_id).in_(open_ids), *deal_filters(scope))
            .group_by(Deal.owner)
        ):
            row(owner)["open_deals"] = count
    today = clock.to_local(clock.now()).date()
    overdue = select(FollowUp.owner, func.count()).where(
        col(FollowUp.done_at).is_(None), col(FollowUp.due_at) < at_utc(day_start(today))
    )
    if scope.owner:
        overdue = overdue.where(FollowUp.owner == scope.owner)
    for owner, count in session.exec(overdue.group_by(FollowUp.owner)):
        row(owner)["overdue_followups"] = count
    main = settings.get(session, "currency") or "EUR"
    rows = list(board.values())
    for r in rows:
        r["win_rate"] = share(r["won"], r["won"] + r["lost"])
        r["won_value"] = dict(sorted(r["won_value"].items()))
    rows.sort(key=lambda r: (-(r["won_value"].get(main) or 0), -r["won"], -sum(r["won_value"].values()), r["owner"]))
    for rank, r in enumerate(rows, 1):
        r["rank"] = rank
    return rows


# ---------------------------------------------------------------- customers


def customers(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Companies that bought (won deals closed before the end of the period): lifetime won value
    per currency, won deals, first and last purchase, days since the last, won in the period,
    and the RFM segment (SEGMENT_RULES). Best segment first, then by purchases."""
    w = scope.window
    as_of = min(clock.now(), w.end)
    in_period = Deal.closed_at >= at_utc(w.start)
    per = (col(Deal.company_id),)
    query = (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to four columns
            Deal.company_id, Company.name, Deal.currency,
            func.count(), func.coalesce(func.sum(Deal.amount_minor), 0),
            func.sum(case((in_period, 1), else_=0)),
            func.coalesce(func.sum(case((in_period, Deal.amount_minor), else_=0)), 0),
            # the company as a whole, over its currencies
            func.sum(func.count()).over(partition_by=per),
            func.min(func.min(Deal.closed_at)).over(partition_by=per),
            func.max(func.max(Deal.closed_at)).over(partition_by=per),
        )
        .join(Company, Company.id == Deal.company_id)
        .where(Deal.status == "won", Deal.closed_at < at_utc(w.end), *deal_filters(scope))
        .group_by(Deal.company_id, Company.name, Deal.currency)
    )  # fmt: skip
    companies: dict[int, dict[str, Any]] = {}
    for company_id, name, currency, _n, total, n_period, v_period, purchases, first, last in session.exec(query):
        days = max(0, (as_of - last).days)
        row = companies.setdefault(company_id, {
            "company_id": company_id, "company": name, "purchases": int(purchases), "lifetime_value": {},
            "first_purchase": first, "last_purchase": last, "days_since_last": days,
            "segment": segment(days, int(purchases)), "won_in_period": 0, "value_in_period": {},
        })  # fmt: skip
        row["lifetime_value"][currency] = money(total, currency)
        row["won_in_period"] += int(n_period)
        if n_period:
            row["value_in_period"][currency] = money(v_period, currency)
    rows = list(companies.values())
    rows.sort(key=lambda r: (SEGMENTS.index(r["segment"]), -r["purchases"], r["days_since_last"], r["company"]))
    return rows


# ---------------------------------------------------------------- stalled


def stalled(
    session: Session, scope: Scope, window: Window | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Open deals that have sat in their stage longer than its rot days, longest over first.
    With WINDOW, only those that went stale during it (and still are)."""
    now = clock.now()
    stage_list = [s for s in all_stages(session, scope.pipeline_id) if s.kind == "open" and s.rot_days]
    if not stage_list:
        return []
    cut = case({s.id: at_utc(now - timedelta(days=s.rot_days or 0)) for s in stage_list}, value=Deal.stage_id)
    conditions = [col(Deal.stage_id).in_([s.id for s in stage_list]), Deal.stage_entered_at < cut, *deal_filters(scope)]
    if window is not None:
        # stale since = entered + rot days, within the window: entered within the window shifted back by rot days
        lo = case(
            {s.id: at_utc(window.start - timedelta(days=s.rot_days or 0)) for s in stage_list}, value=Deal.stage_id
        )
        hi = case({s.id: at_utc(window.end - timedelta(days=s.rot_days or 0)) for s in stage_list}, value=Deal.stage_id)
        conditions += [Deal.stage_entered_at >= lo, Deal.stage_entered_at < hi]
    query = (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to four columns
            Deal, Stage.name, Stage.rot_days, Pipeline.name, Company.name
        )
        .join(Stage, Stage.id == Deal.stage_id)
        .join(Pipeline, Pipeline.id == Deal.pipeline_id)
        .outerjoin(Company, Company.id == Deal.company_id)
        .where(*conditions)
        .order_by(Deal.stage_entered_at, Deal.id)
    )
    if limit:
        query = query.limit(limit)
    rows = []
    for deal, stage, rot_days, pipeline, company in session.exec(query):
        days = max(0, (now - deal.stage_entered_at).days)
        rows.append({
            "id": deal.id, "title": deal.title, "pipeline": pipeline, "stage": stage, "days_in_stage": days,
            "rot_days": rot_days, "days_over": days - (rot_days or 0),
            "stale_since": deal.stage_entered_at + timedelta(days=rot_days or 0),
            "amount": to_decimal(deal.amount_minor, deal.currency), "currency": deal.currency, "owner": deal.owner,
            "company": company, "close_date": deal.close_date,
        })  # fmt: skip
    return rows


# ---------------------------------------------------------------- lost reasons


def lost_reasons_report(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Why deals were lost in the period, beside the period before: count, share and value."""
    before = {r["reason"]: r["count"] for r in lost_reasons(session, scope.at(scope.window.previous()))}
    rows = lost_reasons(session, scope)
    seen = {r["reason"] for r in rows}
    for row in rows:
        row["previous"] = before.get(row["reason"], 0)
        row["change"] = row["count"] - row["previous"]
    for reason, count in sorted(before.items(), key=lambda kv: (-kv[1], kv[0])):
        if reason not in seen:
            rows.append({"reason": reason, "count": 0, "value": {}, "share": None, "previous": count, "change": -count})
    return rows


# ---------------------------------------------------------------- trend


def trend(session: Session, scope: Scope, months: int = 12) -> list[dict[str, Any]]:
    """Month by month, the MONTHS months ending with the period's last month: deals won (count and
    value per currency), lost, win rate, new contacts and activities logged. Months are local."""
    first = add_months(scope.window.last.replace(day=1), 1 - max(1, months))
    spans = months_from(first, max(1, months))
    start, end = at_utc(spans[0].start), at_utc(spans[-1].end)
    table = buckets([(w.start, w.end) for w in spans], "month")
    closed = (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to four columns
            table.c.i, Deal.status, Deal.currency, func.count(), func.coalesce(func.sum(Deal.amount_minor), 0)
        )
        .select_from(Deal)
        .join(table, and_(Deal.closed_at >= table.c.lo, Deal.closed_at < table.c.hi))
        .where(
            col(Deal.status).in_(("won", "lost")), Deal.closed_at >= start, Deal.closed_at < end, *deal_filters(scope)
        )
        .group_by(table.c.i, Deal.status, Deal.currency)
    )
    rows: list[dict[str, Any]] = []
    for w in spans:
        month, label = _month_key(w)
        rows.append({"month": month, "label": label, "won": 0, "won_value": {}, "lost": 0, "win_rate": None,
                     "new_contacts": 0, "activities": 0})  # fmt: skip
    for i, status, currency, count, total in session.exec(closed):
        rows[i][status] += count
        if status == "won":
            rows[i]["won_value"][currency] = money(total, currency)
    people = (
        select(table.c.i, func.count())
        .select_from(Contact)
        .join(table, and_(Contact.created_at >= table.c.lo, Contact.created_at < table.c.hi))
        .where(Contact.created_at >= start, Contact.created_at < end)
    )
    acts = (
        select(table.c.i, func.count())
        .select_from(Activity)
        .join(table, and_(Activity.at >= table.c.lo, Activity.at < table.c.hi))
        .where(Activity.at >= start, Activity.at < end)
    )
    if scope.owner:
        people = people.where(Contact.owner == scope.owner)
        acts = acts.where(Activity.by == scope.owner)
    for i, count in session.exec(people.group_by(table.c.i)):
        rows[i]["new_contacts"] = count
    for i, count in session.exec(acts.group_by(table.c.i)):
        rows[i]["activities"] = count
    currencies = sorted({c for r in rows for c in r["won_value"]})
    for r in rows:
        r["win_rate"] = share(r["won"], r["won"] + r["lost"])
        r["won_value"] = {c: r["won_value"].get(c, money(0, c)) for c in currencies}
    return rows
