"""crm contacts dedupe / merge and crm companies dedupe / merge (registered on those groups in cli.py)."""

from __future__ import annotations

from typing import Annotated, Any, Optional

import typer

from crmcli.commands._common import FormatOpt, LimitOpt, QuietOpt, YesOpt, fmt_of, session

ThresholdOpt = Annotated[
    int,
    typer.Option(
        "--threshold",
        min=0,
        max=100,
        help="Lowest score (0-100) listed: 100 is the same record, less a possible duplicate; lower finds more.",
    ),
]
AutoOpt = Annotated[
    bool,
    typer.Option(
        "--auto",
        help="Merge the exact ones (same email or phone and a like name, or same name and company) into the oldest.",
    ),
]
ReasonOpt = Annotated[Optional[str], typer.Option("--reason", help="Why; kept in the merge record.")]

_GROUP = {"contact": "contacts", "company": "companies"}
_PLURAL = {"contact": "contacts", "company": "companies"}


def _cols() -> list:
    from crmcli.output import Col

    return [
        Col("cluster", "#", justify="right"),
        Col("score", "Score", justify="right"),
        Col("names", "Records", wrap=True),
        Col("reasons", "Why", wrap=True, drop=1),
        Col("command", "Merge with", drop=2),
    ]


def _resolve(s: Any, entity: str, ref: str) -> Any:
    from crmcli.domain.lookup import resolve_company, resolve_contact

    return resolve_contact(s, ref) if entity == "contact" else resolve_company(s, ref)


def _count(n: int, what: str) -> str:
    plural = {"activity": "activities", "company": "companies", "follow-up": "follow-ups"}.get(what, what + "s")
    return f"{n} {what if n == 1 else plural}"


def _summary(result: dict[str, Any], entity: str) -> list[str]:
    """Lines for people: what moved, and the values of the removed records that were not taken."""
    import json

    names = ", ".join(f"#{m['id']} {m['name']}" for m in result["merged"])
    labels = {"contacts": "person", "activities": "activity", "deals": "deal", "followups": "follow-up"}
    labels.update({"emails": "email", "phones": "phone"})
    moved = [_count(n, labels[k]) for k, n in result["moved"].items() if n]
    if result["tags_added"]:
        moved.append(_count(len(result["tags_added"]), "tag"))
    lines = [f"Merged {names} into #{result['id']} {result['name']}" + (f": {', '.join(moved)}" if moved else "")]
    if result["filled"]:
        lines.append(f"  filled from the others: {', '.join(result['filled'])}")
    for other_id, values in result["not_taken"].items():
        shown = {k: v for k, v in values.items() if k != "company_id"}
        if shown:
            kept = "; ".join(f"{k} {json.dumps(v, ensure_ascii=False)}" for k, v in shown.items())
            lines.append(f"  #{result['id']} kept its own values; #{other_id} had {kept}")
    return lines


def dedupe(
    ctx: typer.Context,
    entity: str,
    threshold: int,
    auto: bool,
    yes: bool,
    limit: int | None,
    fmt: Any,
    quiet: bool,
) -> None:
    import sys

    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import dedupe as domain
    from crmcli.domain import settings
    from crmcli.output import emit_list, message

    plural = _PLURAL[entity]
    chosen = fmt_of(fmt, quiet)
    if not auto:
        with session(ctx) as s:
            rows = domain.clusters(s, entity, threshold=threshold)
        if limit:
            rows = rows[:limit]
        if chosen == "ids":
            sys.stdout.write("".join(" ".join(str(i) for i in r["ids"]) + "\n" for r in rows))
            return
        emit_list(rows, _cols(), chosen, noun=f"likely duplicate {plural}")
        return
    with session(ctx, write=True) as s:
        planned = domain.clusters(s, entity, threshold=domain.EXACT, exact_only=True)
        if not planned:
            message(f"No exact duplicate {plural}.")
            if chosen == "json":
                emit_list([], _cols(), "json")
            return
        records = sum(len(c["ids"]) - 1 for c in planned)
        if not confirm(f"Merge {records} duplicate {plural} into {len(planned)}?", assume_yes=yes):
            raise Cancelled("nothing merged")
        results = domain.auto_merge(s, entity, by=settings.current_user())
    for result in results:
        lines = _summary(result, entity)
        lines[0] += f" ({'; '.join(result['reasons'])})"
        message("\n".join(lines))
    merged = sum(len(r["merged"]) for r in results)
    message(f"Merged {merged} duplicate {plural} into {len(results)} {plural if len(results) != 1 else entity}.")
    if chosen == "json":
        emit_list(results, _cols(), "json")
    elif chosen in ("ids", "plain", "csv"):
        sys.stdout.write("".join(f"{r['id']}\n" for r in results))


