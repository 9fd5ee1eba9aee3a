"""The folders are the layers (README "Layout"), and the import-linter contracts in pyproject.toml
keep them so: cli → commands → output, exporter, importer, demo → analytics → domain → values;
only commands and output import typer, rich or questionary; values never touch the database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
LAYERS = {
    "values": {"clock", "when", "periods", "money", "normalize", "fieldtypes", "documents", "files", "matching"},
    "domain": {"contacts", "companies", "deals", "followups", "activities", "pipeline", "refs", "search", "dedupe"},
    "analytics": {"kpi", "targets", "reports"},
    "exporter": {"records", "workbook", "ics"},
    "output": {"kpi"},
}


def test_the_import_contracts_hold() -> None:
    """lint-imports over the package, as CI would run it: every contract kept."""
    result = subprocess.run(
        [sys.executable, "-c", LINT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout and "3 kept" in result.stdout, result.stdout[-2000:]


def test_the_folders_hold_the_layers() -> None:
    """A newcomer sees the architecture in the tree: each layer a folder, no module left flat
    beside cli, demo, errors, models and storage."""
    package = ROOT / "crmcli"
    for layer, modules in LAYERS.items():
        present = {p.stem for p in (package / layer).glob("*.py")}
        assert modules <= present, (layer, modules - present)
    flat = {p.stem for p in package.glob("*.py")}
    assert flat == {"__init__", "__main__", "cli", "demo", "errors", "models", "storage"}, flat
