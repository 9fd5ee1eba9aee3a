"""crm rules: assignment rules, who new contacts, companies and deals go to (add, list, test, rm)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Optional

import typer

from crmcli.commands._common import FormatOpt, QuietOpt, RuleOwnerOpt, YesOpt, fmt_of, session

app = typer.Typer(
    no_args_is_help=True,
    help="Assignment rules: who new contacts, companies and deals go to when they are added without an owner.",
)


class Entity(str, Enum):
    contacts = "contacts"
    companies = "companies"
    deals = "deals"


CountryOpt = Annotated[
    Optional[str],
    typer.Option("--country", help="Where the record is: its address's country, else its phone's (Germany, DE)."),
]
RegionOpt = Annotated[
    Optional[str], typer.Option("--region", help="The country of the record's first phone (DE, Germany).")
]
IndustryOpt = Annotated[
    Optional[str], typer.Option("--industry", help="A company's industry; a contact's or a deal's company's.")
]
SourceOpt = Annotated[Optional[str], typer.Option("--source", help="Where the record came from.")]


def _cols() -> list:
    from crmcli.output import Col

    return [
        Col("id", "ID", justify="right"),
        Col("entity", "For"),
        Col("position", "#", justify="right"),
        Col("matches", "Matches"),
        Col("owner", "Owner"),
        Col("next", "Next", drop=1),
    ]


def _said(record: dict[str, Any]) -> str:
    where = f"for {record['entity']}, tried {_nth(record['position'])}"
    return f"rule #{record['id']} ({where}): {record['matches']} → {record['owner']}"


def _nth(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


@app.command("add")
def add(
    ctx: typer.Context,
    entity: Annotated[
        Entity, typer.Argument(help="contacts, companies or deals: the new records it is for.", case_sensitive=False)
    ],
    country: CountryOpt = None,
    region: RegionOpt = None,
    industry: IndustryOpt = None,
    source: SourceOpt = None,
    tag: Annotated[
        Optional[str], typer.Option("--tag", "-t", help="A tag it carries (a deal: its contact's or company's).")
    ] = None,
    any_: Annotated[bool, typer.Option("--any", help="Every record: a catch-all (put it last).")] = False,
    owner: RuleOwnerOpt = None,
    round_robin: Annotated[
        Optional[str],
        typer.Option("--round-robin", metavar="U1,U2,…", help="Several users, who get the records in turn."),
    ] = None,
    position: Annotated[
        Optional[int],
        typer.Option("--position", min=1, help="Try it at this place (1: first); default: after the others."),
    ] = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Add a rule: who the new records it matches go to.

    New records added without an owner that match it go to --owner, or in turn to the users of
    --round-robin. It matches by one of --country, --region, --industry, --source, --tag or --any;
    the first rule that matches decides.

    Example: crm rules add contacts --country DE --owner ana
    """
    from crmcli.domain import rules
    from crmcli.errors import UsageError
    from crmcli.output import emit_written
    from crmcli.values.normalize import split_multi

    given = [
        (field, value)
        for field, value in (
            ("country", country),
            ("region", region),
            ("industry", industry),
            ("source", source),
            ("tag", tag),
            ("any", "" if any_ else None),
        )
        if value is not None
    ]
    if len(given) != 1:
        what = "one of" if not given else "only one of"
        raise UsageError(f"a rule matches by {what} --country, --region, --industry, --source, --tag or --any")
    field, value = given[0]
    with session(ctx, write=True) as s:
        rule = rules.add_rule(
            s,
            entity=entity.value,
            field=field,
            value=value or None,
            owner=owner,
            round_robin=split_multi([round_robin]) if round_robin is not None else None,
            position=position,
        )
        record = dict(rules.rule_record(rule))
    emit_written(record, fmt_of(fmt, quiet), "Added " + _said(record))


