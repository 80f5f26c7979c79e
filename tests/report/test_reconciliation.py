"""The Reconciliation and Sensitivity sections, built from the real library functions."""

from __future__ import annotations

import math

import pytest

from tokenergy.analyze.reconcile import FACTOR_NAMES, reconcilable_models
from tokenergy.estimate import EstimateParams, Regime
from tokenergy.estimate.sensitivity import sensitivity
from tokenergy.report.background import Background
from tokenergy.report.reconciliation import (
    reconcile_embedded,
    reconciliation_section,
    sensitivity_section,
)


def test_every_reconcilable_model_gets_a_table_whose_factors_multiply_to_the_ratio() -> None:
    results = Background({"reconcile": reconcile_embedded}).result("reconcile")  # in a process
    section = reconciliation_section(results)
    assert len(section.tables) == len(reconcilable_models()) >= 3
    columns = section.tables[0].columns
    ratio_at = columns.index("ratio to reference")
    for table in section.tables:
        methods = {row[0].text for row in table.rows}
        assert "measured" in methods and methods & {"converted", "estimated"}
        for row in table.rows:
            factors = [c.sort for c in row[ratio_at + 1 :] if isinstance(c.sort, float)]
            assert len(row) - ratio_at - 1 == len(FACTOR_NAMES)
            assert math.prod(factors) == pytest.approx(row[ratio_at].sort, rel=1e-3)
    assert len(section.headline) == len(section.tables)


def test_sensitivity_section_ranks_inputs_with_intervals() -> None:
    params = EstimateParams(models=["Llama 3.1 70B"], pool=False)
    result = sensitivity(params, base_samples=64)
    section = sensitivity_section({Regime.TRADITIONAL: result})
    (table,) = section.tables
    assert table.rows[0][1].text == "output length"
    first = table.rows[0][3]  # ST on log E
    assert first.bar is not None and 0 <= first.bar <= 1 and "±" in first.text
