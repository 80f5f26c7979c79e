"""The registry and spec parsing: every documented spec form builds the right meter."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenergy.errors import MeterError
from tokenergy.meters.constant import ConstantMeter
from tokenergy.meters.dcgm import DcgmMeter
from tokenergy.meters.nvml import NvmlMeter
from tokenergy.meters.prometheus import PrometheusMeter
from tokenergy.meters.rapl import RaplMeter
from tokenergy.meters.specs import parse_spec, registered
from tokenergy.meters.zeus import ZeusMeter


def test_registry_names_every_meter() -> None:
    assert sorted(registered()) == ["constant", "dcgm", "nvml", "prometheus", "rapl", "zeus"]


def test_documented_spec_forms() -> None:
    nvml = parse_spec("nvml")
    assert isinstance(nvml, NvmlMeter) and nvml.selection is None
    picked = parse_spec("nvml:0,1")
    assert isinstance(picked, NvmlMeter) and picked.selection == ["0", "1"]
    by_uuid = parse_spec("nvml:GPU-aaaa,GPU-bbbb")
    assert isinstance(by_uuid, NvmlMeter) and by_uuid.selection == ["GPU-aaaa", "GPU-bbbb"]
    dcgm = parse_spec("dcgm:http://10.0.0.5:9400/metrics")
    assert isinstance(dcgm, DcgmMeter) and dcgm.url == "http://10.0.0.5:9400/metrics"
    assert dcgm.poll_interval_s == 0.5 and dcgm.selector.text == ""
    prom = parse_spec('prometheus:http://prom:9090/?selector={Hostname=~"node[12]"}&grace=20s')
    assert isinstance(prom, PrometheusMeter)
    assert prom.base_url == "http://prom:9090"
    assert (prom.selector.text, prom.grace_s) == ('{Hostname=~"node[12]"}', 20.0)
    rapl = parse_spec("rapl")
    assert isinstance(rapl, RaplMeter) and rapl.root == Path("/sys/class/powercap")
    zeus = parse_spec("zeus:0,2")
    assert isinstance(zeus, ZeusMeter) and zeus.gpu_indices == [0, 2]
    constant = parse_spec("constant:700W")
    assert isinstance(constant, ConstantMeter) and constant.power_w == 700.0
    assert parse_spec("NVML").spec == "NVML"  # names are case-insensitive; the spec is kept


def test_unknown_meter_lists_the_known_ones() -> None:
    with pytest.raises(MeterError, match=r"unknown meter 'ipmi'.*known: constant, dcgm") as caught:
        parse_spec("ipmi:host")
    assert str(caught.value).startswith("meters: ")


def test_zeus_spec_takes_indices_only() -> None:
    with pytest.raises(MeterError, match="CUDA GPU indices"):
        parse_spec("zeus:GPU-aaaa")
