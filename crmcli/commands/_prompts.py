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


def confirm(question: str, *, assume_yes: bool, action: str | None = None) -> bool:
    """True with --yes; else ask on a terminal; without one, refuse (a usage error) so that a script or a
    pipe never destroys anything it did not say --yes to. ACTION names what would be done in the refusal
    ("remove #12 Anna Müller"); by default it is QUESTION up to its "?"."""
    if assume_yes:
        return True
    if not interactive():
        raise UsageError(f"not a terminal: add --yes to {action or _action(question)}")
    import questionary

    from crmcli.output import one_line  # a name in the question is shown, never obeyed

    answer = questionary.confirm(one_line(question), default=False).ask()
    if answer is None:
        raise Cancelled("cancelled")
    return bool(answer)


def can_choose() -> bool:
    """A list to choose from needs a person at both ends: stdin and stdout are terminals."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def choose_ref(ref: str, candidates: list) -> object | None:
    """One of CANDIDATES (crmcli.domain.lookup.Candidate) that the ambiguous REF matched, chosen by the person
    at the terminal; None without a terminal (the REF stays ambiguous). Escape or Ctrl-C cancels."""
    if not can_choose():
        return None
    import questionary

    from crmcli.output import one_line  # names are shown, never obeyed

    choices = [questionary.Choice(one_line(c.label()), value=c) for c in candidates]
    answer = questionary.select(one_line(f"'{ref}' matches {len(candidates)}: which one?"), choices=choices).ask()
    if answer is None:
        raise Cancelled("cancelled")
    return answer


def _action(question: str) -> str:
    """'Remove #3 Acme? Their people stay.' -> 'remove #3 Acme' (a name may hold a '?' itself)."""
    said = question.rstrip()
    said = said[:-1] if said.endswith("?") else said.rpartition("? ")[0] or said
    return said[:1].lower() + said[1:]
