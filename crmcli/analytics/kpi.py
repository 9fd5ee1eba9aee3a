"""KPIs: how are we doing, and where is it stuck? Computed in SQL from the deals, the stage
history, the activity log, follow-ups, contacts and companies.

Every count, sum, median and percentile is the database's work; Python only divides a few
sums and interpolates between the two middle rows the database picked. The same queries run
on SQLite and PostgreSQL; the two places where they differ (time differences, integer
division) go through small helpers here.

Definitions (the README's "KPIs and reports" has them for people):

- won, lost: deals whose *current* status is won or lost and whose closed_at falls in the
  period. A deal lost and then reopened is not lost; won again later, it counts when it was won.
- win rate: won / (won + lost) of those deals, by count, all currencies together.
- deal size: average and median amount of the won deals with an amount, per currency.
- sales cycle: days from a won deal's creation to its win; median and 80th percentile.
- percentiles interpolate linearly between ranks (as PostgreSQL's percentile_cont, Excel's
  PERCENTILE.INC and Python's statistics.quantiles(method="inclusive")).
- stage conversion: the deals that entered stage S during the period (a history row into S);
  of those, the share that at or after their first such entry went on to a later open stage
  (a higher position, so skipping a stage counts as moving on; going back does not) and the
  share that entered a won stage. A stage removed since still shows, by its name in the history.
- open pipeline and stalled deals: the state at the end of the period (now, for the current
  one). A past state is rebuilt from the stage history: a deal's stage at time T is the last
  move before T. Amounts are today's (amounts have no history); probabilities and rot days too.
- forecast: open deals expected to close in the period (close date), amount × probability.
- follow-ups: the dated follow-ups due in the period: done on time (by the end of the local day
  they were due), done late, overdue (still open after that day) and still open (due later).
- speed to lead: hours from a contact's creation to the first activity logged on it, median,
  for the contacts created in the period; contacts without activity yet are counted apart. With
  the setting speed_to_lead = outgoing_email, to the first email sent to it (crm mail import).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from sqlalchemy import and_, case, column, exists, func, literal, or_, values
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import Select

from crmcli.domain import settings
from crmcli.domain.pipeline import get_pipeline
from crmcli.models import Activity, Company, Contact, Deal, FollowUp, Pipeline, Stage, StageChange, UTCDateTime
from crmcli.values import clock
from crmcli.values.money import digits
from crmcli.values.normalize import optional_text
from crmcli.values.periods import Window
from crmcli.values.when import day_start

TENTH = Decimal("0.1")


@dataclass(frozen=True)
class Scope:
    """What a figure is computed over: a period, and optionally one owner and one pipeline."""

    window: Window
    owner: str | None = None
    pipeline_id: int | None = None

    def at(self, window: Window) -> Scope:
        return replace(self, window=window)


def make_scope(session: Session, window: Window, owner: str | None = None, pipeline: str | None = None) -> Scope:
    pipeline_id = get_pipeline(session, pipeline).id if pipeline else None
    return Scope(window, optional_text(owner), pipeline_id)


# ---------------------------------------------------------------- SQL helpers


def dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def seconds_between(session: Session, later: Any, earlier: Any) -> Any:
    """LATER - EARLIER in seconds, as a number, in SQL."""
    if dialect(session) == "postgresql":
        return func.extract("epoch", later - earlier)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


def at_utc(value: datetime) -> Any:
    """A bound UTC time, typed so SQLite gets the stored text form and PostgreSQL a timestamptz."""
    return literal(value, UTCDateTime())


def percentiles(session: Session, query: Any, ps: tuple[int, ...] = (50,), grouped: bool = False) -> dict[Any, dict]:
    """Linear-interpolated percentiles PS (integers, 50 = median) of QUERY's column x, per value of
    its column g when GROUPED. The database ranks the values (ROW_NUMBER and COUNT over a window)
    and returns only the rows at the ranks each percentile needs; Python interpolates between two.
    Returns {g: {"n": count, p: value, ...}}; x may be integer (exact: Decimal out) or float."""
    # materialised: SQLite would otherwise work out QUERY's columns again for the window (a
    # correlated subquery in x, as speed to lead has, ran about twice over)
    inner = query.cte("src").prefix_with("MATERIALIZED")
    partition = {"partition_by": inner.c.g} if grouped else {}
    ranked = (
        select(
            inner.c.g,
            inner.c.x,
            func.row_number().over(order_by=inner.c.x, **partition).label("rn"),
            func.count().over(**partition).label("n"),
        )
        .where(inner.c.x.is_not(None))
        .subquery()
    )
    wanted = []
    for p in ps:
        rank = (p * (ranked.c.n - 1)) // 100 + 1
        wanted += [ranked.c.rn == rank, ranked.c.rn == rank + 1]
    rows = session.execute(select(ranked.c.g, ranked.c.n, ranked.c.rn, ranked.c.x).where(or_(*wanted)))
    picked: dict[Any, dict[int, Any]] = defaultdict(dict)
    counts: dict[Any, int] = {}
    for g, n, rn, x in rows:
        picked[g][rn] = x
        counts[g] = n
    out: dict[Any, dict] = {}
    for g, xs in picked.items():
        n = counts[g]
        result: dict[Any, Any] = {"n": n}
        for p in ps:
            pos = p * (n - 1)
            low = pos // 100 + 1
            a = xs[low]
            if pos % 100 == 0:
                result[p] = Decimal(a) if isinstance(a, int) else float(a)
            elif isinstance(a, int):
                result[p] = Decimal(a) + Decimal(xs[low + 1] - a) * Decimal(pos % 100) / 100
            else:
                result[p] = float(a) + (float(xs[low + 1]) - float(a)) * (pos % 100) / 100
        out[g] = result
    return out


# SQLite allows at most 500 terms in a compound SELECT (SQLITE_MAX_COMPOUND_SELECT)
UNION_LIMIT = 500


def buckets(spans: list[tuple[Any, Any]], name: str = "bucket", typ: Any = None) -> Any:
    """A small table (i, lo, hi) of numbered spans, as a CTE: local days or months as UTC bounds,
    so rows can be grouped by local calendar units without the database knowing the zone.

    Written as SELECT … UNION ALL SELECT … of bound values, which SQLAlchemy caches compiled (a
    VALUES list it compiles anew every time, about 5 ms for a month of days); more spans than a
    compound SELECT may have become a VALUES list."""
    from sqlalchemy import Integer, union_all

    typ = typ if typ is not None else UTCDateTime()
    if not 0 < len(spans) <= UNION_LIMIT:
        return (
            values(column("i", Integer), column("lo", typ), column("hi", typ), name=name)
            .data([(i, lo, hi) for i, (lo, hi) in enumerate(spans)])
            .cte(name)
        )
    rows = [
        select(literal(i, Integer).label("i"), literal(lo, typ).label("lo"), literal(hi, typ).label("hi"))
        for i, (lo, hi) in enumerate(spans)
    ]
    return (union_all(*rows) if len(rows) > 1 else rows[0]).cte(name)


def money(minor: int | Decimal | None, currency: str) -> Decimal:
    """Minor units (integer or exact Decimal) as the currency's amount, rounded to its minor unit."""
    places = digits(currency)
    value = Decimal(minor or 0).scaleb(-places)
    return value.quantize(Decimal(1).scaleb(-places))


