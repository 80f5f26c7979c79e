"""Energy meters behind one interface (nvml, dcgm, prometheus, rapl, zeus, constant).

``MeterSet.from_specs(["nvml:0,1", "rapl"])`` opens them before the load, polls them during it,
and answers the energy of any window after it; ``record.energy_record`` turns that into the
``EnergyMeasurement`` of a result.
"""

from tokenergy.meters.base import DeviceInfo, EnergyMeter, Reading
from tokenergy.meters.meterset import Idle, Measured, MeterSet
from tokenergy.meters.record import energy_record
from tokenergy.meters.specs import parse_spec, registered
from tokenergy.meters.window import WindowEnergy, WindowRules, window_energy

__all__ = [
    "DeviceInfo",
    "EnergyMeter",
    "Idle",
    "Measured",
    "MeterSet",
    "Reading",
    "WindowEnergy",
    "WindowRules",
    "energy_record",
    "parse_spec",
    "registered",
    "window_energy",
]
