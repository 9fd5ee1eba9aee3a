"""The project's own exceptions, each carrying the exit code the CLI uses."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    ERROR = 1  # not found, invalid data, conflict, database problems
    USAGE = 2  # wrong or missing arguments


class CrmError(Exception):
    """Base of every error the user should see as one line."""

    exit_code: int = ExitCode.ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(CrmError):
    """No record matches a reference."""


class Ambiguous(CrmError):
    """A reference matches more than one record. CANDIDATES describe them for people ("contact #3
    Anna Müller (Acme GmbH) <anna@acme.de>"); CHOICES are the same as crmcli.domain.lookup.Candidate
    records (kind, id, name, company), for a caller that lets a person choose."""

    def __init__(self, message: str, candidates: list[str] | None = None, choices: list | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []
        self.choices = choices or []


class Invalid(CrmError):
    """A value fails validation (email, phone, custom field, date …)."""


class Conflict(CrmError):
    """A write would clash with existing data (duplicate email, non-empty database …)."""


class DatabaseError(CrmError):
    """The database cannot be opened or used."""


class UsageError(CrmError):
    """Wrong or missing arguments (exit code 2)."""

    exit_code = ExitCode.USAGE
