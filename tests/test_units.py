"""The unit chain, pinned with hand-computed values and property tests for its identities."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenergy import units
from tokenergy.errors import UnitError

positive = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)


@pytest.mark.parametrize(
    ("text", "watts"),
    [
        ("1.5kW", 1500.0),
        ("700 W", 700.0),
        ("700", 700.0),
        ("2.1 kW", 2100.0),
        ("11.3kw", 11300.0),
        ("1 MW", 1e6),
        ("500 mW", 0.5),
        (".5kW", 500.0),
        ("1e3", 1000.0),
    ],
)
def test_parse_power(text: str, watts: float) -> None:
    assert units.parse_power_w(text) == pytest.approx(watts)


@pytest.mark.parametrize("text", ["abc", "", "1.5 kV", "kW", "-3W", "nan", "1.2.3kW"])
def test_parse_power_rejects(text: str) -> None:
    with pytest.raises(UnitError):
        units.parse_power_w(text)


def test_parse_energy_duration_rate_fraction() -> None:
    assert units.parse_energy_j("1 Wh") == 3600.0
    assert units.parse_energy_j("2 kWh") == 7.2e6
    assert units.parse_energy_j("3.6 kJ") == 3600.0
    assert units.parse_duration_s("50ms") == pytest.approx(0.05)
    assert units.parse_duration_s("2 min") == 120.0
    assert units.parse_rate_tok_s("1200 tok/s") == 1200.0
    assert units.parse_fraction("10%") == pytest.approx(0.10)
    assert units.parse_fraction("0.1") == pytest.approx(0.10)
    with pytest.raises(UnitError, match="ambiguous"):
        units.parse_fraction("10")
    with pytest.raises(UnitError):
        units.parse_rate_tok_s("0")


def test_hand_computed_chain() -> None:
    # 1.5 kW node at 41.8 tok/s: 1500/41.8 = 35.885 J/token; /3.6 = 9.968 kWh/Mtok;
    # 800 tokens/query: 35.885*800/3600 = 7.974 Wh/query.
    jpt = units.j_per_token(1500.0, 41.8)
    assert jpt == pytest.approx(35.88517, rel=1e-6)
    assert units.kwh_per_mtok(jpt) == pytest.approx(9.96810, rel=1e-5)
    assert units.wh_per_query_from_tokens(jpt, 800) == pytest.approx(7.97448, rel=1e-5)
    # measured: 7200 J over 4 completed queries = 0.5 Wh each
    assert units.wh_per_query_from_counts(7200.0, 4) == 0.5
    # boundary steps: 700 W × 1.10 host × 1.2 PUE = 924 W
    assert units.with_pue(units.with_host_overhead(700.0, 0.10), 1.2) == pytest.approx(924.0)
    assert units.gwh_per_day(3.6e12) == 1.0


def test_arithmetic_refuses_nonsense() -> None:
    with pytest.raises(UnitError):
        units.j_per_token(100.0, 0.0)
    with pytest.raises(UnitError):
        units.wh_per_query_from_counts(100.0, 0)
    with pytest.raises(UnitError):
        units.with_pue(100.0, 0.9)
    with pytest.raises(UnitError):
        units.with_host_overhead(100.0, -0.1)


@given(power_w=positive, tok_s=positive)
def test_power_is_j_per_token_times_rate(power_w: float, tok_s: float) -> None:
    assert units.power_w_from(units.j_per_token(power_w, tok_s), tok_s) == pytest.approx(power_w)


@given(energy_j=st.floats(min_value=0, max_value=1e15, allow_nan=False))
def test_wh_round_trip(energy_j: float) -> None:
    assert units.wh_to_j(units.j_to_wh(energy_j)) == pytest.approx(energy_j)
    assert units.j_to_wh(energy_j) == pytest.approx(energy_j / 3600.0)


@given(jpt=positive, tokens=st.integers(min_value=1, max_value=10**6))
def test_kwh_per_mtok_consistent_with_wh_per_query(jpt: float, tokens: int) -> None:
    # a million tokens at J/token is kWh/Mtok; per query the same J/token gives Wh = J*tokens/3600
    wh_per_mtok = units.wh_per_query_from_tokens(jpt, 1e6)
    assert wh_per_mtok / 1000.0 == pytest.approx(units.kwh_per_mtok(jpt))
    assert units.wh_per_query_from_tokens(jpt, tokens) == pytest.approx(jpt * tokens / 3600.0)


@given(value=st.floats(min_value=0, max_value=1e7, allow_nan=False))
def test_power_string_round_trip(value: float) -> None:
    assert units.parse_power_w(f"{value!r} W") == value
    assert units.parse_power_w(f"{value / 1000!r}kW") == pytest.approx(value)
    assert math.isfinite(units.parse_power_w(repr(value)))
