"""PromQL-style label selectors, matched locally for dcgm and passed through for prometheus."""

from __future__ import annotations

import pytest

from tokenergy.errors import MeterError
from tokenergy.meters.selector import parse_selector

LABELS = {"gpu": "1", "Hostname": "node2", "modelName": "NVIDIA H100 80GB HBM3"}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("", True),
        ("{}", True),
        ('{gpu="1"}', True),
        ('{gpu="0"}', False),
        ('{gpu!="0", Hostname=~"node[12]"}', True),
        ('{Hostname!~"node2"}', False),
        ('{modelName=~".*H100.*"}', True),
        ('{absent=""}', True),  # as in PromQL: a missing label equals ""
        ('gpu=~"0|1"', True),
    ],
)
def test_matching(text: str, matches: bool) -> None:
    assert parse_selector(text, "--meter x").matches(LABELS) is matches


def test_canonical_text_round_trips() -> None:
    selector = parse_selector(r' { gpu =~ "\\d" , Hostname="n\"1" } ', "x")
    assert selector.matches({"gpu": "7", "Hostname": 'n"1'})
    assert selector.text == r'{gpu=~"\\d",Hostname="n\"1"}'


@pytest.mark.parametrize("text", ["{gpu=0}", '{gpu="0" Hostname="a"}', '{="a"}', '{gpu~"a"}'])
def test_malformed_selectors_name_the_option(text: str) -> None:
    with pytest.raises(MeterError) as caught:
        parse_selector(text, "--meter dcgm:http://h/metrics")
    assert str(caught.value).startswith("--meter dcgm:http://h/metrics: ")
