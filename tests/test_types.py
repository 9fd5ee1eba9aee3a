"""The typed layers type-check (issue 14, item 6): mypy runs clean, with the settings in
pyproject.toml's [tool.mypy], on the paths listed there as `files`. Extending the check to
another layer is one line: add its folder to that list (and to TYPED below, so it stays)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from mypy import api

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "pyproject.toml"

# What must stay checked: a path may be added to [tool.mypy] files, never dropped from it.
TYPED = [
    "crmcli/values",
    "crmcli/analytics",
    "crmcli/errors.py",
    "crmcli/domain",
    "crmcli/client.py",
    "crmcli/runtime.py",
    "crmcli/server.py",
]


def _checked() -> list[str]:
    return list(tomllib.loads(CONFIG.read_text(encoding="utf-8"))["tool"]["mypy"]["files"])


def _sources(paths: list[str]) -> set[Path]:
    found: set[Path] = set()
    for name in paths:
        path = ROOT / name
        found |= set(path.rglob("*.py")) if path.is_dir() else {path}
    return found


def test_the_typed_layers_stay_in_the_check() -> None:
    checked = _checked()
    assert set(TYPED) <= set(checked), set(TYPED) - set(checked)
    missing = [name for name in checked if not (ROOT / name).exists()]
    assert not missing, f"[tool.mypy] files names paths that do not exist: {missing}"


def test_mypy_is_clean_on_the_checked_paths(monkeypatch: pytest.MonkeyPatch) -> None:
    """As `mypy` from the repository root: every module under the listed paths is read, and no
    error is found. The cache (.mypy_cache, git-ignored) makes a second run take well under a second."""
    monkeypatch.chdir(ROOT)  # the listed paths, and the cache, are relative to the root
    stdout, stderr, status = api.run(["--config-file", str(CONFIG)])
    assert status == 0 and not stderr, stdout + stderr
    summary = re.search(r"Success: no issues found in (\d+) source files?", stdout)
    assert summary, stdout
    assert int(summary.group(1)) == len(_sources(_checked())), stdout
