"""The command server: one per user, interpreter, installed package and import-time environment.

It imports everything a command may need once (the CLI with its Click command built, the domain,
SQLAlchemy with its dialects and mappers configured, Rich, the prompts, the readers), then forks one
child per request (crmcli.client). The child takes the client's standard streams, environment
(TZ with tzset, locale), working directory and umask, runs the command as `crm` would in-process,
and reports its exit code; the server reports a child that a signal ended, and ends a child whose
client went away with SIGTERM (which a command takes like Ctrl-C). The server itself holds no
database connection, no thread and no file of a user's database: those belong to the children.

It exits after an idle period (CRM_SERVER_IDLE seconds, default 900), on `crm server stop`, and as
soon as it is idle once the package's files changed under it (the next client starts a fresh one).
"""

from __future__ import annotations

import argparse
import errno
import gc
import io
import json
import locale
import marshal
import os
import select
import signal
import socket
import struct
import sys
import time
from dataclasses import dataclass
from typing import Any

import crmcli
from crmcli import runtime

IDLE_DEFAULT = 900.0
STALE_CHECK = 30.0
MAX_REQUEST = 16 << 20


def idle_seconds(environ: dict[str, str] | os._Environ[str] | None = None) -> float:
    """How long the server waits for a command before it exits: CRM_SERVER_IDLE seconds (900)."""
    raw = (os.environ if environ is None else environ).get("CRM_SERVER_IDLE", "")
    try:
        value = float(raw)
    except ValueError:
        return IDLE_DEFAULT
    return value if value > 0 else IDLE_DEFAULT


def preload() -> Any:
    """Import what commands use, build the Click command and configure the mappers: the children
    start from here. Returns the Click command."""
    import importlib
    import pkgutil

    import typer.main

    from crmcli import cli

    skip = {"crmcli.client", "crmcli.server", "crmcli.__main__"}
    for info in pkgutil.walk_packages(crmcli.__path__, "crmcli."):
        if info.name in skip or ".migrations" in info.name:
            continue
        importlib.import_module(info.name)
    for name in (
        "sqlalchemy.dialects.sqlite.pysqlite",
        "sqlalchemy.dialects.postgresql.psycopg",
        "sqlalchemy.orm",
        "sqlite3",
        "psycopg",
        "typer.rich_utils",
        "rich.console",
        "rich.table",
        "rich.progress",
        "rich.markdown",
        "questionary",
        "prompt_toolkit",
        "phonenumbers",
        "email_validator",
        "openpyxl",
        "rapidfuzz",
        "icalendar",
        "zoneinfo",
        "dateutil.parser",
        "typer._adapters",
        "rich._emoji_codes",
        "babel.numbers",
        "babel.dates",
        "pytz",
    ):
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    command = typer.main.get_command(cli.app)
    warm_up(command)
    gc.collect()
    gc.freeze()  # the children do not copy the preloaded objects' pages when they collect
    return command


# Commands run once in the server, on a database of its own that it then closes and deletes, so
# that what they fill on first use (SQLAlchemy's per-mapper and per-statement set-up, Rich's and
# Babel's tables, Typer's adapters) is filled for every child.
WARM_UP = (
    ["--help"],
    ["contacts", "--help"],
    ["init"],
    ["contacts", "add", "Warm Up", "-e", "warm@example.org", "-p", "+49 30 1234567", "--company", "Warm GmbH"],
    ["deals", "add", "Warm deal", "-c", "warm@example.org", "--amount", "1000"],
    ["deals", "move", "1", "Qualified"],
    ["log", "warm@example.org", "warm"],
    ["followups", "add", "warm@example.org", "--due", "tomorrow"],
    ["contacts", "list", "--limit", "20"],
    ["contacts", "show", "warm@example.org"],
    ["companies", "show", "Warm GmbH"],
    ["deals", "show", "1"],
    ["search", "Warm"],
    ["followups", "overdue"],
    ["followups", "list"],
    ["pipeline", "board"],
    ["kpi"],
)


def _warm_locales() -> None:
    """Babel's locale data (a pickle per locale, read on first use): money as crm formats it, and the
    date order of the locales people most often have."""
    from decimal import Decimal

    from crmcli.values import money, when

    money.format_money(Decimal("1234.5"), "EUR")
    for name in ("en_US.UTF-8", "en_GB.UTF-8", "de_DE.UTF-8", "fr_FR.UTF-8", "es_ES.UTF-8", "nl_NL.UTF-8"):
        when.locale_order({"LANG": name})


