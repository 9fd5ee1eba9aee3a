"""crm companies: add, list, show, edit, rm."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crmcli.commands._common import (
    FieldOpt,
    FormatOpt,
    LimitOpt,
    NewOwnerOpt,
    OwnerFilterOpt,
    OwnerOpt,
    PrivateOpt,
    QuietOpt,
    RegionOpt,
    SinceOpt,
    TagFilterOpt,
    TagOpt,
    WhereOpt,
    YesOpt,
    fmt_of,
    session,
)

app = typer.Typer(no_args_is_help=True, help="Organisations: add, list, show, edit and remove companies.")

DomainOpt = Annotated[Optional[str], typer.Option("--domain", "-d", help="Web domain, e.g. acme.de.")]
PhoneOpt = Annotated[Optional[str], typer.Option("--phone", "-p", help="Switchboard phone.")]
WebsiteOpt = Annotated[Optional[str], typer.Option("--website", help="Web address; acme.de means https://acme.de.")]
IndustryOpt = Annotated[Optional[str], typer.Option("--industry", help="What the company does: SaaS, Retail …")]
StreetOpt = Annotated[Optional[str], typer.Option("--street", help="Street and number of the postal address.")]
CityOpt = Annotated[Optional[str], typer.Option("--city", help="City or town.")]
StateOpt = Annotated[
    Optional[str],
    typer.Option("--state", help="State, province or county of the address (--region is the phones' country)."),
]
PostcodeOpt = Annotated[Optional[str], typer.Option("--postcode", help="Postcode or ZIP code.")]
CountryOpt = Annotated[Optional[str], typer.Option("--country", help="Country of the address.")]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(help="Company name (asked for on a terminal when left out).")] = None,
    domain: DomainOpt = None,
    phone: PhoneOpt = None,
    website: WebsiteOpt = None,
    tag: TagOpt = None,
    owner: OwnerOpt = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Where it came from.")] = None,
    notes: Annotated[Optional[str], typer.Option("--notes", help="Free text.")] = None,
    industry: IndustryOpt = None,
    street: StreetOpt = None,
    city: CityOpt = None,
    state: StateOpt = None,
    postcode: PostcodeOpt = None,
    country: CountryOpt = None,
    field: FieldOpt = None,
    region: RegionOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
    private: PrivateOpt = None,
) -> None:
    """Add a company.

    Example: crm companies add "Acme GmbH" --domain acme.de -t customer --industry SaaS --city Berlin --country DE
    """
    from crmcli.commands._prompts import ask_text
    from crmcli.domain import companies, fields, settings, views
    from crmcli.output import emit_written
    from crmcli.values.normalize import split_multi

    name = ask_text("Company name", name, option="argument NAME")
    with session(ctx, write=True) as s:
        company = companies.add_company(
            s,
            name=name,
            domain=domain,
            phone=phone,
            website=website,
            tags=split_multi(tag),
            owner=owner,
            default_owner=settings.current_user(),  # when no assignment rule gives one
            source=source,
            notes=notes,
            custom=fields.parse_assignments(field),
            region=region,
            street=street,
            city=city,
            state=state,
            postcode=postcode,
            country=country,
            industry=industry,
            private=bool(private),
        )
        record = views.company_view(s, company, timeline_limit=0)
    emit_written(record, fmt_of(fmt, quiet), f"Added company #{company.id}: {company.name}")


@app.command("list")
def list_(
    ctx: typer.Context,
    tag: TagFilterOpt = None,
    owner: OwnerFilterOpt = None,
    where: WhereOpt = None,
    since: SinceOpt = None,
    sort: Annotated[
        str, typer.Option("--sort", "-s", help="name, created, updated or id; prefix - to reverse.")
    ] = "name",
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List companies with how many people each has.

    Example: crm companies list --tag customer --where country=DE --sort -created
    """
    from crmcli.domain import companies
    from crmcli.output import Col, emit_list

    with session(ctx) as s:
        rows = companies.list_companies(
            s, tag=tag, owner=owner, where=where, since=since, sort=sort, limit=limit or None
        )
    cols = [
        Col("id", "ID", justify="right"),
        Col("name", "Name"),
        Col("domain", "Domain"),
        Col("people", "People", justify="right"),
        Col("tags", "Tags"),
        Col("owner", "Owner"),
    ]
    emit_list(rows, cols, fmt_of(fmt, quiet), noun="companies")


