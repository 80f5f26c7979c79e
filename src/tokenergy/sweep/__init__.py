"""Sweeps over server configurations: launch, measure and tear down one server per configuration,
locally or on a Ray cluster, and pick the least-energy configuration under a latency SLO."""

from tokenergy.sweep.driver import Executor, SweepResult, sweep
from tokenergy.sweep.hooks import SweepHooks
from tokenergy.sweep.outcome import ConfigOutcome, Status
from tokenergy.sweep.spec import Configuration, SweepSpec, load_spec, parse_spec

__all__ = [
    "ConfigOutcome",
    "Configuration",
    "Executor",
    "Status",
    "SweepHooks",
    "SweepResult",
    "SweepSpec",
    "load_spec",
    "parse_spec",
    "sweep",
]
