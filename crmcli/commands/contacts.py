"""crm contacts: add, list, show, edit, cadence, rm."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from crmcli.commands._common import (
    AllowSuppressedOpt,
    FieldOpt,
    ForceOpt,
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

app = typer.Typer(no_args_is_help=True, help="People: add, list, show, edit and remove contacts.")

EmailOpt = Annotated[
    Optional[list[str]], typer.Option("--email", "-e", help="Email; repeatable, the first is primary.")
]
PhoneOpt = Annotated[
    Optional[list[str]], typer.Option("--phone", "-p", help="Phone; repeatable, the first is primary.")
]
CompanyOpt = Annotated[
    Optional[str],
    typer.Option(
        "--company", "-c", help="Company REF or name (a new name creates it; a near one is used, said on stderr)."
    ),
]
NewCompanyOpt = Annotated[
    bool, typer.Option("--new-company", help="Make a new company of the --company name, even if one is close to it.")
]
SortOpt = Annotated[
    str, typer.Option("--sort", "-s", help="name, company, created, updated or id; prefix - to reverse.")
]
TimelineOpt = Annotated[int, typer.Option("--timeline", min=0, help="Show the N latest activities (0: all).")]
StreetOpt = Annotated[Optional[str], typer.Option("--street", help="Street and number of the postal address.")]
CityOpt = Annotated[Optional[str], typer.Option("--city", help="City or town.")]
StateOpt = Annotated[
    Optional[str],
    typer.Option("--state", help="State, province or county of the address (--region is the phones' country)."),
]
PostcodeOpt = Annotated[Optional[str], typer.Option("--postcode", help="Postcode or ZIP code.")]
CountryOpt = Annotated[Optional[str], typer.Option("--country", help="Country of the address.")]
BirthdayOpt = Annotated[
    Optional[str],
    typer.Option("--birthday", help="1985-04-15, or --birthday=--04-15 when the year is unknown."),
]
WebsiteOpt = Annotated[Optional[str], typer.Option("--website", help="Web address; acme.de means https://acme.de.")]


def list_cols() -> list:
    from crmcli.output import Col

    return [
        Col("id", "ID", justify="right"),
        Col("name", "Name"),
        Col("company", "Company", drop=2),
        Col("email", "Email", drop=1),
        Col("phone", "Phone", kind="phone", drop=4),
        Col("tags", "Tags", drop=5),
        Col("owner", "Owner", drop=6),
        Col("last_touch", "Last touch", kind="date", drop=3),
    ]


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Argument(help="Full name (asked for on a terminal when left out).")] = None,
    email: EmailOpt = None,
    phone: PhoneOpt = None,
    title: Annotated[Optional[str], typer.Option("--title", help="Job title.")] = None,
    company: CompanyOpt = None,
    tag: TagOpt = None,
    owner: OwnerOpt = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Where the contact came from.")] = None,
    notes: Annotated[Optional[str], typer.Option("--notes", help="Free text.")] = None,
    street: StreetOpt = None,
    city: CityOpt = None,
    state: StateOpt = None,
    postcode: PostcodeOpt = None,
    country: CountryOpt = None,
    birthday: BirthdayOpt = None,
    website: WebsiteOpt = None,
    field: FieldOpt = None,
    allow_duplicate: Annotated[
        bool,
        typer.Option(
            "--allow-duplicate",
            help="Add even if another contact seems the same person (email or phone and name, or name and company).",
        ),
    ] = False,
    allow_suppressed: AllowSuppressedOpt = False,
    new_company: NewCompanyOpt = False,
    region: RegionOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
    private: PrivateOpt = None,
) -> None:
    """Add a contact.

    Example: crm contacts add "Anna Müller" -e anna@acme.de -p "+49 151 12345678" -c "Acme GmbH" -t vip --city Berlin
    """
    from crmcli.commands._prompts import ask_text
    from crmcli.domain import contacts, fields, settings, views
    from crmcli.output import emit_written
    from crmcli.values.normalize import split_multi

    name = ask_text("Name", name, option="argument NAME")
    with session(ctx, write=True) as s:
        contact = contacts.add_contact(
            s,
            name=name,
            emails=split_multi(email),
            phones=split_multi(phone),
            title=title,
            company=company,
            tags=split_multi(tag),
            owner=owner,
            default_owner=settings.current_user(),  # when no assignment rule gives one
            source=source,
            notes=notes,
            custom=fields.parse_assignments(field),
            allow_duplicate=allow_duplicate,
            allow_suppressed=allow_suppressed,
            region=region,
            street=street,
            city=city,
            state=state,
            postcode=postcode,
            country=country,
            birthday=birthday,
            website=website,
            new_company=new_company,
            private=bool(private),
        )
        record = views.contact_view(s, contact, timeline_limit=0)
        possible = [] if allow_duplicate else contacts.possible_duplicates(s, contact)
    emit_written(record, fmt_of(fmt, quiet), f"Added contact #{contact.id}: {contact.name}")
    if possible:
        from crmcli.output import message

        others = ", ".join(f"#{p['id']} {p['name']} ({p['reason']})" for p in possible)
        message(f"possible duplicate of {others}: crm contacts dedupe lists {'it' if len(possible) == 1 else 'them'}")


@app.command("list")
def list_(
    ctx: typer.Context,
    tag: TagFilterOpt = None,
    company: Annotated[
        Optional[str], typer.Option("--company", "-c", metavar="REF", help="Only people of this company.")
    ] = None,
    owner: OwnerFilterOpt = None,
    where: WhereOpt = None,
    since: SinceOpt = None,
    sort: SortOpt = "name",
    limit: LimitOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List contacts, filtered and sorted.

    Example: crm contacts list --tag vip --where city=Berlin --where industry=SaaS --sort -created --limit 20
    """
    from crmcli.domain import contacts
    from crmcli.output import emit_list

    with session(ctx) as s:
        rows = contacts.list_contacts(
            s, tag=tag, company=company, owner=owner, where=where, since=since, sort=sort, limit=limit or None
        )
    emit_list(rows, list_cols(), fmt_of(fmt, quiet), noun="contacts")


