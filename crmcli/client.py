"""The `crm` console script: hands the command to this user's preloaded command server, or runs it here.

Only the standard library is imported on the way to the server, so a command costs a fork in a
process that has already imported everything (crmcli.server), not Python's start-up plus SQLAlchemy.
The client passes its argv, environment, working directory, umask and its three standard streams
(file descriptors over the Unix socket), forwards the signals a terminal or a supervisor sends to the
process that runs the command, and exits with that process's exit code (128+N when signal N ended
it). When no server answers, the command runs in this process exactly as before, and a server is
started in the background for the next one. `CRM_SERVER=0` always runs in-process.
"""

from __future__ import annotations

import _signal as signal  # the C module: signal.py's enums would cost the client enum
import _socket
import os
import sys

from crmcli import runtime

TYPE_CHECKING = False  # typing itself is not imported: it costs the client re, functools and more
if TYPE_CHECKING:
    from typing import NoReturn

FORWARDED = ("SIGINT", "SIGTERM", "SIGHUP", "SIGWINCH", "SIGQUIT", "SIGCONT")
UNKNOWN = (
    "crm: the command server stopped while the command ran; its outcome is unknown "
    "(check with a read command before running it again)\n"
)


def _streams() -> list[list[str | None]]:
    """Encoding and error handler of stdin, stdout and stderr, as this interpreter chose them."""
    return [
        [getattr(stream, "encoding", None), getattr(stream, "errors", None)]
        for stream in (sys.stdin, sys.stdout, sys.stderr)
    ]


def _umask() -> int:
    mask = os.umask(0o22)
    os.umask(mask)
    return mask


def run_remote(sock: _socket.socket, argv: list[str]) -> int:
    """Run ARGV in a process the server forks for it; its exit code (128+N when signal N ended it)."""
    try:
        cwd = os.getcwd()
    except OSError:  # a working directory that was removed: in-process, crm works there as it did
        return -1
    request = {
        "op": "run",
        "argv": argv,
        "argv0": sys.argv[0] if sys.argv else "crm",
        "env": dict(os.environ),
        "cwd": cwd,
        "umask": _umask(),
        "streams": _streams(),
    }
    fds = [0, 1, 2]
    for fd in fds:  # a closed standard stream cannot be passed: the command runs in this process
        try:
            os.fstat(fd)
        except OSError:
            return -1
    child: list[int] = []
    pending: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        if not child:
            pending.append(signum)
            return
        try:
            if signum == signal.SIGTSTP:  # the child has no terminal to stop it: stop it, then ourselves
                os.kill(child[0], signal.SIGSTOP)
                os.kill(os.getpid(), signal.SIGSTOP)
            else:
                os.kill(child[0], signum)
        except ProcessLookupError:
            pass

    for name in (*FORWARDED, "SIGTSTP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), forward)
    try:
        runtime.send(sock, request, fds)
    except OSError:
        return -1  # nothing was received: running it here is safe
    started = False
    for key, value in runtime.replies(sock):
        if key == "pid":
            started = True
            child.append(int(value))
            for signum in pending:
                forward(signum, None)
        elif key == "exit":  # the child's own, sent once it is done (it ignores SIGTERM from then on)
            return int(value)
        elif key == "signal":
            return 128 + int(value)
        elif key == "refused":
            return -1
    if not started:
        return -1  # the server closed before it forked: the command never ran
    sys.stderr.write(UNKNOWN)
    return 1


def run_here(argv: list[str]) -> int:
    """The command in this process, as `crm` ran before the server existed."""
    from crmcli.cli import run

    return run(argv)


def main() -> None:
    """Console entry point."""
    argv = sys.argv[1:]
    mode = runtime.mode()
    directory = runtime.private_dir() if mode != "off" and runtime.supported() else None
    if directory is None:
        if mode == "require":
            _give_up("crm: CRM_SERVER=require, but this platform or runtime directory has no command server")
        _exit(run_here(argv))
    sig = runtime.signature()
    path = runtime.socket_path(directory, sig)
    if not runtime.usable(path):
        if mode == "require":
            _give_up(f"crm: CRM_SERVER=require, but the socket path {path} is too long for a Unix socket")
        _exit(run_here(argv))
    sock = runtime.connect(path)
    if sock is None and mode == "require":
        runtime.start_server(directory, sig)
        sock = runtime.wait_for(path)
        if sock is None:
            _give_up(f"crm: CRM_SERVER=require, but no command server answers at {path}")
    code = -1
    if sock is not None:
        try:
            code = run_remote(sock, argv)
        finally:
            sock.close()
    if code >= 0:
        _exit(code)
    if mode == "require":
        _give_up("crm: CRM_SERVER=require, but the command server refused the command")
    _default_signals()
    code = run_here(argv)
    if sock is None:  # none was running: start one for the next command, after this one's output
        _flush()
        runtime.start_server(directory, sig)
    _exit(code)


def _default_signals() -> None:
    """The dispositions an in-process run expects (run_remote installed forwarding handlers)."""
    for name in (*FORWARDED, "SIGTSTP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)


def _give_up(line: str) -> NoReturn:
    sys.stderr.write(line + "\n")
    _exit(1)


def _exit(code: int) -> NoReturn:
    _flush()
    os._exit(code)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass


if __name__ == "__main__":
    main()
