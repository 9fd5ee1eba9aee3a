"""crm fields: declare typed custom fields."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from crmcli.commands._common import FormatOpt, QuietOpt, YesOpt, fmt_of, session

app = typer.Typer(no_args_is_help=True, help="Custom fields: declare, list and remove typed fields.")


class Entity(str, Enum):
    contacts = "contacts"
    companies = "companies"
    deals = "deals"


class FieldType(str, Enum):
    text = "text"
    number = "number"
    date = "date"
    bool = "bool"
    choice = "choice"
    email = "email"
    url = "url"


@app.command("add")
def add(
    ctx: typer.Context,
    entity: Annotated[Entity, typer.Argument(help="contacts, companies or deals.")],
    name: Annotated[str, typer.Argument(help="Field name, e.g. industry.")],
    type_: Annotated[
        FieldType, typer.Option("--type", help="text, number, date, bool, choice, email or url.")
    ] = FieldType.text,
    choices: Annotated[
        Optional[str], typer.Option("--choices", help="Allowed values of a choice, comma-separated.")
    ] = None,
) -> None:
    """Declare a custom field; its values are then checked on every write.

    Example: crm fields add contacts tier --type choice --choices Gold,Silver,Bronze
    """
    from crmcli.domain import fields
    from crmcli.output import message
    from crmcli.values.normalize import split_multi

    with session(ctx, write=True) as s:
        definition = fields.add_field(
            s, entity=entity.value, name=name, type=type_.value, choices=split_multi([choices] if choices else [])
        )
    message(f"Declared {entity.value} field '{definition.name}' ({definition.type})")


@app.command("list")
def list_(
    ctx: typer.Context,
    entity: Annotated[Optional[Entity], typer.Argument(help="Only this record type.")] = None,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """List declared custom fields.

    Example: crm fields list contacts
    """
    from crmcli.domain import fields
    from crmcli.output import Col, emit_list

    with session(ctx) as s:
        rows = [
            {"id": d.id, "entity": d.entity, "name": d.name, "type": d.type, "choices": d.choices}
            for d in fields.list_fields(s, entity.value if entity else None)
        ]
    cols = [Col("entity", "For"), Col("name", "Field"), Col("type", "Type"), Col("choices", "Choices")]
    emit_list(rows, cols, fmt_of(fmt, quiet), noun="declared fields")


@app.command("rm")
def rm(
    ctx: typer.Context,
    entity: Annotated[Entity, typer.Argument(help="contacts, companies or deals.")],
    name: Annotated[str, typer.Argument(help="Field name.")],
    yes: YesOpt = False,
) -> None:
    """Forget a field's declaration (stored values stay, as free text).

    Example: crm fields rm contacts industry --yes
    """
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import fields
    from crmcli.output import message

    with session(ctx, write=True) as s:
        fields.remove_field(s, entity=entity.value, name=name)  # an unknown field is said before asking
        question = f"Remove the declaration of {entity.value} field '{name}'?"
        if not confirm(question, assume_yes=yes):
            raise Cancelled("nothing removed")  # the transaction is rolled back
    message(f"Removed the declaration of {entity.value} field '{name}'")
