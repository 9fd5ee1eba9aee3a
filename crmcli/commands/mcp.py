"""crm mcp: the CRM for AI assistants, as a Model Context Protocol server on stdin and stdout."""

from __future__ import annotations

from typing import Annotated

import typer

from crmcli.commands._common import State


def mcp(
    ctx: typer.Context,
    allow_write: Annotated[
        bool,
        typer.Option(
            "--allow-write",
            help="Also offer the tools that write: log_activity, add_followup, complete_followup, add_contact, "
            "edit_contact, add_company, edit_company, add_deal, edit_deal, move_deal, and import_preview (reads "
            "any file it is given). Without it they are neither listed nor run.",
        ),
    ] = False,
) -> None:
    """Serve this CRM to an AI assistant (Claude Desktop, an IDE …) as a Model Context Protocol server
    on stdin and stdout; the assistant starts it (see Assistants in the README). Tools: search,
    show_contact, show_company, show_deal, list_contacts, list_companies, list_deals, followups, kpi,
    report, pipeline_board; with --allow-write also the writes, each recorded in the history as
    via "mcp TOOL" (crm undo takes it back). Results are the JSON --format json prints; no tool
    deletes, merges or imports (import_preview is a dry run). Same database and settings as every
    command (--db, CRM_DB).

    Example: crm mcp --allow-write
    """
    # here, not at the top: the tools load the MCP SDK, which crm --help never should
    from crmcli.commands import _mcpserver

    state = ctx.find_root().obj
    db = state.db if isinstance(state, State) else None
    _mcpserver.serve(db, allow_write=allow_write)
