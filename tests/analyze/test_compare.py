from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from analyze.builders import load_mlenergy_task, make_result
from tokenergy.analyze.compare import compare, pick_sides, summarize
from tokenergy.analyze.slo import Constraint
from tokenergy.analyze.table import metric, to_row
from tokenergy.errors import ConfigError

ENERGY = metric("energy_per_token_j")
ITL = metric("median_itl")


def test_compare_hand_example() -> None:
    rows = [
        to_row(make_result(model="a", gpu="H100", median_itl_s=0.04, power_w=1000)),
        to_row(make_result(model="a", gpu="B200", median_itl_s=0.04, power_w=800)),
        to_row(make_result(model="b", gpu="H100", median_itl_s=0.04, power_w=500)),
        to_row(make_result(model="b", gpu="B200", median_itl_s=0.2, power_w=100)),
    ]
    cases = compare(rows, "gpu", "H100", "B200", [Constraint(ITL, 0.05)], ENERGY, ("model",))
    assert [(c.key, round(c.energy_change, 6)) for c in cases] == [(("a",), -0.2)]
    summary = summarize(cases)
    assert (summary.wins, summary.cases, summary.median_change) == (1, 1, pytest.approx(-0.2))


def test_sides_are_inferred_only_when_unambiguous() -> None:
    rows = [to_row(make_result(gpu=g)) for g in ("H100", "B200")]
    assert pick_sides(rows, "gpu", None, None) == ("B200", "H100")
    assert pick_sides(rows, "gpu", "H100", None) == ("H100", "B200")
    with pytest.raises(ConfigError, match="not in the data"):
        pick_sides(rows, "gpu", "A100", None)
    three = [*rows, to_row(make_result(gpu="MI300X"))]
    with pytest.raises(ConfigError, match="name `baseline` and `candidate`"):
        pick_sides(three, "gpu", None, None)


MODELS = ("meta-llama/Llama-3.1-8B-Instruct", "Qwen/Qwen3-30B-A3B-Instruct-2507")


def test_compare_by_hand_on_mlenergy_v3(shared_data: Path) -> None:
    raw, results = load_mlenergy_task(
        shared_data / "mlenergy/leaderboard_v3/tasks/lm-arena-chat.json"
    )
    bounds_ms = (25.0, 50.0, 100.0)
    expected = []
    for model in MODELS:
        for bound in bounds_ms:
            best = {}
            for gpu in ("H100", "B200"):
                ok = [
                    c["energy_per_token_joules"]
                    for c in raw
                    if c["model_id"] == model
                    and c["gpu_model"] == gpu
                    and c["median_itl_ms"] <= bound
                ]
                best[gpu] = min(ok) if ok else None
            if best["H100"] is not None and best["B200"] is not None:
                expected.append((model, bound, best["B200"] / best["H100"] - 1))
    assert len(expected) >= 4

    rows = [to_row(r) for r in results if r.identity.model in MODELS]
    constraints = [Constraint(ITL, b / 1000) for b in bounds_ms]
    cases = compare(rows, "gpu", "H100", "B200", constraints, ENERGY, ("model",))
    got = {(c.key[0], round(c.constraint.bound * 1000, 6)): c.energy_change for c in cases}
    assert got == {(m, b): pytest.approx(change, rel=1e-9) for m, b, change in expected}
    summary = summarize(cases)
    changes = [e[2] for e in expected]
    assert summary.wins == sum(c < 0 for c in changes)
    assert summary.median_change == pytest.approx(statistics.median(changes))
