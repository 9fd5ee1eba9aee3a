"""What `crm contacts show` and `crm companies show` share: the deals and follow-ups of the single customer view."""

from __future__ import annotations

from typing import Any


def deal_summary(record: dict[str, Any]) -> dict[str, Any]:
    """For people (table, plain): the deal counts, the open pipeline and the won revenue as lines
    of the details, and each deal's close date (expected for an open deal, actual for a closed one)."""
    from crmcli.values.money import format_money

    def money(values: dict[str, Any], weighted: dict[str, Any] | None = None) -> str:
        parts = []
        for currency, amount in values.items():
            text = format_money(amount, currency)
            if weighted is not None and currency in weighted:
                text += f" (weighted {format_money(weighted[currency], currency)})"
            parts.append(text)
        return ", ".join(parts)

    counts = [(record["open_deals"], "open"), (record["won_deals"], "won"), (record["lost_deals"], "lost")]
    return {
        **record,
        "deal_counts": ", ".join(f"{n} {what}" for n, what in counts if n),
        "open_pipeline_text": money(record["open_pipeline"], record["open_weighted"]),
        "won_revenue_text": money(record["won_revenue"]),
        "deals": [
            {**d, "close": d["closed_at"] if d["status"] != "open" and d["closed_at"] else d["close_date"]}
            for d in record["deals"]
        ],
    }


def summary_cols() -> list:
    from crmcli.output import Col

    return [
        Col("deal_counts", "Deals"),
        Col("open_pipeline_text", "Open pipeline"),
        Col("won_revenue_text", "Won revenue"),
    ]


def deal_section(record: dict[str, Any], *, with_contact: bool = False) -> Any:
    from crmcli.output import Col, Section

    cols = [
        Col("id", "ID", justify="right"),
        Col("title", "Deal"),
        Col("stage", "Stage"),
        Col("status", "Status", drop=3),
        Col("amount", "Amount", kind="money", justify="right"),
        Col("close", "Close", kind="date"),
        *([Col("contact", "Contact", drop=2)] if with_contact else []),
        Col("owner", "Owner", drop=1),
    ]
    total = len(record["deals"])
    title = f"Deals ({total}, {record['open_deals']} open)" if total else "Deals"
    return Section(title, "deals", cols, empty="none yet")


def followup_section(record: dict[str, Any]) -> Any:
    """The open follow-ups of a contact or company view."""
    from crmcli.output import Col, Section

    cols = [
        Col("id", "ID", justify="right"),
        Col("due_at", "Due", kind="time", drop=2),
        Col("relative", "When"),
        Col("note", "Note", wrap=True),
        Col("owner", "Owner", drop=1),
    ]
    return Section(f"Follow-ups ({len(record['followups'])})", "followups", cols, empty="none open")
