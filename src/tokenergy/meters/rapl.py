"""Host CPU package and DRAM energy from Linux powercap (``/sys/class/powercap/intel-rapl:*``).

Each zone exposes ``energy_uj`` (a counter that wraps at ``max_energy_range_uj``) and ``name``.
We meter the ``package-N`` zones and their ``dram`` subzones; ``core``/``uncore`` are parts of the
package (counting them too would count twice) and ``psys`` overlaps everything. The counter wraps
within minutes at full load (2³² µJ ≈ 4.3 kJ on many parts), so it is polled every second and
unwrapped here. Since 2020 (CVE-2020-8694) ``energy_uj`` is readable by root only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tokenergy.errors import MeterError
from tokenergy.meters.base import CPU, DRAM, DeviceInfo, PollingMeter, Reading, now_s
from tokenergy.meters.registry import register

POWERCAP = Path("/sys/class/powercap")
_ZONE = re.compile(r"^intel-rapl:\d+(:\d+)?$")


@dataclass
class _Zone:
    path: Path
    info: DeviceInfo
    max_range_uj: int
    last_raw_uj: int | None = None
    wraps: int = field(default=0)


def _read_int(path: Path) -> int:
    try:
        return int(path.read_text().strip())
    except PermissionError:
        raise MeterError(
            f"{path} is not readable (root only since CVE-2020-8694): run as root or "
            f"'chmod a+r {path.parent}/energy_uj'",
            field="meters",
        ) from None
    except (OSError, ValueError) as error:
        raise MeterError(f"cannot read {path}: {error}", field="meters") from None


@register
class RaplMeter(PollingMeter):
    """CPU packages (kind cpu) and their DRAM (kind dram) from powercap energy counters."""

    name = "rapl"
    poll_interval_s = 1.0

    def __init__(self, spec: str = "rapl", root: Path = POWERCAP, poll_interval_s: float = 1.0):
        super().__init__(spec)
        self.root = root
        self.poll_interval_s = poll_interval_s
        self._zones: list[_Zone] = []

    @classmethod
    def from_spec(cls, spec: str, args: str) -> RaplMeter:
        return cls(spec, Path(args) if args else POWERCAP)

    @property
    def method(self) -> str:
        return "rapl-counter"

    def open(self) -> list[DeviceInfo]:
        if not self.root.is_dir():
            raise MeterError(
                f"{self.root} does not exist: no RAPL powercap here (not Linux, not an Intel/AMD "
                "CPU with the intel_rapl driver, or /sys not mounted in the container)",
                field="meters",
            )
        zones = sorted(p for p in self.root.iterdir() if _ZONE.match(p.name))
        self._zones = [zone for path in zones if (zone := self._zone(path)) is not None]
        if not self._zones:
            raise MeterError(f"no package or dram RAPL zone under {self.root}", field="meters")
        self.read()  # fails now, before any load, if the counters are not readable
        return [zone.info for zone in self._zones]

    def _zone(self, path: Path) -> _Zone | None:
        label = (path / "name").read_text().strip()
        if label.startswith("package"):
            info = DeviceInfo(device=f"cpu-{label}", kind=CPU)
        elif label == "dram":
            package = path.name.split(":")[1]
            info = DeviceInfo(device=f"dram-{package}", kind=DRAM)
        else:
            return None
        return _Zone(path, info, _read_int(path / "max_energy_range_uj"))

    def read(self) -> dict[str, Reading]:
        readings = {}
        for zone in self._zones:
            raw_uj = _read_int(zone.path / "energy_uj")
            if zone.last_raw_uj is not None and raw_uj < zone.last_raw_uj:
                zone.wraps += 1
            zone.last_raw_uj = raw_uj
            total_uj = raw_uj + zone.wraps * zone.max_range_uj
            readings[zone.info.device] = Reading(t_s=now_s(), energy_j=total_uj / 1e6)
        return readings
