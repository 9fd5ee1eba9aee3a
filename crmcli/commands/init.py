"""crm init: create the database, optionally with a demo data set."""

from __future__ import annotations

from typing import Annotated

import typer


def init(
    ctx: typer.Context,
    demo: Annotated[bool, typer.Option("--demo", help="Fill the new database with a realistic sample.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the demo data (same seed, same data).")] = 7,
) -> None:
    """Create the database (and with --demo, a sample to explore); an existing CRM is never touched.

    Example: crm init --demo && crm contacts list
    """
    from crmcli import demo as demo_
    from crmcli.commands._common import session
    from crmcli.output import message

    with session(ctx, write=True) as s:
        url = s.get_bind().url
        where = url.database if url.get_backend_name() == "sqlite" else url.render_as_string(hide_password=True)
        if demo:
            counts = demo_.load(s, seed=seed)
    if demo:
        message(
            f"Demo data in {where}: "
            + ", ".join(f"{n} {what}" for what, n in counts.items())
            + ". Try: crm pipeline board"
        )
    else:
        message(f"Database ready: {where}")