def share(part: int, whole: int) -> Decimal | None:
    """PART of WHOLE in percent, one decimal; None when WHOLE is 0 (no division by zero)."""
    if not whole:
        return None
    return (Decimal(part) * 100 / whole).quantize(TENTH)


def tenths(value: float | None, unit_seconds: int) -> Decimal | None:
    if value is None:
        return None
    return Decimal(value / unit_seconds).quantize(TENTH)


def deal_filters(scope: Scope) -> list[Any]:
    """The conditions on Deal that SCOPE's owner and pipeline set (none for everyone's, all pipelines)."""
    out = []
    if scope.owner:
        out.append(Deal.owner == scope.owner)
    if scope.pipeline_id is not None:
        out.append(Deal.pipeline_id == scope.pipeline_id)
    return out


def closed_in(scope: Scope, status: str | tuple[str, ...]) -> list[Any]:
    """The conditions on Deal for deals closed with STATUS (one or several) in SCOPE's window, in scope."""
    statuses = (status,) if isinstance(status, str) else status
    w = scope.window
    return [
        col(Deal.status).in_(statuses) if len(statuses) > 1 else Deal.status == statuses[0],
        Deal.closed_at >= at_utc(w.start),
        Deal.closed_at < at_utc(w.end),
        *deal_filters(scope),
    ]


