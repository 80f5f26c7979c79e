"""Which uncertain input drives the estimate: Sobol first- and total-order indices (SALib).

Each uncertain input of the per-query model — output length, input length, which model (when
pooled), utilisation, PUE, each lever's α, the surface's fit noise (``fit_noise``) — is one
dimension of a Saltelli/Sobol design on [0, 1]^d (SALib ``sample.sobol``, scrambled); a design
value q becomes the input's own quantile (its inverse CDF), which model is ⌊q·k⌋, fit noise is
σ_model·Φ⁻¹(q) added to ln E. Inputs that are fixed (a point, or u and PUE where the boundary
ladder omits them) carry no variance and are left out. E (Wh/query, the estimator's formula at
the parameters' boundary) is evaluated on the design and SALib's ``analyze.sobol`` returns S1
(the share of Var explained by the input alone) and ST (including its interactions), with
bootstrap 95 % confidence intervals, on log E (the multiplicative structure: shares of the spread
in orders of magnitude) and on E itself (dominated by the right tail).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tokenergy.estimate.distributions import Distribution, FloatArray, Point
from tokenergy.estimate.ladder import deployment_power, model_params
from tokenergy.estimate.montecarlo import MIN_LENGTH_TOKENS, load_fits, query_energy_wh
from tokenergy.estimate.params import EstimateParams
from tokenergy.estimate.surface import SurfaceFit

DEFAULT_BASE_SAMPLES = 8192  # N of the design (a power of 2); N·(d + 2) evaluations
_EDGE = 1e-12  # design values are kept inside (0, 1): quantile 0 or 1 of a lognormal is 0 or ∞


@dataclass(frozen=True)
class Index:
    """Sobol indices of one input."""

    name: str
    s1_log: float
    s1_log_conf: float
    st_log: float
    st_log_conf: float
    s1: float
    s1_conf: float
    st: float
    st_conf: float


@dataclass(frozen=True)
class Sensitivity:
    """Indices of every uncertain input for one model, or for the pooled models."""

    target: str
    indices: list[Index]
    evaluations: int

    def ranked(self, log: bool = True) -> list[Index]:
        """Inputs by total-order index, largest first."""
        return sorted(self.indices, key=lambda i: -(i.st_log if log else i.st))

    def to_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "evaluations": self.evaluations,
            "indices": [
                {
                    "input": i.name,
                    "log_e": {
                        "s1": i.s1_log,
                        "s1_conf": i.s1_log_conf,
                        "st": i.st_log,
                        "st_conf": i.st_log_conf,
                    },
                    "e": {"s1": i.s1, "s1_conf": i.s1_conf, "st": i.st, "st_conf": i.st_conf},
                }
                for i in self.ranked()
            ],
        }


@dataclass(frozen=True)
class SensitivityResult:
    rows: list[Sensitivity]
    base_samples: int
    seed: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": "Sobol (Saltelli design, SALib), first and total order, 95 % bootstrap CI",
            "base_samples": self.base_samples,
            "seed": self.seed,
            "rows": [row.to_dict() for row in self.rows],
        }


Transform = Callable[[FloatArray], FloatArray]


@dataclass(frozen=True)
class _Input:
    name: str
    ppf: Transform


def sensitivity(
    params: EstimateParams,
    fits: list[SurfaceFit] | None = None,
    base_samples: int = DEFAULT_BASE_SAMPLES,
    seed: int | None = None,
) -> SensitivityResult:
    """Sobol indices per model, and for the pooled models when ``params.pool`` and several.

    For ``tokenergy report``: ``sensitivity(EstimateParams(pool=True)).to_dict()`` or
    :func:`tokenergy.estimate.sensitivity_plot.plot_sensitivity`.
    """
    if base_samples < 2 or base_samples & (base_samples - 1):
        raise ValueError(f"base_samples must be a power of 2, got {base_samples}")
    if fits is None:
        fits = load_fits(params.table, params.models)
    seed = params.seed if seed is None else seed
    rows = [_analyse(fit.model, [fit], params, base_samples, seed) for fit in fits]
    if params.pool and len(fits) > 1:
        rows.append(_analyse("pooled", fits, params, base_samples, seed))
    return SensitivityResult(rows, base_samples, seed)


def _inputs(params: EstimateParams, fits: list[SurfaceFit]) -> list[_Input]:
    def ppf_of(dist: Distribution) -> Transform:
        return dist.ppf

    # the ladder fixes u (measured power) and PUE (below facility) at 1: then they are not inputs
    params = model_params(params, deployment_power(fits[0], params))

    candidates: list[tuple[str, Distribution]] = [
        ("output length", params.lout_distribution()),
        ("input length", params.lin),
        ("utilisation", params.util),
        ("PUE", params.pue),
        *[(f"lever {lever.name}", lever.alpha) for lever in params.levers],
    ]
    inputs = [_Input(name, ppf_of(dist)) for name, dist in candidates if not _fixed(dist)]
    if len(fits) > 1:
        count = len(fits)
        inputs.insert(2, _Input("model", lambda q: np.minimum(np.floor(q * count), count - 1)))
    if params.fit_noise and any(fit.noise_sigma for fit in fits):
        inputs.append(_Input("fit noise", _standard_normal))  # ln E += σ_model · Z
    return inputs


def _standard_normal(q: FloatArray) -> FloatArray:
    from scipy.special import ndtri

    return np.asarray(ndtri(q), dtype=np.float64)


def _fixed(dist: Distribution) -> bool:
    return isinstance(dist, Point)


def _analyse(
    target: str,
    fits: list[SurfaceFit],
    params: EstimateParams,
    base_samples: int,
    seed: int,
) -> Sensitivity:
    from SALib.analyze import sobol as sobol_analyze  # 3 s of scipy.stats: only when asked
    from SALib.sample import sobol as sobol_sample

    inputs = _inputs(params, fits)
    if not inputs:
        return Sensitivity(target, [], 0)
    names = [i.name for i in inputs]
    problem = {"num_vars": len(inputs), "names": names, "bounds": [[0.0, 1.0]] * len(inputs)}
    design = np.clip(
        sobol_sample.sample(problem, base_samples, calc_second_order=False, seed=seed),
        _EDGE,
        1.0 - _EDGE,
    )
    values = {i.name: i.ppf(design[:, k]) for k, i in enumerate(inputs)}
    energy_wh = _energy(values, fits, params, design.shape[0])
    on_log = sobol_analyze.analyze(
        problem, np.log(energy_wh), calc_second_order=False, seed=seed, print_to_console=False
    )
    on_e = sobol_analyze.analyze(
        problem, energy_wh, calc_second_order=False, seed=seed, print_to_console=False
    )
    indices = [
        Index(
            name=name,
            s1_log=float(on_log["S1"][k]),
            s1_log_conf=float(on_log["S1_conf"][k]),
            st_log=float(on_log["ST"][k]),
            st_log_conf=float(on_log["ST_conf"][k]),
            s1=float(on_e["S1"][k]),
            s1_conf=float(on_e["S1_conf"][k]),
            st=float(on_e["ST"][k]),
            st_conf=float(on_e["ST_conf"][k]),
        )
        for k, name in enumerate(names)
    ]
    return Sensitivity(target, indices, int(design.shape[0]))


def _energy(
    values: dict[str, FloatArray], fits: list[SurfaceFit], params: EstimateParams, n: int
) -> FloatArray:
    """E (Wh/query) of every design row, each row on the model its 'model' value picks."""

    def value(name: str, dist: Distribution) -> FloatArray:
        return values[name] if name in values else np.full(n, dist.mean)

    lout = np.maximum(value("output length", params.lout_distribution()), MIN_LENGTH_TOKENS)
    lin = np.maximum(value("input length", params.lin), MIN_LENGTH_TOKENS)
    util = value("utilisation", params.util)
    pue = value("PUE", params.pue)
    which = values.get("model", np.zeros(n)).astype(np.int64)
    energy = np.empty(n)
    noise = values.get("fit noise")
    for index, fit in enumerate(fits):
        rows = which == index
        node = deployment_power(fit, params)
        own = model_params(params, node)
        energy[rows] = query_energy_wh(
            fit,
            node,
            lin[rows],
            lout[rows],
            util[rows] if own.util is params.util else np.ones(int(rows.sum())),
            pue[rows] if own.pue is params.pue else np.ones(int(rows.sum())),
            params.correlate_power,
        )
        if noise is not None and fit.noise_sigma:
            energy[rows] *= np.exp(fit.noise_sigma * noise[rows])
    for lever in params.levers:
        energy /= value(f"lever {lever.name}", lever.alpha)
    return energy
