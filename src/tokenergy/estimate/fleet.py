"""Fleet projection: GWh/day = queries/day × mean E_query × β, two-level uncertainty.

See docs/methodology.md §6.5.

β = β_util × redundancy × network, β_util = (P_idle + P_dyn·f̄)/(f̄·P_max) with P_dyn = P_max − P_idle
and f̄ the mean of the diurnal load profile (a sinusoid between min and max load).

Two levels: per *scenario* one draw each of the node utilisation u, PUE and the levers' α — they are
properties of the fleet, common to all its queries (and to all models); per *query* the lengths
vary. Since E_query = PUE/α · (terms linear in u) · g(L), the scenario's mean over Q queries needs
only the means of X = L_eff/TPS(L) and Y = L_eff over the per-query length draws: the day's sample
mean of (X, Y) is drawn per scenario from its central-limit normal (covariance / Q).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tokenergy import calculator, catalog, units
from tokenergy.errors import ConfigError
from tokenergy.estimate.distributions import Exponential, FloatArray
from tokenergy.estimate.ladder import NodePower, deployment_power
from tokenergy.estimate.levers import sample_alpha
from tokenergy.estimate.montecarlo import (
    check_leff,
    draw_lengths,
    fit_dict,
    load_fits,
    rng_for,
)
from tokenergy.estimate.params import FleetParams, Regime
from tokenergy.estimate.surface import SurfaceFit
from tokenergy.progress import ProgressCallback, Tally
from tokenergy.units import Basis, Boundary

HOURS_PER_DAY = 24.0
PROFILE_STEPS = 24 * 60  # one load value per minute of the day
_SCENARIO_STREAM = 0xF1EE7  # keeps the scenario-level generator apart from the per-model ones
SEARCH_KEY = "google_search_2009"
LENGTH_CHUNK_DRAWS = 1_000_000  # per-query length draws are streamed in chunks of this size


def diurnal_load(hours: FloatArray, min_load: float, max_load: float) -> FloatArray:
    """Load fraction over the day: a sinusoid between min_load and max_load (period 24 h)."""
    middle, swing = (min_load + max_load) / 2.0, (max_load - min_load) / 2.0
    return middle + swing * np.sin(2.0 * math.pi * hours / HOURS_PER_DAY)


def mean_load(min_load: float, max_load: float) -> float:
    """f̄: the profile averaged over one day (closed form: (min + max)/2 for a full period)."""
    hours = np.arange(PROFILE_STEPS) * HOURS_PER_DAY / PROFILE_STEPS
    return float(np.mean(diurnal_load(hours, min_load, max_load)))


def beta_util(p_idle_w: float, pmax_w: float, load: float) -> float:
    """(P_idle + P_dyn·f̄)/(f̄·P_max): energy per unit of work relative to a node always at f̄ = 1."""
    return (p_idle_w + (pmax_w - p_idle_w) * load) / (load * pmax_w)


EXACT_BELOW_QUERIES = 1000  # queries/day below which each query is drawn (see daily_query_means)


@dataclass(frozen=True)
class Beta:
    """The facility → fleet multiplier and the terms it came from (None when given directly)."""

    value: float
    beta_util: float | None
    redundancy: float | None
    network: float | None
    mean_load: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "beta_util": self.beta_util,
            "redundancy": self.redundancy,
            "network": self.network,
            "mean_load": self.mean_load,
            "given": self.beta_util is None,
        }


def fleet_beta(params: FleetParams, node: NodePower) -> Beta:
    if params.beta is not None:
        return Beta(params.beta, None, None, None, None)
    load = mean_load(params.min_load, params.max_load)
    util = beta_util(node.p_idle_w, node.pmax_w, load)
    return Beta(
        util * params.redundancy * params.network, util, params.redundancy, params.network, load
    )


@dataclass(frozen=True)
class LengthMoments:
    """Mean and covariance of X = L_eff/TPS (s) and Y = L_eff (tokens) over per-query draws."""

    mean: FloatArray  # shape (2,)
    cov: FloatArray  # shape (2, 2)
    draws: int


def draw_xy(fit: SurfaceFit, params: FleetParams, rng: np.random.Generator, n: int) -> FloatArray:
    """``n`` per-query draws of (X, Y) from the regime mix, shape (2, n)."""
    weights = params.mix_weights()
    regimes = list(weights)
    counts = rng.multinomial(n, np.array([weights[r] for r in regimes]))
    columns = []
    for regime, count in zip(regimes, counts, strict=True):
        lout = Exponential(median=Regime(regime).lout_median)
        lin_tokens, lout_tokens = draw_lengths(params.lin, lout, rng, int(count))
        tokens = fit.charged_tokens(lin_tokens, lout_tokens)
        columns.append(np.stack([tokens / fit.tps(lin_tokens, lout_tokens), tokens]))
    return np.concatenate(columns, axis=1)


DrawsDone = Callable[[int], None]  # told the draws of each chunk as it is folded in


def _ignore(draws: int) -> None:
    """The default :data:`DrawsDone`: nobody asked how far the draws are."""


def length_moments(
    fit: SurfaceFit, params: FleetParams, progress: DrawsDone = _ignore
) -> LengthMoments:
    """Stream per-query length draws from the regime mix into the moments of (X, Y)."""
    rng = rng_for(params.seed, fit.model)
    sums = np.zeros(2)
    products = np.zeros((2, 2))
    remaining = params.length_samples
    while remaining > 0:
        n = min(LENGTH_CHUNK_DRAWS, remaining)
        xy = draw_xy(fit, params, rng, n)
        sums += xy.sum(axis=1)
        products += xy @ xy.T
        remaining -= n
        progress(n)
    draws = params.length_samples
    mean = sums / draws
    cov = (products - draws * np.outer(mean, mean)) / (draws - 1)
    return LengthMoments(mean, cov, draws)


@dataclass(frozen=True)
class ScenarioDraws:
    util: FloatArray
    pue: FloatArray
    alpha: FloatArray | None


def draw_scenarios(params: FleetParams) -> ScenarioDraws:
    rng = np.random.default_rng([params.seed, _SCENARIO_STREAM])
    n = params.scenarios
    util = params.util.sample(rng, n)
    pue = params.pue.sample(rng, n)
    return ScenarioDraws(util, pue, sample_alpha(params.levers, rng, n))


def query_draws(params: FleetParams) -> int:
    """Per-query length draws :func:`daily_query_means` makes for one model (for progress)."""
    if params.queries_per_day < EXACT_BELOW_QUERIES:
        return round(params.queries_per_day) * params.scenarios
    return params.length_samples


def daily_query_means(
    fit: SurfaceFit,
    params: FleetParams,
    rng: np.random.Generator,
    progress: DrawsDone = _ignore,
) -> FloatArray:
    """Per-scenario day means of (X, Y) over the day's queries, shape (scenarios, 2).

    Below EXACT_BELOW_QUERIES queries a day the day's queries are drawn one by one (exact, and
    never negative); above it the central limit theorem holds well enough to draw the day mean
    from N(mean, cov/queries), which costs nothing at 10⁹ queries a day.
    """
    queries = params.queries_per_day
    if queries < EXACT_BELOW_QUERIES:
        per_day = round(queries)
        days = []
        for _ in range(params.scenarios):
            days.append(draw_xy(fit, params, rng, per_day).mean(axis=1))
            progress(per_day)
        return np.asarray(days)
    moments = length_moments(fit, params, progress)
    means: FloatArray = np.asarray(
        rng.multivariate_normal(
            moments.mean, moments.cov / queries, params.scenarios, method="eigh"
        )
    )
    # with the built-in regimes the mean sits > 10 standard errors above zero at the threshold;
    # a non-positive day mean would mean the approximation broke, which must not pass silently
    if np.any(means <= 0):
        raise ConfigError(
            f"{fit.model}: the normal approximation of the day mean drew a non-positive value at "
            f"{queries:g} queries/day (lengths too skewed for it)",
            field="queries_per_day",
        )
    return means


def quantiles(values: FloatArray) -> dict[str, float]:
    q5, q25, q50, q75, q95 = np.quantile(values, [0.05, 0.25, 0.5, 0.75, 0.95])
    return {
        "median": float(q50),
        "q1": float(q25),
        "q3": float(q75),
        "p5": float(q5),
        "p95": float(q95),
        "mean": float(np.mean(values)),
    }


def daily_totals(gwh_per_day: FloatArray) -> dict[str, float]:
    """The two headline figures, named: the paper's and the scenario median.

    ``mean_x_beta_gwh_per_day`` is queries/day × mean E_query × β (Oviedo et al.'s figure: the
    mean over scenarios, since the total is linear in each scenario's E_query);
    ``scenario_median_gwh_per_day`` is the median day over scenarios of u, PUE and α. The mean
    exceeds the median because E_query is right-skewed (lognormal u and PUE).
    """
    return {
        "mean_x_beta_gwh_per_day": float(np.mean(gwh_per_day)),
        "scenario_median_gwh_per_day": float(np.median(gwh_per_day)),
    }


@dataclass(frozen=True)
class FleetModel:
    """One model serving all the fleet's queries: scenario draws of GWh/day and what shaped them."""

    model: str
    fit: SurfaceFit | None  # None for the pooled row
    node: NodePower | None
    beta: Beta | None
    gwh_per_day: FloatArray  # one value per scenario, fleet boundary
    improved_gwh_per_day: FloatArray | None
    facility_gwh_per_day: FloatArray  # the same before β (facility boundary)


@dataclass(frozen=True)
class FleetResult:
    params: FleetParams
    models: list[FleetModel]
    pooled: FleetModel | None
    boundary: Boundary = Boundary.FLEET
    basis: Basis = Basis.MODELED

    @property
    def beta(self) -> float:
        """The β applied: common to all models, else the effective β of the pooled total."""
        values = {m.beta.value for m in self.models if m.beta is not None}
        if len(values) == 1:
            return values.pop()
        total = np.mean([np.mean(m.gwh_per_day) for m in self.models])
        facility = np.mean([np.mean(m.facility_gwh_per_day) for m in self.models])
        return float(total / facility)

    def comparisons(self, row: FleetModel) -> dict[str, float]:
        """Median GWh/day as a continuous power, a data centre at the mean load, per-query Wh."""
        median_gwh = float(np.median(row.gwh_per_day))
        continuous_mw = median_gwh * 1e3 / HOURS_PER_DAY
        load = mean_load(self.params.min_load, self.params.max_load)
        wh_per_query = median_gwh * 1e9 / self.params.queries_per_day
        search = next(e for e in catalog.equivalents() if e.key == SEARCH_KEY)
        return {
            "continuous_mw": continuous_mw,
            "data_centre_mw": continuous_mw / load,
            "data_centre_load": load,
            "wh_per_query": wh_per_query,
            "web_searches_per_query": catalog.express(wh_per_query, search),
            "web_search_wh": search.value,
        }

    def row_dict(self, row: FleetModel) -> dict[str, Any]:
        out: dict[str, Any] = {
            "model": row.model,
            "daily_total": daily_totals(row.gwh_per_day),
            "gwh_per_day": quantiles(row.gwh_per_day),
            "facility_gwh_per_day": quantiles(row.facility_gwh_per_day),
            "comparisons": self.comparisons(row),
            "equivalents_per_query": calculator.equivalents_of(
                self.comparisons(row)["wh_per_query"]
            ),
            "scenarios": int(row.gwh_per_day.size),
            "seed": self.params.seed,
        }
        if row.improved_gwh_per_day is not None:
            out["improved_gwh_per_day"] = quantiles(row.improved_gwh_per_day)
        if row.beta is not None:
            out["beta"] = row.beta.value
            out["beta_terms"] = row.beta.to_dict()
        if row.node is not None and row.fit is not None:
            out["pmax_w"] = row.node.pmax_w
            out["p_idle_w"] = row.node.p_idle_w
            out["power"] = row.node.to_dict()
            out["node_gpus"] = row.fit.gpus
            out["fit"] = fit_dict(row.fit)
        return out

    def to_dict(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "boundary": self.boundary.value,
            "power_boundary": self.params.boundary.value,
            "basis": self.basis.value,
            "unit": "GWh/day",
            "queries_per_day": self.params.queries_per_day,
            "beta": self.beta,
            "models": [self.row_dict(row) for row in self.models],
            "params": self.params.model_dump(mode="json"),
        }
        if self.pooled is not None:
            payload["pooled"] = self.row_dict(self.pooled)
        return payload


def run_fleet(
    params: FleetParams,
    fits: list[SurfaceFit] | None = None,
    progress: ProgressCallback | None = None,
) -> FleetResult:
    """Scenario distribution of GWh/day per model (and pooled, equal shares, for several models).

    ``progress`` is told the per-query length draws done of the total, chunk by chunk.
    """
    if fits is None:
        fits = load_fits(params.table, params.models, params.batch)
    check_leff(fits, params.leff)
    scenarios = draw_scenarios(params)
    draws = Tally(progress, query_draws(params) * len(fits), "draws")
    rows = [_fleet_model(fit, params, scenarios, draws.add) for fit in fits]
    pooled = None
    if len(rows) > 1:
        improved = [r.improved_gwh_per_day for r in rows]
        pooled = FleetModel(
            model="pooled",
            fit=None,
            node=None,
            beta=None,
            gwh_per_day=np.mean([r.gwh_per_day for r in rows], axis=0),
            improved_gwh_per_day=(
                None
                if any(i is None for i in improved)
                else np.mean(np.stack([i for i in improved if i is not None]), axis=0)
            ),
            facility_gwh_per_day=np.mean([r.facility_gwh_per_day for r in rows], axis=0),
        )
    return FleetResult(params, rows, pooled)


def _fleet_model(
    fit: SurfaceFit, params: FleetParams, scenarios: ScenarioDraws, progress: DrawsDone
) -> FleetModel:
    node = deployment_power(fit, params)
    beta = fleet_beta(params, node)
    noise_rng = rng_for(params.seed + 1, fit.model)
    day = daily_query_means(fit, params, noise_rng, progress)
    seconds, tokens = day[:, 0], day[:, 1]  # Σ L_eff/TPS and Σ L_eff, per query, per scenario
    util = scenarios.util if node.applies_util else np.ones_like(scenarios.util)
    full_w = util * node.pmax_w
    if params.correlate_power:
        energy_j = node.p_idle_w * seconds + np.maximum(full_w - node.p_idle_w, 0.0) * (
            tokens / fit.cap_tps
        )
    else:
        energy_j = full_w * seconds
    pue = scenarios.pue if node.applies_pue else 1.0  # PUE only at the facility boundary
    query_wh = pue * energy_j / units.J_PER_WH
    facility_gwh = params.queries_per_day * query_wh / 1e9
    fleet_gwh = facility_gwh * beta.value
    improved = None if scenarios.alpha is None else fleet_gwh / scenarios.alpha
    return FleetModel(fit.model, fit, node, beta, fleet_gwh, improved, facility_gwh)
