"""GPUs through a DCGM exporter's ``/metrics`` endpoint, scraped by us at a fixed interval.

``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`` is a counter in mJ; ``DCGM_FI_DEV_POWER_USAGE`` is in W
and is integrated when the counter is absent. The exporter refreshes its values every collect
interval (``-c``, 30 s by default in dcgm-exporter): run it with ``-c 1000`` or less, or windows
are as coarse as that. Spec: ``dcgm:http://HOST:PORT/metrics[?selector={gpu=~"0|1"}&interval=1s]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import parse_qsl

from tokenergy import units
from tokenergy.errors import MeterError, TokenergyError
from tokenergy.meters.base import DeviceInfo, PollingMeter, Reading, now_s
from tokenergy.meters.dcgm_fields import (
    CLOCK_METRIC,
    ENERGY_METRIC,
    LIMIT_METRIC,
    POWER_METRIC,
    Sample,
    device_info,
    device_key,
    http_get,
    parse_exposition,
)
from tokenergy.meters.registry import register
from tokenergy.meters.selector import Selector, parse_selector


def _named(samples: Iterable[Sample], metric: str, selector: Selector) -> dict[str, Sample]:
    return {
        device_key(sample.labels): sample
        for sample in samples
        if sample.name in (metric, f"{metric}_total") and selector.matches(sample.labels)
    }


def _read_at(sample: Sample | None, sent_s: float, received_s: float) -> float:
    """When a value was read: the exporter's own timestamp if it lies inside our request (so
    the two clocks agree), exact however slowly the answer came back; else the request's middle.
    """
    stamp = None if sample is None else sample.unix_s
    if stamp is not None and sent_s - 0.001 <= stamp <= received_s + 0.001:  # ms resolution
        return stamp
    return (sent_s + received_s) / 2


@register
class DcgmMeter(PollingMeter):
    """Scrapes a DCGM exporter; one device per (Hostname, gpu) series that matches the selector."""

    name = "dcgm"
    poll_interval_s = 0.5

    def __init__(
        self, spec: str, url: str, selector: Selector = Selector(), poll_interval_s: float = 0.5
    ) -> None:
        super().__init__(spec)
        self.url = url
        self.selector = selector
        self.poll_interval_s = poll_interval_s
        self.where = f"meters {spec}"
        self._devices: list[str] = []
        self._has_counter = True

    @classmethod
    def from_spec(cls, spec: str, args: str) -> DcgmMeter:
        where = f"meters {spec}"
        url, _, query = args.partition("?")
        if not url.startswith(("http://", "https://")):
            raise MeterError(
                "give the exporter URL, e.g. dcgm:http://HOST:9400/metrics", field=where
            )
        options = dict(parse_qsl(query, keep_blank_values=True))
        unknown = set(options) - {"selector", "interval"}
        if unknown:
            raise MeterError(
                f"unknown option(s) {sorted(unknown)}; use selector, interval", field=where
            )
        selector = parse_selector(options.get("selector", ""), where)
        try:
            interval_s = units.parse_duration_s(options.get("interval", "0.5s"))
        except TokenergyError as error:
            raise MeterError(error.message, field=where) from None
        if interval_s <= 0:
            raise MeterError("interval must be positive", field=where)
        return cls(spec, url, selector, interval_s)

    @property
    def method(self) -> str:
        return "dcgm-counter" if self._has_counter else "dcgm-power-trapezoid"

    def _scrape(self) -> list[Sample]:
        return parse_exposition(http_get(self.url, self.where), self.url, self.where)

    def open(self) -> list[DeviceInfo]:
        samples = self._scrape()
        energy = _named(samples, ENERGY_METRIC, self.selector)
        power = _named(samples, POWER_METRIC, self.selector)
        limits = _named(samples, LIMIT_METRIC, self.selector)
        matching = f" matching {self.selector.text}" if self.selector.matchers else ""
        if not energy and not power:
            raise MeterError(
                f"{self.url} has no {ENERGY_METRIC} or {POWER_METRIC} series{matching}",
                field=self.where,
            )
        self._has_counter = bool(energy)
        if not energy:
            self.notes.append(f"{self.url}: no {ENERGY_METRIC}; integrating {POWER_METRIC}")
        found = energy or power
        self._devices = sorted(found)
        return [
            device_info(found[key].labels, limits[key].value if key in limits else None)
            for key in self._devices
        ]

    def read(self) -> dict[str, Reading]:
        sent_s = now_s()
        samples = self._scrape()
        received_s = now_s()
        energy = _named(samples, ENERGY_METRIC, self.selector)
        power = _named(samples, POWER_METRIC, self.selector)
        clock = _named(samples, CLOCK_METRIC, self.selector)  # only tokenergy's simulator
        readings = {}
        for key in self._devices:
            counter = energy.get(key) if self._has_counter else None
            gauge = power.get(key)
            if counter is None and gauge is None:
                continue  # missing from this scrape: a gap the window rules will judge
            t_s = _read_at(counter or gauge, sent_s, received_s)
            energy_j = None if counter is None else counter.value / 1000.0
            power_w = None if gauge is None else gauge.value
            device_s = clock[key].value if key in clock else None
            readings[key] = Reading(t_s, energy_j, power_w, device_s)
        return readings
