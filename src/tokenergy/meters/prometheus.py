"""GPU energy from a Prometheus server that scrapes DCGM exporters: the cluster's own telemetry.

After a window ends we ask the HTTP API for the raw samples of the selected GPUs' energy counters
(a range-vector instant query, ``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{selector}[range]``) from
``start − grace`` to ``end + grace``, waiting up to ``grace`` for a scrape after the end, and
interpolate the counter between the samples that bracket each edge. This measures multi-node and
disaggregated deployments with one selector, e.g.
``prometheus:http://prom:9090?selector={Hostname=~"node[1-4]"}&grace=30s``.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tokenergy import units
from tokenergy.errors import MeterError, TokenergyError
from tokenergy.meters.base import DeviceInfo, Reading, WindowMeter, now_s
from tokenergy.meters.dcgm_fields import (
    CLOCK_METRIC,
    ENERGY_METRIC,
    POWER_METRIC,
    device_info,
    device_key,
    http_fetch,
)
from tokenergy.meters.registry import register
from tokenergy.meters.selector import Selector, parse_selector

DEFAULT_GRACE_S = 30.0  # two scrapes at Prometheus's default 15 s interval
RETRY_S = 0.5


@register
class PrometheusMeter(WindowMeter):
    """Energy counters of the selected GPUs as stored by a Prometheus server."""

    name = "prometheus"

    def __init__(
        self,
        spec: str,
        base_url: str,
        selector: Selector = Selector(),
        grace_s: float = DEFAULT_GRACE_S,
    ) -> None:
        super().__init__(spec)
        self.base_url = base_url.rstrip("/")
        self.selector = selector
        self.grace_s = grace_s
        self.where = f"meters {spec}"
        self._metric = ENERGY_METRIC
        self._devices: list[str] = []

    @classmethod
    def from_spec(cls, spec: str, args: str) -> PrometheusMeter:
        where = f"meters {spec}"
        url, _, query = args.partition("?")
        if not url.startswith(("http://", "https://")):
            raise MeterError("give the server URL, e.g. prometheus:http://HOST:9090", field=where)
        options = dict(parse_qsl(query, keep_blank_values=True))
        unknown = set(options) - {"selector", "grace"}
        if unknown:
            raise MeterError(
                f"unknown option(s) {sorted(unknown)}; use selector, grace", field=where
            )
        try:
            grace_s = units.parse_duration_s(options.get("grace", f"{DEFAULT_GRACE_S}s"))
        except TokenergyError as error:
            raise MeterError(error.message, field=where) from None
        return cls(spec, url, parse_selector(options.get("selector", ""), where), grace_s)

    @property
    def method(self) -> str:
        return (
            "prometheus-counter" if self._metric == ENERGY_METRIC else "prometheus-power-trapezoid"
        )

    def _query(self, promql: str, at_s: float | None = None) -> list[dict[str, Any]]:
        params = {"query": promql} | ({} if at_s is None else {"time": f"{at_s:.3f}"})
        url = f"{self.base_url}/api/v1/query?{urlencode(params)}"
        status, body = http_fetch(url, self.where)  # errors come as JSON with HTTP 4xx/5xx
        try:
            answer = json.loads(body)
        except json.JSONDecodeError:
            raise MeterError(
                f"{self.base_url} is not a Prometheus HTTP API (HTTP {status}, no JSON)",
                field=self.where,
            ) from None
        if not isinstance(answer, dict):
            raise MeterError(
                f"{self.base_url} answered {promql!r} with JSON that is not a Prometheus answer",
                field=self.where,
            )
        if answer.get("status") != "success":
            raise MeterError(
                f"Prometheus refused {promql!r}: {answer.get('error')}", field=self.where
            )
        data = answer.get("data")
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, list) or not all(
            isinstance(series, dict) and isinstance(series.get("metric"), dict) for series in result
        ):
            raise MeterError(
                f"malformed Prometheus answer to {promql!r}: data.result is not a list of series",
                field=self.where,
            )
        return result

    def open(self) -> list[DeviceInfo]:
        found = self._query(f"{ENERGY_METRIC}{self.selector.text}")
        if not found:
            found = self._query(f"{POWER_METRIC}{self.selector.text}")
            if not found:
                raise MeterError(
                    f"Prometheus has no {ENERGY_METRIC}{self.selector.text} series (nor "
                    f"{POWER_METRIC}): is the DCGM exporter a scrape target, already scraped?",
                    field=self.where,
                )
            self._metric = POWER_METRIC
            self.notes.append(f"no {ENERGY_METRIC} in Prometheus; integrating {POWER_METRIC}")
        infos = {device_key(series["metric"]): device_info(series["metric"]) for series in found}
        self._devices = sorted(infos)
        return [infos[key] for key in self._devices]

    def _range(
        self, metric: str, start_s: float, at_s: float
    ) -> dict[str, list[tuple[float, float]]]:
        range_ms = max(int((at_s - start_s) * 1000) + 1, 1)
        promql = f"{metric}{self.selector.text}[{range_ms}ms]"
        found = self._query(promql, at_s)
        try:
            return {
                device_key(series["metric"]): [(float(t), float(v)) for t, v in series["values"]]
                for series in found
            }
        except (KeyError, TypeError, ValueError):
            raise MeterError(
                f"malformed Prometheus answer to {promql!r}: values are not [time, value] pairs",
                field=self.where,
            ) from None

    def series_between(self, start_s: float, end_s: float) -> dict[str, list[Reading]]:
        """Raw samples from start − grace to end + grace; waits (≤ grace) for one after the end."""
        from_s = start_s - self.grace_s
        while True:
            at_s = min(now_s(), end_s + self.grace_s)
            samples = self._range(self._metric, from_s, at_s)
            after_end = all(
                samples.get(key) and samples[key][-1][0] >= end_s for key in self._devices
            )
            if after_end or at_s >= end_s + self.grace_s:
                break
            time.sleep(RETRY_S)
        clock = self._range(CLOCK_METRIC, from_s, at_s)  # only tokenergy's simulator has it
        if self._metric == ENERGY_METRIC:
            power = self._range(POWER_METRIC, from_s, at_s)
            return {
                key: _merge(values, power.get(key, []), clock.get(key, []))
                for key, values in samples.items()
            }
        return {
            key: [Reading(t, power_w=v, device_time_s=c) for t, v, c in _with(values, clock, key)]
            for key, values in samples.items()
        }


def _with(
    values: list[tuple[float, float]], clock: dict[str, list[tuple[float, float]]], key: str
) -> list[tuple[float, float, float | None]]:
    """Each (time, value) with the device clock scraped at the same instant, if any."""
    clock_at = dict(clock.get(key, []))
    return [(t, v, clock_at.get(t)) for t, v in values]


def _merge(
    energy_mj: list[tuple[float, float]],
    power_w: list[tuple[float, float]],
    clock_s: list[tuple[float, float]],
) -> list[Reading]:
    """Counter readings, with the power and the device clock scraped at the same instant when
    there are (the simulator stamps all three with one read time)."""
    power_at, clock_at = dict(power_w), dict(clock_s)
    return [
        Reading(t, energy_j=mj / 1000.0, power_w=power_at.get(t), device_time_s=clock_at.get(t))
        for t, mj in energy_mj
    ]