def all_stages(session: Session, pipeline_id: int | None = None) -> list[Stage]:
    query = select(Stage).join(Pipeline, col(Pipeline.id) == col(Stage.pipeline_id))
    if pipeline_id is not None:
        query = query.where(Stage.pipeline_id == pipeline_id)
    return list(session.exec(query.order_by(col(Pipeline.position), col(Pipeline.id), col(Stage.position))))


def pipeline_names(session: Session) -> dict[int, str]:
    return {p.id: p.name for p in session.exec(select(Pipeline))}  # type: ignore[misc]


# ---------------------------------------------------------------- deals won and lost


def closed(session: Session, scope: Scope) -> dict[str, Any]:
    """Won and lost in the period: counts, and values per currency."""
    out: dict[str, Any] = {s: {"count": 0, "value": {}, "sized": {}} for s in ("won", "lost")}
    query = (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to four columns
            Deal.status, Deal.currency, func.count(), func.count(col(Deal.amount_minor)),
            func.coalesce(func.sum(Deal.amount_minor), 0),
        )
        .where(*closed_in(scope, ("won", "lost")))
        .group_by(Deal.status, Deal.currency)
    )  # fmt: skip
    for status, currency, count, sized, total in session.exec(query):
        out[status]["count"] += count
        out[status]["value"][currency] = money(total, currency)
        out[status]["sized"][currency] = sized
    for status in out:
        out[status]["value"] = dict(sorted(out[status]["value"].items()))
    won, lost = out["won"]["count"], out["lost"]["count"]
    out["win_rate"] = share(won, won + lost)
    return out


def won_sizes(session: Session, scope: Scope) -> dict[str, dict[str, Decimal]]:
    """Average and median amount of the won deals, per currency."""
    query = (
        select(Deal.currency, func.count(col(Deal.amount_minor)), func.sum(col(Deal.amount_minor)))
        .where(*closed_in(scope, "won"), col(Deal.amount_minor).is_not(None))
        .group_by(Deal.currency)
    )
    averages = {c: money(Decimal(total or 0) / n, c) for c, n, total in session.exec(query) if n}
    values_: Select[str, int | None] = select(col(Deal.currency).label("g"), col(Deal.amount_minor).label("x")).where(
        *closed_in(scope, "won")
    )
    medians = percentiles(session, values_, (50,), grouped=True)
    return {
        c: {"average": averages[c], "median": money(medians[c][50], c), "deals": medians[c]["n"]}
        for c in sorted(averages)
    }


def cycle(session: Session, scope: Scope) -> dict[str, Any]:
    """Days from creation to win of the deals won in the period: median and 80th percentile."""
    query = select(literal(0).label("g"), seconds_between(session, Deal.closed_at, Deal.created_at).label("x")).where(
        *closed_in(scope, "won")
    )
    found = percentiles(session, query, (50, 80)).get(0)
    if not found:
        return {"deals": 0, "median_days": None, "p80_days": None}
    return {"deals": found["n"], "median_days": tenths(found[50], 86400), "p80_days": tenths(found[80], 86400)}


def lost_reasons(session: Session, scope: Scope, limit: int | None = None) -> list[dict[str, Any]]:
    """Why deals were lost in the period, most frequent first: count, share, value per currency."""
    query = (
        select(Deal.lost_reason, Deal.currency, func.count(), func.coalesce(func.sum(Deal.amount_minor), 0))
        .where(*closed_in(scope, "lost"))
        .group_by(Deal.lost_reason, Deal.currency)
    )
    merged: dict[str, dict[str, Any]] = {}
    for reason, currency, count, total in session.exec(query):
        key = reason or "(no reason)"
        row = merged.setdefault(key, {"reason": key, "count": 0, "value": {}})
        row["count"] += count
        row["value"][currency] = money(total, currency)
    total_count = sum(r["count"] for r in merged.values())
    rows = sorted(merged.values(), key=lambda r: (-r["count"], r["reason"]))
    for row in rows:
        row["share"] = share(row["count"], total_count)
        row["value"] = dict(sorted(row["value"].items()))
    return rows[:limit] if limit else rows


