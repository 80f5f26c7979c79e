"""The Ray executor: each configuration is a Ray task holding the GPUs it needs.

A task runs server, client and meters on the node that has the resources, into a directory on that
node, and returns the directory's files; the driver writes them under ``out_dir`` and adds the
points to the store (a cluster's nodes need not share a filesystem). A task or node failure is that
configuration's outcome (``node_lost`` / ``task_failed``); the sweep goes on. Ray is an optional
extra (``pip install 'tokenergy[ray]'``), imported only here.

Resources: ``num_gpus`` = the configuration's GPU count (Ray sets CUDA_VISIBLE_DEVICES in the
task), or, with ``resource``, that many units of a custom resource (how tests fake GPUs).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from tokenergy.errors import ConfigError
from tokenergy.store import Store
from tokenergy.sweep.hooks import SweepHooks
from tokenergy.sweep.outcome import ConfigOutcome, Status, write_outcome
from tokenergy.sweep.spec import Configuration, SweepSpec

RESOURCE_ENV = "TOKENERGY_RAY_RESOURCE"  # a custom resource name to request instead of GPUs


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            "the ray executor needs Ray: pip install 'tokenergy[ray]'", field="executor"
        ) from None
    return ray


def _run_task(spec_json: str, params: dict[str, Any], pool_gpus: list[int]) -> dict[str, Any]:
    """Inside the task: run the configuration in a node-local directory, return its files."""
    import ray

    from tokenergy.sweep.runone import run_configuration

    spec = SweepSpec.model_validate_json(spec_json)
    config = Configuration(params)
    gpus = [int(g) for g in ray.get_gpu_ids()] or pool_gpus
    work = Path(tempfile.mkdtemp(prefix="tokenergy-sweep-"))
    try:
        outcome = run_configuration(spec, config, work / config.id, gpus)
        outcome.node = ray.get_runtime_context().get_node_id()
        files = {
            str(path.relative_to(work / config.id)): path.read_bytes()
            for path in sorted((work / config.id).rglob("*"))
            if path.is_file()
        }
        return {"outcome": outcome.to_dict(), "files": files}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_on_ray(
    spec: SweepSpec,
    todo: list[tuple[int, Configuration]],
    total: int,
    out_dir: Path,
    store: Store | None,
    address: str | None,
    hooks: SweepHooks,
) -> dict[str, ConfigOutcome]:
    ray = _import_ray()
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    resource = os.environ.get(RESOURCE_ENV)
    try:
        pending: dict[Any, tuple[int, Configuration]] = {}
        for index, config in todo:
            needed = spec.gpus_needed(config)
            options: dict[str, Any] = {"num_cpus": 1, "max_retries": 0}
            if resource:
                options["resources"] = {resource: max(needed, 1)}
            elif needed:
                options["num_gpus"] = needed
            task = ray.remote(_run_task).options(**options)
            ref = task.remote(spec.model_dump_json(), config.params, spec.gpu_pool[:needed])
            pending[ref] = (index, config)
            hooks.config_started(index, total, config)
        ran: dict[str, ConfigOutcome] = {}
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            index, config = pending.pop(ready[0])
            outcome = _collect(ray, ready[0], config, out_dir / config.id, store)
            ran[config.id] = outcome
            hooks.config_done(index, total, outcome, skipped=False)
        return ran
    finally:
        if started_here:
            ray.shutdown()


def _collect(
    ray: Any, ref: Any, config: Configuration, config_dir: Path, store: Store | None
) -> ConfigOutcome:
    """Write a finished task's files under the out directory and store its points."""
    try:
        returned = ray.get(ref)
    except ray.exceptions.RayError as error:
        outcome = ConfigOutcome(
            id=config.id,
            label=config.label,
            params=config.params,
            status=Status.FAILED,
            cause="node_lost" if "node" in type(error).__name__.lower() else "task_failed",
            message=str(error).splitlines()[0][:300],
        )
        write_outcome(config_dir, outcome)
        return outcome
    if config_dir.exists():
        config_dir.rename(config_dir.with_name(f"{config_dir.name}.attempt-ray"))
    for relative, data in returned["files"].items():
        target = config_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    outcome = ConfigOutcome.model_validate(returned["outcome"])
    write_outcome(config_dir, outcome)  # with the Ray node id the task added
    if store is not None and outcome.done:
        for point in outcome.points:
            store.add_run_dir(config_dir / point)
    return outcome
