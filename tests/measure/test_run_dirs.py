"""Run directories (issue 14 item 3): two benches started in the same second never share one,
and a bench never deletes or overwrites files it did not write."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import tokenergy.measure.bench as bench_module
from tokenergy.errors import ConfigError
from tokenergy.load.config import BenchConfig
from tokenergy.load.runner import run_point
from tokenergy.load.schedule import LoadShape
from tokenergy.load.workload import LengthKind, LengthSpec
from tokenergy.measure.bench import bench_async
from tokenergy.sim.server import SimHandle, run_in_thread


@pytest.fixture(scope="module")
def sim() -> Iterator[SimHandle]:
    with run_in_thread("llama-3.1-8b-h100", speed=50.0) as handle:
        yield handle


class _FrozenClock(datetime):
    """Every ``now()`` is the same second: the worst case for time-stamped directory names."""

    @classmethod
    def now(cls, tz: object = None) -> _FrozenClock:
        return cls(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _lines(run_dir: Path) -> int:
    return len((run_dir / "requests.jsonl").read_text().splitlines())


async def test_two_benches_in_the_same_second_get_distinct_directories(
    sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(bench_module, "datetime", _FrozenClock)
    options = {"isl": 16, "osl": 4, "concurrency": 2, "num_prompts": 6}
    first, second = await asyncio.gather(
        bench_async(sim.url, **options), bench_async(sim.url, **options)
    )
    (a,), (b,) = first, second
    assert a.run_dir != b.run_dir
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(
        (a.run_dir.name, b.run_dir.name)
    )
    for point in (a, b):
        assert point.run_dir.name.startswith("bench-20260102T030405-")
        assert _lines(point.run_dir) == 6
        assert json.loads((point.run_dir / "run.json").read_text()) == point.run


async def test_a_bench_never_deletes_files_it_did_not_write(sim: SimHandle, tmp_path: Path) -> None:
    """Two runs racing for one explicit directory: both pass the up-front check (nothing is
    written before the load), one wins the exclusive create, the other is refused and touches
    nothing; the winner keeps every line of its log and the user's own file."""
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    config = BenchConfig(
        base_url=sim.url,
        model="",
        lengths=LengthSpec(LengthKind.FIXED, isl=16, osl=4),
        shape=LoadShape(concurrency=2, num_prompts=8),
        out_dir=out,
    )
    results = await asyncio.gather(run_point(config), run_point(config), return_exceptions=True)
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 1, results
    assert isinstance(refused[0], ConfigError) and "already holds a run" in str(refused[0])
    run = json.loads((out / "run.json").read_text())
    assert run["whole_run"]["counts"]["attempted"] == _lines(out) == 8
    assert (out / "notes.txt").read_text() == "mine"
