"""crm search: one search over contacts, companies and activities."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from crmcli.commands._common import FormatOpt, QuietOpt, fmt_of, session


class Kind(str, Enum):
    contact = "contact"
    company = "company"
    deal = "deal"
    activity = "activity"


def search(
    ctx: typer.Context,
    text: Annotated[list[str], typer.Argument(help="Words to find (all must match); parts of words and CJK work.")],
    kind: Annotated[
        Optional[list[Kind]], typer.Option("--kind", "-k", help="Only contact, company, deal or activity.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Show at most N.")] = 20,
    fmt: FormatOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Search contacts, companies, deals and activity text, best matches first.

    Example: crm search müller acme    ·    crm search 伟明 --kind contact
    """
    from crmcli.domain import search as search_
    from crmcli.output import Col, emit_list

    with session(ctx) as s:
        rows = search_.search(s, " ".join(text), kinds=[k.value for k in kind] if kind else None, limit=limit)
    cols = [Col("kind", "Kind"), Col("id", "ID", justify="right"), Col("title", "Name"), Col("match", "Match")]
    emit_list(rows, cols, fmt_of(fmt, quiet), noun="matches")