# ---------------------------------------------------------------- the open pipeline


def open_pipeline(session: Session, scope: Scope, at: datetime | None = None) -> dict[str, Any]:
    """Open deals per stage at time AT (default now): count, stalled, value and weighted value per
    currency. Before now, each deal's stage at AT is its last move before AT (stage history)."""
    now = clock.now()
    at = min(at or now, now)
    stage_list = all_stages(session, scope.pipeline_id)
    by_id = {s.id: s for s in stage_list}
    open_ids = [s.id for s in stage_list if s.kind == "open"]
    closed_ids = [s.id for s in stage_list if s.kind != "open"]

    def cutoff(key: Any) -> Any:
        """Per stage: entered before this time means stalled at AT (NULL: the stage never rots)."""
        rotting = {s.id: at_utc(at - timedelta(days=s.rot_days)) for s in stage_list if s.rot_days}
        return case(rotting, value=key, else_=None) if rotting else literal(None, UTCDateTime())

    sums: dict[int, dict[str, list[int]]] = defaultdict(dict)
    names: dict[int, str] = {}
    # Deals that have not moved since AT sit where they sat then: the deal table answers.
    current = (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to four columns
            Deal.stage_id, Deal.currency, func.count(), func.coalesce(func.sum(Deal.amount_minor), 0),
            func.sum(case((Deal.stage_entered_at < cutoff(Deal.stage_id), 1), else_=0)),
        )
        .where(col(Deal.stage_id).in_(open_ids), *deal_filters(scope))
        .group_by(Deal.stage_id, Deal.currency)
    )  # fmt: skip
    if at < now:
        current = current.where(Deal.stage_entered_at < at_utc(at))
    rows = list(session.exec(current)) if open_ids else []
    if at < now:
        # Deals that moved since AT (and existed then): their last move before AT says where they were.
        h = aliased(StageChange, name="h")
        last = (
            select(h.id)
            .where(h.deal_id == Deal.id, h.at < at_utc(at))
            .order_by(col(h.at).desc(), col(h.id).desc())
            .limit(1)
            .correlate(Deal)
            .scalar_subquery()
        )
        moved = (
            select(  # type: ignore[call-overload]  # SQLModel types select() for up to four columns
                StageChange.to_stage_id, Deal.currency, func.count(), func.coalesce(func.sum(Deal.amount_minor), 0),
                func.sum(case((StageChange.at < cutoff(StageChange.to_stage_id), 1), else_=0)),
                func.max(StageChange.to_stage),
            )
            .select_from(Deal)
            .join(StageChange, StageChange.id == last)
            .where(
                # (a deal created after AT has no move before it: the join drops it)
                Deal.stage_entered_at >= at_utc(at), col(StageChange.to_stage_id).not_in(closed_ids),
                *deal_filters(scope),
            )
            .group_by(StageChange.to_stage_id, Deal.currency)
        )  # fmt: skip
        for stage_id, currency, count, total, stalled, name in session.exec(moved):
            rows.append((stage_id, currency, count, total, stalled))
            names[stage_id] = name
    for stage_id, currency, count, total, stalled in rows:
        cell = sums[stage_id].setdefault(currency, [0, 0, 0])
        cell[0] += count
        cell[1] += int(total)
        cell[2] += int(stalled or 0)
    pipelines = pipeline_names(session)
    out_stages = []
    grand: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    ordered = [s.id for s in stage_list if s.kind == "open" and s.id is not None] + sorted(set(sums) - set(by_id))
    for stage_id in ordered:
        stage = by_id.get(stage_id)
        probability = stage.probability if stage else 0
        totals = []
        for currency, (_count, total, _stalled) in sorted(sums.get(stage_id, {}).items()):
            amount = money(total, currency)
            weighted = money(Decimal(total) * probability / 100, currency)
            totals.append({"currency": currency, "amount": amount, "weighted": weighted})
            grand[currency][0] += amount
            grand[currency][1] += weighted
        cells = sums.get(stage_id, {}).values()
        out_stages.append({
            "stage_id": stage_id,
            "pipeline": pipelines.get(stage.pipeline_id) if stage else None,
            "stage": stage.name if stage else names.get(stage_id, f"#{stage_id}"),
            "removed": stage is None,
            "probability": probability if stage else None,
            "rot_days": stage.rot_days if stage else None,
            "count": sum(c[0] for c in cells),
            "stalled": sum(c[2] for c in cells),
            "totals": totals,
        })  # fmt: skip
    return {
        "at": at,
        "stages": out_stages,
        "count": sum(s["count"] for s in out_stages),
        "stalled": sum(s["stalled"] for s in out_stages),
        "value": {c: v[0] for c, v in sorted(grand.items())},
        "weighted": {c: v[1] for c, v in sorted(grand.items())},
    }


