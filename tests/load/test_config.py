"""A load point's configuration refuses values that would silently measure something else."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from tokenergy.errors import ConfigError
from tokenergy.load.config import BenchConfig
from tokenergy.load.schedule import LoadShape
from tokenergy.load.workload import LengthKind, LengthSpec


def config(**overrides: Any) -> BenchConfig:
    base: dict[str, Any] = {
        "base_url": "http://127.0.0.1:9",
        "model": "m",
        "lengths": LengthSpec(LengthKind.FIXED, isl=4, osl=4),
        "shape": LoadShape(concurrency=1, num_prompts=1),
        "out_dir": Path("unused"),
    }
    return BenchConfig(**(base | overrides))


@pytest.mark.parametrize("name", ["timeout_s", "request_timeout_s", "run_timeout_s"])
@pytest.mark.parametrize("value", [-1.0, 0.0, math.nan, math.inf])
def test_deadlines_must_be_finite_and_positive(name: str, value: float) -> None:
    with pytest.raises(ConfigError, match="must be finite seconds > 0") as error:
        config(**{name: value})
    assert error.value.field == name


def test_seed_must_be_non_negative() -> None:
    with pytest.raises(ConfigError, match="must be in") as error:
        config(seed=-1)
    assert error.value.field == "seed"
    assert config(seed=2**63 - 1).seed == 2**63 - 1
