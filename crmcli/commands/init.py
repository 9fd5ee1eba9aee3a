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

    Example: crm init --demo
    """
    from crmcli import demo as demo_
    from crmcli.commands._common import session
    from crmcli.output import message
    from crmcli.storage import show_url, sqlite_path

    with session(ctx, write=True, create=True) as s:
        url = s.get_bind().url.render_as_string(hide_password=False)
        path = sqlite_path(url)
        where = str(path) if path is not None else show_url(url)  # never the password, in any form
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