def merge(
    ctx: typer.Context, entity: str, keep: str, others: list[str], reason: str | None, yes: bool, fmt: Any, quiet: bool
) -> None:
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import dedupe as domain
    from crmcli.domain import settings
    from crmcli.output import emit_written

    with session(ctx, write=True) as s:
        kept = _resolve(s, entity, keep)
        removed = [_resolve(s, entity, ref) for ref in others]
        names = ", ".join(f"#{r.id} {r.name}" for r in removed)
        if not confirm(f"Merge {names} into #{kept.id} {kept.name}? The others are removed.", assume_yes=yes):
            raise Cancelled("nothing merged")
        result = domain.merge(s, entity, kept, removed, by=settings.current_user(), reason=reason)
    emit_written(result, fmt_of(fmt, quiet), "\n".join(_summary(result, entity)))


def contacts_dedupe(
    ctx: typer.Context,
    threshold: ThresholdOpt = 75,  # dedupe.DEFAULT_THRESHOLD (not imported at start-up)
    auto: AutoOpt = False,
    yes: YesOpt = False,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List duplicate contacts (shared email or phone, like names at one company); --auto merges the exact ones.

    Example: crm contacts dedupe --threshold 90
    """
    dedupe(ctx, "contact", threshold, auto, yes, limit, fmt, quiet)


def contacts_merge(
    ctx: typer.Context,
    keep: Annotated[str, typer.Argument(help="The contact to keep: id, email or exact name.")],
    others: Annotated[list[str], typer.Argument(help="The duplicates to merge into it and remove.")],
    reason: ReasonOpt = None,
    yes: YesOpt = False,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Merge duplicate contacts into KEEP: emails, phones, tags, activities, deals and follow-ups move over.

    Example: crm contacts merge 12 57 88 --yes
    """
    merge(ctx, "contact", keep, others, reason, yes, fmt, quiet)


def companies_dedupe(
    ctx: typer.Context,
    threshold: ThresholdOpt = 75,  # dedupe.DEFAULT_THRESHOLD
    auto: Annotated[
        bool,
        typer.Option("--auto", help="Merge the exact ones (same domain or phone and a like name, or the same name)."),
    ] = False,
    yes: YesOpt = False,
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List likely duplicate companies (same domain or phone, names alike once Inc./GmbH/… are ignored).

    Example: crm companies dedupe --auto --yes
    """
    dedupe(ctx, "company", threshold, auto, yes, limit, fmt, quiet)


def companies_merge(
    ctx: typer.Context,
    keep: Annotated[str, typer.Argument(help="The company to keep: id, domain or exact name.")],
    others: Annotated[list[str], typer.Argument(help="The duplicates to merge into it and remove.")],
    reason: ReasonOpt = None,
    yes: YesOpt = False,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Merge duplicate companies into KEEP: their people, activities, deals and follow-ups move over.

    Example: crm companies merge "Acme GmbH" "ACME, Inc." --yes
    """
    merge(ctx, "company", keep, others, reason, yes, fmt, quiet)


def merged_cols() -> list:
    """The Merged section of contacts show and companies show."""
    from crmcli.output import Col

    return [
        Col("at", "When", kind="time"),
        Col("what", "Merged in"),
        Col("reason", "Why", wrap=True, drop=2),
        Col("by", "By", drop=1),
    ]
