"""Library errors name parameters (``rate_rps``); the CLI names the flag that set them (``--rate``).

Each command wraps its library calls in :func:`as_flags` with its own parameter → flag table, so a
message names what the user typed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from tokenergy.errors import TokenergyError


@contextmanager
def as_flags(flags: Mapping[str, str]) -> Iterator[None]:
    """Re-raise a TokenergyError whose field is a parameter in ``flags`` under its flag's name."""
    try:
        yield
    except TokenergyError as error:
        if error.field is not None and error.field in flags:
            error.field = flags[error.field]
        raise
