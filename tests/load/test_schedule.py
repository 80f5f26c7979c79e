"""Schedules: reproducible, separate from the sender, sliceable across workers."""

from __future__ import annotations

import numpy as np
import pytest

from tokenergy.errors import ConfigError
from tokenergy.load.schedule import LoadShape, Schedule, parse_concurrency_list
from tokenergy.load.workload import LengthKind, LengthSpec

FIXED = LengthSpec(LengthKind.FIXED, isl=100, osl=20)


def test_closed_loop_count_and_warmup_first() -> None:
    plan = list(Schedule(LoadShape(concurrency=4, num_prompts=10, warmup=3), FIXED, seed=1))
    assert [p.index for p in plan] == list(range(13))
    assert [p.warmup for p in plan] == [True] * 3 + [False] * 10
    assert all(p.target_s is None for p in plan)


def test_same_seed_same_plan_other_seed_other_plan() -> None:
    shape = LoadShape(concurrency=None, rate_rps=5.0, num_prompts=50)
    lengths = LengthSpec(LengthKind.UNIFORM, isl=100, osl=50, range_ratio=0.5)
    first, again = list(Schedule(shape, lengths, 7)), list(Schedule(shape, lengths, 7))
    other = list(Schedule(shape, lengths, 8))
    assert first == again
    assert first != other


def test_poisson_rate_and_gamma_burstiness() -> None:
    shape = LoadShape(concurrency=None, rate_rps=10.0, num_prompts=20_000)
    targets = np.array([p.target_s for p in Schedule(shape, FIXED, 3)])
    gaps = np.diff(targets)
    assert gaps.mean() == pytest.approx(0.1, rel=0.03)
    assert gaps.std() / gaps.mean() == pytest.approx(1.0, rel=0.05)  # exponential: CV 1
    bursty = LoadShape(concurrency=None, rate_rps=10.0, burstiness=0.25, num_prompts=20_000)
    gaps_b = np.diff([p.target_s for p in Schedule(bursty, FIXED, 3)])  # type: ignore[arg-type]
    assert gaps_b.mean() == pytest.approx(0.1, rel=0.05)
    assert gaps_b.std() / gaps_b.mean() == pytest.approx(2.0, rel=0.08)  # CV = 1/sqrt(k)


def test_open_loop_duration_stops_the_plan() -> None:
    shape = LoadShape(concurrency=None, rate_rps=20.0, duration_s=5.0)
    plan = list(Schedule(shape, FIXED, 0))
    assert all(p.target_s is not None and p.target_s < 5.0 for p in plan)
    assert 60 < len(plan) < 140


def test_worker_slices_partition_the_plan() -> None:
    schedule = Schedule(LoadShape(concurrency=None, rate_rps=3.0, num_prompts=30), FIXED, 2)
    whole = list(schedule)
    slices = [list(schedule.requests(k, 3)) for k in range(3)]
    merged = sorted((p for part in slices for p in part), key=lambda p: p.index)
    assert merged == whole
    assert [p.index % 3 for p in slices[1]] == [1] * 10


def test_closed_loop_duration_is_endless_but_deterministic() -> None:
    schedule = Schedule(LoadShape(concurrency=2, duration_s=1.0), FIXED, 0)
    stream = schedule.requests()
    first = [next(stream) for _ in range(3000)]
    assert first[-1].index == 2999


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"concurrency": None}, "concurrency"),
        ({"concurrency": 0, "num_prompts": 1}, "concurrency"),
        ({"concurrency": 1}, "num_prompts"),
        ({"concurrency": 1, "num_prompts": 1, "rate_rps": 0.0}, "rate_rps"),
        ({"concurrency": 1, "num_prompts": 1, "warmup": -1}, "warmup"),
    ],
)
def test_bad_shapes_name_the_parameter(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ConfigError) as error:
        LoadShape(**kwargs)  # type: ignore[arg-type]
    assert error.value.field == field


def test_concurrency_list() -> None:
    assert parse_concurrency_list("1, 8,64") == [1, 8, 64]
    with pytest.raises(ConfigError, match="'x'"):
        parse_concurrency_list("1,x")
