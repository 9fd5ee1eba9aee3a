"""Where this user's command server lives and how to reach it: the private runtime directory, the
signature that tells which server may serve a client, the socket's wire format, and starting a
server in the background. Standard library only: the `crm` client (crmcli.client) imports it on
every command.
"""

from __future__ import annotations

import _socket  # the C module itself: socket.py would cost the client enum, selectors and more
import marshal
import os
import stat
import struct
import sys
import time

import crmcli

# Environment read at import time by the libraries the server preloads (typer.core, typer.rich_utils)
# or by the interpreter at start-up: a client whose values differ gets a server of its own.
IMPORT_TIME_ENV = (
    "TYPER_USE_RICH",
    "TERMINAL_WIDTH",
    "_TYPER_FORCE_DISABLE_TERMINAL",
    "GITHUB_ACTIONS",
    "FORCE_COLOR",
    "PY_COLORS",
    "TYPER_STANDARD_TRACEBACK",
    "_TYPER_STANDARD_TRACEBACK",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONUTF8",
    "PYTHONHASHSEED",
    "PYTHONWARNINGS",
    "PYTHONDONTWRITEBYTECODE",
    "PYTHONSAFEPATH",
    "PYTHONNOUSERSITE",
    "PYTHONUSERBASE",
    "PYTHONDEVMODE",
    "PYTHONMALLOC",
    "PYTHONTZPATH",
    "_PYTHON_PROJECT_BASE",
    "_PYTHON_SYSCONFIGDATA_NAME",
    "_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION",
    "OPENPYXL_DEFUSEDXML",
    "PSYCOPG_IMPL",
    "PSYCOPG_WAIT_FUNC",
    "PYDANTIC_DISABLE_PLUGINS",
    "PYTZ_SKIPEXISTSCHECK",
    "PYTZ_TZDATADIR",
    "RAPIDFUZZ_IMPLEMENTATION",
    "WCWIDTH_PYTHON",
)
# Read while the server imports, yet safe to share: what they set at import is not what crm uses,
# or they are read again on every call (tests/test_server.py checks that nothing else is read).
READ_AT_IMPORT_BUT_SHARED = {
    "LANG": "babel's and gettext's defaults: crm passes babel an explicit locale; no catalogs ship for typer",
    "LANGUAGE": "gettext: no message catalogs ship for typer, click or argparse",
    "LC_ALL": "babel's default locales (unused: crm passes the locale) and gettext (no catalogs)",
    "LC_CTYPE": "babel's default locale (unused); the child calls setlocale(LC_CTYPE, '') itself",
    "LC_MESSAGES": "gettext: no message catalogs ship for typer, click or argparse",
    "LC_MONETARY": "babel's default locale (unused: crm formats money with locale en_US)",
    "LC_NUMERIC": "babel's default locale (unused)",
    "LC_TIME": "babel's default locale (unused); crm reads LC_TIME on each call (values.when)",
    "TZ": "babel.localtime's zone (unused: crm converts times itself); the child calls tzset()",
    "HOME": "sysconfig's user site-packages at start-up: the same for the client and the server",
}
HEADER = struct.Struct("!I")


def mode(environ: dict[str, str] | os._Environ[str] | None = None) -> str:
    """CRM_SERVER: "off" (0, off, no, false: always in-process), "require" (fail rather than run
    in-process: for tests and diagnosis) or "auto" (the default)."""
    value = (os.environ if environ is None else environ).get("CRM_SERVER", "").strip().lower()
    if value in ("0", "off", "no", "false"):
        return "off"
    return "require" if value == "require" else "auto"


def supported() -> bool:
    """Whether this platform has what the server needs (fork, Unix sockets, descriptor passing)."""
    return hasattr(os, "fork") and hasattr(_socket, "AF_UNIX") and hasattr(_socket.socket, "sendmsg")


def runtime_dir(environ: dict[str, str] | os._Environ[str] | None = None) -> str:
    """This user's runtime directory for crmcli, as platformdirs' user_runtime_dir finds it on Linux:
    $XDG_RUNTIME_DIR when it is a directory the user owns with mode 0700, else /run/user/UID under the
    same check, else runtime-UID in the temporary directory (created 0700)."""
    environ = os.environ if environ is None else environ
    uid = os.getuid()
    for base in (environ.get("XDG_RUNTIME_DIR", ""), f"/run/user/{uid}"):
        if base and os.path.isabs(base) and _private(base, uid):
            return os.path.join(base, "crmcli")
    return os.path.join(environ.get("TMPDIR") or "/tmp", f"runtime-{uid}", "crmcli")


def _private(path: str, uid: int) -> bool:
    """PATH is a real directory owned by UID that no one else can enter."""
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == uid and not st.st_mode & 0o077


def private_dir(environ: dict[str, str] | os._Environ[str] | None = None) -> str | None:
    """The runtime directory, created with mode 0700 (its parent too) and checked; None when it cannot
    be made private (someone else owns it, or it is a symlink or not a directory). One of the user's
    own that others may enter is closed to them (chmod 0700), as platformdirs creates it."""
    path = runtime_dir(environ)
    uid = os.getuid()
    for directory in (os.path.dirname(path), path):
        try:
            os.mkdir(directory, 0o700)
        except FileExistsError:
            pass
        except OSError:
            return None
        try:
            st = os.lstat(directory)
            if stat.S_ISDIR(st.st_mode) and st.st_uid == uid and st.st_mode & 0o077:
                os.chmod(directory, 0o700)
        except OSError:
            return None
        if not _private(directory, uid):
            return None
    return path


