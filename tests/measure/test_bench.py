"""``tokenergy.measure.bench``: the metered bench as one library call, against the simulator."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tokenergy.errors import ConfigError, MeterError
from tokenergy.load.client import RequestRecord
from tokenergy.load.config import BenchConfig
from tokenergy.load.driver import RunObserver
from tokenergy.measure.bench import BenchHooks, Meters, PointResult, bench, bench_async
from tokenergy.sim.server import SimHandle, run_in_thread
from tokenergy.store import Store


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    with run_in_thread("llama-3.1-8b-h100", speed=50.0) as handle:
        yield handle


def _meter_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("tokenergy-meter")]


def test_a_sweep_returns_one_point_per_concurrency_and_stores_them(
    sim: SimHandle, tmp_path: Path
) -> None:
    seen: list[PointResult] = []

    class Hooks(BenchHooks):
        def point_done(self, point: PointResult) -> None:
            seen.append(point)

    store = Store(tmp_path / "home")
    points = bench(
        sim.url,
        isl=64,
        osl=16,
        concurrency=[1, 4],
        num_prompts=12,
        meters=Meters(("constant:700W",), idle_s=0),
        out_dir=tmp_path / "sweep",
        store=store,
        hooks=Hooks(),
    )
    assert [p.run_dir.name for p in points] == ["c1", "c4"]
    assert seen == points
    assert not _meter_threads()  # closed after the last point
    for point in points:
        on_disk = json.loads((point.run_dir / "run.json").read_text())
        assert on_disk == point.run  # written once, with the summary in it
        assert point.metered
        assert point.summary["basis"] == "nameplate"
        assert point.result.energy is not None and point.whole_run.energy is not None
        assert on_disk["whole_run"]["energy"]["energy_j"] == point.whole_run.energy.energy_j
        flat = point.to_dict()
        assert flat["j_per_token"] == point.result.j_per_token
        assert point.stored is not None and point.stored.added
    assert len(store.query()) == 2


def test_without_meters_the_summary_has_no_energy(sim: SimHandle, tmp_path: Path) -> None:
    (point,) = bench(sim.url, isl=32, osl=8, concurrency=2, num_prompts=6, out_dir=tmp_path)
    assert point.run_dir == tmp_path
    assert not point.metered
    assert point.summary["energy_j"] is None
    assert point.summary["whole_run_figures"]["completed"] == 6


def test_an_interrupted_point_keeps_its_requests_and_closes_the_meters(
    sim: SimHandle, tmp_path: Path
) -> None:
    class StopAfterTwo(RunObserver):
        def __init__(self, task: asyncio.Task[list[PointResult]]) -> None:
            self.task, self.done = task, 0

        def on_request_done(self, record: RequestRecord) -> None:
            self.done += 1
            if self.done == 2:
                self.task.cancel()

    async def run() -> None:
        task: asyncio.Task[list[PointResult]]

        class Hooks(BenchHooks):
            def observers(self, config: BenchConfig) -> list[RunObserver]:
                return [StopAfterTwo(task)]

        task = asyncio.create_task(
            bench_async(
                sim.url,
                isl=32,
                osl=256,
                concurrency=1,
                num_prompts=50,
                meters=["constant:300W"],
                out_dir=tmp_path,
                hooks=Hooks(),
            )
        )
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(run())
    assert not _meter_threads()
    written = json.loads((tmp_path / "run.json").read_text())
    assert written["interrupted"] is True
    assert written["summary"]["whole_run_figures"]["completed"] >= 2
    assert len((tmp_path / "requests.jsonl").read_text().splitlines()) >= 2


def test_parameters_are_named_in_errors(sim: SimHandle, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as neither:
        bench(sim.url, out_dir=tmp_path)
    assert neither.value.field == "concurrency"
    with pytest.raises(ConfigError) as idle:
        Meters(("constant:1W",), idle_s=-1)
    assert idle.value.field == "idle_s"
    with pytest.raises(MeterError):  # before any load: no run directory is made
        bench(sim.url, concurrency=1, meters=["ipmi:host"], out_dir=tmp_path / "never")
    assert not (tmp_path / "never").exists()
