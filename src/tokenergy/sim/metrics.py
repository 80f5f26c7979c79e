"""Prometheus exposition: vLLM-style engine metrics and DCGM-exporter-style GPU metrics.

The vLLM part uses a prometheus_client registry per server. The DCGM part is written by hand
because prometheus_client renames counters (``…_total``) and sorts labels, while the real
dcgm-exporter prints ``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu,UUID,device,modelName,Hostname}``
as an integer-mJ counter under its own name; meters must parse exactly that.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tokenergy.sim.engine import Engine
from tokenergy.sim.power import SimGpu


class _VllmCollector(Collector):
    def __init__(self, engine: Engine, model: str) -> None:
        self._engine = engine
        self._labels = {"engine": "0", "model_name": model}

    def _gauge(self, name: str, doc: str, value: float) -> GaugeMetricFamily:
        family = GaugeMetricFamily(name, doc, labels=list(self._labels))
        family.add_metric(list(self._labels.values()), value)
        return family

    def _counter(self, name: str, doc: str, value: float) -> CounterMetricFamily:
        family = CounterMetricFamily(name, doc, labels=list(self._labels))
        family.add_metric(list(self._labels.values()), value)
        return family

    def collect(self) -> Iterator[Metric]:
        engine, stats = self._engine, self._engine.stats
        kv_tokens = engine.profile.scheduler.kv_cache_tokens
        yield self._gauge(
            "vllm:num_requests_running",
            "Number of requests in model execution batches.",
            engine.num_running,
        )
        yield self._gauge(
            "vllm:num_requests_waiting",
            "Number of requests waiting to be processed.",
            engine.num_waiting,
        )
        yield self._gauge(
            "vllm:kv_cache_usage_perc",
            "KV-cache usage. 1 means 100 percent usage.",
            engine.kv_used_tokens / kv_tokens,
        )
        yield self._counter(
            "vllm:prompt_tokens", "Number of prefill tokens processed.", stats.prompt_tokens
        )
        yield self._counter(
            "vllm:generation_tokens",
            "Number of generation tokens processed.",
            stats.generation_tokens,
        )
        success = CounterMetricFamily(
            "vllm:request_success",
            "Count of successfully processed requests.",
            labels=[*self._labels, "finished_reason"],
        )
        for reason in ("stop", "length"):
            count = stats.finished_by_reason.get(reason, 0)
            success.add_metric([*self._labels.values(), reason], count)
        yield success
        yield self._counter(
            "vllm:num_preemptions", "Cumulative number of preemptions.", stats.preemptions
        )


def vllm_registry(engine: Engine, model: str) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_VllmCollector(engine, model))
    return registry


def render_vllm(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


@dataclass(frozen=True)
class GpuReading:
    gpu: SimGpu
    energy_mj: int  # counter since boot
    power_w: float


def render_dcgm(readings: Sequence[GpuReading], hostname: str) -> str:
    """dcgm-exporter text: HELP/TYPE lines as its default counters CSV, labels in its order."""
    lines = [
        "# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).",
        "# TYPE DCGM_FI_DEV_POWER_USAGE gauge",
    ]
    lines += [
        f"DCGM_FI_DEV_POWER_USAGE{{{_labels(r.gpu, hostname)}}} {r.power_w:.6f}" for r in readings
    ]
    lines += [
        "# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).",
        "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter",
    ]
    lines += [
        f"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{{_labels(r.gpu, hostname)}}} {r.energy_mj}"
        for r in readings
    ]
    return "\n".join(lines) + "\n"


def counter_mj(boot_energy_j: float, energy_j: float) -> int:
    """The integer-mJ counter value (floored, so it never runs ahead of the true energy)."""
    return math.floor((boot_energy_j + energy_j) * 1000.0)


def _labels(gpu: SimGpu, hostname: str) -> str:
    return (
        f'gpu="{gpu.index}",UUID="{gpu.uuid}",device="nvidia{gpu.index}",'
        f'modelName="{gpu.model_name}",Hostname="{hostname}"'
    )
