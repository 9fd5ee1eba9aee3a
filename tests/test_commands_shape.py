"""The shape of the command line (issue 14, items 2 and 4): one way to choose output, one
definition per shared option and meaning (crmcli/commands/_common.py), and no module reaching
into another module's _private names."""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "crmcli"
SHARED = ("--format", "--owner", "--pipeline", "--period", "--quiet", "--mine")


def _commands() -> Iterator[tuple[str, Any]]:
    """(path, command) for every leaf command under crm, as click sees them."""
    import typer.main

    from crmcli.cli import app

    def walk(cmd: Any, path: tuple[str, ...]) -> Iterator[tuple[str, Any]]:
        subs = getattr(cmd, "commands", None)
        if subs:
            for name, sub in subs.items():
                yield from walk(sub, (*path, name))
        else:
            yield " ".join(path), cmd

    yield from walk(typer.main.get_command(app), ())


def _option(cmd: Any, spelling: str) -> Any:
    return next((p for p in cmd.params if spelling in getattr(p, "opts", ())), None)


def _choices(param: Any) -> tuple[str, ...]:
    return tuple(c.value if isinstance(c, Enum) else str(c) for c in param.type_descriptor.choices or ())


def _definitions() -> dict[str, dict[str, tuple[str, tuple[str, ...]]]]:
    """_common's option definitions: {spelling: {help: (name, choices)}}."""
    import typing

    from crmcli.commands import _common

    found: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {}
    for name, value in vars(_common).items():
        meta = getattr(value, "__metadata__", None)
        if not name.endswith("Opt") or not meta:
            continue
        info = meta[0]
        # typer.Option("--format", "-f") keeps its first name where a default would go
        first = [info.default] if isinstance(info.default, str) and info.default.startswith("-") else []
        decls = [d for d in (*first, *(info.param_decls or ())) if d.startswith("--")]
        args = [a for a in typing.get_args(typing.get_args(value)[0]) if a is not type(None)] or [
            typing.get_args(value)[0]
        ]
        choices = tuple(m.value for m in args[0]) if isinstance(args[0], type) and issubclass(args[0], Enum) else ()
        for spelling in decls:
            assert info.help not in found.get(spelling, {}), f"{name} repeats the help of another {spelling}"
            found.setdefault(spelling, {})[info.help] = (name, choices)
    return found


def test_shared_options_are_defined_once_with_one_help_per_meaning() -> None:
    """Every --format, --owner, --pipeline, --period, --quiet and --mine in the tree is one of the
    definitions in commands/_common.py (same help, same choices); each definition of a spelling
    has its own help, so a help text names one meaning."""
    definitions = _definitions()
    for spelling in SHARED:
        assert spelling in definitions, f"commands/_common.py defines no {spelling}"
    used: dict[str, set[str]] = {}
    for path, cmd in _commands():
        for spelling in SHARED:
            param = _option(cmd, spelling)
            if param is None:
                continue
            known = definitions[spelling]
            assert param.help in known, f"crm {path} {spelling}: help not from commands/_common.py: {param.help!r}"
            name, choices = known[param.help]
            assert _choices(param) == choices, f"crm {path} {spelling}: choices differ from {name}"
            used.setdefault(spelling, set()).add(name)
    # the meanings each spelling has today, and nothing defined that no command uses
    assert used["--owner"] == {
        "OwnerFilterOpt", "OwnerOpt", "NewOwnerOpt", "ImportOwnerOpt", "TargetOwnerOpt", "RuleOwnerOpt"
    }  # fmt: skip
    assert used["--pipeline"] == {"PipelineOpt", "PipelineFilterOpt"}
    assert used["--period"] == {"PeriodOpt", "TargetPeriodOpt"}
    assert used["--format"] == {"FormatOpt", "FiguresFormatOpt", "FileFormatOpt"}
    for spelling, names in used.items():
        assert names == {name for name, _ in definitions[spelling].values()}, spelling


def test_every_list_and_show_offers_the_same_format_and_quiet() -> None:
    from crmcli.commands._common import Fmt, FormatOpt, QuietOpt

    fmt_help, quiet_help = FormatOpt.__metadata__[0].help, QuietOpt.__metadata__[0].help
    listing = [(path, cmd) for path, cmd in _commands() if path.split()[-1] in ("list", "show")]
    assert len(listing) >= 12, [p for p, _ in listing]
    for path, cmd in listing:
        fmt, quiet = _option(cmd, "--format"), _option(cmd, "--quiet")
        assert fmt is not None and quiet is not None, f"crm {path} lacks --format or -q"
        assert "-f" in fmt.opts and "-q" in quiet.opts, path
        assert _choices(fmt) == tuple(f.value for f in Fmt), path
        assert (fmt.help, quiet.help) == (fmt_help, quiet_help), path


def test_figures_take_the_figures_format() -> None:
    """crm kpi and every report print figures: table, json, csv or plain, one definition."""
    from crmcli.commands._common import FiguresFormatOpt

    figures = [(p, c) for p, c in _commands() if p == "kpi" or (p.startswith("report ") and p != "report export")]
    assert len(figures) == 8, [p for p, _ in figures]
    for path, cmd in figures:
        fmt = _option(cmd, "--format")
        assert fmt.help == FiguresFormatOpt.__metadata__[0].help, path
        assert _choices(fmt) == ("table", "json", "csv", "plain"), path


