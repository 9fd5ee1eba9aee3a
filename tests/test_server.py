"""The command server (crmcli.server) and the `crm` client (crmcli.client), run as a user runs them:
real client processes, a real server process, pseudo-terminals, real signals.

A command through the server must give exactly what it gives in-process (CRM_SERVER=0): the same
bytes on stdout and stderr, the same exit code, on a pipe and on a terminal, in the client's time
zone, directory and umask. (The whole CLI suite also runs through the server: pytest --via-server.)
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crmcli import runtime, storage

pytestmark = pytest.mark.skipif(not runtime.supported(), reason="the server needs fork and Unix sockets")

CLIENT = [sys.executable, "-m", "crmcli.client"]


def _private_dir() -> str:
    """A new runtime directory, mode 0700, short enough for a Unix socket's path wherever pytest's
    own temporary directories are (they can be deep, e.g. under pytest-xdist)."""
    import tempfile

    return tempfile.mkdtemp(prefix="crt-", dir="/tmp" if Path("/tmp").is_dir() else None)


@pytest.fixture(scope="module")
def shared_runtime() -> Iterator[str]:
    """One runtime directory (so one server) for the tests of this module that only use it."""
    import shutil

    directory = _private_dir()
    yield directory
    _stop_all(directory)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def fresh_runtime() -> Iterator[str]:
    """A runtime directory of the test's own: a server started there is the test's."""
    import shutil

    directory = _private_dir()
    yield directory
    _stop_all(directory)
    shutil.rmtree(directory, ignore_errors=True)


def _stop_all(directory: str) -> None:
    for sock in Path(directory, "crmcli").glob("*.sock"):
        answer = runtime.ask(str(sock), "status")
        runtime.ask(str(sock), "stop")
        if answer and answer[0] == "status":
            pid = json.loads(answer[1])["pid"]
            deadline = time.monotonic() + 20
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()


def environment(db_url: str, runtime_dir: str, mode: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CRM_SERVER", "NO_COLOR", "FORCE_COLOR")}
    env.update(CRM_DB=db_url, XDG_RUNTIME_DIR=runtime_dir, CRM_SERVER=mode, **extra)
    return env


def crm(
    args: list[str], env: dict[str, str], stdin: bytes = b"", cwd: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*CLIENT, *args], input=stdin, capture_output=True, env=env, cwd=cwd, timeout=300)


def both(args: list[str], db_url: str, runtime_dir: str, **extra: str) -> tuple:
    """(in-process, through the server) runs of `crm ARGS`, as (exit code, stdout, stderr)."""
    here = crm(args, environment(db_url, runtime_dir, "0", **extra))
    there = crm(args, environment(db_url, runtime_dir, "require", **extra))
    return (here.returncode, here.stdout, here.stderr), (there.returncode, there.stdout, there.stderr)


def server_status(runtime_dir: str) -> dict | None:
    """The status of the server this test process's environment gets in RUNTIME_DIR (others may run
    there for other environments); for a package copied elsewhere, of whichever answers."""
    env = {**os.environ, "XDG_RUNTIME_DIR": runtime_dir}
    mine = Path(runtime.socket_path(runtime.runtime_dir(env), runtime.signature(env)))
    socks = [mine] if mine.exists() else sorted(Path(runtime_dir, "crmcli").glob("*.sock"))
    for sock in socks:
        answer = runtime.ask(str(sock), "status")
        if answer and answer[0] == "status":
            return json.loads(answer[1])
    return None


# ---------------------------------------------------------------- the client is tiny


def test_the_client_imports_only_the_standard_library(db_url: str, shared_runtime: str) -> None:
    """Every module a served command loads in the client process (python -X importtime lists them
    all, including those imported inside functions) is the standard library's or the client's."""
    env = environment(db_url, shared_runtime, "require")
    crm(["--version"], env)  # the server is up
    ran = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "crmcli.client", "contacts", "list"],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    modules = {
        line.split("|")[-1].strip()
        for line in ran.stderr.decode().splitlines()
        if line.startswith("import time:") and "imported package" not in line
    } - {"package"}
    ours = {m for m in modules if m.split(".")[0] == "crmcli"}
    assert ours == {"crmcli", "crmcli.runtime"}, ours  # crmcli.client itself runs as __main__ here
    site_packages = {
        "_distutils_hack",
        "_virtualenv",
        "__editable___crmcli_0_1_0_finder",
        "sitecustomize",
        "usercustomize",
    }
    foreign = {m for m in modules - ours if m.split(".")[0] not in sys.stdlib_module_names} - site_packages
    assert not foreign, foreign
    assert "sqlalchemy" not in modules and "typer" not in modules


# ---------------------------------------------------------------- same behaviour, byte for byte


@pytest.fixture
def book(db_url: str, shared_runtime: str) -> str:
    """A few records, written through the server."""
    env = environment(db_url, shared_runtime, "require", CRM_NOW="2026-03-02T09:30:00Z")
    steps = [
        ["contacts", "add", "Anna Müller", "-e", "anna@acme.de", "-p", "+49 30 1234567", "--company", "Acme GmbH"],
        ["contacts", "add", "Bo Chen", "-e", "bo@chen.io"],
        ["deals", "add", "Acme rollout", "-c", "Anna Müller", "--amount", "12000"],
        ["log", "Anna Müller", "Called about the rollout"],
        ["followups", "add", "Anna Müller", "--note", "Send the offer", "--due", "2026-03-01", "--allow-past"],
    ]
    for step in steps:
        done = crm(step, env)
        assert done.returncode == 0, (step, done.stderr)
    return db_url


@pytest.mark.parametrize(
    "args",
    [
        ["--version"],
        ["--help"],
        ["contacts", "--help"],
        ["contacts", "list"],
        ["contacts", "list", "--format", "json"],
        ["contacts", "list", "--format", "csv"],
        ["contacts", "show", "Anna Müller"],
        ["contacts", "show", "Anna"],  # ambiguous or not: the same answer either way
        ["search", "Müller"],
        ["followups", "overdue"],
        ["pipeline", "board"],
        ["kpi"],
        ["contacts", "show", "Nobody"],  # not found: exit 1
        ["contacts", "list", "--format", "yaml"],  # usage: exit 2
        ["nosuch"],
        [],
    ],
)
def test_a_command_gives_the_same_bytes_and_exit_code_as_in_process(
    book: str, shared_runtime: str, args: list[str]
) -> None:
    here, there = both(args, book, shared_runtime, CRM_NOW="2026-03-03T10:00:00Z")
    assert there == here


def test_the_clients_time_zone_locale_and_colour_settings_apply(book: str, shared_runtime: str) -> None:
    """TZ (with tzset), the locale's date order and NO_COLOR are the client's, not the server's."""
    for extra in (
        {"TZ": "Asia/Tokyo"},
        {"TZ": "America/Los_Angeles", "LC_ALL": "de_DE.UTF-8"},
        {"NO_COLOR": "1"},
    ):
        here, there = both(["contacts", "show", "Anna Müller", "--format", "json"], book, shared_runtime, **extra)
        assert there == here and here[0] == 0, extra
    tokyo = both(["contacts", "show", "Anna Müller"], book, shared_runtime, TZ="Asia/Tokyo")[1]
    utc = both(["contacts", "show", "Anna Müller"], book, shared_runtime, TZ="UTC")[1]
    assert tokyo[1] != utc[1]  # the activity's time is shown in each client's own zone


