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

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from tokenergy.sim.engine import Engine
from tokenergy.sim.engine import Sequence as EngineSequence
from tokenergy.sim.power import SimGpu


class _VllmCollector(Collector):
    def __init__(self, engine: Engine, model: str, speed: float) -> None:
        self._engine = engine
        self._speed = speed
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
        yield self._gauge(
            "tokenergy_sim_speed",
            "This server is SIMULATED (tokenergy-sim); simulated seconds per wall second.",
            self._speed,
        )
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


# vLLM's bucket edges (seconds) for these histograms.
_TTFT_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)  # fmt: skip
_TPOT_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0,
                 7.5, 10.0, 20.0, 40.0, 80.0)  # fmt: skip
_E2E_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0,
                60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0)  # fmt: skip


def vllm_registry(engine: Engine, model: str, speed: float) -> CollectorRegistry:
    """Gauges and counters read from the engine at scrape time, plus latency histograms in
    simulated seconds, observed as each request finishes (equal to wall seconds at speed 1)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_VllmCollector(engine, model, speed))
    names = ["engine", "model_name"]

    def histogram(name: str, doc: str, buckets: tuple[float, ...]) -> Histogram:
        family = Histogram(name, doc, names, buckets=buckets, registry=registry)
        return family.labels("0", model)

    ttft = histogram("vllm:time_to_first_token_seconds", "Time to first token (simulated s).",
                     _TTFT_BUCKETS)  # fmt: skip
    tpot = histogram("vllm:time_per_output_token_seconds", "Time per output token (simulated s).",
                     _TPOT_BUCKETS)  # fmt: skip
    e2e = histogram("vllm:e2e_request_latency_seconds", "End-to-end latency (simulated s).",
                    _E2E_BUCKETS)  # fmt: skip

    def observe(seq: EngineSequence, end_s: float) -> None:
        assert seq.first_token_s is not None
        ttft.observe(seq.first_token_s - seq.arrival_s)
        e2e.observe(end_s - seq.arrival_s)
        if seq.generated > 1:
            tpot.observe((end_s - seq.first_token_s) / (seq.generated - 1))

    engine.on_finish = observe
    return registry


def render_vllm(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


@dataclass(frozen=True)
class GpuReading:
    gpu: SimGpu
    energy_mj: int  # counter since boot
    power_w: float
    unix_ms: int  # when the values were read: the sample timestamp of the exposition
    sim_time_s: float  # the simulated clock at that instant: the time base of both values


SPEED_LABEL = "tokenergy_sim_speed"
CLOCK_METRIC = "tokenergy_sim_time_seconds"


def render_dcgm(readings: Sequence[GpuReading], hostname: str, speed: float = 1.0) -> str:
    """dcgm-exporter text: HELP/TYPE lines as its default counters CSV, labels in its order.

    One label of our own, ``tokenergy_sim_speed``: simulated seconds per wall second, so a meter
    reading wall-clock power off the counter knows it runs ``speed`` times a real GPU's. And one
    series of our own per GPU, ``tokenergy_sim_time_seconds``: the simulated clock read together
    with the counter, so a meter divides simulated joules by simulated seconds (the power gauge
    is per simulated second too), whatever the speed and however late the host ran the sim.

    Each sample carries the instant it was read (the exposition format's optional timestamp, in
    ms): dcgm-exporter omits it, but with it a scraper knows exactly when the counter had that
    value, however late the answer reaches it on a busy machine.
    """
    lines = [
        "# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).",
        "# TYPE DCGM_FI_DEV_POWER_USAGE gauge",
    ]
    lines += [
        f"DCGM_FI_DEV_POWER_USAGE{{{_labels(r.gpu, hostname, speed)}}} {r.power_w:.6f} {r.unix_ms}"
        for r in readings
    ]
    lines += [
        "# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy consumption since boot (in mJ).",
        "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter",
    ]
    lines += [
        f"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{{_labels(r.gpu, hostname, speed)}}} {r.energy_mj} "
        f"{r.unix_ms}"
        for r in readings
    ]
    lines += [
        f"# HELP {CLOCK_METRIC} Simulated seconds since the simulator started (the time base of "
        "the energy counter and the power gauge).",
        f"# TYPE {CLOCK_METRIC} counter",
    ]
    lines += [
        f"{CLOCK_METRIC}{{{_labels(r.gpu, hostname, speed)}}} {r.sim_time_s:.6f} {r.unix_ms}"
        for r in readings
    ]
    return "\n".join(lines) + "\n"


def counter_mj(boot_energy_j: float, energy_j: float) -> int:
    """The integer-mJ counter value (floored, so it never runs ahead of the true energy)."""
    return math.floor((boot_energy_j + energy_j) * 1000.0)


def _labels(gpu: SimGpu, hostname: str, speed: float) -> str:
    return (
        f'gpu="{gpu.index}",UUID="{gpu.uuid}",device="nvidia{gpu.index}",'
        f'modelName="{gpu.model_name}",Hostname="{hostname}",{SPEED_LABEL}="{speed:g}"'
    )
