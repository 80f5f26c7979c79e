"""Window energy and validity rules (docs/methodology.md §9), hand-made readings and answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenergy.meters.base import DeviceInfo, Reading
from tokenergy.meters.window import (
    COUNTER,
    TRAPEZOID,
    WindowRules,
    device_window,
    trapezoid_energy_j,
    unwrap_counter,
    window_energy,
)

GPU0 = DeviceInfo("gpu0")
GPU1 = DeviceInfo("gpu1")
RULES = WindowRules()


def counter(*points: tuple[float, float]) -> list[Reading]:
    return [Reading(t, energy_j=e) for t, e in points]


def power(*points: tuple[float, float]) -> list[Reading]:
    return [Reading(t, power_w=p) for t, p in points]


def test_counter_is_interpolated_at_both_edges() -> None:
    readings = counter((0, 1000), (2, 1200), (4, 1600))  # 100 W then 200 W
    window = device_window(GPU0, readings, 1.0, 3.0, RULES)
    # E(1) = 1100, E(3) = 1400
    assert (window.energy_j, window.method, window.reasons) == (300.0, COUNTER, ())


def test_trapezoid_interpolates_power_at_the_edges() -> None:
    readings = power((0, 100), (2, 300), (4, 300))
    # p(1) = 200; ∫1..2 = (200+300)/2 = 250; ∫2..3 = 300 → 550
    window = device_window(GPU0, readings, 1.0, 3.0, RULES)
    assert window.energy_j == pytest.approx(550.0)
    assert window.method == TRAPEZOID


def test_counter_is_preferred_over_power_when_both_exist() -> None:
    readings = [Reading(0, 0.0, 999.0), Reading(2, 200.0, 999.0)]
    assert device_window(GPU0, readings, 0, 2, RULES).energy_j == 200.0


@given(
    st.lists(st.floats(0, 1000), min_size=3, max_size=30),
    st.floats(0.05, 0.95),
    st.floats(0.05, 0.95),
)
def test_trapezoid_of_piecewise_linear_power_is_exact(
    powers: list[float], a: float, b: float
) -> None:
    t_s = np.arange(len(powers), dtype=float)  # knots 1 s apart
    start_s, end_s = sorted((a * (len(powers) - 1), b * (len(powers) - 1)))

    def antiderivative(x: float) -> float:
        """∫0..x of the piecewise-linear power, segment by segment."""
        i = min(int(x), len(powers) - 2)
        whole = sum((powers[k] + powers[k + 1]) / 2 for k in range(i))
        u = x - i
        return whole + powers[i] * u + (powers[i + 1] - powers[i]) * u * u / 2

    expected = antiderivative(end_s) - antiderivative(start_s)
    got = trapezoid_energy_j(t_s, np.array(powers), start_s, end_s)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-6)


def test_unwrap_counts_the_value_after_a_reset() -> None:
    cumulative, resets = unwrap_counter(np.array([100.0, 150.0, 20.0, 50.0]))
    assert cumulative.tolist() == [100.0, 150.0, 170.0, 200.0]
    assert resets == [2]


def test_reset_inside_window_is_a_reason_but_outside_is_not() -> None:
    readings = counter((0, 500), (1, 600), (2, 10), (3, 110), (10, 810))
    inside = device_window(GPU0, readings, 0.5, 2.5, RULES)
    assert inside.energy_j == pytest.approx(50 + 10 + 50)
    assert any("reset" in reason for reason in inside.reasons)
    after = device_window(GPU0, readings, 3.5, 9.0, RULES)
    assert not any("reset" in reason for reason in after.reasons)


def test_samples_must_bracket_the_window() -> None:
    readings = counter((1, 0), (2, 100), (3, 200))
    window = device_window(GPU0, readings, 0.5, 3.5, RULES)
    assert "first reading 0.50 s after the window start" in window.reasons
    assert "last reading 0.50 s before the window end" in window.reasons


def test_gap_longer_than_three_seconds_is_flagged_only_inside_the_span() -> None:
    readings = counter((0, 0), (1, 100), (5, 500), (6, 600), (20, 2000))
    assert any("gap of 4.00 s" in r for r in device_window(GPU0, readings, 0.5, 5.5, RULES).reasons)
    assert device_window(GPU0, readings, 5.0, 6.0, RULES).reasons == ()
    lenient = WindowRules(max_gap_s=5.0)
    assert device_window(GPU0, readings, 0.5, 5.5, lenient).reasons == ()


def test_window_rules_duration_devices_and_batch() -> None:
    series = {GPU0: counter((0, 0), (10, 1000)), GPU1: counter((0, 0), (10, 2000))}
    rules = WindowRules(max_gap_s=10.0)
    good = window_energy(series, 1, 9, rules, expected_devices=2, batch_ratio=0.9)
    assert good.valid and good.energy_j() == pytest.approx(800 + 1600)
    short = window_energy(series, 1, 1.5, rules)
    assert short.reasons == ("window of 0.50 s is shorter than the minimum 1 s",)
    missing = window_energy(series, 1, 9, rules, expected_devices=3)
    assert missing.reasons == ("metered 2 device(s), expected 3",)
    starved = window_energy(series, 1, 9, rules, batch_ratio=0.5)
    assert starved.reasons == ("achieved/target batch 0.50 is below 0.85",)


def test_device_without_readings_has_no_energy_and_a_reason() -> None:
    series = {GPU0: counter((0, 0), (10, 1000)), GPU1: counter((5, 7))}
    result = window_energy(series, 1, 9, WindowRules(max_gap_s=10.0))
    assert result.energy_j() is None
    assert result.energy_j({"gpu"}) is None
    assert "gpu1: 1 reading(s): cannot integrate" in result.reasons


def test_mean_power_above_the_devices_plausible_ceiling_is_a_reason() -> None:
    """The ceiling: 1.5 × the power limit when the device reports one, else its catalog TDP,
    else the largest TDP in the catalog (issue 14 item 13)."""
    readings = [Reading(0.0, energy_j=0.0), Reading(2.0, energy_j=2 * 1_100.0)]
    limited = DeviceInfo("gpu0", model="NVIDIA H100 80GB HBM3", power_limit_w=700.0)
    assert device_window(limited, readings, 0.0, 2.0, WindowRules()).reasons == (
        "mean power 1,100 W is implausible for NVIDIA H100 80GB HBM3 (ceiling 1,050 W = 1.5 × "
        "its 700 W power limit)",
    )
    by_catalog = DeviceInfo("gpu0", model="NVIDIA H100 80GB HBM3")
    assert device_window(by_catalog, readings, 0.0, 2.0, WindowRules()).reasons
    unknown = DeviceInfo("gpu0", model="Mystery GPU")  # the catalog's largest TDP: MI355X 1.4 kW
    assert not device_window(unknown, readings, 0.0, 2.0, WindowRules()).reasons
    terawatt = [Reading(0.0, power_w=1e12), Reading(2.0, power_w=1e12)]
    (reason,) = device_window(unknown, terawatt, 0.0, 2.0, WindowRules()).reasons
    assert "catalog's largest TDP" in reason


def clocked(*points: tuple[float, float, float]) -> list[Reading]:
    """(wall s, counter J, device clock s): a simulator publishing its clock with its counter."""
    return [Reading(t, energy_j=e, device_time_s=d) for t, e, d in points]


def test_a_device_clock_gives_power_per_device_second() -> None:
    """Issue 14 item 14: a sim at speed 2 with host lag: 4 wall s carry 6 simulated s of 400 W.
    Energy is the counter's (time-base free); power is per simulated second, not per wall s."""
    readings = clocked((0.0, 0.0, 0.0), (2.0, 1600.0, 4.0), (4.0, 2400.0, 6.0))
    window = device_window(GPU0, readings, 0.0, 4.0, RULES)
    assert (window.energy_j, window.device_s) == (2400.0, 6.0)
    assert window.avg_power_w(4.0) == pytest.approx(400.0)
    assert window.time_base == "simulated"
    edges = device_window(GPU0, readings, 1.0, 3.0, RULES)  # clock interpolated like the counter
    assert (edges.energy_j, edges.device_s) == (1200.0, 3.0)
    hardware = device_window(GPU0, counter((0.0, 0.0), (4.0, 2400.0)), 0.0, 4.0, RULES)
    assert (hardware.device_s, hardware.avg_power_w(4.0)) == (None, 600.0)


