"""What the DCGM exporter and a Prometheus server that scrapes it share: metric names, labels
that name a GPU, an HTTP GET and the text-exposition parser (used by the dcgm and prometheus
meters, so one deployment is described the same way on either path).
"""

from __future__ import annotations

import math
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import NamedTuple

from prometheus_client.parser import text_string_to_metric_families

from tokenergy.errors import MeterError
from tokenergy.meters.base import DeviceInfo

ENERGY_METRIC = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
POWER_METRIC = "DCGM_FI_DEV_POWER_USAGE"
LIMIT_METRIC = "DCGM_FI_DEV_POWER_MGMT_LIMIT"
# tokenergy's simulator: its simulated clock per GPU, the time base of its counter and gauge
CLOCK_METRIC = "tokenergy_sim_time_seconds"
HTTP_TIMEOUT_S = 5.0

Labels = Mapping[str, str]


def device_key(labels: Labels) -> str:
    """A stable name for one GPU across scrapes and nodes: ``[host/]gpuN`` (or its UUID)."""
    host = labels.get("Hostname") or labels.get("instance")
    gpu = f"gpu{labels['gpu']}" if "gpu" in labels else labels.get("UUID", "gpu")
    return f"{host}/{gpu}" if host else gpu


SIM_SPEED_LABEL = "tokenergy_sim_speed"  # tokenergy's simulator: simulated s per wall s


def device_info(labels: Labels, power_limit_w: float | None = None) -> DeviceInfo:
    return DeviceInfo(
        device=device_key(labels),
        model=labels.get("modelName"),
        uuid=labels.get("UUID"),
        driver=labels.get("DCGM_FI_DRIVER_VERSION") or labels.get("driver_version"),
        power_limit_w=power_limit_w,
        time_scale=_time_scale(labels.get(SIM_SPEED_LABEL)),
    )


def _time_scale(text: str | None) -> float:
    try:
        scale = float(text) if text is not None else 1.0
    except ValueError:
        return 1.0
    return scale if math.isfinite(scale) and scale >= 1.0 else 1.0


def http_fetch(url: str, where: str) -> tuple[int, str]:
    """GET a URL: (HTTP status, body text); a network failure becomes a MeterError naming it."""
    try:
        with urllib.request.urlopen(url, timeout=HTTP_TIMEOUT_S) as response:
            status, body = int(response.status), response.read()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read()
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise MeterError(f"cannot reach {url}: {reason}", field=where) from None
    return status, body.decode("utf-8", errors="replace")


def http_get(url: str, where: str) -> str:
    """GET a URL as text; any network or HTTP failure becomes a MeterError naming it."""
    status, body = http_fetch(url, where)
    if status >= 400:
        raise MeterError(f"{url} answered HTTP {status}", field=where)
    return body


class Sample(NamedTuple):
    """One exposition sample; ``unix_s`` is its own timestamp when the exporter wrote one."""

    name: str
    labels: dict[str, str]
    value: float
    unix_s: float | None = None


def parse_exposition(text: str, url: str, where: str) -> list[Sample]:
    """Every sample of a Prometheus text exposition, with its timestamp if it has one."""
    try:
        return [
            Sample(
                sample.name,
                dict(sample.labels),
                float(sample.value),
                None if sample.timestamp is None else float(sample.timestamp),
            )
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]
    except ValueError as error:
        raise MeterError(f"{url} did not return Prometheus metrics: {error}", field=where) from None
