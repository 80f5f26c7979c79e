"""Run one server configuration end to end: launch, ready, warm up, metered bench, stop.

Used by both executors (in the driver's process for ``local``, inside a Ray task for ``ray``). It
never raises for a server that misbehaves: that is the configuration's outcome. It does re-raise an
interruption after the server group is stopped, so Ctrl-C ends the sweep with nothing left behind.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tokenergy.errors import TokenergyError
from tokenergy.measure.bench import BenchHooks, Meters, PointResult, bench
from tokenergy.store import Store
from tokenergy.sweep.outcome import SERVER_LOG, SERVER_PID, ConfigOutcome, Status, write_outcome
from tokenergy.sweep.server import ServerFailed, ServerProcess, free_port
from tokenergy.sweep.spec import Configuration, SweepSpec, render


def run_configuration(
    spec: SweepSpec,
    config: Configuration,
    config_dir: Path,
    gpus: list[int],
    store: Store | None = None,
    hooks: BenchHooks | None = None,
) -> ConfigOutcome:
    _set_aside(config_dir)
    host = spec.server.host
    port = free_port(host)
    url = f"http://{host}:{port}"
    values: dict[str, object] = {
        **config.params,
        "port": port,
        "host": host,
        "url": url,
        "gpus": ",".join(map(str, gpus)),
        "num_gpus": len(gpus),
    }
    env = {key: render(value, values) for key, value in spec.server.env.items()}
    if spec.gpu_pool:
        env.setdefault("CUDA_VISIBLE_DEVICES", ",".join(map(str, gpus)))
    server = ServerProcess(render(spec.server.command, values), config_dir / SERVER_LOG, env)
    outcome = ConfigOutcome(
        id=config.id,
        label=config.label,
        params=config.params,
        status=Status.FAILED,
        node=socket.gethostname(),
        gpus=gpus,
    )
    try:
        server.start()
        (config_dir / SERVER_PID).write_text(f"{server.pid}\n")
        outcome.ready_s = server.wait_ready(
            url + spec.server.ready_path, spec.server.ready_timeout_s
        )
        points = _bench(spec, config, url, values, config_dir, store, hooks)
        outcome.points = [str(p.run_dir.relative_to(config_dir)) for p in points]
        code = server.exit_code()
        if code is not None:  # it answered the whole load, then died: the figures are suspect
            outcome.cause, outcome.message = (
                "crashed",
                f"server exited with code {code} during the load",
            )
        else:
            outcome.status = Status.OK
    except ServerFailed as error:
        outcome.cause, outcome.message = error.cause, error.message
    except TokenergyError as error:
        code = server.exit_code()
        outcome.cause = "crashed" if code is not None else "bench_error"
        outcome.message = str(error) if code is None else f"server exited with code {code}: {error}"
    except BaseException:
        outcome.status, outcome.cause = Status.INTERRUPTED, "interrupted"
        raise
    finally:
        stopping = time.monotonic()
        server.stop(spec.server.stop_grace_s)
        outcome.stop_s = time.monotonic() - stopping
        outcome.server_exit_code = server.exit_code()
        write_outcome(config_dir, outcome)
    return outcome


def _bench(
    spec: SweepSpec,
    config: Configuration,
    url: str,
    values: dict[str, object],
    config_dir: Path,
    store: Store | None,
    hooks: BenchHooks | None,
) -> list[PointResult]:
    work = spec.workload
    meters = Meters(
        tuple(render(s, values) for s in spec.meters.specs),
        idle_s=spec.meters.idle_s,
        min_window_s=spec.meters.min_window_s,
    )
    return bench(
        url,
        model=work.model,
        isl=work.isl,
        osl=work.osl,
        range_ratio=work.range_ratio,
        dataset=work.dataset,
        concurrency=work.concurrency or None,
        rate_rps=work.rate_rps,
        num_prompts=work.num_prompts,
        duration_s=work.duration_s,
        warmup=work.warmup,
        seed=work.seed,
        timeout_s=work.timeout_s,
        label=f"{spec.name} {config.label}",
        metadata={key: str(value) for key, value in config.params.items()},
        meters=meters,
        out_dir=config_dir / "points",
        store=store,
        hooks=hooks,
    )


def _set_aside(config_dir: Path) -> None:
    """An unfinished earlier attempt moves to ``<id>.attempt-N`` (evidence, never deleted)."""
    if not config_dir.exists():
        return
    attempt = 1
    while (aside := config_dir.with_name(f"{config_dir.name}.attempt-{attempt}")).exists():
        attempt += 1
    config_dir.rename(aside)