def warm_up(command: Any) -> None:
    """Run WARM_UP against a temporary SQLite database, output discarded; nothing of it stays open."""
    import tempfile

    from crmcli import cli, storage

    saved_env = dict(os.environ)
    saved_streams = sys.stdin, sys.stdout, sys.stderr
    with tempfile.TemporaryDirectory(prefix="crm-warm-up-") as folder:
        os.environ["CRM_DB"] = os.path.join(folder, "crm.db")
        os.environ["NO_COLOR"] = "1"
        nothing = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        with open(os.devnull, encoding="utf-8") as nothing_in:
            sys.stdin, sys.stdout, sys.stderr = nothing_in, nothing, nothing
            try:
                for args in WARM_UP:
                    if cli.run(list(args), command):  # the children would pay for what it left cold
                        print(f"warm-up: crm {' '.join(args)} failed", file=saved_streams[2], flush=True)
                _warm_locales()
            finally:
                sys.stdin, sys.stdout, sys.stderr = saved_streams
                storage.dispose_all()
                os.environ.clear()
                os.environ.update(saved_env)


@dataclass
class Request:
    """One connected client and what the server knows of its command."""

    conn: socket.socket
    pid: int
    ended: bool = False


def peer_uid(conn: socket.socket) -> int | None:
    """The user id of the process at the other end of CONN (None where the platform cannot say)."""
    if hasattr(socket, "SO_PEERCRED"):
        creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        return int(struct.unpack("3i", creds)[1])
    getpeereid = getattr(os, "getpeereid", None)
    return int(getpeereid(conn.fileno())[0]) if getpeereid else None


