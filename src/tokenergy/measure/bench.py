"""A metered bench as one library call: ``bench(url, ...) -> list[PointResult]``.

For each load point (a concurrency, or a request rate) it runs the load generator with the
meters attached, writes the point's run directory (``run.json`` once, ``requests.jsonl``,
``vllm_bench.json``, ``power_timeline.csv``) and, with a store, adds it there. Meters are opened
and idle power measured before any load, so a bad meter spec fails first; they are closed in a
``finally``, also when the run is interrupted. A sweep driver calls this once per server
configuration. The library never prints: progress and tables go through :class:`BenchHooks`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tokenergy.errors import ConfigError
from tokenergy.load.client import Api
from tokenergy.load.config import BenchConfig
from tokenergy.load.driver import RunObserver
from tokenergy.load.runlog import RUN_FILE
from tokenergy.load.runner import run_point
from tokenergy.load.schedule import LoadShape
from tokenergy.load.summary import RunResult
from tokenergy.load.workload import Conversation, LengthKind, LengthSpec, PromptKind, read_dataset
from tokenergy.measure.observer import PointObserver
from tokenergy.meters.meterset import Idle, MeterSet
from tokenergy.meters.window import WindowRules
from tokenergy.records import ServingResult
from tokenergy.store import Store, StoredRun

DEFAULT_NUM_PROMPTS = 200  # measured requests per point when neither a count nor a duration is set


@dataclass(frozen=True)
class PointResult:
    """One load point: its configuration, what the runner measured, and run.json as written."""

    config: BenchConfig
    outcome: RunResult
    run: dict[str, Any]
    stored: StoredRun | None = None

    @property
    def run_dir(self) -> Path:
        return self.config.out_dir

    @property
    def result(self) -> ServingResult:
        """The window the energy is attributed to (steady state when reached)."""
        return self.outcome.result

    @property
    def whole_run(self) -> ServingResult:
        return self.outcome.whole_run

    @property
    def summary(self) -> dict[str, Any]:
        """Counts, energy, J/token, Wh/query and validity of the window (whole run nested)."""
        summary: dict[str, Any] = self.run["summary"]
        return summary

    @property
    def metered(self) -> bool:
        """Whether meters measured this point (its summary then carries their notes)."""
        return "meter_notes" in self.summary

    def to_dict(self) -> dict[str, Any]:
        """run.json with the summary's figures at the top level (what ``bench --json`` prints)."""
        payload = {key: value for key, value in self.run.items() if key != "summary"}
        return {**payload, **self.summary}


class BenchHooks:
    """What a caller may show while a bench runs (the CLI: a spinner, progress bars, tables).

    Every method defaults to doing nothing, so a notebook can ignore this entirely.
    """

    def idle(self, seconds: float) -> contextlib.AbstractContextManager[None]:
        """Wraps the idle-power measurement before the load."""
        return contextlib.nullcontext()

    def meters_ready(self, meters: MeterSet) -> None:
        """The meters are open and polling (before idle and load): a display may read them live."""

    def observers(self, config: BenchConfig) -> Sequence[RunObserver]:
        """Extra observers for one point (e.g. a progress bar), created as the point starts."""
        return ()

    def point_done(self, point: PointResult) -> None:
        """A point finished and its run directory is written (and stored, with a store)."""


@dataclass(frozen=True)
class Meters:
    """Meter specs (``nvml:0,1``, ``dcgm:http://HOST:9400/metrics`` …) and their window rules."""

    specs: tuple[str, ...] = ()
    idle_s: float = 10.0
    expect_gpus: int | None = None
    min_window_s: float = 1.0

    def __post_init__(self) -> None:
        if self.idle_s < 0:
            raise ConfigError("must be >= 0", field="idle_s")
        if self.expect_gpus is not None and self.expect_gpus < 1:
            raise ConfigError("must be >= 1", field="expect_gpus")


@dataclass
class _Opened:
    meters: MeterSet
    idle: Idle | None = None


def workload_lengths(
    isl: int = 1024, osl: int = 1024, range_ratio: float = 0.0, dataset: Path | None = None
) -> tuple[LengthSpec, tuple[Conversation, ...]]:
    """Lengths of a bench: fixed or uniform around (isl, osl), or read from a dataset file.

    A dataset of ShareGPT conversations is returned as conversations: their lengths are counted
    by the server's tokenizer once it is reachable (in the runner).
    """
    if dataset is None:
        kind = LengthKind.UNIFORM if range_ratio > 0 else LengthKind.FIXED
        return LengthSpec(kind, isl=isl, osl=osl, range_ratio=range_ratio), ()
    loaded = read_dataset(dataset)
    if isinstance(loaded, LengthSpec):
        return loaded, ()
    return LengthSpec(LengthKind.FIXED, isl=isl, osl=osl), tuple(loaded)


def point_name(concurrency: int | None, rate_rps: float | None) -> str:
    """Sub-directory of one point of a sweep: ``c8``, ``rate2``, ``rate2-c64``."""
    parts = [] if rate_rps is None else [f"rate{rate_rps:g}"]
    if concurrency is not None:
        parts.append(f"c{concurrency}")
    return "-".join(parts)


