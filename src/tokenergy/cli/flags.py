"""Library errors name parameters (``rate_rps``); the CLI names the flag that set them (``--rate``).

Each command wraps its library calls in :func:`as_flags` with its own parameter → flag table, so a
message names what the user typed; :data:`PARAMETER_FLAGS` is the fallback applied where the
message is shown, for parameters that mean the same flag in every command. A library message
names a parameter in back-quotes ("give `pmax_w`"): unambiguous to rename, and readable as it is
in a notebook.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from tokenergy.errors import TokenergyError

PARAMETER_FLAGS: Mapping[str, str] = {
    "api": "--api",
    "baseline": "--baseline",
    "basis": "--basis",
    "boundary": "--boundary",
    "candidate": "--candidate",
    "concurrency": "--concurrency",
    "faults": "--faults",
    "gpu": "--gpu",
    "host_overhead": "--host-overhead",
    "isl": "--isl",
    "leff": "--leff",
    "levers": "--lever",
    "max_length_mismatch": "--max-length-mismatch",
    "meters": "--meter",
    "min_load": "--min-load",
    "mix": "--mix",
    "model": "--model",
    "models": "--model",
    "num_prompts": "--num-prompts",
    "out": "--out",
    "p_idle_w": "--p-idle",
    "pmax_w": "--pmax",
    "plot": "--plot",
    "power": "--power",
    "power_per_gpu": "--power-per-gpu",
    "power_per_gpu_w": "--power-per-gpu",
    "profile": "--profile",
    "prompt_kind": "--prompt",
    "queries_per_day": "--queries-per-day",
    "range_ratio": "--range-ratio",
    "tokenizer": "--tokenizer",
    "where": "--where",
    "workers": "--workers",
}


_QUOTED_PARAMETER = re.compile(r"`([a-z][a-z0-9_]*)`")


def with_flags(message: str, flags: Mapping[str, str] = PARAMETER_FLAGS) -> str:
    """``message`` with each back-quoted parameter in ``flags`` named by its flag ("give `pmax_w`"
    → "give --pmax"); a back-quoted name ``flags`` does not know stays as it is."""
    return _QUOTED_PARAMETER.sub(lambda hit: flags.get(hit.group(1), hit.group(0)), message)


def _set_message(error: TokenergyError, message: str) -> None:
    error.message = message
    error.args = (message,)


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
        message = with_flags(error.message, flags)
        if in_message and flags:
            names = "|".join(re.escape(name) for name in flags)
            message = re.sub(rf"\b({names})\b", lambda hit: flags[hit.group(1)], message)
        _set_message(error, message)
        raise


def flag_of(error: TokenergyError) -> TokenergyError:
    """``error`` with a library parameter it names replaced by its flag (in place).

    A field is a parameter, optionally followed by a detail (``meters nvml:0``, ``faults stall``);
    one that comes with a file is a field of that file (a JSON key), never a parameter. The
    message's back-quoted parameters become flags too.
    """
    _set_message(error, with_flags(error.message))
    if error.file is None and error.field is not None:
        name, space, detail = error.field.partition(" ")
        if name in PARAMETER_FLAGS:
            error.field = PARAMETER_FLAGS[name] + space + detail
    return error
