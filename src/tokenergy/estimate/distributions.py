"""The input distributions of the estimator, each a small pydantic model with one parameterisation.

Every distribution samples with a caller-owned ``numpy.random.Generator`` (so runs are seeded and
reproducible) and serialises to JSON with a ``kind`` tag, so the full parameter set of a run can be
written next to its result. Parameterisations (docs/methodology.md §6.2):

- ``point``: always ``value``.
- ``uniform``: continuous on [``low``, ``high``].
- ``lognormal``: ln X ~ Normal(``mu``, ``sigma``). From (P5, P95): μ = (ln P5 + ln P95)/2,
  σ = (ln P95 − ln P5)/(2·z₀.₉₅) with z₀.₉₅ = 1.6449; from (median, P95): μ = ln median,
  σ = (ln P95 − μ)/z₀.₉₅.
- ``exponential``: given its ``median`` m; rate λ = ln 2 / m, mean = m / ln 2.
- ``empirical``: a list of observed values (drawn with replacement), or a histogram (a bin is
  chosen with probability ∝ its count, then a value uniformly within it).
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from tokenergy.errors import ConfigError

_STANDARD_NORMAL = NormalDist()
Z95 = _STANDARD_NORMAL.inv_cdf(0.95)  # 1.6448536…, the standard normal 95th percentile

FloatArray = NDArray[np.float64]


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Point(_Dist):
    """A fixed value (a 'distribution' with no spread)."""

    kind: Literal["point"] = "point"
    value: float

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return np.full(n, self.value)

    @property
    def mean(self) -> float:
        return self.value

    def quantile(self, q: float) -> float:
        return self.value

    def ppf(self, q: FloatArray) -> FloatArray:
        """Quantiles of an array of probabilities (the inverse CDF, for Sobol designs)."""
        return np.full(q.shape, self.value)

    def log_sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """ln of ``n`` draws, same stream as :meth:`sample` (the Monte Carlo's log space)."""
        return np.full(n, math.log(self.value) if self.value > 0 else -math.inf)


class Uniform(_Dist):
    """Continuous uniform on [low, high]."""

    kind: Literal["uniform"] = "uniform"
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low > self.high:
            raise ValueError(f"uniform low {self.low:g} > high {self.high:g}")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.uniform(self.low, self.high, n)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2.0

    def quantile(self, q: float) -> float:
        return self.low + q * (self.high - self.low)

    def ppf(self, q: FloatArray) -> FloatArray:
        return self.low + q * (self.high - self.low)

    def log_sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return _log(self.sample(rng, n))


class LogNormal(_Dist):
    """ln X ~ Normal(mu, sigma); build it with :meth:`from_p5_p95` or :meth:`from_median_p95`."""

    kind: Literal["lognormal"] = "lognormal"
    mu: float
    sigma: float = Field(ge=0)

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, data: Any) -> Any:
        """Accept our own JSON back: p5/median/p95 are dumped for readers, derived on load."""
        if isinstance(data, dict):
            return {k: v for k, v in data.items() if k not in ("p5", "median", "p95")}
        return data

    @classmethod
    def from_p5_p95(cls, p5: float, p95: float, name: str = "lognormal") -> LogNormal:
        _positive(p5, "P5", name)
        _positive(p95, "P95", name)
        if p5 > p95:
            raise ConfigError(f"P5 {p5:g} > P95 {p95:g}", field=name)
        return cls(
            mu=(math.log(p5) + math.log(p95)) / 2.0,
            sigma=(math.log(p95) - math.log(p5)) / (2.0 * Z95),
        )

    @classmethod
    def from_median_p95(cls, median: float, p95: float, name: str = "lognormal") -> LogNormal:
        _positive(median, "median", name)
        _positive(p95, "P95", name)
        if median > p95:
            raise ConfigError(f"median {median:g} > P95 {p95:g}", field=name)
        mu = math.log(median)
        return cls(mu=mu, sigma=(math.log(p95) - mu) / Z95)

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.lognormal(self.mu, self.sigma, n)

    def log_sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        """μ + σ·Z: numpy's lognormal is exp of exactly this normal, so the stream is the same."""
        draws = rng.standard_normal(n)
        draws *= self.sigma
        draws += self.mu
        return draws

    @computed_field  # type: ignore[prop-decorator]
    @property
    def p5(self) -> float:
        return self.quantile(0.05)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def median(self) -> float:
        return math.exp(self.mu)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def p95(self) -> float:
        return self.quantile(0.95)

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2.0)

    def quantile(self, q: float) -> float:
        return math.exp(self.mu + self.sigma * _STANDARD_NORMAL.inv_cdf(q))

    def ppf(self, q: FloatArray) -> FloatArray:
        from scipy.special import ndtri  # 0.2 s of import: only Sobol designs need it

        return np.exp(self.mu + self.sigma * np.asarray(ndtri(q), dtype=np.float64))


