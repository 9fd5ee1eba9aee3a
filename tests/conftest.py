"""Test fixtures: every storage test runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from CRM_TEST_DATABASE_URL (a server the tests may create databases on)
or, when that is unset, from pgserver, started once for the session in a temporary folder.
Each test gets a fresh, migrated database: on PostgreSQL a copy of a migrated template.
"""

from __future__ import annotations

import itertools
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from crmcli import storage
from crmcli.values import clock

_counter = itertools.count()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--no-pg", action="store_true", help="run only the SQLite half of the storage tests")
    parser.addoption(
        "--via-server",
        action="store_true",
        help="run every `cli` command through the command server (the crm client in a fresh process), "
        "not in-process with CliRunner",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --via-server only the tests that run `crm` through the `cli` fixture, and not
    in-process, are run: the others ran as they are in the run without it."""
    if not config.getoption("--via-server"):
        return
    served, left = [], []
    for item in items:
        uses_cli = "cli" in getattr(item, "fixturenames", ()) and item.get_closest_marker("in_process") is None
        (served if uses_cli else left).append(item)
    if left:
        config.hook.pytest_deselected(items=left)
        items[:] = served


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test sees the user's data dir, clock, zone or database; engines close afterwards."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CRM_USER", "tester")
    monkeypatch.setenv("CRM_SERVER", "0")  # a `crm` process runs in-process unless a test asks for the server
    monkeypatch.setenv("TZ", "UTC")
    monkeypatch.setenv("LANG", "C.UTF-8")  # numeric dates read month-first unless a test sets date_order
    for var in ("LC_ALL", "LC_TIME"):
        monkeypatch.delenv(var, raising=False)
    for var in ("CRM_DB", "CRM_NOW", "NO_COLOR", "CRM_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    clock.set_local_zone(None)
    yield
    clock.set_local_zone(None)
    storage.dispose_all()


class PgServer:
    """Creates throw-away databases on one PostgreSQL server."""

    def __init__(self, admin_url: str) -> None:
        from sqlalchemy import create_engine

        self.admin_url = admin_url
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.template = f"crm_template_{os.getpid()}"
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.template}"')
            conn.exec_driver_sql(f'CREATE DATABASE "{self.template}"')
        url = self.url_for(self.template)
        engine, _ = storage.open_engine(url)  # migrate the template once
        storage.dispose_all()
        del engine

    def url_for(self, name: str) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def create(self, *, migrated: bool = True) -> str:
        name = f"crm_test_{os.getpid()}_{next(_counter)}"
        template = f' TEMPLATE "{self.template}"' if migrated else ""
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"{template}')
        return self.url_for(name)

    def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        storage.dispose_all()
        name = make_url(url).database
        with self.admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _psycopg_url(uri: str) -> str:
    """pgserver's libpq URI → an SQLAlchemy URL with the psycopg 3 driver."""
    return re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", uri)


@pytest.fixture(scope="session")
def pg_server(request: pytest.FixtureRequest) -> Iterator[PgServer]:
    if request.config.getoption("--no-pg"):
        pytest.skip("PostgreSQL half deselected with --no-pg")
    url = os.environ.get("CRM_TEST_DATABASE_URL")
    if url:
        server = PgServer(url)
        yield server
        server.admin.dispose()
        return
    import pgserver

    folder = tempfile.mkdtemp(prefix="crm-pg-")
    srv = pgserver.get_server(folder, cleanup_mode="delete")
    server = PgServer(_psycopg_url(srv.get_uri()))
    yield server
    server.admin.dispose()
    srv.cleanup()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database URL on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "crm.db"
        url = f"sqlite:///{path}"
        storage.open_engine(url)
        yield url
        return
    server: PgServer = request.getfixturevalue("pg_server")
    url = server.create()
    yield url
    server.drop(url)


@pytest.fixture
def session(db_url: str) -> Iterator:
    """A session in one transaction, rolled back by nobody: tests commit explicitly when they need to."""
    engine, _ = storage.open_engine(db_url)
    s = storage.make_session(engine, write=True)
    yield s
    s.rollback()
    s.close()


@dataclass
class Ran:
    """What a command run through the command server left: CliRunner's Result, as far as tests read it."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    @property
    def stdout_bytes(self) -> bytes:
        return self.stdout.encode("utf-8", "surrogateescape")


@pytest.fixture(scope="session")
def command_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """With --via-server: the runtime directory of the session's command server (started by the
    first command, stopped at the end). None otherwise."""
    if not request.config.getoption("--via-server"):
        yield None
        return
    import shutil

    from crmcli import runtime

    directory = Path(tempfile.mkdtemp(prefix="crt-", dir="/tmp"))  # short: a socket's path has ~100 bytes
    yield str(directory)
    for sock in (directory / "crmcli").glob("*.sock"):
        runtime.ask(str(sock), "stop")
    shutil.rmtree(directory, ignore_errors=True)


def via_server(runtime_dir: str, args: list[str], input: str | None, env: dict[str, str | None]) -> Ran:
    """`crm ARGS` as a user runs it: a fresh client process that hands the command to the server
    (CRM_SERVER=require: a command the server could not take fails instead of running here)."""
    import subprocess
    import sys

    full = dict(os.environ)
    for name, value in env.items():
        if value is None:
            full.pop(name, None)
        else:
            full[name] = value
    full.update(XDG_RUNTIME_DIR=runtime_dir, CRM_SERVER="require")
    done = subprocess.run(
        [sys.executable, "-m", "crmcli.client", *args],
        input=(input or "").encode(),
        capture_output=True,
        env=full,
        timeout=600,
    )
    return Ran(done.returncode, done.stdout.decode("utf-8", "surrogateescape"), done.stderr.decode("utf-8", "replace"))


@pytest.fixture
def cli(db_url: str, monkeypatch: pytest.MonkeyPatch, command_server: str | None, request: pytest.FixtureRequest):
    """Run `crm ARGS` against the test database: through Typer's CliRunner, or with --via-server
    through the command server as a user's `crm` does. A test marked in_process (it patches Python
    objects of this process, which a server's child cannot see) runs with CliRunner either way."""
    from typer.testing import CliRunner

    from crmcli.cli import app

    monkeypatch.setenv("CRM_DB", db_url)
    runner = CliRunner()
    served = command_server if request.node.get_closest_marker("in_process") is None else None

    def run(*args: str, input: str | None = None, env: dict[str, str | None] | None = None):
        # A NUL cannot be in any process's arguments: such a call can only be made in-process.
        if served is not None and not any("\x00" in arg for arg in args):
            return via_server(served, list(args), input, env or {})
        return runner.invoke(app, list(args), input=input, env=env)

    return run


@pytest.fixture
def me(db_url: str) -> str:
    """Who crm says is acting: CRM_USER on SQLite, the connection's role on PostgreSQL (issue 18)."""
    if db_url.startswith("postgresql"):
        from sqlalchemy.engine import make_url

        return str(make_url(db_url).username)
    return os.environ["CRM_USER"]
