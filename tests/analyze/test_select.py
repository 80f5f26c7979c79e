from __future__ import annotations

import tokenergy as t
from analyze.builders import make_result
from tokenergy.analyze.select import family_groups
from tokenergy.analyze.table import to_row
from tokenergy.records import EnergyMeasurement, ServingResult
from tokenergy.units import Basis, Boundary


def _provisioned(**fields: object) -> ServingResult:
    result = make_result(**fields)  # type: ignore[arg-type]
    result.energy = EnergyMeasurement(
        avg_power_w=result.energy.avg_power_w if result.energy else None,
        boundary=Boundary.FACILITY,
        basis=Basis.PROVISIONED,
        method="catalog-allin",
    )
    return result


def _mixed() -> list[ServingResult]:
    """A measured accelerator point beaten on both axes by a provisioned facility one."""
    return [
        make_result(gpu="H100", median_itl_s=0.05, power_w=900),
        make_result(gpu="B200", median_itl_s=0.05, power_w=800),
        _provisioned(gpu="H100", median_itl_s=0.02, power_w=400),
    ]


def test_family_columns_join_the_key_only_when_rows_mix() -> None:
    one_family = [to_row(make_result(gpu=g)) for g in ("H100", "B200")]
    assert family_groups(one_family, ("model",)) == ("model",)
    mixed = [to_row(r) for r in _mixed()]
    assert family_groups(mixed, ("model",)) == ("model", "basis", "boundary")
    assert family_groups(mixed, ("basis", "model")) == ("basis", "model", "boundary")
    simulated = make_result(gpu="H100")
    simulated.provenance = simulated.provenance.model_copy(update={"simulated": True})
    with_sim = [*one_family, to_row(simulated)]
    assert to_row(simulated).basis == "simulated"
    assert family_groups(with_sim, ("model",)) == ("model", "basis")
    no_energy = make_result(gpu="A100")
    no_energy.energy = None
    assert family_groups([*one_family, to_row(no_energy)], ("model",)) == ("model",)


def test_frontier_never_lets_a_provisioned_point_dominate_a_measured_one() -> None:
    groups = t.frontier(_mixed(), group_by="model,gpu")
    by_key = {group.key: group for group in groups}
    measured = by_key[("m", "H100", "measured", "accelerator")]
    assert [row.median_itl_s for row in measured.frontier] == [0.05]
    assert measured.dominated == []
    assert len(by_key[("m", "H100", "provisioned", "facility")].frontier) == 1


def test_best_and_compare_choose_within_one_basis_and_boundary() -> None:
    answer = t.best_under(_mixed(), max_itl="60ms", group_by="model")
    assert answer.group_by == ("model", "basis", "boundary")
    chosen = {(c["basis"], c["boundary"]): c["gpu"] for c in answer.to_dict()}
    assert chosen == {("measured", "accelerator"): "B200", ("provisioned", "facility"): "H100"}
    comparison = t.compare(_mixed(), by="gpu", at_itl=["60ms"], baseline="H100", candidate="B200")
    assert [case.key for case in comparison.cases] == [("m", "chat", "measured", "accelerator")]
    # comparing across bases on purpose still works: no family column joins the key
    across = t.compare(_mixed(), by="basis", at_itl=["60ms"], group_by="gpu")
    assert across.group_by == ("gpu",) and [case.key for case in across.cases] == [("H100",)]
