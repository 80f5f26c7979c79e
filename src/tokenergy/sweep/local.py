"""The local executor: one configuration at a time on this machine, GPUs from the pool's start."""

from __future__ import annotations

from pathlib import Path

from tokenergy.errors import ConfigError
from tokenergy.store import Store
from tokenergy.sweep.hooks import SweepHooks
from tokenergy.sweep.outcome import ConfigOutcome
from tokenergy.sweep.runone import run_configuration
from tokenergy.sweep.spec import Configuration, SweepSpec


def run_locally(
    spec: SweepSpec,
    todo: list[tuple[int, Configuration]],
    total: int,
    out_dir: Path,
    store: Store | None,
    hooks: SweepHooks,
) -> dict[str, ConfigOutcome]:
    ran = {}
    for index, config in todo:
        needed = spec.gpus_needed(config)
        if needed > len(spec.gpu_pool) and spec.gpu_pool:
            raise ConfigError(
                f"{config.label} needs {needed} GPUs; the pool has {len(spec.gpu_pool)}",
                field="gpu_pool",
            )
        hooks.config_started(index, total, config)
        config_dir = out_dir / config.id
        outcome = run_configuration(spec, config, config_dir, spec.gpu_pool[:needed], store, hooks)
        ran[config.id] = outcome
        hooks.config_done(index, total, outcome, skipped=False)
    return ran