def test_the_clients_directory_and_umask_apply(book: str, shared_runtime: str, tmp_path: Path) -> None:
    """A relative path is the client's, and a written file gets the client's umask."""
    modes = {}
    for mode in ("0", "require"):
        work = tmp_path / mode
        work.mkdir()
        env = environment(book, shared_runtime, mode)
        done = subprocess.run(
            ["sh", "-c", 'umask 077 && exec "$@"', "sh", *CLIENT, "export", "contacts", "out.csv"],
            capture_output=True,
            env=env,
            cwd=work,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        modes[mode] = ((work / "out.csv").stat().st_mode & 0o777, (work / "out.csv").read_bytes())
    assert modes["require"] == modes["0"] and modes["0"][0] == 0o600


def _in_pty(
    argv: list[str], env: dict[str, str], answer: bytes | None = None, prompt: bytes = b""
) -> tuple[int, bytes]:
    """(exit code, everything written to the terminal) of ARGV run on a new pseudo-terminal; ANSWER
    is typed once PROMPT has appeared."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    out = b""
    typed = answer is None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        if not typed and prompt in out:
            time.sleep(0.2)
            os.write(fd, answer or b"")
            typed = True
    os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out


def test_a_terminal_gets_the_same_colours_and_width(book: str, shared_runtime: str) -> None:
    for args in (["contacts", "list"], ["contacts", "show", "Anna Müller"], ["pipeline", "board"], ["kpi"]):
        runs = {}
        for mode in ("0", "require"):
            env = environment(book, shared_runtime, mode, TERM="xterm-256color", COLUMNS="97", LINES="40")
            env["CRM_NOW"] = "2026-03-03T10:00:00Z"
            runs[mode] = _in_pty([*CLIENT, *args], env)
        assert runs["require"] == runs["0"], args
        assert b"\x1b[" in runs["0"][1]  # a terminal: Rich styled it


def test_a_prompt_on_a_terminal_works_through_the_server(db_url: str, shared_runtime: str) -> None:
    """questionary asks for the forgotten name on the client's terminal, as in-process."""
    outputs = {}
    for mode, name in (("0", "Pat Here"), ("require", "Pat There")):
        env = environment(db_url, shared_runtime, mode, TERM="xterm-256color", COLUMNS="80", LINES="24")
        code, out = _in_pty(
            [*CLIENT, "contacts", "add", "-e", f"{name[4:].lower()}@x.de"], env, f"{name}\r".encode(), b"Name"
        )
        assert code == 0, out
        outputs[mode] = out.replace(name.encode(), b"NAME").replace(name[4:].lower().encode(), b"who")
    assert outputs["require"].endswith(b"Added contact #2: NAME\r\n")
    listed = crm(["contacts", "list", "--format", "csv"], environment(db_url, shared_runtime, "0")).stdout.decode()
    assert "Pat Here" in listed and "Pat There" in listed


def test_the_progress_bar_shows_on_a_terminal(db_url: str, shared_runtime: str, tmp_path: Path) -> None:
    path = tmp_path / "people.csv"
    path.write_text("Name,Email\n" + "".join(f"P {i},p{i}@x.de\n" for i in range(3000)), encoding="utf-8")
    env = environment(db_url, shared_runtime, "require", TERM="xterm-256color", COLUMNS="100", LINES="30")
    code, out = _in_pty([*CLIENT, "import", str(path)], env)
    assert code == 0, out
    assert b"\xe2\x94\x81" in out and b"importing people.csv" in out, out[-2000:]  # Rich's bar
    assert b"created 3,000" in out


# ---------------------------------------------------------------- signals and failures


def _running_import(
    db_url: str, runtime_dir: str, mode: str, tmp_path: Path
) -> tuple[subprocess.Popen[bytes], int | None]:
    """A long `crm import` (40,000 rows, one worker), caught while it writes: the client, and
    (through the server) the pid of the child that runs the command."""
    from crmcli.importer.runs import list_imports

    path = tmp_path / f"big-{mode}.csv"
    path.write_text("Name,Email\n" + "".join(f"P {i},p{i}@x.de\n" for i in range(40_000)), encoding="utf-8")
    client = subprocess.Popen(
        [*CLIENT, "import", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment(db_url, runtime_dir, mode, CRM_IMPORT_WORKERS="1"),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and client.poll() is None:
        with storage.session_scope(db_url) as s:
            runs = list_imports(s)
        if runs and runs[0]["status"] == "running" and runs[0]["read"] >= 2000:
            break
        time.sleep(0.05)
    assert client.poll() is None, "the import ended before the test could interrupt it"
    child = None
    status = server_status(runtime_dir) if mode == "require" else None
    if status:
        kids = Path(f"/proc/{status['pid']}/task/{status['pid']}/children").read_text().split()
        child = int(kids[-1]) if kids else None
    return client, child


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signals_to_the_client_reach_the_command(
    db_url: str, shared_runtime: str, tmp_path: Path, sig: int, code: int
) -> None:
    """Ctrl-C stops an import through the server as in-process (exit 130, the run interrupted);
    SIGTERM ends it by that signal (143) after it stopped the same way."""
    from crmcli.importer.runs import list_imports

    results = {}
    for mode in ("0", "require"):
        client, child = _running_import(db_url, shared_runtime, mode, tmp_path)
        assert client.poll() is None
        client.send_signal(sig)
        _, err = client.communicate(timeout=60)
        # killed by signal N: the shell's 128+N (a client exits with that code; Popen says -N)
        results[mode] = (client.returncode if client.returncode >= 0 else 128 - client.returncode, err)
        if child is not None:
            deadline = time.monotonic() + 10
            while _alive(child) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not _alive(child)
    assert results["require"][0] == results["0"][0] == code, results
    with storage.session_scope(db_url) as s:
        assert [run["status"] for run in list_imports(s)] == ["interrupted", "interrupted"]


def test_a_killed_client_ends_its_command_like_ctrl_c(db_url: str, shared_runtime: str, tmp_path: Path) -> None:
    """kill -9 of the client: the server ends the command with SIGTERM, which stops an import the
    way Ctrl-C does (its run is marked interrupted, nothing is left 'running')."""
    from crmcli.importer.runs import list_imports as importer_runs

    client, child = _running_import(db_url, shared_runtime, "require", tmp_path)
    assert child is not None and _alive(child)
    client.kill()
    client.wait()
    deadline = time.monotonic() + 20
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
    with storage.session_scope(db_url) as s:
        runs = importer_runs(s)
    assert [run["status"] for run in runs] == ["interrupted"], runs


def test_a_server_that_dies_mid_command_is_reported_never_rerun(
    fresh_runtime: str, db_url: str, tmp_path: Path
) -> None:
    """The server and the command killed while it runs: the client says the outcome is unknown and
    exits 1; it does not run the command again in-process (one import run, never a second)."""
    from crmcli.importer.runs import list_imports

    directory = fresh_runtime
    try:
        crm(["--version"], environment(db_url, directory, "require"))
        client, child = _running_import(db_url, directory, "require", tmp_path)
        status = server_status(directory)
        assert status and child
        os.killpg(os.getpgid(status["pid"]), signal.SIGKILL)  # the server's group: it and the command
        _, err = client.communicate(timeout=60)
        assert client.returncode == 1
        assert err.decode() == (
            "crm: the command server stopped while the command ran; its outcome is unknown "
            "(check with a read command before running it again)\n"
        )
        with storage.session_scope(db_url) as s:
            assert len(list_imports(s)) == 1
    finally:
        _stop_all(directory)


def test_a_refused_peer_runs_nothing(fresh_runtime: str, db_url: str, tmp_path: Path) -> None:
    """A server that serves another user refuses the connection: CRM_SERVER=require says so and
    exits 1; the default mode runs the command in-process instead."""
    directory = fresh_runtime
    env = environment(db_url, directory, "require")
    sock = runtime.socket_path(runtime.private_dir(env), runtime.signature(env))
    server = subprocess.Popen(
        [sys.executable, "-m", "crmcli.server", "--socket", sock, "--allowed-uid", str(os.getuid() + 4242)],
        env=env,
    )
    try:
        assert runtime.wait_for(sock) is not None
        refused = crm(["contacts", "add", "Refused Person"], env)
        assert refused.returncode == 1 and b"refused" in refused.stderr, refused.stderr
        here = crm(["contacts", "add", "Local Person", "-q"], environment(db_url, directory, "auto"))
        assert here.returncode == 0
        listed = crm(["contacts", "list", "--format", "csv"], environment(db_url, directory, "0")).stdout.decode()
        assert "Local Person" in listed and "Refused Person" not in listed
    finally:
        server.terminate()
        server.wait(timeout=30)


# ---------------------------------------------------------------- lifecycle


def test_crm_server_0_always_runs_in_process(fresh_runtime: str, db_url: str, tmp_path: Path) -> None:
    directory = fresh_runtime
    env = environment(db_url, directory, "0")
    assert crm(["contacts", "add", "Zero Server", "-q"], env).returncode == 0
    time.sleep(1)
    assert not list(Path(directory).glob("crmcli/*.sock")) and not list(Path(directory).glob("crmcli/*.lock"))


def test_the_first_command_starts_a_server_for_the_next(fresh_runtime: str, db_url: str, tmp_path: Path) -> None:
    directory = fresh_runtime
    env = environment(db_url, directory, "auto")
    try:
        first = crm(["contacts", "add", "First One", "-q"], env)
        assert first.returncode == 0 and first.stdout.strip() == b"1"
        sock = runtime.socket_path(runtime.private_dir(env), runtime.signature(env))
        assert runtime.wait_for(sock, 120) is not None
        assert os.stat(Path(sock).parent).st_mode & 0o777 == 0o700 and os.stat(sock).st_mode & 0o777 == 0o600
        served = server_status(directory)
        assert served is not None and served["served"] == 0
        second = crm(["contacts", "list", "--format", "csv"], env)
        assert b"First One" in second.stdout
        served = server_status(directory)
        assert served is not None and served["served"] >= 1
    finally:
        _stop_all(directory)


def test_crm_server_start_status_stop(fresh_runtime: str, db_url: str, tmp_path: Path) -> None:
    directory = fresh_runtime
    env = environment(db_url, directory, "0")
    down = crm(["server", "status"], env)
    assert down.returncode == 1 and b"no command server is running" in down.stderr
    started = crm(["server", "start"], env)
    assert started.returncode == 0 and started.stderr.startswith(b"Started the command server (pid "), started
    again = crm(["server", "start"], env)
    assert again.returncode == 0 and b"running already" in again.stderr
    shown = json.loads(crm(["server", "status", "--format", "json"], env).stdout)
    assert shown["pid"] > 0 and shown["rss_mib"] > 0 and shown["idle_exit"] == 900
    stopped = crm(["server", "stop"], env)
    assert stopped.returncode == 0 and f"(pid {shown['pid']})".encode() in stopped.stderr
    deadline = time.monotonic() + 20
    while _alive(shown["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(shown["pid"])
    assert crm(["server", "status"], env).returncode == 1


def test_an_idle_server_exits(fresh_runtime: str, db_url: str, tmp_path: Path) -> None:
    directory = fresh_runtime
    env = environment(db_url, directory, "require", CRM_SERVER_IDLE="2")
    assert crm(["--version"], env).returncode == 0
    pid = (server_status(directory) or {})["pid"]
    deadline = time.monotonic() + 30
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)
    assert not list(Path(directory).glob("crmcli/*.sock"))


def test_a_changed_package_gets_a_fresh_server(fresh_runtime: str, db_url: str, tmp_path: Path) -> None:
    """A copy of the package on PYTHONPATH stands for an installation; touching one of its files
    (an upgrade) makes the next client start a new server, and the old one leaves."""
    import shutil

    import crmcli

    source = tmp_path / "src"
    shutil.copytree(Path(crmcli.__file__).parent, source / "crmcli", ignore=shutil.ignore_patterns("__pycache__"))
    directory = fresh_runtime
    env = environment(db_url, directory, "require", PYTHONPATH=str(source), CRM_SERVER_IDLE="4")
    # run from tmp_path: `python -m` puts the working directory first on the path
    try:
        assert crm(["--version"], env, cwd=str(tmp_path)).returncode == 0
        old = server_status(directory)
        assert old is not None
        module = source / "crmcli" / "values" / "money.py"
        os.utime(module, ns=(module.stat().st_atime_ns, module.stat().st_mtime_ns + 10**9))
        assert crm(["--version"], env, cwd=str(tmp_path)).returncode == 0
        socks = sorted(Path(directory, "crmcli").glob("*.sock"))
        pids = {json.loads(a[1])["pid"] for s in socks if (a := runtime.ask(str(s), "status"))}
        assert pids - {old["pid"]}, (pids, old)  # a new server answers
        deadline = time.monotonic() + 30
        while _alive(old["pid"]) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(old["pid"])
    finally:
        _stop_all(directory)


# ---------------------------------------------------------------- concurrency


def test_twenty_clients_at_once(db_url: str, shared_runtime: str) -> None:
    """Ten adds and ten reads at the same time, all through the server: all succeed, and the adds
    are all there, once each."""
    env = environment(db_url, shared_runtime, "require")
    crm(["--version"], env)
    procs = []
    for i in range(20):
        args = ["contacts", "add", f"Person {i}", "-e", f"p{i}@x.de", "-q"] if i % 2 == 0 else ["contacts", "list"]
        procs.append(subprocess.Popen([*CLIENT, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env))
    results = [
        (p.wait(timeout=300), p.stdout.read() if p.stdout else b"", p.stderr.read() if p.stderr else b"") for p in procs
    ]
    assert all(code == 0 for code, _, _ in results), [r for r in results if r[0]]
    listed = json.loads(crm(["contacts", "list", "--format", "json", "--limit", "0"], env).stdout)
    assert sorted(c["name"] for c in listed) == sorted(f"Person {i}" for i in range(0, 20, 2))


# ---------------------------------------------------------------- nothing environment-bound leaks

AUDIT = """
import collections.abc, json, os, sys

read = {}


class Recording(collections.abc.MutableMapping):
    def __init__(self, real):
        self._real = real

    def __getitem__(self, key):
        read.setdefault(key, _where())
        return self._real[key]

    def get(self, key, default=None):
        read.setdefault(key, _where())
        return self._real.get(key, default)

    def __contains__(self, key):
        read.setdefault(key, _where())
        return key in self._real

    def __setitem__(self, key, value):
        self._real[key] = value

    def __delitem__(self, key):
        del self._real[key]

    def __iter__(self):
        return iter(self._real)

    def __len__(self):
        return len(self._real)


def _where():
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith("<frozen"):
        frame = frame.f_back
    return f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame else "?"


os.environ = Recording(os.environ)
from crmcli import server

server.warm_up = lambda command: None  # the imports alone: what a module reads while it loads
server.preload()
print(json.dumps(read))
"""


def test_no_library_keeps_environment_it_read_at_import() -> None:
    """Every environment variable read while the server imports what it preloads is either part of
    the server's signature (a client with another value gets its own server) or reviewed as safe to
    share (runtime.READ_AT_IMPORT_BUT_SHARED, each with its reason). A library that starts reading a
    new one fails here until it is placed."""
    ran = subprocess.run([sys.executable, "-c", AUDIT], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stderr
    read = json.loads(ran.stdout.strip().splitlines()[-1])
    assert "TERMINAL_WIDTH" in read  # the recording works: typer.rich_utils reads it at import
    unplaced = {
        key: where
        for key, where in read.items()
        if key not in runtime.IMPORT_TIME_ENV and key not in runtime.READ_AT_IMPORT_BUT_SHARED
    }
    assert not unplaced, unplaced


@pytest.mark.parametrize(
    "extra", [{"TERMINAL_WIDTH": "60"}, {"FORCE_COLOR": "1"}, {"_TYPER_FORCE_DISABLE_TERMINAL": "1"}]
)
def test_environment_read_at_import_gets_a_server_of_its_own(
    book: str, shared_runtime: str, extra: dict[str, str]
) -> None:
    """A client whose import-time environment differs from the running server's is served by
    another server, and its output is what it is in-process."""
    for args in (["--help"], ["contacts", "list"]):
        here, there = both(args, book, shared_runtime, **extra)
        assert there == here, (args, extra)
    socks = list(Path(shared_runtime, "crmcli").glob("*.sock"))
    assert len(socks) >= 2


def _state(pid: int) -> str:
    """The process state letter in /proc (R, S, T for stopped …)."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_ctrl_z_stops_the_command_and_fg_resumes_it(db_url: str, shared_runtime: str, tmp_path: Path) -> None:
    """SIGTSTP to the client (Ctrl-Z) stops it and the command it runs; SIGCONT (fg) resumes both."""
    from crmcli.importer.runs import list_imports

    def read() -> int:
        with storage.session_scope(db_url) as s:
            return int(list_imports(s)[0]["read"])

    client, child = _running_import(db_url, shared_runtime, "require", tmp_path)
    assert child is not None
    try:
        client.send_signal(signal.SIGTSTP)
        deadline = time.monotonic() + 20
        while (_state(child), _state(client.pid)) != ("T", "T") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (_state(child), _state(client.pid)) == ("T", "T")
        time.sleep(0.3)  # a batch being committed when it stopped is in by now
        stopped_at = read()
        time.sleep(1.0)
        assert read() == stopped_at  # nothing moves while stopped
        client.send_signal(signal.SIGCONT)
        deadline = time.monotonic() + 60
        while read() == stopped_at and client.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert read() > stopped_at or client.poll() == 0
        assert _state(child) != "T" or client.poll() is not None
    finally:
        if client.poll() is None:
            client.send_signal(signal.SIGINT)
        client.communicate(timeout=60)
    assert client.returncode in (0, 130)


def test_the_server_holds_no_database_thread_or_file_between_commands(book: str, shared_runtime: str) -> None:
    """After reads and writes through it, the server process has one thread and no file of a user's
    database open (children open, and close, their own): nothing of one command reaches the next."""
    env = environment(book, shared_runtime, "require")
    for args in (["contacts", "list"], ["log", "Anna Müller", "held nothing"], ["kpi"]):
        assert crm(args, env).returncode == 0
    status = server_status(shared_runtime)
    assert status is not None
    pid = status["pid"]
    assert len(list(Path(f"/proc/{pid}/task").iterdir())) == 1
    deadline = time.monotonic() + 5
    while True:  # the status request's own connection closes just after its answer
        held = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
        if len([h for h in held if h.startswith("socket:")]) == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    database = storage.sqlite_path(book)
    assert database is None or not [h for h in held if h.startswith(str(database))], held
    assert not [h for h in held if h.endswith((".db", ".db-wal", ".db-shm"))], held
    assert len([h for h in held if h.startswith("socket:")]) == 1, held  # its listener: no PostgreSQL connection


def test_a_removed_working_directory_runs_in_process(book: str, shared_runtime: str, tmp_path: Path) -> None:
    """A client whose working directory was removed cannot hand it over: the command runs in its own
    process, with the same output as CRM_SERVER=0 there."""
    gone = tmp_path / "gone"
    gone.mkdir()
    script = 'cd "$1" && rmdir "$1" && shift && exec "$@"'
    runs = {}
    for mode in ("0", "auto"):
        gone.mkdir(exist_ok=True)
        done = subprocess.run(
            ["sh", "-c", script, "sh", str(gone), *CLIENT, "contacts", "list", "--format", "csv"],
            capture_output=True,
            env=environment(book, shared_runtime, mode),
            timeout=120,
        )
        runs[mode] = (done.returncode, done.stdout, done.stderr)
    assert runs["auto"] == runs["0"] and runs["0"][0] == 0 and b"Anna M" in runs["0"][1], runs
