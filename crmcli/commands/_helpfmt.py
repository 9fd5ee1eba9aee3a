"""What `--help` shows after each option and argument: what a person types, never a Python type.

Typer 0.29's help prints each parameter's Python type: `<bool>` after every flag (`--dry-run -n
<bool>`, `--help -h <bool>`), `<str>`, `<list[str]>`, `<int range>`, `<path>`, and an argument by
its Python name (`{id_}` in the usage line). tidy() replaces those renderers once, for every
command: a flag shows nothing after it; an option shows its metavar if it has one, else its
choices (`[skip|update|merge|create]`), N for a number, DATE, FILE for a path, or its own name
(`--sheet SHEET`); an argument is named by its metavar or its name in capitals (`ID`, `REF`).
"""

from __future__ import annotations

from typing import Any

_DONE: list[bool] = []


def _choices(param: Any, ctx: Any) -> str:
    from typer.core import normalize_choice_value

    desc = param.type_descriptor
    names = [normalize_choice_value(c, desc.case_sensitive, ctx) for c in desc.choices or ()]
    return "[" + "|".join(names) + "]"


def option_metavar(param: Any, ctx: Any) -> str | None:
    """The word after an option in help (None: nothing, for a flag)."""
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    if param.metavar is not None:
        word = param.metavar
    else:
        desc = param.type_descriptor
        if desc.is_choice:
            word = _choices(param, ctx)
        elif desc.is_path:
            word = "FILE"
        elif desc.is_datetime:
            word = "DATE"
        elif desc.annotation is int or desc.is_ranged:
            word = "N"
        elif desc.annotation is float:
            word = "NUMBER"
        else:
            long = [o for o in param.opts if o.startswith("--")] or param.opts
            word = long[0].lstrip("-").upper()
    return word + ("..." if param.nargs != 1 else "")


def argument_name(param: Any) -> str:
    """An argument as help and errors name it: its metavar, else its name in capitals (id_ → ID)."""
    return param.metavar if param.metavar is not None else param.name.strip("_").upper()


def _argument_usage(param: Any) -> str:
    name = argument_name(param)
    name = name if param.required else f"[{name}]"
    return name + ("..." if param.nargs != 1 else "")


def _argument_type(param: Any, ctx: Any) -> str | None:
    return _choices(param, ctx) if param.type_descriptor.is_choice else None


def tidy() -> None:
    """Install the renderers above (once; cheap: no import beyond typer.core)."""
    if _DONE:
        return
    from typer.core import TyperArgument, TyperOption

    TyperOption.display_type_rich = option_metavar  # type: ignore[method-assign,assignment]
    TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign,assignment]
    TyperArgument.display_name_raw = property(argument_name)  # type: ignore[method-assign,assignment]
    TyperArgument._usage_display_name = _argument_usage  # type: ignore[method-assign,assignment]
    _DONE.append(True)
