"""Efficiency levers: multipliers α that divide per-query energy (docs/methodology.md §6.4).

Each named lever is a lognormal α given by its P5–P95 range (Oviedo et al. 2025, arXiv 2509.20241):
better models/distillation [1.5, 10], serving (batching, caching, speculative decoding) [1.5, 5],
hardware generations [1.5, 2.5]. ``custom:P5,P95`` defines another. Several levers multiply.
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from tokenergy.errors import ConfigError
from tokenergy.estimate.distributions import FloatArray, LogNormal

NAMED_LEVERS: dict[str, tuple[float, float]] = {
    "model": (1.5, 10.0),
    "serving": (1.5, 5.0),
    "hardware": (1.5, 2.5),
}


class Lever(BaseModel):
    """One efficiency lever: a name and its lognormal α."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    alpha: LogNormal


def parse_lever(text: str) -> Lever:
    """``model``, ``serving``, ``hardware`` or ``custom:P5,P95`` (each α ≥ 1 means a saving)."""
    name = text.strip().lower()
    if name in NAMED_LEVERS:
        p5, p95 = NAMED_LEVERS[name]
        return Lever(name=name, alpha=LogNormal.from_p5_p95(p5, p95, name="levers"))
    if name.startswith("custom:"):
        parts = name.removeprefix("custom:").split(",")
        try:
            p5, p95 = (float(part) for part in parts)
        except ValueError:
            raise ConfigError(
                f"cannot parse {text!r}: write custom:P5,P95, e.g. custom:1.5,3", field="levers"
            ) from None
        return Lever(name=f"custom:{p5:g},{p95:g}", alpha=LogNormal.from_p5_p95(p5, p95, "levers"))
    raise ConfigError(
        f"unknown lever {text!r}; use {', '.join(NAMED_LEVERS)} or custom:P5,P95", field="levers"
    )


def sample_alpha(levers: list[Lever], rng: np.random.Generator, n: int) -> FloatArray | None:
    """Product of the levers' α draws; None without levers (no division needed)."""
    if not levers:
        return None
    alpha = levers[0].alpha.sample(rng, n)
    for lever in levers[1:]:
        alpha *= lever.alpha.sample(rng, n)
    return alpha