def test_commands_choose_their_format_through_fmt_of() -> None:
    """No command reads a --format value itself (fmt.value, output.choose): fmt_of does, once."""
    for path in sorted((PACKAGE / "commands").glob("*.py")):
        if path.name == "_common.py":
            continue
        text = path.read_text()
        assert "fmt.value" not in text, path.name
        assert "import choose" not in text and "output.choose" not in text, path.name


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_package(module: str) -> bool:
    return (ROOT / Path(*module.split(".")) / "__init__.py").exists()


def _private_reaches() -> list[str]:
    """Every place a crmcli module takes a _name of another module: `from M import _x` or `m._x`.
    A package's own private submodule (`from crmcli.commands import _prompts` inside commands/)
    is the package's business and allowed."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        me = _module_name(path)
        package = me if path.name == "__init__.py" else me.rpartition(".")[0]
        tree = ast.parse(path.read_text(), str(path))
        modules: dict[str, str] = {}  # local name → crmcli module it names
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([node.module] if node.module else [])])
                if not base.startswith("crmcli"):
                    continue
                for alias in node.names:
                    local = alias.asname or alias.name
                    if _is_package(base) and (ROOT / Path(*base.split(".")) / f"{alias.name}.py").exists():
                        modules[local] = f"{base}.{alias.name}"
                        if alias.name.startswith("_") and not (me + ".").startswith(base + "."):
                            found.append(f"{me}: from {base} import {alias.name} (a private module)")
                        continue
                    if alias.name.startswith("_") and not alias.name.startswith("__") and base != me:
                        found.append(f"{me}: from {base} import {alias.name}")
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("crmcli") and alias.asname:
                        modules[alias.asname] = alias.name
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and modules[node.value.id] != me
            ):
                found.append(f"{me}: {node.value.id}.{node.attr} ({modules[node.value.id]})")
    return found


def test_no_module_imports_another_modules_private_names() -> None:
    assert _private_reaches() == []


def test_the_private_check_sees_what_it_forbids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above finds both forms it forbids (so its empty answer means something)."""
    fake = tmp_path / "crmcli"
    (fake / "a").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "a" / "__init__.py").write_text("")
    (fake / "a" / "one.py").write_text("_hidden = 1\n")
    (fake / "a" / "_inner.py").write_text("x = 1\n")
    (fake / "a" / "two.py").write_text(
        "from crmcli.a import _inner, one\nfrom crmcli.a.one import _hidden\ny = one._hidden\n"
    )
    (fake / "b.py").write_text("from crmcli.a import _inner\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", fake)
    assert sorted(_private_reaches()) == [
        "crmcli.a.two: from crmcli.a.one import _hidden",
        "crmcli.a.two: one._hidden (crmcli.a.one)",
        "crmcli.b: from crmcli.a import _inner (a private module)",
    ]


# ---------------------------------------------------------------- the chosen format, through the CLI


def test_a_write_prints_what_fmt_of_chose(cli) -> None:  # noqa: ANN001
    """In a pipe (plain) and with -q (ids) the new id; with -f json the record; with -f table nothing."""
    piped = cli("contacts", "add", "Ada Shape", "-e", "ada@shape.example")
    assert piped.exit_code == 0, piped.stderr
    new_id = piped.stdout.strip()
    assert new_id.isdigit()
    quiet = cli("contacts", "edit", new_id, "--title", "CTO", "-q", "-f", "json")
    assert quiet.exit_code == 0 and quiet.stdout.strip() == new_id  # -q wins over --format
    record = json.loads(cli("contacts", "edit", new_id, "--title", "CEO", "-f", "json").stdout)
    assert (record["id"], record["title"]) == (int(new_id), "CEO")
    table = cli("contacts", "edit", new_id, "--title", "COO", "-f", "table")
    assert table.exit_code == 0 and table.stdout == "" and "Updated contact" in table.stderr


def test_lists_without_ids_before_take_q(cli) -> None:  # noqa: ANN001
    """crm config list and crm config rates list take -q like every other list."""
    keys = cli("config", "list", "-q")
    assert keys.exit_code == 0, keys.stderr
    assert "timezone" in keys.stdout.split("\n")
    assert cli("config", "rates", "set", "USD", "0.9").exit_code == 0
    assert cli("config", "rates", "list", "-q").stdout.split() == ["USD"]


def test_figures_refuse_ids_and_report_formats_match_kpi(cli) -> None:  # noqa: ANN001
    for args in (["kpi"], ["report", "owners"]):
        refused = cli(*args, "--format", "ids")
        assert refused.exit_code == 2, (args, refused.stdout, refused.stderr)
        plain = cli(*args, "--format", "plain")
        assert plain.exit_code == 0, (args, plain.stderr)
    assert json.loads(cli("kpi", "-f", "json").stdout)["period"]
