"""Parameter sets of the estimator and the fleet projection, with every default in one place.

They are pydantic models so that a run's full parameter set is validated on the way in and written
out verbatim with its result (``--json``). Defaults and their sources: docs/methodology.md §6.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tokenergy.catalog import DEFAULT_THROUGHPUT_TABLE, catalog_path
from tokenergy.errors import ConfigError
from tokenergy.estimate.distributions import Distribution, Exponential, LogNormal, Point
from tokenergy.estimate.levers import Lever
from tokenergy.records import RateBasis
from tokenergy.units import Boundary

P_MAX_8GPU_W = 11_300.0  # 8×H100 node at full draw
P_MAX_10GPU_W = 14_100.0  # the 10×H100 node of the DeepSeek-R1 rows
P_IDLE_8GPU_W = 2_700.0  # idle draw of the same 8-GPU node
DEFAULT_LIN_TOKENS = 500.0
UTIL_P5_P95 = (0.4, 0.9)
PUE_P5_P95 = (1.05, 1.40)
DEFAULT_SAMPLES = 1_000_000


def p5_p95(name: Literal["util", "pue"], p5: float, p95: float) -> Distribution:
    """The ``util`` or ``pue`` parameter from its P5 and P95: log-normal, a point when equal.

    A utilisation is a fraction of P_max (P95 <= 1); a PUE is at least 1 (docs/methodology.md §6.1).
    Errors name ``name``.
    """
    if p5 > p95:
        raise ConfigError(f"P5 {p5:g} > P95 {p95:g}", field=name)
    spread = LogNormal.from_p5_p95(p5, p95, name)  # positivity checks even for a point
    if name == "util" and p95 > 1:
        raise ConfigError(f"utilisation is a fraction of P_max, P95 {p95:g} > 1", field=name)
    if name == "pue" and p5 < 1:
        raise ConfigError(f"a PUE is at least 1, P5 {p5:g} < 1", field=name)
    return Point(value=p5) if p5 == p95 else spread


class Regime(StrEnum):
    """Output-length regimes: median output tokens of a query."""

    TRADITIONAL = "traditional"
    TEST_TIME = "test-time"

    @property
    def lout_median(self) -> float:
        return 300.0 if self is Regime.TRADITIONAL else 5000.0


class Leff(StrEnum):
    """Tokens a query is charged for: its output or input + output.

    It is fixed by the surface's rate basis (output rate ↔ output tokens, total rate ↔ input +
    output tokens); stating it only asserts which one you expect.
    """

    OUT = "out"
    IN_OUT = "in+out"

    @property
    def rate(self) -> RateBasis:
        return RateBasis.OUTPUT if self is Leff.OUT else RateBasis.TOTAL


def default_pmax_w(gpus: int) -> float:
    """Full-draw node power by the node's GPU count (the throughput table's ``tp`` column).

    8 GPUs → 11.3 kW, 10 GPUs → 14.1 kW; other sizes scale 11.3 kW per 8 GPUs.
    """
    if gpus == 10:
        return P_MAX_10GPU_W
    return P_MAX_8GPU_W * gpus / 8.0


def default_p_idle_w(pmax_w: float) -> float:
    """Idle node power: the 8-GPU ratio 2.7/11.3 kW applied to the node's P_max."""
    return P_IDLE_8GPU_W * pmax_w / P_MAX_8GPU_W


class _Params(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    models: list[str] = Field(default_factory=list, description="empty: every model of the table")
    table: str = Field(default_factory=lambda: str(catalog_path(DEFAULT_THROUGHPUT_TABLE)))
    lin: Distribution = Field(default_factory=lambda: Point(value=DEFAULT_LIN_TOKENS))
    leff: Leff | None = Field(
        default=None, description="None: by the table's rate basis; else must agree with it"
    )
    pmax_w: float | None = Field(default=None, gt=0, description="None: by the node's GPU count")
    p_idle_w: float | None = Field(default=None, ge=0, description="None: 2.7/11.3 of P_max")
    util: Distribution = Field(default_factory=lambda: LogNormal.from_p5_p95(*UTIL_P5_P95))
    pue: Distribution = Field(default_factory=lambda: LogNormal.from_p5_p95(*PUE_P5_P95))
    levers: list[Lever] = Field(default_factory=list)
    correlate_power: bool = Field(
        default=False,
        description="node power rises linearly from idle to u·P_max with TPS/TPS_max",
    )
    boundary: Boundary = Field(
        default=Boundary.FACILITY, description="accelerator, node or facility (estimate/ladder.py)"
    )
    gpu: str | None = Field(default=None, description="GPU model for its TDP; None: the table's")
    power_per_gpu_w: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    host_overhead: float | None = Field(
        default=None, ge=0, allow_inf_nan=False, description="node = accelerator × (1 + this)"
    )
    batch: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="operating batch of calibrated surfaces; None: the largest measured",
    )
    fit_noise: bool = Field(
        default=False, description="draw the surface's own log residual error per query"
    )
    seed: int = Field(default=0, ge=0)


class EstimateParams(_Params):
    """Per-query Monte Carlo: E[Wh] = PUE · u·P_max · L_eff / TPS(L_in, L_out) / 3600."""

    regime: Regime = Regime.TRADITIONAL
    lout: Distribution | None = Field(
        default=None, description="None: exponential with the regime's median"
    )
    samples: int = Field(default=DEFAULT_SAMPLES, ge=1)
    pool: bool = False

    def lout_distribution(self) -> Distribution:
        return self.lout if self.lout is not None else Exponential(median=self.regime.lout_median)


class FleetParams(_Params):
    """Daily fleet energy: queries/day × mean E_query × β, with two-level uncertainty."""

    queries_per_day: float = Field(ge=1, allow_inf_nan=False)
    mix: dict[Regime, float] = Field(
        default_factory=lambda: {Regime.TRADITIONAL: 0.9, Regime.TEST_TIME: 0.1}
    )
    min_load: float = Field(default=0.5, gt=0, le=1)
    max_load: float = Field(default=1.0, gt=0, le=1)
    redundancy: float = Field(default=1.10, ge=1, allow_inf_nan=False)
    network: float = Field(default=1.12, ge=1, allow_inf_nan=False)
    beta: float | None = Field(
        default=None, gt=0, allow_inf_nan=False, description="given directly: no load profile"
    )
    scenarios: int = Field(default=10_000, ge=1)
    length_samples: int = Field(
        default=DEFAULT_SAMPLES, ge=2, description="per-query length draws behind each model's mean"
    )

    @model_validator(mode="after")
    def _consistent(self) -> FleetParams:
        if self.min_load > self.max_load:
            raise ConfigError(
                f"min load {self.min_load:g} > max load {self.max_load:g}", field="min_load"
            )
        if any(share < 0 for share in self.mix.values()) or sum(self.mix.values()) <= 0:
            raise ConfigError("shares must be >= 0 with a positive total", field="mix")
        if self.beta is not None:  # a default is not a choice: a dumped FleetParams reloads
            profile = ("p_idle_w", "min_load", "max_load", "redundancy", "network")
            fields = type(self).model_fields
            given = [name for name in profile if getattr(self, name) != fields[name].default]
            if given:
                raise ConfigError(f"beta replaces {', '.join(given)}; give one or the other")
        return self

    def mix_weights(self) -> dict[Regime, float]:
        """Shares normalised to 1."""
        total = sum(self.mix.values())
        return {regime: share / total for regime, share in self.mix.items() if share > 0}
