"""Bottom-up estimates: per-query Monte Carlo and fleet projection (DESIGN §3).

Library entry points: :func:`run_estimate` (``EstimateParams`` → ``EstimateResult``) and
:func:`run_fleet` (``FleetParams`` → ``FleetResult``).
"""

from tokenergy.estimate.montecarlo import EstimateResult, ModelEstimate, Summary, run_estimate
from tokenergy.estimate.params import EstimateParams, FleetParams, Leff, Regime

__all__ = [
    "EstimateParams",
    "EstimateResult",
    "FleetParams",
    "Leff",
    "ModelEstimate",
    "Regime",
    "Summary",
    "run_estimate",
]
