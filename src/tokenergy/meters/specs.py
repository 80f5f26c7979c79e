"""Meter specs (``nvml:0,1``, ``dcgm:http://h:9400/metrics`` …) → meters not yet opened.

Importing this module registers the built-in meters; they are cheap to import (vendor
libraries load when a meter opens).
"""

from __future__ import annotations

from collections.abc import Mapping

from tokenergy.errors import MeterError
from tokenergy.meters import (  # noqa: F401 - importing registers the meters
    constant,
    dcgm,
    nvml,
    prometheus,
    rapl,
    zeus,
)
from tokenergy.meters.base import EnergyMeter
from tokenergy.meters.registry import METERS


def registered() -> Mapping[str, type[EnergyMeter]]:
    """Every known meter class by name."""
    return dict(METERS)


def parse_spec(spec: str, where: str = "meters") -> EnergyMeter:
    """Build a meter from ``NAME[:ARGS]``; errors name ``where`` (the parameter that held it).

    The meter is not opened; opening is where the source itself is checked.
    """
    text = spec.strip()
    name, _, args = text.partition(":")
    meter_class = METERS.get(name.lower())
    if meter_class is None:
        known = ", ".join(sorted(METERS))
        raise MeterError(f"unknown meter {name!r} in {spec!r}; known: {known}", field=where)
    return meter_class.from_spec(text, args)