def default_out_dir() -> Path:
    """``runs/bench-<UTC time>-<random>``: two benches started in the same second never share
    a directory (and a directory holding a run is refused anyway)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    return Path("runs") / f"bench-{stamp}-{secrets.token_hex(3)}"


def _points(concurrency: int | Sequence[int] | None, rate_rps: float | None) -> list[int | None]:
    if concurrency is None:
        if rate_rps is None:
            raise ConfigError(
                "give a concurrency (closed loop) or a request rate (open loop)",
                field="concurrency",
            )
        return [None]
    points = [concurrency] if isinstance(concurrency, int) else list(concurrency)
    if not points:
        raise ConfigError("give at least one concurrency", field="concurrency")
    return list(points)


@contextlib.contextmanager
def _metering(spec: Meters, hooks: BenchHooks) -> Iterator[_Opened | None]:
    """Open and start every meter and measure idle power; stop and close them whatever happens."""
    if not spec.specs:
        yield None
        return
    meters = MeterSet.from_specs(spec.specs, WindowRules(min_duration_s=spec.min_window_s))
    meters.open()
    try:
        meters.start()
        opened = _Opened(meters)
        hooks.meters_ready(meters)
        if spec.idle_s > 0:
            with hooks.idle(spec.idle_s):
                opened.idle = meters.measure_idle(spec.idle_s)
        yield opened
    finally:
        meters.stop()
        meters.close()


async def bench_async(
    url: str,
    *,
    model: str | None = None,
    isl: int = 1024,
    osl: int = 1024,
    range_ratio: float = 0.0,
    dataset: Path | None = None,
    concurrency: int | Sequence[int] | None = None,
    rate_rps: float | None = None,
    burstiness: float = 1.0,
    num_prompts: int | None = None,
    duration_s: float | None = None,
    warmup: int = 0,
    api: Api = Api.COMPLETIONS,
    prompt_kind: PromptKind | None = None,
    seed: int = 0,
    timeout_s: float = 600.0,
    request_timeout_s: float | None = None,
    run_timeout_s: float | None = None,
    max_length_mismatch: float = 0.01,
    tokenizer: Path | None = None,
    ignore_eos: bool = True,
    workers: int = 1,
    extra_body: dict[str, Any] | None = None,
    label: str | None = None,
    metadata: Mapping[str, str] | None = None,
    meters: Meters | Sequence[str] = (),
    out_dir: Path | None = None,
    store: Store | None = None,
    hooks: BenchHooks | None = None,
) -> list[PointResult]:
    """Run every load point against the server at ``url`` and return what each measured.

    ``concurrency`` is one closed-loop concurrency or a list (a sweep); with ``rate_rps`` the
    loop is open and ``concurrency`` caps the requests in flight. ``out_dir`` is the run
    directory (one point) or the parent of one sub-directory per point (``c8``, ``rate2``…).
    ``meters`` are meter specs or a :class:`Meters`; with a ``store`` each point is added to it.
    ``label`` and ``metadata`` are stored in every point's provenance (``compare --by label``).
    Interrupted (Ctrl-C, a cancelled task), the point's finished requests are on disk and the
    meters are closed before the interruption propagates.
    """
    points = _points(concurrency, rate_rps)
    if num_prompts is None and duration_s is None:
        num_prompts = DEFAULT_NUM_PROMPTS
    lengths, conversations = workload_lengths(isl, osl, range_ratio, dataset)
    metering = meters if isinstance(meters, Meters) else Meters(tuple(meters))
    hooks = hooks or BenchHooks()
    root = Path(out_dir) if out_dir is not None else default_out_dir()
    done: list[PointResult] = []
    with _metering(metering, hooks) as opened:
        for cap in points:
            shape = LoadShape(
                concurrency=cap,
                rate_rps=rate_rps,
                burstiness=burstiness,
                num_prompts=num_prompts,
                duration_s=duration_s,
                warmup=warmup,
            )
            config = BenchConfig(
                base_url=url,
                model=model or "",
                lengths=lengths,
                shape=shape,
                out_dir=root if len(points) == 1 else root / point_name(cap, rate_rps),
                api=api,
                seed=seed,
                prompt_kind=prompt_kind,
                timeout_s=timeout_s,
                run_timeout_s=run_timeout_s,
                max_length_mismatch=max_length_mismatch,
                dataset=str(dataset) if dataset else None,
                conversations=conversations,
                workers=workers,
                ignore_eos=ignore_eos,
                tokenizer=tokenizer,
                extra_body=dict(extra_body or {}),
                label=label,
                metadata=dict(metadata or {}),
            )
            if request_timeout_s is not None:
                config = replace(config, request_timeout_s=request_timeout_s)
            recorder = PointObserver(
                config.out_dir,
                meters=opened.meters if opened else None,
                idle=opened.idle if opened else None,
                expected_gpus=metering.expect_gpus,
                concurrency=cap,
            )
            outcome = await run_point(config, [*hooks.observers(config), recorder])
            point = PointResult(config, outcome, _read_run(config.out_dir))
            if store is not None:
                point = PointResult(config, outcome, point.run, store.add_run_dir(config.out_dir))
            done.append(point)
            hooks.point_done(point)
    return done


def bench(url: str, **options: Any) -> list[PointResult]:
    """:func:`bench_async` from synchronous code (a script; in a notebook, ``await`` it)."""
    return asyncio.run(bench_async(url, **options))


def _read_run(run_dir: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((run_dir / RUN_FILE).read_text())
    return document
