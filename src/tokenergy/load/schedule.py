"""Arrival schedules, computed before the run from a seed and kept apart from the sender.

A schedule is a deterministic sequence: the same seed gives the same lengths and arrival times,
so runs are reproducible and ``--workers`` processes can each take a slice of one schedule.
Closed loop: requests have no target time; a slot sends the next one when its previous request
ends. Open loop: target times from a Poisson (gamma shape 1) or gamma process.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from tokenergy.errors import ConfigError
from tokenergy.load.workload import LengthSpec

_BLOCK = 1024  # requests drawn at a time when the stop is a duration (no known count)
# One connection per request in flight, and one client address has at most 65,535 ports to
# one server: above that a concurrency is a typo (and would only grow memory).
MAX_CONCURRENCY = 65_535


@dataclass(frozen=True, slots=True)
class ScheduledRequest:
    """One request of the plan. ``target_s`` is relative to the run start; None = closed loop."""

    index: int
    isl: int
    osl: int
    warmup: bool
    target_s: float | None


@dataclass(frozen=True)
class LoadShape:
    """How requests arrive and when the run stops.

    ``rate_rps`` None = closed loop with ``concurrency`` slots; otherwise open loop at that mean
    rate, with ``concurrency`` (if set) as a cap on requests in flight. ``burstiness`` is the gamma
    shape: 1 = Poisson, < 1 burstier, > 1 more regular (as in ``vllm bench serve``).
    Stop after ``num_prompts`` measured requests, or after ``duration_s`` seconds, or both.
    """

    concurrency: int | None
    rate_rps: float | None = None
    burstiness: float = 1.0
    num_prompts: int | None = None
    duration_s: float | None = None
    warmup: int = 0

    def __post_init__(self) -> None:
        if self.rate_rps is None and self.concurrency is None:
            raise ConfigError("give a concurrency or a request rate", field="concurrency")
        if self.concurrency is not None and not 1 <= self.concurrency <= MAX_CONCURRENCY:
            raise ConfigError(
                f"must be in [1, {MAX_CONCURRENCY}], got {self.concurrency}", field="concurrency"
            )
        if self.rate_rps is not None and not self.rate_rps > 0:
            raise ConfigError("request rate must be > 0", field="rate_rps")
        if not self.burstiness > 0:
            raise ConfigError("burstiness must be > 0", field="burstiness")
        if self.num_prompts is None and self.duration_s is None:
            raise ConfigError("give a number of prompts or a duration", field="num_prompts")
        if self.num_prompts is not None and self.num_prompts < 1:
            raise ConfigError("must be >= 1", field="num_prompts")
        if self.duration_s is not None and not self.duration_s > 0:
            raise ConfigError("duration must be > 0", field="duration_s")
        if self.warmup < 0:
            raise ConfigError("warmup must be >= 0", field="warmup")

    @property
    def closed_loop(self) -> bool:
        return self.rate_rps is None


class Schedule:
    """The request plan: lengths and (open loop) arrival times, reproducible from ``seed``.

    Warm-up requests come first and are sent immediately (no target time); measured targets start
    at 0 s when the warm-up is done. Iteration is lazy but deterministic, so a duration-limited
    plan does not need a count up front.
    """

    def __init__(self, shape: LoadShape, lengths: LengthSpec, seed: int) -> None:
        self.shape = shape
        self.lengths = lengths
        self.seed = seed

    def __iter__(self) -> Iterator[ScheduledRequest]:
        return self.requests()

    def requests(self, worker: int = 0, workers: int = 1) -> Iterator[ScheduledRequest]:
        """The plan, or the slice ``index % workers == worker`` of it."""
        rng_len = np.random.default_rng([self.seed, 1])
        rng_gap = np.random.default_rng([self.seed, 2])
        shape = self.shape
        total = None if shape.num_prompts is None else shape.warmup + shape.num_prompts
        index, clock_s = 0, 0.0
        while total is None or index < total:
            size = _BLOCK if total is None else min(_BLOCK, total - index)
            isl, osl = self.lengths.sample(rng_len, size)
            gaps = self._gaps(rng_gap, size)
            for k in range(size):
                warm = index < shape.warmup
                target = None
                if not warm and shape.rate_rps is not None:
                    target = clock_s
                    clock_s += float(gaps[k])
                    if shape.duration_s is not None and target >= shape.duration_s:
                        return
                if index % workers == worker:
                    yield ScheduledRequest(index, int(isl[k]), int(osl[k]), warm, target)
                index += 1

    def _gaps(self, rng: np.random.Generator, size: int) -> np.ndarray:
        rate = self.shape.rate_rps
        if rate is None:
            return np.zeros(size)
        k = self.shape.burstiness
        return rng.gamma(shape=k, scale=1.0 / (rate * k), size=size)


def parse_concurrency_list(text: str) -> list[int]:
    """'1,8,64' → [1, 8, 64] (a sweep); every value must be a positive integer."""
    values: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) < 1:
            raise ConfigError(f"not a positive integer: {part!r}", field="concurrency")
        if int(part) > MAX_CONCURRENCY:
            raise ConfigError(
                f"{part} is above the maximum concurrency {MAX_CONCURRENCY}", field="concurrency"
            )
        values.append(int(part))
    return values
