"""crm config: settings stored in the database (shared by a team on one PostgreSQL)."""

from __future__ import annotations

from typing import Annotated

import typer

from crmcli.commands._common import FormatOpt, QuietOpt, YesOpt, fmt_of, session

app = typer.Typer(
    no_args_is_help=True, help="Settings: default_region, currency, timezone, date_order; exchange rates."
)


@app.command("set")
def set_(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="default_region, currency, timezone or date_order.")],
    value: Annotated[str, typer.Argument(help="The new value.")],
) -> None:
    """Change a setting.

    Example: crm config set default_region DE
    """
    from crmcli.domain import settings
    from crmcli.output import message

    with session(ctx, write=True) as s:
        cleaned = settings.set_value(s, key, value)
    message(f"{key} = {cleaned}")


@app.command("get")
def get(ctx: typer.Context, key: Annotated[str, typer.Argument(help="Setting name.")]) -> None:
    """Print one setting's value.

    Example: crm config get default_region
    """
    from crmcli.domain import settings
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
    from crmcli.domain import settings
    from crmcli.output import message

    with session(ctx, write=True) as s:
        settings.unset(s, key)
    message(f"{key} reset to its default")


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = None, quiet: QuietOpt = False) -> None:
    """List every setting with its value and default.

    Example: crm config list
    """
    from crmcli.domain import settings
    from crmcli.output import Col, emit_list

    with session(ctx) as s:
        rows = settings.all_settings(s)
    cols = [Col("key", "Setting"), Col("value", "Value"), Col("default", "Default"), Col("help", "Meaning")]
    emit_list([{"id": r["key"], **r} for r in rows], cols, fmt_of(fmt, quiet), noun="settings")


# ---------------------------------------------------------------- exchange rates

rates_app = typer.Typer(
    no_args_is_help=True,
    help="Exchange rates into the config currency, for money targets: set, list, rm, import.",
)
app.add_typer(rates_app, name="rates")


def _rate_cols() -> list:
    from crmcli.output import Col

    return [Col("currency", "Currency"), Col("rate", "Rate", justify="right"), Col("meaning", "Meaning")]


def _rate_row(record: dict) -> dict:
    rate = f"{record['rate']:f}"  # 0.000000057, not 5.7E-8
    return {
        **record,
        "rate": rate,
        "id": record["currency"],
        "meaning": f"1 {record['currency']} = {rate} {record['base']}",
    }


@rates_app.command("set")
def rates_set(
    ctx: typer.Context,
    currency: Annotated[str, typer.Argument(help="ISO 4217 code, such as USD.")],
    rate: Annotated[str, typer.Argument(help="What 1 unit of it is worth in the config currency, such as 0.92.")],
) -> None:
    """Set an exchange rate: 1 CURRENCY = RATE of the config currency (replaces the one set before).

    With currency EUR, `crm config rates set USD 0.92` means 1 USD = 0.92 EUR. A won-value target
    converts wins in other currencies with these rates (both ways, and between two currencies
    through the config currency).

    Example: crm config rates set USD 0.92
    """
    from crmcli.domain import rates
    from crmcli.output import message

    with session(ctx, write=True) as s:
        record = rates.set_rate(s, currency, rate)
    message(f"rate set: {_rate_row(record)['meaning']}")


@rates_app.command("list")
def rates_list(ctx: typer.Context, fmt: FormatOpt = None, quiet: QuietOpt = False) -> None:
    """List the exchange rates.

    Example: crm config rates list
    """
    from crmcli.domain import rates
    from crmcli.output import emit_list

    with session(ctx) as s:
        rows = [_rate_row(r) for r in rates.list_rates(s)]
    emit_list(rows, _rate_cols(), fmt_of(fmt, quiet), noun="rates (set one: crm config rates set USD 0.92)")


@rates_app.command("rm")
def rates_rm(
    ctx: typer.Context,
    currency: Annotated[str, typer.Argument(metavar="CURRENCY", help="ISO 4217 code.")],
    yes: YesOpt = False,
) -> None:
    """Remove an exchange rate (wins in that currency are then shown as not converted).

    Example: crm config rates rm CHF --yes
    """
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import rates
    from crmcli.output import message

    with session(ctx, write=True) as s:
        record = rates.remove_rate(s, currency)  # rolled back unless confirmed
        meaning = _rate_row(record)["meaning"]
        if not confirm(f"Remove the rate of {record['currency']} ({meaning})?", assume_yes=yes):
            raise Cancelled("cancelled: nothing removed")
    message(f"rate removed: {meaning}")


@rates_app.command("import")
def rates_import(
    ctx: typer.Context,
    file: Annotated[str, typer.Argument(metavar="FILE", help="CSV of currency,rate lines ('-': standard input).")],
) -> None:
    """Set the rates of a CSV file: one 'currency,rate' line each (USD,0.92), rates into the config
    currency; a header line, blank lines and # comments are skipped. A bad line sets nothing.

    Example: crm config rates import rates.csv
    """
    import sys
    from pathlib import Path

    from crmcli.domain import rates
    from crmcli.errors import Invalid, NotFound
    from crmcli.output import message

    if file == "-":
        text = sys.stdin.read()
    else:
        path = Path(file)
        if not path.is_file():
            raise NotFound(f"no such file: {file}")
        if path.stat().st_size > 1_000_000:
            raise Invalid(f"{file} is not a rates file: over 1 MB")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid(f"{file} is not UTF-8 text") from None
    with session(ctx, write=True) as s:
        records = rates.import_rates(s, text)
    message(
        f"{len(records)} rate{'s' if len(records) != 1 else ''} set: "
        + ", ".join(_rate_row(r)["meaning"] for r in records)
    )
