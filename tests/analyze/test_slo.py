from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analyze.builders import load_mlenergy_task, make_result
from tokenergy.analyze.slo import Constraint, best_under
from tokenergy.analyze.table import metric, to_row

ENERGY = metric("energy_per_token_j")
ITL = metric("median_itl")

configs = st.lists(
    st.tuples(
        st.sampled_from(["a", "b"]),
        st.floats(min_value=0.005, max_value=0.3),
        st.floats(min_value=50, max_value=2000),
    ),
    max_size=25,
)


@given(configs, st.floats(min_value=0.0, max_value=0.3))
def test_chosen_meets_the_slo_and_nothing_cheaper_does(
    points: list[tuple[str, float, float]], bound_s: float
) -> None:
    rows = [to_row(make_result(model=m, median_itl_s=itl, power_w=p)) for m, itl, p in points]
    constraint = Constraint(ITL, bound_s)
    for choice in best_under(rows, [constraint], ENERGY, ("model",)):
        group = [r for r in rows if r.model == choice.key[0]]
        feasible = [r for r in group if r.median_itl_s is not None and r.median_itl_s <= bound_s]
        if choice.chosen is None:
            assert not feasible
            continue
        assert constraint.holds(choice.chosen)
        chosen_j = choice.chosen.energy_per_token_j
        assert chosen_j is not None
        assert not any((r.energy_per_token_j or 0) < chosen_j for r in feasible)
        assert choice.unconstrained is not None
        assert choice.slo_cost(ENERGY) == pytest.approx(
            chosen_j / min(r.energy_per_token_j or 0 for r in group) - 1
        )
        if choice.runner_up is not None:
            assert constraint.holds(choice.runner_up)
            assert (choice.runner_up.energy_per_token_j or 0) >= chosen_j


def test_interactivity_is_a_lower_bound() -> None:
    rows = [
        to_row(make_result(median_tpot_s=0.02, power_w=500)),  # 50 tok/s/user
        to_row(make_result(median_tpot_s=0.01, power_w=900)),  # 100 tok/s/user
    ]
    (choice,) = best_under(rows, [Constraint(metric("intvty"), 80.0)], ENERGY, ())
    assert choice.chosen is rows[1]
    assert choice.slo_cost(ENERGY) == pytest.approx(900 / 500 - 1)
    assert Constraint(metric("intvty"), 80.0).text == "median_intvty_tok_s >= 80"
    assert Constraint(ITL, 0.05).text == "median_itl_s <= 50ms"


@pytest.mark.parametrize(
    ("model", "bound_ms"),
    [("meta-llama/Llama-3.1-8B-Instruct", 20.0), ("Qwen/Qwen3-30B-A3B-Instruct-2507", 30.0)],
)
def test_best_by_hand_on_mlenergy_v3(shared_data: Path, model: str, bound_ms: float) -> None:
    raw, results = load_mlenergy_task(
        shared_data / "mlenergy/leaderboard_v3/tasks/lm-arena-chat.json"
    )
    mine = [c for c in raw if c["model_id"] == model]
    feasible = sorted(
        (c for c in mine if c["median_itl_ms"] <= bound_ms),
        key=lambda c: c["energy_per_token_joules"],
    )
    assert len(feasible) >= 2  # the hand check must exercise a real choice
    cheapest = min(c["energy_per_token_joules"] for c in mine)

    choices = best_under(
        [to_row(r) for r in results], [Constraint(ITL, bound_ms / 1000)], ENERGY, ("model",)
    )
    (choice,) = [c for c in choices if c.key == (model,)]
    assert choice.chosen is not None and choice.runner_up is not None
    assert choice.chosen.energy_per_token_j == pytest.approx(feasible[0]["energy_per_token_joules"])
    assert choice.chosen.gpu == feasible[0]["gpu_model"]
    assert choice.chosen.batch_cap == feasible[0]["max_num_seqs"]
    assert choice.chosen.energy_per_response_j == pytest.approx(
        feasible[0]["energy_per_request_joules"]
    )
    assert choice.runner_up.energy_per_token_j == pytest.approx(
        feasible[1]["energy_per_token_joules"]
    )
    assert choice.slo_cost(ENERGY) == pytest.approx(
        feasible[0]["energy_per_token_joules"] / cheapest - 1
    )