def read_request(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    """The client's request and the file descriptors that came with it."""
    conn.settimeout(5)
    data, fds, _flags, _addr = socket.recv_fds(conn, 65536, 3)
    try:
        return _parse(conn, data), list(fds)
    except BaseException:
        for fd in fds:  # a request that is not one: the descriptors that came with it are closed
            os.close(fd)
        raise


def _parse(conn: socket.socket, data: bytes) -> dict[str, Any]:
    if len(data) < runtime.HEADER.size:
        raise ValueError("short request")
    (size,) = runtime.HEADER.unpack_from(data)
    if size > MAX_REQUEST:
        raise ValueError("request too large")
    body = bytearray(data[runtime.HEADER.size :])
    while len(body) < size:
        chunk = conn.recv(size - len(body))
        if not chunk:
            raise ValueError("short request")
        body += chunk
    conn.settimeout(None)
    request = marshal.loads(bytes(body))
    if not isinstance(request, dict):
        raise ValueError("not a request")
    return request


def reply(conn: socket.socket, key: str, value: object) -> None:
    """One line to the client ("exit 0"); a client that went away is not an error."""
    text = json.dumps(value) if isinstance(value, dict) else str(value).replace("\n", " ")
    try:
        conn.sendall(f"{key} {text}\n".encode())
    except OSError:
        pass


class Server:
    """The accept loop: single-threaded, select() on the listening socket, a self-pipe that SIGCHLD
    and SIGTERM write to, and each client's connection (readable = the client went away)."""

    def __init__(self, path: str, command: Any, allowed_uid: int | None = None, idle: float = IDLE_DEFAULT) -> None:
        self.path = path
        self.command = command
        self.allowed_uid = os.getuid() if allowed_uid is None else allowed_uid
        self.idle = idle
        self.requests: dict[int, Request] = {}  # by child pid
        self.waiting: dict[int, Request] = {}  # by connection fd, every live request
        self.started = time.time()
        self.served = 0
        self.stopping = False
        self.signature = runtime.signature()
        self.inode = -1
        self.lock = -1  # the lock file that says this server runs: not the children's to hold
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.wake_r, self.wake_w = os.pipe()
        for fd in (self.wake_r, self.wake_w):
            os.set_blocking(fd, False)
            os.set_inheritable(fd, False)

    def bind(self) -> None:
        """Listen at PATH: bound under a temporary name, made private, then renamed into place, so a
        client never finds a socket that does not answer yet."""
        temp = os.path.join(os.path.dirname(self.path), f".{os.getpid()}.sock")
        try:
            os.unlink(temp)
        except FileNotFoundError:
            pass
        self.listener.bind(temp)
        os.chmod(temp, 0o600)
        self.listener.listen(64)
        os.rename(temp, self.path)
        self.inode = os.stat(self.path).st_ino

    def serve(self) -> None:
        signal.set_wakeup_fd(self.wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: setattr(self, "stopping", True))
        signal.signal(signal.SIGINT, lambda *_: setattr(self, "stopping", True))
        last = time.monotonic()
        checked = last
        while True:
            self.reap()
            now = time.monotonic()
            if now - checked > min(STALE_CHECK, self.idle / 2):
                checked = now
                if runtime.signature() != self.signature:
                    self.stopping = True
            if not self.waiting:
                if self.stopping or now - last > self.idle:
                    break
            elif self.stopping:
                self.unlisten()
            watched = [self.wake_r, *self.waiting]
            if not self.stopping:
                watched.append(self.listener.fileno())
            timeout = max(0.0, min(STALE_CHECK, self.idle - (now - last))) if not self.waiting else STALE_CHECK
            try:
                readable, _, _ = select.select(watched, [], [], timeout)
            except InterruptedError:
                continue
            for fd in readable:
                if fd == self.wake_r:
                    try:
                        os.read(self.wake_r, 4096)
                    except BlockingIOError:
                        pass
                elif fd == self.listener.fileno():
                    try:
                        self.accept()
                    except Exception as exc:  # noqa: BLE001 - one bad request never ends the server
                        print(f"request failed: {type(exc).__name__}: {exc}", flush=True)
                    last = time.monotonic()
                elif fd in self.waiting:
                    self.client_gone(self.waiting[fd])
            if self.waiting:
                last = time.monotonic()
        self.unlisten()

    def unlisten(self) -> None:
        """Stop taking requests; the socket goes when it is still ours."""
        if self.listener.fileno() < 0:
            return
        try:
            if os.stat(self.path).st_ino == self.inode:
                os.unlink(self.path)
        except OSError:
            pass
        self.listener.close()

    def accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        if peer_uid(conn) not in (self.allowed_uid, None):
            reply(conn, "refused", "this server serves another user")
            conn.close()
            return
        try:
            request, fds = read_request(conn)
        except (OSError, ValueError):
            conn.close()
            return
        op = request.get("op")
        try:
            if op == "run" and len(fds) == 3:
                self.fork(conn, request, fds)
                return
            if op == "status":
                reply(conn, "status", self.status())
            elif op == "stop":
                self.stopping = True
                reply(conn, "stopping", os.getpid())
            else:
                reply(conn, "refused", f"unknown request {op!r}")
        finally:
            for fd in fds:
                os.close(fd)
        conn.close()

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "version": crmcli.__version__,
            "socket": self.path,
            "started": self.started,
            "served": self.served,
            "running": len(self.requests),
            "idle_exit": self.idle,
            "rss_kib": rss_kib(),
        }

    def fork(self, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> None:
        pid = os.fork()
        if pid == 0:
            try:
                self.listener.close()
                for other in self.requests.values():  # other clients' connections, gone ones too
                    other.conn.close()
                os.close(self.wake_r)
                os.close(self.wake_w)
                if self.lock >= 0:
                    os.close(self.lock)
                code = child(self.command, conn, request, fds)
            except BaseException as exc:  # noqa: BLE001 - the child must never return into the server loop
                # before the command ran (its own errors are words already): one line on its stderr
                try:
                    os.write(2, f"crm: the command server could not run the command: {exc}\n".encode())
                except OSError:
                    pass
                code = 1
            os._exit(code)
        self.served += 1
        entry = Request(conn=conn, pid=pid)
        self.requests[pid] = entry
        self.waiting[conn.fileno()] = entry
        reply(conn, "pid", pid)

    def client_gone(self, entry: Request) -> None:
        """The client's end is readable: it closed (or died). The command is ended with SIGTERM."""
        try:
            data = entry.conn.recv(1, socket.MSG_PEEK)
        except OSError:
            data = b""
        if data:
            entry.conn.recv(65536)  # clients send nothing after the request: ignore it
            return
        self.waiting.pop(entry.conn.fileno(), None)
        if not entry.ended:
            try:
                os.kill(entry.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def reap(self) -> None:
        while self.requests:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            entry = self.requests.pop(pid, None)
            if entry is None:
                continue
            entry.ended = True
            if os.WIFSIGNALED(status):
                reply(entry.conn, "signal", os.WTERMSIG(status))
            else:
                reply(entry.conn, "exit", os.waitstatus_to_exitcode(status))
            self.waiting.pop(entry.conn.fileno(), None)
            entry.conn.close()


def rss_kib() -> int:
    """The server's resident memory in KiB (Linux /proc; 0 elsewhere)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def child(command: Any, conn: socket.socket, request: dict[str, Any], fds: list[int]) -> int:
    """In the forked child: become the client's process (streams, environment, directory, umask,
    signals) and run the command. Returns the exit code."""
    signal.set_wakeup_fd(-1)
    for name in ("SIGCHLD", "SIGHUP", "SIGQUIT", "SIGWINCH", "SIGCONT", "SIGTSTP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.environ.clear()
    os.environ.update(request["env"])
    if hasattr(time, "tzset"):
        time.tzset()
    try:
        locale.setlocale(locale.LC_CTYPE, "")
    except locale.Error:
        pass
    os.chdir(request["cwd"])
    os.umask(int(request["umask"]))
    sys.argv = [request.get("argv0") or "crm", *request["argv"]]
    sys.stdin, sys.stdout, sys.stderr = _standard_streams(request.get("streams") or [])
    for name, stream in (("__stdin__", sys.stdin), ("__stdout__", sys.stdout), ("__stderr__", sys.stderr)):
        setattr(sys, name, stream)  # what libraries fall back on is the client's too
    from crmcli import cli

    code = cli.run(list(request["argv"]), command)
    # done: the client may close as soon as it reads the code, and the server then sends SIGTERM to
    # a child whose client went away; this one has nothing left to stop
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    reply(conn, "exit", code)
    return code


def _standard_streams(specs: list[list[str | None]]) -> tuple[Any, Any, Any]:
    """Text streams on fds 0, 1 and 2 with the client's encodings and error handlers, buffered as
    Python buffers them (stdout by line on a terminal, stderr always by line)."""

    def spec(index: int, default_errors: str) -> tuple[str, str]:
        encoding, errors = [*(specs[index] if index < len(specs) else []), None, None][:2]
        return encoding or locale.getpreferredencoding(False), errors or default_errors

    def stream(fd: int, mode: str) -> Any:  # the client's descriptor, buffered as open() would
        raw = io.FileIO(fd, mode, closefd=False)
        return io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw)

    enc, err = spec(0, "strict")
    stdin = io.TextIOWrapper(stream(0, "r"), encoding=enc, errors=err)
    enc, err = spec(1, "strict")
    stdout = io.TextIOWrapper(stream(1, "w"), encoding=enc, errors=err, line_buffering=os.isatty(1))
    enc, err = spec(2, "backslashreplace")
    stderr = io.TextIOWrapper(stream(2, "w"), encoding=enc, errors=err, line_buffering=True)
    return stdin, stdout, stderr


def main(argv: list[str] | None = None) -> None:
    """`python -m crmcli.server --socket PATH [--lock FILE]`: preload, then serve until idle."""
    import fcntl

    parser = argparse.ArgumentParser(prog="crmcli.server")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--lock")
    parser.add_argument("--idle", type=float, default=None)
    parser.add_argument("--allowed-uid", type=int, default=None, help="the user served (default: the server's own)")
    args = parser.parse_args(argv)
    lock = -1
    if args.lock:
        lock = os.open(args.lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EACCES):
                return  # another server for this signature is starting or running
            raise
    _log_to_state_dir()
    command = preload()
    server = Server(args.socket, command, allowed_uid=args.allowed_uid, idle=args.idle or idle_seconds())
    server.lock = lock
    server.bind()
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} server {os.getpid()} listening on {args.socket}", flush=True)
    try:
        server.serve()
    finally:
        print(
            f"{time.strftime('%Y-%m-%dT%H:%M:%S')} server {os.getpid()} exits after {server.served} commands",
            flush=True,
        )


def _log_to_state_dir() -> None:
    """The server's own stdout and stderr go to its log (it has no terminal)."""
    path = runtime.log_path()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)


if __name__ == "__main__":
    main()
