"""The prometheus meter against a real Prometheus server scraping a DCGM-format endpoint."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from exporter_fake import Exporter, serve
from nvml_fake import SinePower
from prometheus_server import free_port, needs_prometheus, prometheus

from tokenergy.errors import MeterError
from tokenergy.meters.meterset import MeterSet
from tokenergy.meters.prometheus import PrometheusMeter
from tokenergy.meters.record import energy_record
from tokenergy.meters.specs import parse_spec
from tokenergy.sim.server import run_in_thread
from tokenergy.units import TimeBase


@needs_prometheus
@pytest.mark.prometheus
def test_prometheus_agrees_with_dcgm_and_the_truth(tmp_path: Path) -> None:
    profiles = [SinePower(300, 20, 6.0), SinePower(450, 30, 5.0)]
    with serve(Exporter(profiles)) as exporter:
        target = exporter.url.removeprefix("http://").removesuffix("/metrics")
        with prometheus(tmp_path, target) as base:
            specs = [
                f"dcgm:{exporter.url}?interval=0.2s",
                f'prometheus:{base}?selector={{gpu=~"0|1"}}&grace=3s',
            ]
            dcgm, prom = MeterSet.from_specs([specs[0]]), MeterSet.from_specs([specs[1]])
            for meters in (dcgm, prom):
                meters.open()
                meters.start()
            start_s = dcgm.mark()
            time.sleep(6.0)
            end_s = dcgm.mark()
            dcgm.stop()
            from_prometheus = prom.window(start_s, end_s, expected_gpus=2)  # waits for a scrape
            from_dcgm = dcgm.window(start_s, end_s, expected_gpus=2)
            for meters in (dcgm, prom):
                meters.close()
    assert from_dcgm.valid, from_dcgm.reasons
    assert from_prometheus.valid, from_prometheus.reasons
    prom_record, dcgm_record = energy_record(from_prometheus), energy_record(from_dcgm)
    assert prom_record is not None and dcgm_record is not None
    assert prom_record.method == "prometheus-counter"
    assert prom_record.energy_j == pytest.approx(dcgm_record.energy_j, rel=0.02)
    truth_j = sum(exporter.true_energy_j(i, start_s, end_s) for i in range(2))
    assert prom_record.energy_j == pytest.approx(truth_j, rel=0.02)
    assert [d.device for d in prom_record.devices] == [
        "prometheus:node1/gpu0",
        "prometheus:node1/gpu1",
    ]


@needs_prometheus
@pytest.mark.prometheus
def test_prometheus_without_matching_series_or_with_bad_promql_fails_at_open(
    tmp_path: Path,
) -> None:
    with serve(Exporter([SinePower()])) as exporter:
        target = exporter.url.removeprefix("http://").removesuffix("/metrics")
        with prometheus(tmp_path, target) as base:
            with pytest.raises(MeterError, match="Prometheus has no DCGM_FI_DEV_TOTAL_ENERGY"):
                parse_spec(f'prometheus:{base}?selector={{Hostname="elsewhere"}}').open()
            meter = PrometheusMeter("prometheus", base)
            with pytest.raises(MeterError, match="Prometheus refused"):
                meter._query("rate(")


def test_unreachable_prometheus_fails_at_open() -> None:
    base = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(MeterError, match=f"cannot reach {base}/api/v1/query"):
        parse_spec(f"prometheus:{base}").open()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("prometheus:", "give the server URL"),
        ("prometheus:http://h:9090?step=1s", "unknown option"),
        ("prometheus:http://h:9090?grace=soon", "cannot parse 'soon'"),
        ("prometheus:http://h:9090?selector=gpu", "cannot parse label selector"),
    ],
)
def test_bad_prometheus_specs(spec: str, message: str) -> None:
    with pytest.raises(MeterError, match=message):
        parse_spec(spec)


@needs_prometheus
@pytest.mark.prometheus
def test_a_simulators_watts_through_prometheus_are_per_simulated_second(tmp_path: Path) -> None:
    """Issue 14 item 14: Prometheus keeps the sim's clock series with its counter (same sample
    timestamps), so the meter divides by simulated seconds: an idle sim at speed 4 draws its
    70 W idle power, not 280 W per wall second. Idle is one level, so 2 % covers the edges."""
    with run_in_thread("llama-3.1-8b-h100", speed=4.0) as sim:
        target = sim.url.removeprefix("http://")
        with prometheus(tmp_path, target, metrics_path="/dcgm/metrics") as base:
            meters = MeterSet.from_specs([f"prometheus:{base}?grace=3s"])
            meters.open()
            start_s = time.time()
            time.sleep(3.0)
            end_s = time.time()
            record = energy_record(meters.window(start_s, end_s))
            meters.close()
    assert record is not None and record.method == "prometheus-counter"
    assert record.time_base is TimeBase.SIMULATED
    assert record.avg_power_w == pytest.approx(70.0, rel=0.02)
    assert record.duration_s == pytest.approx(4.0 * (end_s - start_s), rel=0.1)
