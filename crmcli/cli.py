"""The `crm` command: a light root that registers one Typer sub-app per group.

Nothing heavy is imported here: `crm --help` and shell completion never load SQLAlchemy.
Every error surfaces through CrmGroup.main as one line on stderr with a meaningful exit code.
"""

from __future__ import annotations

import contextvars
import os
import sys
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from crmcli import __version__
from crmcli.commands import (
    activity,
    companies,
    config,
    contacts,
    db,
    deals,
    dedupe,
    doctor,
    export,
    fields,
    followups,
    history,
    imports,
    init,
    kpi,
    mail,
    mcp,
    pipeline,
    reports,
    rules,
    search,
    server,
    team,
)
from crmcli.commands._common import State, said
from crmcli.commands._helpfmt import tidy
from crmcli.errors import CrmError, ExitCode

tidy()  # help shows FILE, N, [a|b] and REF, not Typer's <bool>, <str> and {id_}


class CrmGroup(TyperGroup):
    """The error boundary: project errors, usage errors and surprises all end as one line."""

    def _invoke(self, argv: list[str], *rest: Any, **extra: Any) -> Any:
        """The command, its writes traced in the change log as made via its command line."""
        import shlex

        from crmcli import changelog

        # the command line as the history keeps it: control characters (a NUL no database stores)
        # written as escapes
        via = "".join(ch if ch >= " " or ch == "\t" else f"\\x{ord(ch):02x}" for ch in shlex.join(["crm", *argv]))
        with changelog.acting(via=via, kind="command"):
            return super().main(argv, *rest, **extra)

    def main(  # type: ignore[override]
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from crmcli.output import error

        try:
            argv = list(sys.argv[1:] if args is None else args)
            _check_arguments(argv)
            # in a context of its own: the zone and date order the session sets end with the invocation
            rv = contextvars.copy_context().run(
                self._invoke, argv, prog_name, complete_var, standalone_mode=False, **extra
            )
            code = rv if isinstance(rv, int) else ExitCode.OK
        except CrmError as exc:
            error(said(exc))
            code = exc.exit_code
        except typer.Abort:
            error("aborted")
            code = ExitCode.ERROR
        except typer.TyperException as exc:  # Click's usage errors
            code = getattr(exc, "exit_code", ExitCode.USAGE)
            sub_ctx = getattr(exc, "ctx", None)
            if type(exc).__name__ == "NoArgsIsHelpError" and sub_ctx is not None:
                # The help was printed when the error was made (Rich help prints itself);
                # plain help comes back as the message.
                if exc.format_message():
                    sys.stdout.write(exc.format_message() + "\n")
            else:
                hint = f" (see '{sub_ctx.command_path} --help')" if sub_ctx is not None else ""
                error(exc.format_message().rstrip(".") + hint)
        except (BrokenPipeError, KeyboardInterrupt) as exc:
            code = 130 if isinstance(exc, KeyboardInterrupt) else ExitCode.ERROR
        except Exception as exc:  # a bug: still one line, the traceback only on request
            if os.environ.get("CRM_DEBUG"):
                raise
            error(f"unexpected {type(exc).__name__}: {exc} (set CRM_DEBUG=1 for the traceback)")
            code = ExitCode.ERROR
        if standalone_mode:
            sys.exit(int(code))
        return int(code)


def _check_arguments(args: Any) -> None:
    """Arguments that are not valid UTF-8 reach Python as lone surrogates (surrogateescape), which
    no database or terminal takes: a usage error naming the argument, not a bug later on."""
    from crmcli.errors import UsageError

    for arg in args if isinstance(args, (list, tuple)) else ():
        if isinstance(arg, str) and any("\udc80" <= ch <= "\udcff" for ch in arg):
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            raise UsageError(f"the argument '{shown}' is not valid UTF-8 text")


app = typer.Typer(
    cls=CrmGroup,
    name="crm",
    help="A command-line CRM for small teams: contacts, companies, deals and their activity, in SQLite or PostgreSQL.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"crm {__version__}\n")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        Optional[str],
        typer.Option(
            "--db",
            envvar="CRM_DB",
            metavar="PATH_OR_URL",
            show_envvar=True,
            help="SQLite file or SQLAlchemy URL (postgresql+psycopg://user@host/crm). "
            "Default: crm.db in the user data directory.",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", "-V", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    ctx.obj = State(db=db)


app.add_typer(contacts.app, name="contacts")
app.add_typer(companies.app, name="companies")
contacts.app.command("dedupe")(dedupe.contacts_dedupe)
contacts.app.command("merge")(dedupe.contacts_merge)
companies.app.command("dedupe")(dedupe.companies_dedupe)
companies.app.command("merge")(dedupe.companies_merge)
app.add_typer(followups.app, name="followups")
app.add_typer(deals.app, name="deals")
app.add_typer(pipeline.app, name="pipeline")
app.add_typer(fields.app, name="fields")
app.add_typer(config.app, name="config")
app.add_typer(db.app, name="db")
app.add_typer(export.app, name="export")
app.command("doctor")(doctor.doctor)
app.command("kpi")(kpi.kpi)
app.add_typer(kpi.targets_app, name="targets")
app.add_typer(rules.app, name="rules")
app.add_typer(reports.app, name="report")
app.add_typer(imports.app, name="imports")
app.add_typer(mail.app, name="mail")
app.command("log")(activity.log)
app.command("search")(search.search)
app.command("init")(init.init)
app.command("import")(imports.import_)
app.add_typer(server.app, name="server")
app.add_typer(history.app, name="history")
app.command("undo")(history.undo)
app.command("mcp")(mcp.mcp)
app.add_typer(team.app, name="team")


def run(args: list[str] | None = None, command: Any = None) -> int:
    """`crm ARGS` in this process (default: sys.argv[1:]): its exit code, output flushed and
    database engines closed. The command server's children run commands through it too, with the
    Click COMMAND the server built once (typer.main.get_command(app); built here when None).

    SIGTERM stops a command the way Ctrl-C does (an import commits its batch and marks its run
    interrupted), then ends the process by SIGTERM, so whoever sent it sees what ended it."""
    import signal

    ended_by: list[int] = []

    def stop(signum: int, _frame: object) -> None:
        ended_by.append(signum)
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        if command is None:
            app(args=args, prog_name="crm")
        else:
            command.main(args=args, prog_name="crm")
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        signal.signal(signal.SIGTERM, previous)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        code = code or 1
    if "crmcli.storage" in sys.modules:
        sys.modules["crmcli.storage"].dispose_all()
    if ended_by:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
    return code


def main() -> None:
    """Console entry point in-process. Exits without the interpreter's slow teardown once output
    is flushed."""
    os._exit(run())
