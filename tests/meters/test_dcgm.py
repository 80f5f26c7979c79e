"""The dcgm meter scraping a DCGM-exporter-format endpoint over real HTTP on 127.0.0.1."""

from __future__ import annotations

import socket
import time

import pytest
from exporter_fake import Exporter, serve
from nvml_fake import SinePower

from tokenergy.errors import MeterError
from tokenergy.meters.dcgm import DcgmMeter
from tokenergy.meters.meterset import MeterSet
from tokenergy.meters.record import energy_record
from tokenergy.meters.specs import parse_spec


def test_counter_energy_per_gpu_matches_the_true_integral() -> None:
    profiles = [SinePower(300, 80, 1.1), SinePower(500, 50, 0.8), SinePower(200, 0, 1.0)]
    with serve(Exporter(profiles)) as exporter:
        meters = MeterSet.from_specs([f"dcgm:{exporter.url}?interval=0.1s"])
        meters.open()
        meters.start()
        time.sleep(0.2)
        start_s = meters.mark()
        time.sleep(1.2)
        end_s = meters.mark()
        time.sleep(0.2)
        meters.stop()
        measured = meters.window(start_s, end_s, expected_gpus=3)
        meters.close()
    assert measured.valid, measured.reasons
    devices = measured.parts[0].energy.devices
    assert [d.device.device for d in devices] == ["node1/gpu0", "node1/gpu1", "node1/gpu2"]
    for index, device in enumerate(devices):
        # the scrape instant is known to within the request's duration (ms at 127.0.0.1)
        true_j = exporter.true_energy_j(index, start_s, end_s)
        assert device.energy_j == pytest.approx(true_j, rel=0.01)
    record = energy_record(measured)
    assert record is not None and record.method == "dcgm-counter"
    assert record.devices[0].model == "NVIDIA H100 80GB HBM3"
    assert record.devices[0].uuid == "GPU-00000000-fake"


def test_selector_picks_gpus_by_label_and_power_only_falls_back() -> None:
    profiles = [SinePower(300, 0, 1.0), SinePower(400, 0, 1.0), SinePower(500, 0, 1.0)]
    with serve(Exporter(profiles, with_energy=False)) as exporter:
        meter = parse_spec(f'dcgm:{exporter.url}?selector={{gpu=~"0|2"}}')
        devices = meter.open()
        assert [d.device for d in devices] == ["node1/gpu0", "node1/gpu2"]
        assert meter.method == "dcgm-power-trapezoid"
        assert isinstance(meter, DcgmMeter)
        readings = meter.read()
        assert readings["node1/gpu2"].power_w == pytest.approx(500.0)
        assert readings["node1/gpu2"].energy_j is None
        nothing = parse_spec(f'dcgm:{exporter.url}?selector={{Hostname="node9"}}')
        with pytest.raises(MeterError, match=r'no .* series matching \{Hostname="node9"\}'):
            nothing.open()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_unreachable_endpoint_fails_at_open() -> None:
    url = f"http://127.0.0.1:{free_port()}/metrics"
    with pytest.raises(MeterError, match=f"cannot reach {url}"):
        parse_spec(f"dcgm:{url}").open()


@pytest.mark.parametrize(
    ("exporter", "message"),
    [
        (Exporter([SinePower()], status=503), "answered HTTP 503"),
        (Exporter([SinePower()], body_override="up 1\n"), "has no DCGM_FI_DEV_TOTAL_ENERGY"),
        (Exporter([SinePower()], body_override="<html>hi</html>\n"), "not return Prometheus"),
    ],
)
def test_broken_or_foreign_endpoints_fail_at_open(exporter: Exporter, message: str) -> None:
    with serve(exporter), pytest.raises(MeterError, match=message):
        parse_spec(f"dcgm:{exporter.url}").open()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("dcgm:", "give the exporter URL"),
        ("dcgm:localhost:9400/metrics", "give the exporter URL"),
        ("dcgm:http://h:1/metrics?gpus=0", "unknown option"),
        ("dcgm:http://h:1/metrics?interval=fast", "cannot parse 'fast'"),
        ("dcgm:http://h:1/metrics?selector={gpu=0}", "cannot parse label selector"),
        ('dcgm:http://h:1/metrics?selector={gpu=~"("}', "bad regex"),
    ],
)
def test_bad_specs_are_refused_before_any_connection(spec: str, message: str) -> None:
    with pytest.raises(MeterError, match=message) as caught:
        parse_spec(spec)
    assert str(caught.value).startswith("meters dcgm:")


def test_exporter_dying_mid_run_invalidates_energy_without_raising() -> None:
    with serve(Exporter([SinePower()])) as exporter:
        meters = MeterSet.from_specs([f"dcgm:{exporter.url}?interval=0.1s"])
        meters.open()
        meters.start()
        start_s = meters.mark()
        time.sleep(0.3)
    time.sleep(0.4)  # the exporter is gone
    end_s = meters.mark()
    meters.stop()
    measured = meters.window(start_s, end_s)
    meters.close()
    text = " | ".join(measured.reasons)
    assert not measured.valid
    assert "failed read(s)" in text and "cannot reach" in text


def test_a_gpu_drawing_a_terawatt_is_implausible_not_valid() -> None:
    """Issue 14 item 13: 1e12 W per GPU was energy_valid true; the catalog bounds each device."""
    with serve(Exporter([SinePower(1e12, 0, 1.0), SinePower(300, 0, 1.0)])) as exporter:
        meters = MeterSet.from_specs([f"dcgm:{exporter.url}?interval=0.1s"])
        meters.open()
        meters.start()
        time.sleep(0.2)
        start_s = meters.mark()
        time.sleep(1.2)
        end_s = meters.mark()
        time.sleep(0.2)
        meters.stop()
        measured = meters.window(start_s, end_s, expected_gpus=2)
        meters.close()
    assert not measured.valid
    (reason,) = measured.reasons
    assert "node1/gpu0" in reason and "implausible" in reason and "H100" in reason, reason
    record = energy_record(measured)
    assert record is not None and not record.valid and "\n" not in " ".join(record.reasons)
