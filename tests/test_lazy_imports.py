"""Start-up stays lean: the help, version and completion paths never load the database stack,
and listing contacts never loads spreadsheet, prompt, migration or test-server code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

HARNESS = """
import json, sys
from crmcli.cli import app
try:
    app(prog_name="crm")
except SystemExit:
    pass
sys.stdout.flush()
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""

NEVER_AT_START = {"sqlmodel", "sqlalchemy", "openpyxl", "questionary", "phonenumbers", "alembic", "pgserver"}
NEVER_FOR_LIST = {"openpyxl", "questionary", "alembic", "pgserver"}


def run(args: list[str], env_extra: dict[str, str] | None = None) -> tuple[str, set[str]]:
    """(stdout, top-level packages imported) of `crm ARGS` in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("_CRM")}
    env.update(env_extra or {})
    result = subprocess.run(
        [sys.executable, "-c", HARNESS, *args], capture_output=True, text=True, env=env, timeout=120
    )
    modules = json.loads(result.stderr.strip().splitlines()[-1])
    return result.stdout, {m.split(".")[0] for m in modules}


def loaded(args: list[str], env_extra: dict[str, str] | None = None) -> set[str]:
    return run(args, env_extra)[1]


def test_help_and_version_do_not_load_the_database_stack() -> None:
    for args in (["--help"], ["--version"], ["contacts", "--help"], ["contacts", "add", "--help"]):
        assert not (loaded(args) & NEVER_AT_START), args


def test_shell_completion_does_not_load_the_database_stack() -> None:
    env = {"_CRM_COMPLETE": "complete_bash", "COMP_WORDS": "crm con", "COMP_CWORD": "1"}
    stdout, modules = run([], env)
    assert stdout.split() == ["contacts", "config"]
    assert not (modules & NEVER_AT_START)


def test_listing_contacts_loads_only_what_it_uses(tmp_path: Path) -> None:
    db = tmp_path / "crm.db"
    from crmcli import storage

    storage.open_engine(str(db))  # migrate first: the schema check alone must not need alembic
    storage.dispose_all()
    modules = loaded(["contacts", "list", "--limit", "20"], {"CRM_DB": str(db)})
    assert "sqlmodel" in modules  # the command did run against the database
    assert not (modules & NEVER_FOR_LIST)
