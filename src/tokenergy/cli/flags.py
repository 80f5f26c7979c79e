"""Library errors name parameters (``rate_rps``); the CLI names the flag that set them (``--rate``).

Each command wraps its library calls in :func:`as_flags` with its own parameter → flag table, so a
message names what the user typed; :data:`PARAMETER_FLAGS` is the fallback applied where the
message is shown, for parameters that mean the same flag in every command.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from tokenergy.errors import TokenergyError

PARAMETER_FLAGS: Mapping[str, str] = {
    "baseline": "--baseline",
    "boundary": "--boundary",
    "candidate": "--candidate",
    "concurrency": "--concurrency",
    "faults": "--faults",
    "gpu": "--gpu",
    "host_overhead": "--host-overhead",
    "isl": "--isl",
    "leff": "--leff",
    "levers": "--lever",
    "meters": "--meter",
    "min_load": "--min-load",
    "mix": "--mix",
    "models": "--model",
    "out": "--out",
    "p_idle_w": "--p-idle",
    "pmax_w": "--pmax",
    "plot": "--plot",
    "profile": "--profile",
    "prompt_kind": "--prompt",
    "queries_per_day": "--queries-per-day",
    "range_ratio": "--range-ratio",
    "tokenizer": "--tokenizer",
    "where": "--where",
    "workers": "--workers",
}


@contextmanager
def as_flags(flags: Mapping[str, str], *, in_message: bool = False) -> Iterator[None]:
    """Re-raise a TokenergyError whose field is a parameter in ``flags`` under its flag's name.

    ``in_message``: also rename the parameters a message lists ("replaces p_idle_w, min_load").
    """
    try:
        yield
    except TokenergyError as error:
        if error.field is not None and error.field in flags:
            error.field = flags[error.field]
        if in_message and flags:
            names = "|".join(re.escape(name) for name in flags)
            message = re.sub(rf"\b({names})\b", lambda hit: flags[hit.group(1)], error.message)
            error.message = message
            error.args = (message,)
        raise


def flag_of(error: TokenergyError) -> TokenergyError:
    """``error`` with a library parameter it names replaced by its flag (in place).

    A field is a parameter, optionally followed by a detail (``meters nvml:0``, ``faults stall``);
    one that comes with a file is a field of that file (a JSON key), never a parameter.
    """
    if error.file is None and error.field is not None:
        name, space, detail = error.field.partition(" ")
        if name in PARAMETER_FLAGS:
            error.field = PARAMETER_FLAGS[name] + space + detail
    return error
