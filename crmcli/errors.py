"""The project's own exceptions, each carrying the exit code the CLI uses.

An error speaks about the data ("email anna@acme.de already belongs to #3 Anna Müller"); what the
caller can do about it is its HINT, in the terms of the call that raised it (the keyword
allow_duplicate adds it anyway). The command line spells those keywords as its options and makes
the one line a user reads (crmcli.commands._common.said): "… (--allow-duplicate adds it anyway)".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from string import Formatter


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # not found, invalid data, conflict, database problems
    USAGE = 2  # wrong or missing arguments


@dataclass(frozen=True)
class Hint:
    """What the caller can do about an error or a note. SAYS is a sentence in which {name} stands
    for the keyword argument NAME of the call that raised it ("{allow_duplicate} adds it anyway").
    FORM joins it to the message: "{message} ({hint})", "{message}: {hint}", or "{hint}" when the
    hint says it all (data it then repeats from the message goes through literal())."""

    says: str
    form: str = "{message} ({hint})"

    @property
    def keywords(self) -> tuple[str, ...]:
        """The keyword arguments SAYS names, in order: ("allow_duplicate",)."""
        return tuple(dict.fromkeys(name for _, name, _, _ in Formatter().parse(self.says) if name))

    def text(self, spell: Callable[[str], str] = str) -> str:
        """SAYS with each keyword spelled by SPELL (default: the keyword itself: "allow_duplicate
        adds it anyway"; the command line gives "--allow-duplicate adds it anyway")."""
        return self.says.format_map({name: spell(name) for name in self.keywords})

    def line(self, message: str, spell: Callable[[str], str] = str) -> str:
        """MESSAGE and this hint as one line (FORM)."""
        return self.form.format(message=message, hint=self.text(spell))


def literal(text: str) -> str:
    """TEXT (data) to stand in a Hint's SAYS as it is: its braces doubled."""
    return text.replace("{", "{{").replace("}", "}}")


class CrmError(Exception):
    """Base of every error the user should see as one line: MESSAGE about the data, and an
    optional HINT (see Hint) that the command line words in terms of its options."""

    exit_code: int = ExitCode.ERROR

    def __init__(self, message: str, hint: Hint | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class NotFound(CrmError):
    """No record matches a reference."""


class Ambiguous(CrmError):
    """A reference matches more than one record. CANDIDATES describe them for people ("contact #3
    Anna Müller (Acme GmbH) <anna@acme.de>"); CHOICES are the same as crmcli.domain.lookup.Candidate
    records (kind, id, name, company), for a caller that lets a person choose."""

    def __init__(
        self,
        message: str,
        candidates: list[str] | None = None,
        choices: list | None = None,
        hint: Hint | None = None,
    ) -> None:
        super().__init__(message, hint)
        self.candidates = candidates or []
        self.choices = choices or []


class Invalid(CrmError):
    """A value fails validation (email, phone, custom field, date …)."""


class Conflict(CrmError):
    """A write would clash with existing data (duplicate email, non-empty database …)."""


class DatabaseError(CrmError):
    """The database cannot be opened or used."""


class Denied(CrmError):
    """The database refused a write to the acting role (a team database on PostgreSQL)."""


class UsageError(CrmError):
    """Wrong or missing arguments (exit code 2)."""

    exit_code = ExitCode.USAGE