class Exponential(_Dist):
    """Exponential given its median m: rate ln2/m, mean m/ln2.

    Output lengths; see docs/methodology.md §6.2.
    """

    kind: Literal["exponential"] = "exponential"
    median: float = Field(gt=0)

    @classmethod
    def from_median(cls, median: float, name: str = "exponential") -> Exponential:
        _positive(median, "median", name)
        return cls(median=median)

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return rng.exponential(self.mean, n)

    @property
    def mean(self) -> float:
        return self.median / math.log(2.0)

    def quantile(self, q: float) -> float:
        return -self.mean * math.log1p(-q)

    def ppf(self, q: FloatArray) -> FloatArray:
        return -self.mean * np.log1p(-q)

    def log_sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return _log(self.sample(rng, n))


class Empirical(_Dist):
    """Observed values (resampled with replacement) or a histogram (bins + counts)."""

    kind: Literal["empirical"] = "empirical"
    values: list[float] | None = None
    bins: list[float] | None = None
    counts: list[float] | None = None
    source: str | None = Field(default=None, description="file the data came from")

    @model_validator(mode="after")
    def _one_form(self) -> Empirical:
        where = self.source or "empirical distribution"
        if self.values is not None:
            if self.bins is not None or self.counts is not None:
                raise ValueError("give values or a histogram (bins + counts), not both")
            if not self.values:
                raise ValueError(f"{where}: no values")
            return self
        if self.bins is None or self.counts is None:
            raise ValueError("give values, or bins and counts")
        if len(self.bins) != len(self.counts) + 1:
            raise ValueError(f"{where}: histogram needs len(bins) == len(counts) + 1")
        if any(b > a for a, b in zip(self.bins[1:], self.bins[:-1], strict=True)):
            raise ValueError(f"{where}: histogram bins must be increasing")
        if any(c < 0 for c in self.counts) or sum(self.counts) <= 0:
            raise ValueError(f"{where}: histogram counts must be >= 0 with a positive total")
        return self

    def sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        if self.values is not None:
            return rng.choice(np.asarray(self.values, dtype=np.float64), n)
        assert self.bins is not None and self.counts is not None
        bins = np.asarray(self.bins, dtype=np.float64)
        weights = np.asarray(self.counts, dtype=np.float64)
        chosen = rng.choice(len(weights), n, p=weights / weights.sum())
        return bins[chosen] + rng.random(n) * (bins[chosen + 1] - bins[chosen])

    @property
    def mean(self) -> float:
        if self.values is not None:
            return float(np.mean(self.values))
        assert self.bins is not None and self.counts is not None
        bins = np.asarray(self.bins)
        centres = (bins[1:] + bins[:-1]) / 2.0
        return float(np.average(centres, weights=np.asarray(self.counts)))

    def quantile(self, q: float) -> float:
        """Sample quantile of the values; for a histogram, linear within the bin."""
        if self.values is not None:
            return float(np.quantile(self.values, q))
        assert self.bins is not None and self.counts is not None
        cumulative = np.concatenate([[0.0], np.cumsum(self.counts)])
        return float(np.interp(q * cumulative[-1], cumulative, self.bins))

    def log_sample(self, rng: np.random.Generator, n: int) -> FloatArray:
        return _log(self.sample(rng, n))

    def ppf(self, q: FloatArray) -> FloatArray:
        """Inverse CDF: of the resampled values (a step function), or linear within a bin."""
        if self.values is not None:
            ordered = np.sort(np.asarray(self.values, dtype=np.float64))
            index = np.minimum((q * ordered.size).astype(np.int64), ordered.size - 1)
            return ordered[index]
        assert self.bins is not None and self.counts is not None
        cumulative = np.concatenate([[0.0], np.cumsum(self.counts)])
        bins = np.asarray(self.bins, dtype=np.float64)
        return np.asarray(np.interp(q * cumulative[-1], cumulative, bins), dtype=np.float64)


Distribution = Annotated[
    Point | Uniform | LogNormal | Exponential | Empirical, Field(discriminator="kind")
]


def _log(values: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore"):  # a zero draw is ln 0 = −∞, which bins as underflow
        return np.log(values, out=values)


def _positive(value: float, what: str, field: str) -> None:
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{what} must be a positive number, got {value:g}", field=field)
