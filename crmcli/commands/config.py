"""crm config: settings stored in the database (shared by a team on one PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

import typer

from crmcli.commands._common import FormatOpt, fmt_of, session

app = typer.Typer(no_args_is_help=True, help="Settings: default_region, currency, timezone.")


@app.command("set")
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="default_region, currency or timezone.")],
    value: Annotated[str, typer.Argument(help="The new value.")],
) -> None:
    """Change a setting.

    Example: crm config set default_region DE
    """
    from crmcli import settings
    from crmcli.output import message

    with session(ctx, write=True) as s:
        cleaned = settings.set_value(s, key, value)
    message(f"{key} = {cleaned}")


@app.command("get")
def get(ctx: typer.Context, key: Annotated[str, typer.Argument(help="Setting name.")]) -> None:
    """Print one setting's value.

    Example: crm config get default_region
    """
    from crmcli import settings
    from crmcli.errors import NotFound

    with session(ctx) as s:
        if key not in settings.KNOWN:
            raise NotFound(f"unknown setting '{key}': known settings are {', '.join(sorted(settings.KNOWN))}")
        value = settings.get(s, key)
    from crmcli.output import one_line

    typer.echo(one_line(value or ""))


@app.command("unset")
def unset(ctx: typer.Context, key: Annotated[str, typer.Argument(help="Setting name.")]) -> None:
    """Return a setting to its default.

    Example: crm config unset timezone
    """
    from crmcli import settings
    from crmcli.output import message

    with session(ctx, write=True) as s:
        settings.unset(s, key)
    message(f"{key} reset to its default")


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = None) -> None:
    """List every setting with its value and default.

    Example: crm config list
    """
    from crmcli import settings
    from crmcli.output import Col, emit_list

    with session(ctx) as s:
        rows = settings.all_settings(s)
    cols = [Col("key", "Setting"), Col("value", "Value"), Col("default", "Default"), Col("help", "Meaning")]
    emit_list([{"id": r["key"], **r} for r in rows], cols, fmt_of(fmt), noun="settings")