@app.command("list")
def list_(
    ctx: typer.Context,
    entity: Annotated[Optional[Entity], typer.Argument(help="Only the rules for these records.")] = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List the rules in the order they are tried.

    For contacts, companies, then deals, by position. Next: who the next record a round robin
    matches goes to.

    Example: crm rules list
    """
    from crmcli.domain import rules
    from crmcli.output import emit_list

    with session(ctx) as s:
        rows = [dict(r) for r in rules.list_rules(s, entity=entity.value if entity else None)]
    emit_list(
        rows, _cols(), fmt_of(fmt, quiet), noun="assignment rules (add one: crm rules add contacts --any --owner ana)"
    )


@app.command("test")
def test(
    ctx: typer.Context,
    ref: Annotated[
        Optional[str],
        typer.Argument(metavar="REF", help="A contact, company or deal; or leave it out and describe one."),
    ] = None,
    entity: Annotated[
        Optional[Entity],
        typer.Option("--entity", case_sensitive=False, help="Without REF: the kind of record to be."),
    ] = None,
    country: CountryOpt = None,
    region: RegionOpt = None,
    industry: IndustryOpt = None,
    source: SourceOpt = None,
    tag: Annotated[Optional[list[str]], typer.Option("--tag", "-t", help="Without REF: a tag; repeatable.")] = None,
    fmt: FormatOpt = None,
) -> None:
    """Which rule would give a record its owner, and who; nothing is changed.

    REF: a contact, company or deal, as if it were added now. Without REF, --entity and the values
    of a record to be (--country, --region, --industry, --source, --tag).

    Example: crm rules test anna.muller@nordlicht.de
    """
    from crmcli.domain import lookup, rules
    from crmcli.errors import UsageError
    from crmcli.output import Col, emit_record
    from crmcli.values.normalize import split_multi

    described = any(v is not None for v in (entity, country, region, industry, source, tag))
    if ref is not None and described:
        raise UsageError("give a REF, or --entity with the values of a record to be, not both")
    if ref is None and entity is None:
        raise UsageError("give a REF, or --entity with the values of a record to be (--country, --industry …)")
    with session(ctx) as s:
        name = None
        if ref is not None:
            contact, company, deal = lookup.resolve_subject(s, ref)
            record: Any = contact or company or deal
            kind = rules.entity_of(record)
            facts = rules.record_facts(s, record)
            name = f"{rules.KIND[kind]} #{record.id} {getattr(record, 'name', None) or record.title}"
        else:
            assert entity is not None
            kind = entity.value
            facts = rules.Facts(country=country, region=region, industry=industry, source=source,
                                tags=split_multi(tag))  # fmt: skip
        found = rules.explain(s, kind, facts)
    rule = found["rule"]
    shown = {
        "id": rule["id"] if rule else None,
        "record": name,
        "entity": kind,
        **found["facts"],
        "rule": f"#{rule['id']}: {rule['matches']} → {rule['owner']}" if rule else None,
        "owner": found["owner"],
    }
    chosen = fmt_of(fmt)
    if chosen == "json":
        shown["rule"] = rule
    if chosen == "ids":
        if rule:
            typer.echo(rule["id"])
        return
    if rule is None and chosen in ("table", "plain"):
        shown["rule"] = "none matches: the owner is the default (you, or the import's --owner)"
    cols = [
        Col("record", "Record"),
        Col("entity", "For"),
        Col("country", "Country"),
        Col("region", "Phone country"),
        Col("industry", "Industry"),
        Col("source", "Source"),
        Col("tags", "Tags"),
        Col("rule", "Rule"),
        Col("owner", "Owner"),
    ]
    emit_record(shown, cols, chosen)


@app.command("rm")
def rm(
    ctx: typer.Context,
    rule_id: Annotated[str, typer.Argument(metavar="ID", help="Rule id (crm rules list).")],
    yes: YesOpt = False,
) -> None:
    """Remove a rule; the rules after it move up one.

    Example: crm rules rm 5 --yes
    """
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import rules
    from crmcli.output import message

    with session(ctx, write=True) as s:
        record = dict(rules.rule_record(rules.get_rule(s, rule_id)))
        if not confirm(f"Remove {_said(record)}?", assume_yes=yes, action=f"remove rule #{record['id']}"):
            raise Cancelled("cancelled: nothing removed")
        rules.remove_rule(s, rule_id)
    message("Removed " + _said(record))
