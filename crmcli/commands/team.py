"""crm team: the people of a team database on PostgreSQL, and what each may do."""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from crmcli.commands._common import FormatOpt, QuietOpt, YesOpt, fmt_of, session

app = typer.Typer(
    no_args_is_help=True,
    help="A team on one PostgreSQL database: setup, add, list, role, remove (admins only).",
)

RoleArg = Annotated[str, typer.Argument(metavar="ROLE", help="admin, manager, member or viewer.")]


@app.command("setup")
def setup(ctx: typer.Context) -> None:
    """Make this PostgreSQL database a team database: the groups crm_viewer, crm_member,
    crm_manager and crm_admin, their grants and the row-level security policies. Run it as the
    database's owner; running it again changes nothing.

    Example: crm team setup
    """
    from crmcli.domain import team
    from crmcli.output import message

    with session(ctx, write=True) as s:
        done = team.setup(s)
    made = ", ".join(f"crm_{g}" for g in done["groups_created"]) or "none new"
    message(f"Team database {done['database']}: groups {made}; grants and policies in place")


@app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Their database role (login name): lower-case letters, digits, _ . -")],
    role: Annotated[str, typer.Option("--role", help="admin, manager, member or viewer.")] = "member",
    email: Annotated[Optional[str], typer.Option("--email", help="Their email address (kept with the role).")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read their password from standard input instead of making one.")
    ] = False,
    fmt: FormatOpt = None,
) -> None:
    """Add a person: a PostgreSQL login role in the group ROLE. A generated password is shown
    once (give it to them); --password-stdin takes one instead.

    Example: crm team add ana --role manager --email ana@example.org
    """
    from crmcli.domain import team
    from crmcli.output import emit_json, message

    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with session(ctx, write=True) as s:
        made = team.add(s, name, role, email=email, password=password)
    if fmt_of(fmt) == "json":
        emit_json({k: v for k, v in made.items() if k != "password" or not password_stdin})
        return
    message(f"Added {made['name']} as {made['role']}")
    if not password_stdin:
        message(f"Password (shown once): {made['password']}")


@app.command("list")
def list_(ctx: typer.Context, fmt: FormatOpt = None, quiet: QuietOpt = False) -> None:
    """List the team: each person's role and email.

    Example: crm team list
    """
    from crmcli.domain import team
    from crmcli.output import Col, emit_list

    with session(ctx) as s:
        rows = team.members(s)
    cols = [Col("name", "Name"), Col("role", "Role"), Col("email", "Email")]
    emit_list(rows, cols, fmt_of(fmt, quiet), noun="team members")  # type: ignore[arg-type]


@app.command("role")
def role(ctx: typer.Context, name: Annotated[str, typer.Argument(help="A team member.")], new_role: RoleArg) -> None:
    """Give a team member another role.

    Example: crm team role ben manager
    """
    from crmcli.domain import team
    from crmcli.output import message

    with session(ctx, write=True) as s:
        member = team.set_role(s, name, new_role)
    message(f"{member['name']} is now {member['role']}")


@app.command("remove")
def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="A team member.")],
    reassign_to: Annotated[
        str,
        typer.Option(
            "--reassign-to", metavar="USER", help="Who gets their contacts, companies, open deals and follow-ups."
        ),
    ],
    yes: YesOpt = False,
) -> None:
    """Remove a team member (their database role); their records go to --reassign-to.

    Example: crm team remove ivy --reassign-to ana --yes
    """
    from crmcli.commands._prompts import Cancelled, confirm
    from crmcli.domain import team
    from crmcli.output import message

    if not confirm(f"Remove {name} from the team?", assume_yes=yes):
        raise Cancelled("nobody removed")
    with session(ctx, write=True) as s:
        moved = team.remove(s, name, reassign_to)
    handed = ", ".join(f"{n} {t}" for t, n in moved.items() if n) or "nothing"
    message(f"Removed {name}; {reassign_to} took over: {handed}")
