"""Prompts, only for people: never when stdin is not a terminal. questionary is imported on demand."""

from __future__ import annotations

import sys

from crmcli.errors import CrmError, UsageError


class Cancelled(CrmError):
    """The person at the prompt gave up (Ctrl-C / Escape)."""


def interactive() -> bool:
    return sys.stdin.isatty()


def ask_text(label: str, value: str | None, *, option: str) -> str:
    """VALUE when given; else ask on a terminal; else a usage error naming OPTION."""
    if value is not None and value.strip():
        return value
    if not interactive():
        raise UsageError(f"missing {option} (no terminal to ask on)")
    import questionary

    answer = questionary.text(f"{label}:", validate=lambda text: bool(text.strip()) or f"{label} is required").ask()
    if answer is None:
        raise Cancelled("cancelled")
    return str(answer)


def confirm(question: str, *, assume_yes: bool) -> bool:
    """True with --yes or without a terminal (scripts decide for themselves); else ask."""
    if assume_yes or not interactive():
        return True
    import questionary

    answer = questionary.confirm(question, default=False).ask()
    if answer is None:
        raise Cancelled("cancelled")
    return bool(answer)