def signature(environ: dict[str, str] | os._Environ[str] | None = None) -> str:
    """What a server must share with this client to serve it: the interpreter, the installed package
    (its version, and each of its files with its size and modification time: an upgrade that leaves
    older times still changes one) and the environment read at import time."""
    import zlib

    environ = os.environ if environ is None else environ
    package = os.path.dirname(os.path.abspath(crmcli.__file__))
    files = []
    stack = [package]
    while stack:
        with os.scandir(stack.pop()) as entries:
            for entry in entries:
                if entry.name == "__pycache__":
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                elif entry.name.endswith(".py"):
                    st = entry.stat()
                    files.append(f"{entry.path}:{st.st_mtime_ns}:{st.st_size}")
    parts = [os.path.realpath(sys.executable), sys.prefix, sys.version, crmcli.__version__, package, *sorted(files)]
    parts += [f"{name}={environ.get(name)}" for name in IMPORT_TIME_ENV]
    return f"{zlib.crc32(chr(0).join(parts).encode('utf-8', 'surrogateescape')):08x}"


# A Unix socket's path has room for 107 bytes on Linux (103 on the BSDs and macOS), with the
# server's temporary name (".PID" more) binding first.
MAX_SOCKET_PATH = 96


def socket_path(directory: str, sig: str | None = None) -> str:
    """The socket of the server for this user, interpreter, package and environment (the version
    is part of the signature)."""
    return os.path.join(directory, f"crm-{sig or signature()}.sock")


def usable(path: str) -> bool:
    """Whether a socket can be bound at PATH (a runtime directory deep in a long TMPDIR cannot)."""
    return len(os.fsencode(path)) <= MAX_SOCKET_PATH


def connect(path: str) -> _socket.socket | None:
    """A connection to the server at PATH, or None when none answers there."""
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        return None
    return sock


def send(sock: _socket.socket, request: dict[str, object], fds: list[int] | None = None) -> None:
    """REQUEST behind its length, with FDS passed alongside the first byte. The encoding is marshal:
    built in (json would cost the client the import of re and enum), and both ends are the same
    interpreter (the signature says so) and the same user (the server checks the peer)."""
    data = marshal.dumps(request)
    payload = HEADER.pack(len(data)) + data
    if fds:  # as socket.send_fds does it
        import array

        sent = sock.sendmsg([payload], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, array.array("i", fds))])
    else:
        sent = sock.send(payload)
    if sent < len(payload):
        sock.sendall(payload[sent:])


def replies(sock: _socket.socket):  # type: ignore[no-untyped-def]
    """The server's replies, one per line ("pid 123", "exit 0", "signal 2", "refused WHY",
    "status JSON"), as (key, value) pairs until it closes the connection."""
    buffered = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            return
        buffered += chunk
        while b"\n" in buffered:
            line, buffered = buffered.split(b"\n", 1)
            key, _, value = line.decode("utf-8", "replace").partition(" ")
            yield key, value


def start_server(directory: str, sig: str) -> None:
    """Start the server for this signature in the background, detached (setsid, no terminal), unless
    one is starting or running already (it holds the lock file)."""
    import fcntl

    lock = os.path.join(directory, f"crm-{sig}.lock")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return  # a server holds it
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    pid = os.fork()
    if pid:
        os.waitpid(pid, 0)
        return
    try:  # the first child: a new session, then a grandchild that init adopts
        os.setsid()
        if os.fork():
            os._exit(0)
        null = os.open(os.devnull, os.O_RDWR)
        for target in (0, 1, 2):
            os.dup2(null, target)
        os.closerange(3, 1 << 16)  # nothing of the client's (its pipes, its terminal) stays open
        os.chdir("/")  # neither a user's directory held open nor on the import path (-P)
        argv = [sys.executable, "-P", "-m", "crmcli.server", "--socket", socket_path(directory, sig)]
        os.execve(sys.executable, [*argv, "--lock", lock], dict(os.environ))
    finally:
        os._exit(1)


def wait_for(path: str, timeout: float = 60.0) -> _socket.socket | None:
    """A connection to the server at PATH once it answers, polling until TIMEOUT seconds passed."""
    deadline = time.monotonic() + timeout
    while True:
        sock = connect(path)
        if sock is not None or time.monotonic() > deadline:
            return sock
        time.sleep(0.02)


def ask(path: str, op: str) -> tuple[str, str] | None:
    """The one-line answer of the server at PATH to OP ("status", "stop"), None when none answers."""
    sock = connect(path)
    if sock is None:
        return None
    try:
        send(sock, {"op": op})
        for key, value in replies(sock):
            return key, value
    finally:
        sock.close()
    return None


def log_path() -> str:
    """The server's log: server.log in the user's state directory (platformdirs, imported here
    because only the server and `crm server` ask: the client never does)."""
    from platformdirs import user_state_dir

    return os.path.join(user_state_dir("crmcli"), "server.log")
