"""Quantities users type, the Boundary/Basis vocabulary, and the energy arithmetic.

See docs/methodology.md §1 (boundary and basis) and §2 (the unit chain).

Everything inside tokenergy is SI (J, W, s, tokens, tok/s); strings such as ``"1.5kW"`` are parsed
here at the edge, and the conversions to Wh, kWh/Mtok and GWh/day are small pure functions so that
tests can pin each step of the unit chain.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from enum import StrEnum

from tokenergy.errors import ConfigError, TokenergyError, UnitError

J_PER_WH = 3600.0
J_PER_KWH = 3.6e6
J_PER_GWH = 3.6e12
TOKENS_PER_MTOK = 1e6


class Boundary(StrEnum):
    """What the energy covers; each boundary contains the previous one."""

    ACCELERATOR = "accelerator"
    NODE = "node"
    FACILITY = "facility"
    FLEET = "fleet"


class Basis(StrEnum):
    """Where the watts came from.

    ``SIMULATED``: the watts came from a simulator's power model (``tokenergy sim``), even when
    a real meter read them (the sim's DCGM counter). Such a figure is never ``measured``: group,
    label and count it apart (``ServingResult`` relabels a measured energy of a result whose
    ``provenance.simulated`` is true, so every table, JSON file and store row says so).
    """

    MEASURED = "measured"
    PROVISIONED = "provisioned"
    NAMEPLATE = "nameplate"
    MODELED = "modeled"
    SIMULATED = "simulated"


class TimeBase(StrEnum):
    """Whose seconds a power (W = J/s) is per.

    ``SIMULATED``: the simulator's own clock (``tokenergy sim``), which runs ``--speed`` times
    the wall clock and never counts the host's event-loop lag; its energy counter is in those
    seconds, so its watts are per simulated second (a real GPU's watts, at any speed).
    """

    WALL = "wall"
    SIMULATED = "simulated"


_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_QUANTITY = re.compile(rf"^\s*(?P<value>{_NUMBER})\s*(?P<unit>[A-Za-z/%µ]*)\s*$")

_POWER_UNITS_W = {"": 1.0, "w": 1.0, "mw_milli": 1e-3, "kw": 1e3, "mw": 1e6, "gw": 1e9}
_ENERGY_UNITS_J = {
    "": 1.0,
    "j": 1.0,
    "kj": 1e3,
    "mj": 1e6,
    "wh": J_PER_WH,
    "kwh": J_PER_KWH,
    "mwh": 1e3 * J_PER_KWH,
    "gwh": J_PER_GWH,
}
_DURATION_UNITS_S = {
    "": 1.0,
    "s": 1.0,
    "ms": 1e-3,
    "us": 1e-6,
    "µs": 1e-6,
    "min": 60.0,
    "m": 60.0,
    "h": 3600.0,
}
_RATE_UNITS_TOK_S = {"": 1.0, "tok/s": 1.0, "tokens/s": 1.0, "ktok/s": 1e3}


def _split(text: str, what: str) -> tuple[float, str]:
    match = _QUANTITY.match(str(text))
    if match is None:
        raise UnitError(f"cannot parse {text!r} as a {what} (e.g. {_EXAMPLES[what]})")
    value = float(match["value"])
    if not math.isfinite(value):
        raise UnitError(f"{what} {text!r} is not a finite number")
    return value, match["unit"]


_EXAMPLES = {
    "power": "'700 W', '1.5kW', '700'",
    "energy": "'3.6 kJ', '1 Wh', '2 kWh'",
    "duration": "'50ms', '0.05 s', '2 min'",
    "rate": "'41.8', '1200 tok/s'",
    "fraction": "'10%' or '0.10'",
}


def _non_negative(value: float, text: str, what: str) -> float:
    if value < 0:
        raise UnitError(f"{what} {text!r} is negative")
    return value


def parse_power_w(text: str | float) -> float:
    """Parse a power such as ``"1.5kW"``, ``"700 W"`` or ``"700"`` (bare numbers are watts).

    ``MW`` is megawatts; milliwatts must be written ``mW`` exactly (case matters only there).
    """
    value, unit = _split(str(text), "power")
    key = "mw_milli" if unit == "mW" else unit.lower()
    if key not in _POWER_UNITS_W:
        raise UnitError(f"unknown power unit {unit!r} in {text!r} (use W, kW, MW)")
    return _non_negative(value * _POWER_UNITS_W[key], str(text), "power")


def parse_energy_j(text: str | float) -> float:
    """Parse an energy such as ``"3.6 kJ"`` or ``"1 Wh"`` into joules (bare numbers are joules)."""
    value, unit = _split(str(text), "energy")
    key = unit.lower()
    if unit == "MJ":
        key = "mj"
    if key not in _ENERGY_UNITS_J:
        raise UnitError(f"unknown energy unit {unit!r} in {text!r} (use J, kJ, Wh, kWh)")
    return _non_negative(value * _ENERGY_UNITS_J[key], str(text), "energy")


def parse_duration_s(text: str | float) -> float:
    """Parse a duration such as ``"50ms"`` or ``"0.2 s"`` into seconds (bare number: seconds)."""
    value, unit = _split(str(text), "duration")
    key = unit if unit == "µs" else unit.lower()
    if key not in _DURATION_UNITS_S:
        raise UnitError(f"unknown duration unit {unit!r} in {text!r} (use ms, s, min, h)")
    return _non_negative(value * _DURATION_UNITS_S[key], str(text), "duration")


def parse_rate_tok_s(text: str | float) -> float:
    """Parse a token rate such as ``"41.8"`` or ``"1200 tok/s"``; must be positive."""
    value, unit = _split(str(text), "rate")
    key = unit.lower()
    if key not in _RATE_UNITS_TOK_S:
        raise UnitError(f"unknown rate unit {unit!r} in {text!r} (use tok/s)")
    rate = value * _RATE_UNITS_TOK_S[key]
    if rate <= 0:
        raise UnitError(f"rate {text!r} must be positive")
    return rate


def parse_fraction(text: str | float) -> float:
    """Parse ``"10%"`` or ``"0.10"`` into 0.10.

    A bare number above 1 is refused because ``10`` could mean 10 % or 1000 %.
    """
    value, unit = _split(str(text), "fraction")
    if unit == "%":
        fraction = value / 100.0
    elif unit == "":
        if value > 1:
            raise UnitError(f"ambiguous fraction {text!r}: write '{value:g}%' or a value <= 1")
        fraction = value
    else:
        raise UnitError(f"unknown unit {unit!r} in {text!r} (use % or a plain fraction)")
    return _non_negative(fraction, str(text), "fraction")


_PER_KWH = re.compile(
    rf"^\s*(?P<value>{_NUMBER})\s*(?P<mass>kg|g|t)?\s*(?:co2(?:e|eq)?)?\s*(?:/\s*(?P<per>kwh|mwh))?\s*$",
    re.IGNORECASE,
)
_WATER = re.compile(
    rf"^\s*(?P<value>{_NUMBER})\s*(?P<vol>ml|l)?\s*(?:/\s*(?P<per>kwh|mwh))?\s*$",
    re.IGNORECASE,
)


def parse_g_per_kwh(text: str | float) -> float:
    """Carbon intensity such as ``"380g/kWh"``, ``"0.38 kgCO2e/kWh"`` or ``"380"`` → gCO2e/kWh."""
    match = _PER_KWH.match(str(text))
    if match is None:
        raise UnitError(f"cannot parse {text!r} as a carbon intensity (e.g. '380g/kWh')")
    mass = {"kg": 1e3, "g": 1.0, "t": 1e6, None: 1.0}[(match["mass"] or "").lower() or None]
    per = 1e-3 if (match["per"] or "").lower() == "mwh" else 1.0
    value = float(match["value"]) * mass * per
    if not math.isfinite(value):
        raise UnitError(f"carbon intensity {text!r} is not a finite number")
    return _non_negative(value, str(text), "carbon intensity")


def parse_l_per_kwh(text: str | float) -> float:
    """Water intensity such as ``"0.3L/kWh"``, ``"300 mL/kWh"`` or ``"0.3"`` → litres per kWh."""
    match = _WATER.match(str(text))
    if match is None:
        raise UnitError(f"cannot parse {text!r} as a water intensity (e.g. '0.3L/kWh')")
    volume = 1e-3 if (match["vol"] or "").lower() == "ml" else 1.0
    per = 1e-3 if (match["per"] or "").lower() == "mwh" else 1.0
    value = float(match["value"]) * volume * per
    if not math.isfinite(value):
        raise UnitError(f"water intensity {text!r} is not a finite number")
    return _non_negative(value, str(text), "water intensity")


# --- energy arithmetic (docs/methodology.md §2) --------------------------------------------------


def _require_positive(value: float, name: str) -> None:
    if not value > 0 or not math.isfinite(value):
        raise UnitError(f"{name} must be a positive finite number, got {value!r}")


def j_per_token(power_w: float, tok_s: float) -> float:
    """Energy per token = power of all serving devices / token rate (per total or output tokens)."""
    _require_positive(tok_s, "token rate")
    return power_w / tok_s


def power_w_from(j_per_tok: float, tok_s: float) -> float:
    """Inverse of :func:`j_per_token`: W = J/token × tok/s."""
    return j_per_tok * tok_s


def j_to_wh(energy_j: float) -> float:
    return energy_j / J_PER_WH


def wh_to_j(energy_wh: float) -> float:
    return energy_wh * J_PER_WH


def kwh_per_mtok(j_per_tok: float) -> float:
    """kWh per million tokens = (J/token) × 1e6 / 3.6e6 = (J/token) / 3.6."""
    return j_per_tok * TOKENS_PER_MTOK / J_PER_KWH


def wh_per_query_from_counts(energy_j: float, completed: int) -> float:
    """Measured Wh/query = energy over the window / queries completed in it / 3600."""
    if completed <= 0:
        raise UnitError("no completed queries: Wh/query is undefined")
    return energy_j / completed / J_PER_WH


def wh_per_query_from_tokens(j_per_tok: float, tokens_per_query: float) -> float:
    """Wh/query from J/token × tokens per query / 3600 (an extrapolation; say which lengths)."""
    if tokens_per_query < 0:
        raise UnitError("tokens per query must not be negative")
    return j_per_tok * tokens_per_query / J_PER_WH


def with_host_overhead(power_w: float, overhead_fraction: float) -> float:
    """Accelerator → node: add the host's share as a fraction of accelerator power."""
    if overhead_fraction < 0:
        raise UnitError("host overhead must not be negative")
    return power_w * (1.0 + overhead_fraction)


def with_pue(value: float, pue: float) -> float:
    """Node → facility: multiply power or energy by the power usage effectiveness (≥ 1)."""
    if not pue >= 1.0:
        raise UnitError(f"PUE must be >= 1, got {pue!r}")
    return value * pue


def gwh_per_day(energy_j_per_day: float) -> float:
    return energy_j_per_day / J_PER_GWH


def quantity(name: str, value: float | str, parser: Callable[[str], float]) -> float:
    """A library parameter given as a number or as text with a unit (``"1.5kW"``, ``"50ms"``);
    a parse error names the parameter, which the CLI maps to its flag."""
    if not isinstance(value, str):
        return float(value)
    try:
        return float(parser(value))
    except TokenergyError as error:
        raise ConfigError(error.message, field=name) from None