@app.command("show")
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Id, domain, name or a unique part of it (see REF in the README).")],
    timeline: Annotated[int, typer.Option("--timeline", min=0, help="Show the N latest activities (0: all).")] = 20,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Show a company with its people, its deals (open and closed, with the open pipeline and won
    revenue per currency), its open follow-ups and the activity of the company and its people.

    Example: crm companies show acme-robotics.de
    """
    from crmcli.commands._customer import deal_section, deal_summary, followup_section, summary_cols
    from crmcli.commands.contacts import list_cols
    from crmcli.commands.dedupe import merged_cols
    from crmcli.domain import lookup, views
    from crmcli.output import Col, Section, emit_record
    from crmcli.values.addressbook import address_line

    with session(ctx) as s:
        record = views.company_view(s, lookup.resolve_company(s, ref), timeline_limit=timeline or None)
    shown = fmt_of(fmt, quiet)
    if shown in ("table", "plain"):  # for people: the address on one line; data formats keep the parts
        record = deal_summary({**record, "address": address_line(record)})
    cols = [
        Col("id", "ID"),
        Col("name", "Name"),
        Col("domain", "Domain"),
        Col("phone", "Phone", kind="phone"),
        Col("website", "Website"),
        Col("address", "Address"),
        Col("industry", "Industry"),
        Col("tags", "Tags"),
        Col("owner", "Owner"),
        Col("source", "Source"),
        Col("custom", "Fields"),
        Col("last_touch", "Last touch", kind="time"),
        *summary_cols(),
        Col("notes", "Notes"),
        Col("created_at", "Created", kind="time"),
    ]
    people_cols = [c for c in list_cols() if c.key not in ("company", "owner")]
    activity_cols = [
        Col("at", "When", kind="time"),
        Col("type", "Type"),
        Col("subject", "Who"),
        Col("text", "What", wrap=True),
        Col("by", "By", drop=1),
    ]
    sections = [
        Section(f"People ({record['people']})", "contacts", people_cols, empty="nobody yet"),
        deal_section(record, with_contact=True),
        followup_section(record),
        Section(f"Activity ({record['activity_count']})", "activities", activity_cols, empty="none yet"),
    ]
    if record["merged"]:  # duplicates merged into this one (crm companies merge)
        sections.append(Section(f"Merged ({len(record['merged'])})", "merged", merged_cols()))
    emit_record(record, cols, shown, sections)


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Id, domain, name or a unique part of it (see REF in the README).")],
    name: Annotated[Optional[str], typer.Option("--name", help="New name.")] = None,
    domain: DomainOpt = None,
    phone: PhoneOpt = None,
    website: WebsiteOpt = None,
    owner: NewOwnerOpt = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Source ('' clears).")] = None,
    notes: Annotated[Optional[str], typer.Option("--notes", help="Notes ('' clears).")] = None,
    industry: Annotated[Optional[str], typer.Option("--industry", help="What the company does ('' clears).")] = None,
    street: Annotated[Optional[str], typer.Option("--street", help="Street and number ('' clears).")] = None,
    city: Annotated[Optional[str], typer.Option("--city", help="City or town ('' clears).")] = None,
    state: Annotated[
        Optional[str], typer.Option("--state", help="State, province or county of the address ('' clears).")
    ] = None,
    postcode: Annotated[Optional[str], typer.Option("--postcode", help="Postcode or ZIP code ('' clears).")] = None,
    country: Annotated[Optional[str], typer.Option("--country", help="Country of the address ('' clears).")] = None,
    tag: TagOpt = None,
    untag: Annotated[Optional[list[str]], typer.Option("--untag", help="Remove a tag.")] = None,
    field: Annotated[
        Optional[list[str]], typer.Option("--field", "-F", help="Set KEY=VALUE; KEY= removes the field.")
    ] = None,
    region: RegionOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
    private: PrivateOpt = None,
) -> None:
    """Change a company; options not given stay as they are ('' clears a value).

    Example: crm companies edit acme-robotics.de --domain acme-robotics.com -t partner --city Hamburg --postcode 20095
    """
    from crmcli.domain import companies, fields, lookup, views
    from crmcli.output import emit_written
    from crmcli.values.normalize import split_multi

    with session(ctx, write=True) as s:
        company = lookup.resolve_company(s, ref)
        companies.edit_company(
            s,
            company,
            name=name,
            domain=domain,
            phone=phone,
            website=website,
            owner=owner,
            source=source,
            notes=notes,
            add_tags=split_multi(tag),
            remove_tags=split_multi(untag),
            custom=fields.parse_assignments(field),
            region=region,
            street=street,
            city=city,
            state=state,
            postcode=postcode,
            country=country,
            industry=industry,
            private=private,
        )
        record = views.company_view(s, company, timeline_limit=0)
    emit_written(record, fmt_of(fmt, quiet), f"Updated company #{company.id}: {company.name}")


@app.command("rm")
def rm(
    ctx: typer.Context,
    refs: Annotated[list[str], typer.Argument(help="Ids, domains, names or unique parts of them.")],
    yes: YesOpt = False,
) -> None:
    """Remove companies; their people stay, without a company.

    Example: crm companies rm 3 --yes
    """
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import companies, lookup
    from crmcli.output import message

    with session(ctx, write=True) as s:
        targets = [lookup.resolve_company(s, ref) for ref in refs]
        names = ", ".join(f"#{c.id} {c.name}" for c in targets)
        if not confirm(f"Remove {names}? Their people stay, without a company.", assume_yes=yes):
            raise Cancelled("nothing removed")
        people = sum(companies.remove_company(s, c) for c in targets)
    message(f"Removed {names}; {people} people now have no company")
