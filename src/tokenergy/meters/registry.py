"""Meters by spec name; adding a meter is one module with one ``@register`` class.

This module imports no concrete meter (they import it), so there is no import circle; the
built-in meters are imported by :mod:`tokenergy.meters.specs`, which parses ``NAME[:ARGS]``.
"""

from __future__ import annotations

from typing import TypeVar

from tokenergy.meters.base import EnergyMeter

METERS: dict[str, type[EnergyMeter]] = {}
_M = TypeVar("_M", bound=type[EnergyMeter])


def register(meter_class: _M) -> _M:
    """Class decorator: make a meter reachable as ``NAME[:ARGS]`` (NAME = its ``name``)."""
    METERS[meter_class.name] = meter_class
    return meter_class
