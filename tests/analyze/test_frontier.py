from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from analyze.builders import make_result
from tokenergy.analyze.frontier import dominates, frontiers, pareto_indices
from tokenergy.analyze.table import metric, to_row

coords = st.floats(min_value=0, max_value=100, allow_nan=False) | st.sampled_from([1.0, 2.0, 3.0])
point_lists = st.lists(st.tuples(coords, coords), max_size=40)


@given(point_lists)
def test_nothing_on_the_frontier_is_dominated(points: list[tuple[float, float]]) -> None:
    kept = pareto_indices(points)
    for i in kept:
        assert not any(dominates(p, points[i]) for p in points)


@given(point_lists)
def test_every_excluded_point_is_dominated(points: list[tuple[float, float]]) -> None:
    kept = set(pareto_indices(points))
    for i, point in enumerate(points):
        if i not in kept:
            assert any(dominates(points[k], point) for k in kept)


def test_hand_example_keeps_duplicates_and_sorts_by_x() -> None:
    points = [(3.0, 1.0), (1.0, 3.0), (2.0, 2.0), (2.0, 2.0), (2.5, 2.5), (1.0, 4.0)]
    assert pareto_indices(points) == [1, 2, 3, 0]


def test_frontier_per_group_flips_higher_is_better_axes() -> None:
    rows = [
        to_row(make_result(gpu="H100", median_itl_s=0.02, power_w=900)),
        to_row(make_result(gpu="H100", median_itl_s=0.05, power_w=500)),
        to_row(make_result(gpu="H100", median_itl_s=0.06, power_w=600)),  # dominated
        to_row(make_result(gpu="B200", median_itl_s=0.06, power_w=600)),
        to_row(make_result(gpu="B200", median_itl_s=None)),  # missing x
    ]
    groups = frontiers(rows, metric("median_itl"), metric("energy_per_token_j"), ("gpu",))
    assert [g.key for g in groups] == [("H100",), ("B200",)]
    assert [r.median_itl_s for r in groups[0].frontier] == [0.02, 0.05]
    assert [r.median_itl_s for r in groups[0].dominated] == [0.06]
    assert groups[1].missing == 1 and len(groups[1].frontier) == 1
    # interactivity: higher is better, so the fastest-per-user point stays on the frontier
    rows_i = [
        to_row(make_result(median_tpot_s=0.01, power_w=900)),
        to_row(make_result(median_tpot_s=0.02, power_w=950)),
    ]
    (only,) = frontiers(rows_i, metric("intvty"), metric("energy_per_token_j"), ())
    assert [r.median_intvty_tok_s for r in only.frontier] == [pytest.approx(100.0)]
