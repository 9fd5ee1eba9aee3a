"""The folders are the layers (README "Layout"), and the import-linter contracts in pyproject.toml
keep them so: cli → commands → output, exporter, importer, demo → analytics → domain → values;
only commands and output import typer, rich or questionary; values never touch the database; no
import cycles (the order inside domain/ and analytics/ is a contract too); and no module of values,
domain or analytics imports a crmcli module inside a function, where a cycle could hide."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True))"
LAYERS = {
    "values": {"clock", "when", "periods", "money", "normalize", "fieldtypes", "documents", "files", "matching"},
    "domain": {"contacts", "companies", "deals", "followups", "activities", "pipeline", "lookup", "search"}
    | {"dedupe", "indexing", "views"},
    "analytics": {"kpi", "targets", "reports", "summary"},
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
    assert "0 broken" in result.stdout and "6 kept" in result.stdout, result.stdout[-2000:]


def test_the_folders_hold_the_layers() -> None:
    """A newcomer sees the architecture in the tree: each layer a folder, no module left flat
    beside cli, demo, errors, models and storage."""
    package = ROOT / "crmcli"
    for layer, modules in LAYERS.items():
        present = {p.stem for p in (package / layer).glob("*.py")}
        assert modules <= present, (layer, modules - present)
    flat = {p.stem for p in package.glob("*.py")}
    # client (the `crm` script), server (the preloaded command server) and runtime (how they meet)
    # sit beside cli: they run it, in this process or in a forked one. changelog sits beside
    # storage: the triggers that log every write, and the change set of each write transaction;
    # access too: the team database's grants and row-level security policies.
    assert flat == {
        "__init__",
        "__main__",
        "access",
        "changelog",
        "cli",
        "client",
        "demo",
        "errors",
        "models",
        "runtime",
        "server",
        "storage",
    }, flat


# (file, module) pairs allowed to import a crmcli module inside a function, each with its reason.
LATE_IMPORTS_ALLOWED = {
    # output/__init__ imports cells at start-up (crm --help); clock is needed only for a datetime
    ("crmcli/values/cells.py", "crmcli.values.clock"),
}


def _late_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every crmcli import inside a function or method of PATH."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.ImportFrom) and inner.level == 0 and (inner.module or "").startswith("crmcli"):
                    found.append((inner.lineno, inner.module or ""))
                elif isinstance(inner, ast.Import):
                    found += [(inner.lineno, a.name) for a in inner.names if a.name.startswith("crmcli")]
    return found


def test_no_sibling_module_is_imported_inside_a_function() -> None:
    """values, domain and analytics import every crmcli module at the top: a function-level import
    is for a heavy third-party library only (rapidfuzz, dateparser, babel, phonenumbers …)."""
    late = []
    for layer in ("values", "domain", "analytics"):
        for path in sorted((ROOT / "crmcli" / layer).glob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            late += [f"{name}:{line} {module}" for line, module in _late_imports(path)
                     if (name, module) not in LATE_IMPORTS_ALLOWED]  # fmt: skip
    assert late == []


def test_a_late_import_is_found(tmp_path: Path) -> None:
    """The check above sees an import inside a function, a method and a nested block."""
    source = tmp_path / "m.py"
    source.write_text(
        "import crmcli.errors\n"
        "def f():\n    if True:\n        from crmcli.domain import lookup\n"
        "class C:\n    def g(self):\n        import crmcli.models\n        from rapidfuzz import fuzz\n"
    )
    assert _late_imports(source) == [(4, "crmcli.domain"), (7, "crmcli.models")]