def forecast(session: Session, scope: Scope) -> dict[str, Any]:
    """Open deals expected to close in the period (by close date): count, value and weighted value."""
    w = scope.window
    query = (
        select(
            Deal.currency, func.count(), func.coalesce(func.sum(Deal.amount_minor), 0),
            func.coalesce(func.sum(col(Deal.amount_minor) * col(Stage.probability)), 0),
        )
        .join(Stage, col(Stage.id) == col(Deal.stage_id))
        # open by the stage's kind, so the close-date index finds the rows (not the many open deals)
        .where(
            Stage.kind == "open", col(Deal.close_date) >= w.first, col(Deal.close_date) <= w.last, *deal_filters(scope)
        )
        .group_by(Deal.currency)
    )  # fmt: skip
    out: dict[str, Any] = {"count": 0, "value": {}, "weighted": {}}
    for currency, count, total, weighted in session.exec(query):
        out["count"] += count
        out["value"][currency] = money(total, currency)
        out["weighted"][currency] = money(Decimal(weighted or 0) / 100, currency)
    out["value"] = dict(sorted(out["value"].items()))
    out["weighted"] = dict(sorted(out["weighted"].items()))
    return out


# ---------------------------------------------------------------- stage conversion


def conversion(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Per open or won stage: the deals that entered it in the period, and the shares of them
    that moved on to a later stage and that reached a won stage (at or after that entry)."""
    w = scope.window
    stage_list = all_stages(session, scope.pipeline_id)
    entry: Select[int, int, datetime] = select(
        col(StageChange.to_stage_id).label("stage_id"),
        col(StageChange.deal_id).label("deal_id"),
        func.min(StageChange.at).label("first_at"),
    ).where(StageChange.at >= at_utc(w.start), StageChange.at < at_utc(w.end))
    filters = deal_filters(scope)
    if filters:
        entry = entry.join(Deal, col(Deal.id) == col(StageChange.deal_id)).where(*filters)
    entered = entry.group_by(col(StageChange.to_stage_id), col(StageChange.deal_id)).subquery("entered")
    here, there = aliased(Stage, name="here"), aliased(Stage, name="there")
    later = aliased(StageChange, name="later")
    moved_on = (
        select(later.id)
        .join(there, col(there.id) == col(later.to_stage_id))
        .where(
            later.deal_id == entered.c.deal_id, later.at >= entered.c.first_at,
            there.pipeline_id == here.pipeline_id,
            or_(col(there.kind) == "won", and_(col(there.kind) == "open", col(there.position) > col(here.position))),
        )
    )  # fmt: skip
    # joined to the stage, like moved_on, so the (deal_id, at) index finds the deal's later moves
    won = (
        select(later.id)
        .join(there, col(there.id) == col(later.to_stage_id))
        .where(later.deal_id == entered.c.deal_id, later.at >= entered.c.first_at, there.kind == "won")
    )
    query = (
        select(
            entered.c.stage_id, func.count(),
            func.sum(case((exists(moved_on), 1), else_=0)), func.sum(case((exists(won), 1), else_=0)),
        )
        .select_from(entered)
        .outerjoin(here, col(here.id) == entered.c.stage_id)
        .where(or_(col(here.id).is_(None), col(here.kind) != "lost"))
        .group_by(entered.c.stage_id)
    )  # fmt: skip
    found = {stage_id: (n, on, wins) for stage_id, n, on, wins in session.exec(query)}
    known = {s.id for s in stage_list}
    removed = [i for i in found if i not in known]
    names: dict[int, tuple[str, int | None]] = {}
    if removed:
        rows = session.exec(
            select(StageChange.to_stage_id, func.max(StageChange.to_stage), func.max(Deal.pipeline_id))
            .join(Deal, col(Deal.id) == col(StageChange.deal_id))
            .where(col(StageChange.to_stage_id).in_(removed))
            .group_by(col(StageChange.to_stage_id))
        )
        names = {i: (name, p) for i, name, p in rows}
        if scope.pipeline_id is not None:  # deals never change pipeline: theirs is the stage's
            removed = [i for i in removed if names.get(i, ("", None))[1] == scope.pipeline_id]
    pipelines = pipeline_names(session)
    out = []
    for stage in stage_list:
        if stage.kind == "lost":
            continue
        n, on, wins = found.get(stage.id, (0, 0, 0))
        out.append({
            "stage_id": stage.id, "pipeline": pipelines.get(stage.pipeline_id), "stage": stage.name,
            "kind": stage.kind, "removed": False, "entered": n,
            "moved_on": on if stage.kind == "open" else None,
            "moved_on_pct": share(on, n) if stage.kind == "open" else None,
            "won": wins, "won_pct": share(wins, n),
        })  # fmt: skip
    for stage_id in sorted(removed):
        n, _on, wins = found[stage_id]
        name, pipeline_id = names.get(stage_id, (f"#{stage_id}", None))
        out.append({
            "stage_id": stage_id, "pipeline": pipelines.get(pipeline_id) if pipeline_id else None, "stage": name,
            "kind": None, "removed": True, "entered": n, "moved_on": None, "moved_on_pct": None,
            "won": wins, "won_pct": share(wins, n),
        })  # fmt: skip
    return out


# ---------------------------------------------------------------- activity, follow-ups, leads


def activity(session: Session, scope: Scope) -> dict[str | None, int]:
    """Activities logged in the period, per owner (who logged them)."""
    w = scope.window
    query = select(Activity.by, func.count()).where(Activity.at >= at_utc(w.start), Activity.at < at_utc(w.end))
    if scope.owner:
        query = query.where(Activity.by == scope.owner)
    return {by: n for by, n in session.exec(query.group_by(Activity.by))}


class FollowUpFigures(TypedDict):
    """The dated follow-ups due in a period (followups)."""

    due: int
    on_time: int  # done by the end of their local due day
    late: int
    overdue: int  # open, their day is over
    open: int  # open, due today or later
    on_time_pct: Decimal | None  # of those done; None when none is


def followups(session: Session, scope: Scope) -> FollowUpFigures:
    """The dated follow-ups due in the period: done on time (by the end of their local due day),
    done late, overdue (open, their day is over) and open (due today or later)."""
    w = scope.window
    now = clock.now()
    days = buckets([(day_start(w.first + timedelta(days=i)), day_start(w.first + timedelta(days=i + 1)))
                    for i in range(w.days)], "due_day")  # fmt: skip
    done = col(FollowUp.done_at).is_not(None)

    def count(condition: Any) -> Any:
        return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

    query = (
        select(  # type: ignore[call-overload]  # SQLModel types select() for up to four columns
            func.count(),
            count(and_(done, FollowUp.done_at < days.c.hi)),
            count(and_(done, FollowUp.done_at >= days.c.hi)),
            count(and_(~done, days.c.hi <= at_utc(now))),
            count(and_(~done, days.c.hi > at_utc(now))),
        )
        .select_from(FollowUp)
        .join(days, and_(FollowUp.due_at >= days.c.lo, FollowUp.due_at < days.c.hi))
    )
    if scope.owner:
        query = query.where(FollowUp.owner == scope.owner)
    due, on_time, late, overdue, pending = session.exec(query).one()
    return {
        "due": due, "on_time": int(on_time), "late": int(late), "overdue": int(overdue), "open": int(pending),
        "on_time_pct": share(int(on_time), int(on_time) + int(late)),
    }  # fmt: skip


def _created_in(model: Any, scope: Scope) -> list[Any]:
    w = scope.window
    out = [model.created_at >= at_utc(w.start), model.created_at < at_utc(w.end)]
    if scope.owner:
        out.append(model.owner == scope.owner)
    return out


class LeadFigures(TypedDict):
    """Speed to lead over a period's new contacts (speed_to_lead)."""

    contacts: int  # created in the period
    reached: int  # with an activity logged since
    not_reached: int
    median_hours: Decimal | None  # creation to first activity; None when none was reached


def speed_to_lead(session: Session, scope: Scope) -> LeadFigures:
    """Median hours from a new contact's creation to the first activity logged on it (the
    speed_to_lead setting outgoing_email: to the first email sent to it)."""
    touch = [col(Activity.contact_id) == Contact.id, col(Activity.at) >= Contact.created_at]
    if settings.get(session, "speed_to_lead") == "outgoing_email":
        touch += [col(Activity.type) == "email", col(Activity.direction) == "out"]
    first = select(func.min(Activity.at)).where(*touch).scalar_subquery()
    contacts = session.exec(select(func.count()).select_from(Contact).where(*_created_in(Contact, scope))).one()
    query = select(literal(0).label("g"), seconds_between(session, first, Contact.created_at).label("x")).where(
        *_created_in(Contact, scope)
    )
    # the contacts reached are those with a first activity: the percentile's own count (x is NULL
    # exactly when there is none), so the correlated subquery runs once, not twice
    found = percentiles(session, query, (50,)).get(0)
    reached = int(found["n"]) if found else 0
    return {
        "contacts": contacts,
        "reached": reached,
        "not_reached": contacts - reached,
        "median_hours": tenths(found[50], 3600) if found else None,
    }


def new_records(session: Session, scope: Scope) -> dict[str, int]:
    contacts = session.exec(select(func.count()).select_from(Contact).where(*_created_in(Contact, scope))).one()
    companies = session.exec(select(func.count()).select_from(Company).where(*_created_in(Company, scope))).one()
    return {"contacts": contacts, "companies": companies}


# ---------------------------------------------------------------- one screen


def entered(session: Session, scope: Scope) -> dict[int, int]:
    """The deals that entered each stage in the period (the left column of stage conversion)."""
    w = scope.window
    query = select(StageChange.to_stage_id, func.count(func.distinct(StageChange.deal_id))).where(
        StageChange.at >= at_utc(w.start), StageChange.at < at_utc(w.end)
    )
    filters = deal_filters(scope)
    if filters:
        query = query.join(Deal, col(Deal.id) == col(StageChange.deal_id)).where(*filters)
    return {stage_id: n for stage_id, n in session.exec(query.group_by(col(StageChange.to_stage_id)))}


def period_figures(session: Session, scope: Scope, *, previous: bool = False) -> dict[str, Any]:
    """Everything `crm kpi` shows that belongs to one period. For the PREVIOUS period, what is
    shown beside: stage entries without their conversion, and no forecast (it looks ahead)."""
    w = scope.window
    return {
        "closed": closed(session, scope),
        "sizes": won_sizes(session, scope),
        "cycle": cycle(session, scope),
        "lost_reasons": lost_reasons(session, scope),
        "pipeline": open_pipeline(session, scope, at=w.end),
        "forecast": forecast(session, scope) if not previous else None,
        "conversion": conversion(session, scope) if not previous else None,
        "entered": entered(session, scope) if previous else None,
        "activity": activity(session, scope),
        "followups": followups(session, scope),
        "lead": speed_to_lead(session, scope),
        "new": new_records(session, scope),
    }