@app.command("show")
def show(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Id, email, phone, name or a unique part of it (see REF in the README).")],
    timeline: TimelineOpt = 20,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Show everything about one contact: details, company, tags, fields, deals (open and closed, with
    the open pipeline and won revenue per currency), open follow-ups and the activity timeline.

    Example: crm contacts show anna.muller@nordlicht.de
    """
    from crmcli.commands._customer import deal_section, deal_summary, followup_section, summary_cols
    from crmcli.commands.dedupe import merged_cols
    from crmcli.domain import lookup, views
    from crmcli.output import Col, Section, emit_record
    from crmcli.values.addressbook import address_line, show_birthday

    with session(ctx) as s:
        record = views.contact_view(s, lookup.resolve_contact(s, ref), timeline_limit=timeline or None)
    shown = fmt_of(fmt, quiet)
    if shown in ("table", "plain"):  # for people: the address on one line; data formats keep the parts
        record = {**record, "address": address_line(record), "birthday": show_birthday(record["birthday"])}
        record = deal_summary(record)
    cols = [
        Col("id", "ID"),
        Col("name", "Name"),
        Col("title", "Title"),
        Col("company", "Company"),
        Col("emails", "Email"),
        Col("phones", "Phone", kind="phones"),
        Col("website", "Website"),
        Col("address", "Address"),
        Col("birthday", "Birthday"),
        Col("tags", "Tags"),
        Col("owner", "Owner"),
        Col("source", "Source"),
        Col("custom", "Fields"),
        Col("last_touch", "Last touch", kind="time"),
        Col("cadence_days", "Cadence (days)"),
        *summary_cols(),
        Col("notes", "Notes"),
        Col("created_at", "Created", kind="time"),
        Col("updated_at", "Updated", kind="time"),
    ]
    activity_cols = [
        Col("at", "When", kind="time"),
        Col("type", "Type"),
        Col("text", "What", wrap=True),
        Col("by", "By", drop=1),
    ]
    title = f"Activity ({record['activity_count']})"
    sections = [
        deal_section(record),
        followup_section(record),
        Section(title, "activities", activity_cols, empty="none yet"),
    ]
    if record["merged"]:  # duplicates merged into this one (crm contacts merge)
        sections.append(Section(f"Merged ({len(record['merged'])})", "merged", merged_cols()))
    emit_record(record, cols, shown, sections)


@app.command("edit")
def edit(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Id, email, phone, name or a unique part of it (see REF in the README).")],
    name: Annotated[Optional[str], typer.Option("--name", help="New name.")] = None,
    title: Annotated[Optional[str], typer.Option("--title", help="Job title ('' clears).")] = None,
    company: Annotated[
        Optional[str], typer.Option("--company", "-c", help="Company REF or name, as for add ('' clears).")
    ] = None,
    owner: NewOwnerOpt = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Source ('' clears).")] = None,
    notes: Annotated[Optional[str], typer.Option("--notes", help="Notes ('' clears).")] = None,
    street: Annotated[Optional[str], typer.Option("--street", help="Street and number ('' clears).")] = None,
    city: Annotated[Optional[str], typer.Option("--city", help="City or town ('' clears).")] = None,
    state: Annotated[
        Optional[str], typer.Option("--state", help="State, province or county of the address ('' clears).")
    ] = None,
    postcode: Annotated[Optional[str], typer.Option("--postcode", help="Postcode or ZIP code ('' clears).")] = None,
    country: Annotated[Optional[str], typer.Option("--country", help="Country of the address ('' clears).")] = None,
    birthday: Annotated[
        Optional[str],
        typer.Option("--birthday", help="1985-04-15, or --birthday=--04-15 without the year ('' clears)."),
    ] = None,
    website: Annotated[Optional[str], typer.Option("--website", help="Web address ('' clears).")] = None,
    add_email: Annotated[Optional[list[str]], typer.Option("--add-email", "-e", help="Add an email.")] = None,
    rm_email: Annotated[Optional[list[str]], typer.Option("--rm-email", help="Remove an email.")] = None,
    primary_email: Annotated[Optional[str], typer.Option("--primary-email", help="Make this email primary.")] = None,
    add_phone: Annotated[Optional[list[str]], typer.Option("--add-phone", "-p", help="Add a phone.")] = None,
    rm_phone: Annotated[Optional[list[str]], typer.Option("--rm-phone", help="Remove a phone.")] = None,
    primary_phone: Annotated[Optional[str], typer.Option("--primary-phone", help="Make this phone primary.")] = None,
    tag: TagOpt = None,
    untag: Annotated[Optional[list[str]], typer.Option("--untag", help="Remove a tag.")] = None,
    field: Annotated[
        Optional[list[str]], typer.Option("--field", "-F", help="Set KEY=VALUE; KEY= removes the field.")
    ] = None,
    allow_duplicate: Annotated[
        bool, typer.Option("--allow-duplicate", help="Accept an email or phone another contact has.")
    ] = False,
    allow_suppressed: AllowSuppressedOpt = False,
    new_company: NewCompanyOpt = False,
    region: RegionOpt = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
    private: PrivateOpt = None,
) -> None:
    """Change a contact; options not given stay as they are.

    Example: crm contacts edit 12 --title CTO --add-email anna@new.de --primary-email anna@new.de -F industry=Retail
    """
    from crmcli.domain import contacts, fields, lookup, views
    from crmcli.output import emit_written
    from crmcli.values.normalize import split_multi

    with session(ctx, write=True) as s:
        contact = lookup.resolve_contact(s, ref)
        contacts.edit_contact(
            s,
            contact,
            name=name,
            title=title,
            company=company,
            owner=owner,
            source=source,
            notes=notes,
            add_emails=split_multi(add_email),
            remove_emails=split_multi(rm_email),
            primary_email=primary_email,
            add_phones=split_multi(add_phone),
            remove_phones=split_multi(rm_phone),
            primary_phone=primary_phone,
            add_tags=split_multi(tag),
            remove_tags=split_multi(untag),
            custom=fields.parse_assignments(field),
            allow_duplicate=allow_duplicate,
            allow_suppressed=allow_suppressed,
            region=region,
            street=street,
            city=city,
            state=state,
            postcode=postcode,
            country=country,
            birthday=birthday,
            website=website,
            new_company=new_company,
            private=private,
        )
        record = views.contact_view(s, contact, timeline_limit=0)
    emit_written(record, fmt_of(fmt, quiet), f"Updated contact #{contact.id}: {contact.name}")


@app.command("cadence")
def cadence(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Id, email, phone, name or a unique part of it (see REF in the README).")],
    every: Annotated[str, typer.Argument(metavar="SPAN", help="30d, 2w, 3mo (30 days each), 45, or off.")],
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Keep in touch: a follow-up falls due this long after the last logged activity.

    Example: crm contacts cadence anna@acme.de 30d
    """
    from crmcli.domain import followups, lookup
    from crmcli.output import emit_written
    from crmcli.values.clock import show_local

    days = followups.parse_cadence(every)
    with session(ctx, write=True) as s:
        contact = lookup.resolve_contact(s, ref)
        row = followups.set_cadence(s, contact, days)
    record = {"id": contact.id, "name": contact.name, "cadence_days": days, "next_due": row.get("due_at")}
    if days:
        text = (
            f"Keeping in touch with #{contact.id} {contact.name} every {days} days: "
            f"follow-up {row['id']} due {show_local(row['due_at'])} ({row['relative']})"
        )
    else:
        text = f"No keep-in-touch cadence for #{contact.id} {contact.name}"
    emit_written(record, fmt_of(fmt, quiet), text)


@app.command("rm")
def rm(
    ctx: typer.Context,
    refs: Annotated[list[str], typer.Argument(help="Ids, emails, phones, names or unique parts of them.")],
    yes: YesOpt = False,
) -> None:
    """Remove contacts with their emails, phones, tags and activities.

    Example: crm contacts rm 12 15 --yes
    """
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import contacts, lookup
    from crmcli.output import message

    with session(ctx, write=True) as s:
        targets = [lookup.resolve_contact(s, ref) for ref in refs]
        names = ", ".join(f"#{c.id} {c.name}" for c in targets)
        if not confirm(f"Remove {names}?", assume_yes=yes):
            raise Cancelled("nothing removed")
        for contact in targets:
            contacts.remove_contact(s, contact)
    message(f"Removed {len(targets)} contact{'s' if len(targets) != 1 else ''}: {names}")


@app.command("export-person")
def export_person(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The contact: id, email, phone or name.")],
    file: Annotated[str, typer.Argument(metavar="FILE.json", help="Where to write it ('-': standard output).")],
    force: ForceOpt = False,
) -> None:
    """Write everything held about a person to a JSON file (a GDPR access request): fields,
    emails, phones, tags, company, activities, deals and their moves, follow-ups, merges, the
    imports that touched them, and their history.

    Example: crm contacts export-person anna.becker@gruenwald-energie.de anna.json
    """
    from crmcli.domain import privacy
    from crmcli.output import emit_json, message

    with session(ctx) as s:
        data = privacy.export_person(s, ref)
    if file == "-":
        emit_json(data)
        return
    written = privacy.write_export(data, file, force=force)
    message(f"Wrote everything held about #{data['contact']['id']} {data['contact']['name']} to {written}")


@app.command("forget")
def forget(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="The contact: id, email, phone or name.")],
    yes: YesOpt = False,
) -> None:
    """Erase a person on request (GDPR): the contact, its emails, phones, tags, activities and
    follow-ups, its merges and import entries, the values its history held, and every mention of
    its name, emails or phones elsewhere; deals stay, unlinked. Its emails and phones go on the
    suppression list (salted hashes): add and import refuse them unless --allow-suppressed. It
    cannot be undone; an erasure record keeps when and who, without personal data.

    Example: crm contacts forget anna.becker@gruenwald-energie.de --yes
    """
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import lookup, privacy
    from crmcli.output import message

    with session(ctx, write=True) as s:
        contact = lookup.resolve_contact(s, ref)
        if not confirm(f"Erase #{contact.id} {contact.name} and everything about them?", assume_yes=yes):
            raise Cancelled("nothing erased")
        cid = contact.id
        counts = privacy.forget(s, str(cid))
    message(
        f"Erased contact #{cid}: {counts['emails']} email(s), {counts['phones']} phone(s), "
        f"{counts['activities']} activities, {counts['history_rows']} history entries, "
        f"{counts['mentions']} mentions elsewhere; {counts['deals_unlinked']} deal(s) kept without the link"
    )
