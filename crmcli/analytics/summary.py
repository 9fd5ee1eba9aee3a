"""The KPI screen and the attainment of targets: above crmcli.analytics.kpi (the figures) and
crmcli.analytics.targets (the goals), which know nothing of each other.

kpi_summary is everything `crm kpi` shows: every figure of a period beside the period before, the
change, the details, and how far along each target is (attainment). A target's figure is the KPI
figure of the target's own period (the month, quarter or year holding the end of the period
viewed), computed once per period and owner and shared with the screen through a cache.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any, TypedDict

from sqlmodel import Session

from crmcli.analytics import kpi
from crmcli.analytics.kpi import TENTH, FollowUpFigures, LeadFigures, make_scope, period_figures, pipeline_names
from crmcli.analytics.targets import METRICS, list_targets
from crmcli.domain import rates, settings
from crmcli.errors import Invalid
from crmcli.values import clock
from crmcli.values.money import digits
from crmcli.values.periods import Window, containing


class Figure(TypedDict):
    """One line of the KPI screen: a figure this period and the one before, and the change."""

    key: str  # open_deals, won_value, win_rate, … (one per currency for money)
    label: str
    unit: str  # count | money | percent | days | hours
    currency: str | None  # money only
    current: Decimal | int | None  # None: nothing to measure (e.g. no closed deals)
    previous: Decimal | int | None  # None also when the figure has no period before (the forecast)
    change: Decimal | int | None
    change_pct: Decimal | None
    better: str | None  # up | down | None (neither)


class OwnerActivity(TypedDict):
    owner: str  # "(nobody)" for activities logged without one
    current: int
    previous: int
    change: int


class KpiSummary(TypedDict):
    """Everything `crm kpi` shows (kpi_summary)."""

    period: dict[str, Any]  # Window.as_dict() and elapsed (0-1)
    previous: dict[str, Any]
    owner: str | None
    pipeline: str | None
    empty: bool  # no data in either period
    figures: list[Figure]
    open_pipeline: list[dict[str, Any]]  # per open stage: crmcli.analytics.kpi.open_pipeline's stages
    conversion: list[dict[str, Any]]  # kpi.conversion's rows, with previous_entered
    lost_reasons: list[dict[str, Any]]  # the top five, with previous
    activity: list[OwnerActivity]
    followups: FollowUpFigures
    speed_to_lead: LeadFigures
    targets: list[dict[str, Any]]  # attainment's rows


def kpi_summary(
    session: Session, window: Window, *, owner: str | None = None, pipeline: str | None = None, targets: bool = True
) -> KpiSummary:
    """The KPI screen: every figure for WINDOW beside the period before it, the change, the
    details (stages, conversion, lost reasons, activity per owner) and attainment of targets."""
    scope = make_scope(session, window, owner, pipeline)
    before = window.previous()
    cur = period_figures(session, scope)
    prev = period_figures(session, scope.at(before), previous=True)
    cc, pc = cur["closed"], prev["closed"]
    figures = [
        figure("open_deals", "Open deals", "count", cur["pipeline"]["count"], prev["pipeline"]["count"], better=None),
        *per_currency("open_value", "Open pipeline", cur["pipeline"]["value"], prev["pipeline"]["value"], better=None),
        *per_currency("open_weighted", "Weighted pipeline", cur["pipeline"]["weighted"], prev["pipeline"]["weighted"]),
        figure("stalled", "Stalled deals", "count", cur["pipeline"]["stalled"], prev["pipeline"]["stalled"],
                better="down"),
        *per_currency("forecast", "Forecast, weighted", cur["forecast"]["weighted"], {}, comparable=False),
        figure("won_count", "Won deals", "count", cc["won"]["count"], pc["won"]["count"]),
        *per_currency("won_value", "Won value", cc["won"]["value"], pc["won"]["value"]),
        figure("lost_count", "Lost deals", "count", cc["lost"]["count"], pc["lost"]["count"], better="down"),
        *per_currency("lost_value", "Lost value", cc["lost"]["value"], pc["lost"]["value"], better="down"),
        figure("win_rate", "Win rate %", "percent", cc["win_rate"], pc["win_rate"]),
        *per_currency("avg_won", "Average won deal", {c: v["average"] for c, v in cur["sizes"].items()},
                       {c: v["average"] for c, v in prev["sizes"].items()}, zero=False),
        *per_currency("median_won", "Median won deal", {c: v["median"] for c, v in cur["sizes"].items()},
                       {c: v["median"] for c, v in prev["sizes"].items()}, zero=False),
        figure("cycle_median_days", "Sales cycle, median days", "days", cur["cycle"]["median_days"],
                prev["cycle"]["median_days"], better="down"),
        figure("cycle_p80_days", "Sales cycle, 80th pct days", "days", cur["cycle"]["p80_days"],
                prev["cycle"]["p80_days"], better="down"),
        figure("activities", "Activities logged", "count", sum(cur["activity"].values()),
                sum(prev["activity"].values())),
        figure("followups_on_time", "Follow-ups done on time", "count", cur["followups"]["on_time"],
                prev["followups"]["on_time"]),
        figure("followups_late", "Follow-ups done late", "count", cur["followups"]["late"], prev["followups"]["late"],
                better="down"),
        figure("followups_overdue", "Follow-ups overdue", "count", cur["followups"]["overdue"],
                prev["followups"]["overdue"], better="down"),
        figure("speed_to_lead_hours", "Speed to lead, median hours", "hours", cur["lead"]["median_hours"],
                prev["lead"]["median_hours"], better="down"),
        figure("new_contacts", "New contacts", "count", cur["new"]["contacts"], prev["new"]["contacts"]),
        figure("new_companies", "New companies", "count", cur["new"]["companies"], prev["new"]["companies"]),
    ]  # fmt: skip
    owners = sorted(set(cur["activity"]) | set(prev["activity"]), key=lambda o: (o is None, o or ""))
    activity_rows: list[OwnerActivity] = [
        {"owner": o or "(nobody)", "current": cur["activity"].get(o, 0), "previous": prev["activity"].get(o, 0),
         "change": cur["activity"].get(o, 0) - prev["activity"].get(o, 0)}
        for o in owners
    ]  # fmt: skip
    activity_rows.sort(key=lambda r: (-r["current"], r["owner"]))
    previous_lost = {r["reason"]: r["count"] for r in prev["lost_reasons"]}
    reasons = [{**r, "previous": previous_lost.get(r["reason"], 0)} for r in cur["lost_reasons"][:5]]
    conv = [
        {**r, "previous_entered": prev["entered"].get(r["stage_id"], 0)}
        for r in cur["conversion"]
        if not r["removed"] or r["entered"]
    ]
    data_seen = any(
        f["current"] or f["previous"] for f in figures if f["unit"] in ("count", "money") and f["key"] != "forecast"
    ) or any(f["current"] for f in figures if f["key"] == "forecast")
    out: KpiSummary = {
        "period": {**window.as_dict(), "elapsed": round(window.elapsed(), 3)},
        "previous": before.as_dict(),
        "owner": scope.owner,
        "pipeline": pipeline_names(session).get(scope.pipeline_id) if scope.pipeline_id else None,
        "empty": not data_seen,
        "figures": figures,
        "open_pipeline": cur["pipeline"]["stages"],
        "conversion": conv,
        "lost_reasons": reasons,
        "activity": activity_rows,
        "followups": cur["followups"],
        "speed_to_lead": cur["lead"],
        "targets": [],
    }
    if targets:
        cache = {(window, scope.owner): cur} if scope.pipeline_id is None else {}
        out["targets"] = attainment(session, window, owner=scope.owner, cache=cache)
    return out


# ---------------------------------------------------------------- figures


def figure(
    key: str, label: str, unit: str, current: Any, previous: Any, *, currency: str | None = None,
    better: str | None = "up", comparable: bool = True,
) -> Figure:  # fmt: skip
    change = change_pct = None
    if comparable and current is not None and previous is not None:
        change = current - previous
        if unit in ("count", "money", "days", "hours") and previous:
            change_pct = (Decimal(change) * 100 / Decimal(previous)).quantize(TENTH)
    return {
        "key": key, "label": label, "unit": unit, "currency": currency, "current": current,
        "previous": previous if comparable else None, "change": change, "change_pct": change_pct, "better": better,
    }  # fmt: skip


def per_currency(
    key: str, label: str, current: dict[str, Decimal], previous: dict[str, Decimal], *, zero: bool = True, **kw: Any
) -> list[Figure]:
    """One figure per currency seen in either period (a missing sum is 0; a missing average, none)."""
    rows = []
    for currency in sorted(set(current) | set(previous)):
        none = Decimal(0).scaleb(-digits(currency)) if zero else None
        rows.append(
            figure(
                key, label, "money", current.get(currency, none), previous.get(currency, none), currency=currency, **kw
            )
        )
    return rows


# ---------------------------------------------------------------- attainment


def _parts(session: Session, scope: kpi.Scope, cache: dict, part: str) -> Any:
    key = (scope.window, scope.owner)
    stored = cache.setdefault(key, {})
    if part not in stored:
        compute = {
            "closed": kpi.closed, "cycle": kpi.cycle, "activity": kpi.activity,
            "lead": kpi.speed_to_lead, "new": kpi.new_records,
        }[part]  # fmt: skip
        stored[part] = compute(session, scope)
    return stored[part]


def won_value(session: Session, scope: kpi.Scope, currency: str, cache: dict) -> dict[str, Any]:
    """The value won over SCOPE in CURRENCY: wins in other currencies converted with the stored
    rates (crmcli.domain.rates); those without a rate are left out of 'value' and listed in 'unconverted'."""
    if "rates" not in cache:
        cache["rates"] = (rates.load(session), rates.base_currency(session))
    stored, base = cache["rates"]
    won = _parts(session, scope, cache, "closed")["won"]["value"]
    return rates.convert(won, currency, stored, base)


def actual(session: Session, scope: kpi.Scope, metric: str, currency: str | None, cache: dict) -> Decimal | None:
    """The figure METRIC stands at over SCOPE (None: nothing to measure yet, e.g. no closed deals)."""
    if metric == "won_value":
        main = currency or settings.get(session, "currency") or "EUR"
        won: Decimal | None = won_value(session, scope, main, cache)["value"]
        return won
    if metric == "won_count":
        return Decimal(_parts(session, scope, cache, "closed")["won"]["count"])
    if metric == "win_rate":
        rate: Decimal | None = _parts(session, scope, cache, "closed")["win_rate"]
        return rate
    if metric == "new_contacts":
        return Decimal(_parts(session, scope, cache, "new")["contacts"])
    if metric == "activities":
        return Decimal(sum(_parts(session, scope, cache, "activity").values()))
    if metric == "speed_to_lead_hours":
        hours: Decimal | None = _parts(session, scope, cache, "lead")["median_hours"]
        return hours
    if metric == "cycle_days":
        days: Decimal | None = _parts(session, scope, cache, "cycle")["median_days"]
        return days
    raise Invalid(f"unknown metric '{metric}'")


def judge(metric: str, target: Decimal, value: Decimal | None, elapsed: float) -> dict[str, Any]:
    """Attainment and pace: status is met, on pace, behind, missed (the period is over) or no data."""
    _unit, better, paced, _help = METRICS[metric]
    expected = (target * Decimal(str(elapsed))).quantize(Decimal("0.01")) if paced else target
    attained = kpi.share(int(value * 100), int(target * 100)) if better == "up" and value is not None else None
    if value is None:
        status = "no data"
    elif (value >= target) if better == "up" else (value <= target):
        status = "met" if paced else "on target"
    elif paced and value >= expected and elapsed < 1:
        status = "on pace"
    else:
        status = "missed" if elapsed >= 1 else "behind"
    return {"expected": expected if paced else None, "attainment_pct": attained, "status": status,
            "behind": status in ("behind", "missed")}  # fmt: skip


def attainment(
    session: Session, viewed: Window, *, owner: str | None = None, cache: dict | None = None
) -> list[dict[str, Any]]:
    """Every target (OWNER's only, when given) against its own period: the month, quarter or year
    that holds the end of VIEWED (today, for the current period). Team targets count everyone's
    figures, an owner's target that owner's; targets are for all pipelines."""
    now = clock.now()
    cache = cache if cache is not None else {}
    as_of = clock.to_local(min(now, viewed.end - timedelta(microseconds=1))).date()
    rows = []
    for record in list_targets(session, owner=owner):
        window = viewed if viewed.kind == record["period"] else containing(record["period"], as_of)
        scope = kpi.Scope(window, record["owner"])
        elapsed = window.elapsed(now)
        goal = record.pop("value")
        if record["unit"] == "money":  # one figure in the target's currency, and what could not be converted
            won = won_value(session, scope, record["currency"] or "EUR", cache)
            value = won["value"]
            extra = {k: won[k] for k in ("converted", "unconverted", "missing_rates")}
        else:
            value = actual(session, scope, record["metric"], record["currency"], cache)
            extra = {}
        verdict = judge(record["metric"], goal, value, elapsed)
        if extra.get("unconverted") and verdict["status"] in ("behind", "missed"):
            # the wins without a rate might make up the difference: say so rather than judge
            verdict = {**verdict, "status": "incomplete", "behind": False}
        rows.append({**record, "target": goal, "window": window.label, "elapsed": round(elapsed, 3), "actual": value,
                     **extra, **verdict})  # fmt: skip
    return rows
