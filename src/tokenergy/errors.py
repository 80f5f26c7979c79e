"""The error hierarchy: every failure a user can cause is a TokenergyError.

The CLI turns these into a one-line message naming the file and field, with exit code 2,
so bad input never produces a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotation only: the CLI's error path imports pydantic when it needs it
    from pydantic import ValidationError


class TokenergyError(Exception):
    """A problem with the user's input or environment, reported without a traceback."""

    def __init__(self, message: str, *, file: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.field = field

    def __str__(self) -> str:
        where = [part for part in (self.file, self.field) if part]
        prefix = ": ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class UnitError(TokenergyError):
    """A quantity string could not be parsed or has the wrong sign/unit."""


class CatalogError(TokenergyError):
    """A lookup in the packaged reference data failed (e.g. an unknown GPU)."""


class IngestError(TokenergyError):
    """A foreign result file could not be read or is malformed."""


class ConfigError(TokenergyError):
    """Options that contradict each other or are missing."""


class MeterError(TokenergyError):
    """An energy meter could not be opened or read."""


class ServerError(TokenergyError):
    """The server under test could not be reached or answered unusably."""


def validation_problem(error: ValidationError) -> tuple[str, str]:
    """The first pydantic error as (dotted field, message): one line is all a user is shown."""
    first = error.errors()[0]
    return ".".join(str(part) for part in first["loc"]), str(first["msg"])
