"""Targets: a goal for a KPI over a month, quarter or year, for the team or one owner, and how
far along it is.

Counts and sums (won value, won deals, new contacts, activities) are paced: by the middle of
the month half the target should be reached, so a target is *behind* when the figure is below
target × the elapsed share of its period. Rates and medians (win rate, speed to lead, cycle
days) are not paced: they are compared with the target as they stand. Speed to lead and cycle
days are better when lower.

A won-value target has one currency (the config currency unless set with --currency). Wins in
other currencies are converted into it with the rates the user keeps (crmcli.domain.rates), added up
exactly and rounded once; wins in a currency without a rate are listed as not converted, never
counted as 0, and a target that only they could still make is "incomplete", not "behind".
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqlmodel import Session, select

from crmcli.domain import settings
from crmcli.domain.lookup import as_id
from crmcli.errors import Hint, Invalid, NotFound
from crmcli.models import Target
from crmcli.values import clock
from crmcli.values.money import currency_code, format_money, parse_amount, to_decimal
from crmcli.values.normalize import optional_text

# metric: (unit, better, paced, help)
METRICS: dict[str, tuple[str, str, bool, str]] = {
    "won_value": ("money", "up", True, "value of deals won in one currency, others converted (crm config rates)"),
    "won_count": ("count", "up", True, "number of deals won"),
    "win_rate": ("percent", "up", False, "won / (won + lost), in percent"),
    "new_contacts": ("count", "up", True, "contacts created"),
    "activities": ("count", "up", True, "activities logged"),
    "speed_to_lead_hours": ("hours", "down", False, "median hours from a new contact to its first activity"),
    "cycle_days": ("days", "down", False, "median days from a deal's creation to its win"),
}
PERIODS = ("month", "quarter", "year")


def _value(metric: str, text: str, currency: str | None) -> Decimal:
    unit = METRICS[metric][0]
    raw = str(text).strip().rstrip("%").replace(",", "").replace("_", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise Invalid(f"invalid target '{text}' for {metric}: use a number such as 30 or 12000") from None
    if not value.is_finite() or value < 0:
        raise Invalid(f"invalid target '{text}' for {metric}: it must be a number, 0 or more")
    if unit == "count" and value != value.to_integral_value():
        raise Invalid(f"invalid target '{text}' for {metric}: a count is a whole number")
    if unit == "percent" and value > 100:
        raise Invalid(f"invalid target '{text}' for {metric}: a rate is a percentage, 0 to 100")
    if unit == "money":
        return to_decimal(parse_amount(raw, currency or "EUR"), currency or "EUR") or Decimal(0)
    if unit == "count":
        return value.quantize(Decimal(1))
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value


def target_record(target: Target) -> dict[str, Any]:
    unit, better, paced, _help = METRICS.get(target.metric, ("count", "up", True, ""))
    return {
        "id": target.id,
        "metric": target.metric,
        "value": Decimal(target.value),
        "unit": unit,
        "currency": target.currency,
        "period": target.period,
        "owner": target.owner,
        "better": better,
        "paced": paced,
        "created_at": target.created_at,
        "updated_at": target.updated_at,
    }


def set_target(
    session: Session,
    *,
    metric: str,
    value: str | int | Decimal,
    period: str = "month",
    owner: str | None = None,
    currency: str | None = None,
) -> tuple[Target, bool]:
    """Set the target for METRIC over PERIOD (for OWNER, else the team); replaces the one set
    before for the same metric, period, owner (and currency). Returns (target, created)."""
    metric = (metric or "").strip().lower().replace("-", "_")
    if metric not in METRICS:
        raise Invalid(f"unknown metric '{metric}': use one of {', '.join(METRICS)}")
    period = (period or "").strip().lower()
    if period not in PERIODS:
        raise Invalid(f"unknown target period '{period}': use month, quarter or year")
    owner = optional_text(owner)
    if METRICS[metric][0] == "money":
        currency = currency_code(currency or settings.get(session, "currency") or "EUR")
    elif currency:
        raise Invalid(
            f"{metric} is not an amount of money", hint=Hint("leave out {currency}", form="{message}: {hint}")
        )
    else:
        currency = None
    amount = _value(metric, str(value), currency)
    now = clock.now()
    found = session.exec(
        select(Target).where(
            Target.metric == metric,
            Target.period == period,
            Target.owner.is_(None) if owner is None else Target.owner == owner,  # type: ignore[union-attr]
            Target.currency.is_(None) if currency is None else Target.currency == currency,  # type: ignore[union-attr]
        )
    ).first()
    created = found is None
    target = found or Target(metric=metric, period=period, owner=owner, currency=currency, value="0", created_at=now)
    target.value = str(amount)
    target.updated_at = now
    session.add(target)
    session.flush()
    return target, created


def list_targets(session: Session, *, owner: str | None = None) -> list[dict[str, Any]]:
    query = select(Target)
    if owner:
        query = query.where(Target.owner == owner)
    order = {m: i for i, m in enumerate(METRICS)}
    rows = sorted(
        session.exec(query),
        key=lambda t: (t.owner is not None, t.owner or "", PERIODS.index(t.period), order.get(t.metric, 99), t.id),
    )
    return [target_record(t) for t in rows]


def get_target(session: Session, ref: str | int) -> Target:
    target_id = as_id(str(ref))
    target = session.get(Target, target_id) if target_id is not None else None
    if target is None:
        raise NotFound(f"no target with id {ref} (crm targets list shows them)")
    return target


def remove_target(session: Session, ref: str | int) -> dict[str, Any]:
    target = get_target(session, ref)
    record = target_record(target)
    session.delete(target)
    session.flush()
    return record


def unconverted_text(target: dict[str, Any]) -> str:
    """'+ $1,200.00 USD not converted: no rate (crm config rates set USD …)', or ''."""
    if not target.get("unconverted"):
        return ""
    amounts = " + ".join(f"{format_money(v, c)} {c}" for c, v in target["unconverted"].items())
    missing = target.get("missing_rates") or list(target["unconverted"])
    hint = "; ".join(f"crm config rates set {c} …" for c in missing)
    return f"+ {amounts} not converted: no rate ({hint})"
