"""Bottom-up estimates: per-query Monte Carlo and fleet projection (docs/methodology.md §6).

Library entry points: :func:`run_estimate` (``EstimateParams`` → ``EstimateResult``;
``trim=Trim.PAPER`` for Oviedo et al.'s statistics), :func:`run_fleet` (``FleetParams`` →
``FleetResult``) and :func:`sensitivity` (Sobol indices of every uncertain input;
``plot_sensitivity`` in ``tokenergy.estimate.sensitivity_plot`` draws them).
"""

from tokenergy.estimate.montecarlo import (
    EstimateResult,
    ModelEstimate,
    Summary,
    Trim,
    run_estimate,
)
from tokenergy.estimate.params import EstimateParams, FleetParams, Leff, Regime
from tokenergy.estimate.sensitivity import SensitivityResult, sensitivity

__all__ = [
    "EstimateParams",
    "EstimateResult",
    "FleetParams",
    "Leff",
    "ModelEstimate",
    "Regime",
    "SensitivityResult",
    "Summary",
    "Trim",
    "run_estimate",
    "sensitivity",
]