def test_sampled_power_of_a_device_clock_is_integrated_over_its_seconds() -> None:
    """A sim's gauge is per simulated second: 8 simulated s at 400 W is 3200 J, over 4 wall s."""
    readings = [
        Reading(0.0, power_w=400.0, device_time_s=10.0),
        Reading(4.0, power_w=400.0, device_time_s=18.0),
    ]
    window = device_window(GPU0, readings, 0.0, 4.0, RULES)
    assert (window.method, window.energy_j, window.device_s) == (TRAPEZOID, 3200.0, 8.0)
    assert window.avg_power_w(4.0) == pytest.approx(400.0)


def test_plausibility_of_a_device_clock_is_per_its_seconds() -> None:
    """A sim at speed 10 draws 10× an H100's ceiling per wall second: plausible per simulated
    second, with no speed label needed; an implausible one is judged per simulated second."""
    h100 = DeviceInfo("gpu0", model="NVIDIA H100 80GB HBM3", power_limit_w=700.0)
    fast = clocked((0.0, 0.0, 0.0), (1.0, 6000.0, 10.0))  # 600 W per simulated s
    assert device_window(h100, fast, 0.0, 1.0, RULES).reasons == ()
    hot = clocked((0.0, 0.0, 0.0), (1.0, 11_000.0, 1.0))
    (reason,) = device_window(h100, hot, 0.0, 1.0, RULES).reasons
    assert reason.startswith("mean power 11,000 W") and "speed" not in reason
    stalled = clocked((0.0, 0.0, 5.0), (1.0, 0.0, 5.0))
    assert "clock did not advance" in device_window(h100, stalled, 0.0, 1.0, RULES).reasons[0]
