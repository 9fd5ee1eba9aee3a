"""crm server: the preloaded command server that makes every command answer at once."""

from __future__ import annotations

import json
import os
import time

import typer

from crmcli.commands._common import FormatOpt, QuietOpt, fmt_of
from crmcli.errors import CrmError

app = typer.Typer(
    no_args_is_help=True,
    help="The command server: a background process per user that has loaded everything, so each "
    "command only forks it. Started by the first command; exits after CRM_SERVER_IDLE seconds idle "
    "(900). CRM_SERVER=0 runs every command in-process.",
)


def _where() -> tuple[str, str, str]:
    """(runtime directory, signature, socket path) of the server for this installation and environment."""
    from crmcli import runtime

    if not runtime.supported():
        raise CrmError("this platform has no command server (fork and Unix sockets are needed)")
    directory = runtime.private_dir()
    if directory is None:
        raise CrmError(f"the runtime directory {runtime.runtime_dir()} cannot be made private to you")
    sig = runtime.signature()
    path = runtime.socket_path(directory, sig)
    if not runtime.usable(path):
        raise CrmError(f"the socket path {path} is too long for a Unix socket (set XDG_RUNTIME_DIR to a shorter one)")
    return directory, sig, path


def _status(path: str) -> dict[str, object] | None:
    from crmcli import runtime

    answer = runtime.ask(path, "status")
    if answer is None or answer[0] != "status":
        return None
    record: dict[str, object] = json.loads(answer[1])
    return record


@app.command("status")
def status(fmt: FormatOpt = None, quiet: QuietOpt = False) -> None:
    """Show the server for this installation: pid, socket, commands served, memory (exit 1: none).

    Example: crm server status
    """
    from crmcli.output import Col, emit_record

    _, _, path = _where()
    record = _status(path)
    if record is None:
        raise CrmError(f"no command server is running (it starts with the next command; socket {path})")
    started = float(str(record.get("started", 0)))
    record["started"] = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
    record["rss_mib"] = round(int(str(record.pop("rss_kib", 0))) / 1024, 1)
    cols = [
        Col("pid", "Pid"),
        Col("version", "Version"),
        Col("socket", "Socket"),
        Col("started", "Started"),
        Col("served", "Commands served"),
        Col("running", "Running now"),
        Col("idle_exit", "Exits after idle (s)"),
        Col("rss_mib", "Memory (MiB)"),
    ]
    emit_record(record, cols, fmt_of(fmt, quiet))


@app.command("start")
def start() -> None:
    """Start the server now (the first command starts it anyway) and wait until it answers.

    Example: crm server start
    """
    from crmcli import runtime
    from crmcli.output import message

    directory, sig, path = _where()
    record = _status(path)
    if record is not None:
        message(f"The command server is running already (pid {record['pid']})")
        return
    runtime.start_server(directory, sig)
    sock = runtime.wait_for(path)
    if sock is not None:
        sock.close()
    record = _status(path)
    if record is None:
        raise CrmError(f"the command server did not start (see its log, {runtime.log_path()})")
    message(f"Started the command server (pid {record['pid']}, socket {path})")


@app.command("stop")
def stop() -> None:
    """Stop the server once the commands it runs have finished.

    Example: crm server stop
    """
    from crmcli import runtime
    from crmcli.output import message

    _, _, path = _where()
    answer = runtime.ask(path, "stop")
    if answer is None:
        message("No command server is running")
        return
    deadline = time.monotonic() + 10
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)
    message(f"Stopped the command server (pid {answer[1]})")
