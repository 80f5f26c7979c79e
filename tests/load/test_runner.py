"""The runner end to end against the simulator: accounting, exact lengths, faults, hooks."""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tokenergy.errors import ServerError
from tokenergy.load.client import Api, ClockAnchor, RequestRecord
from tokenergy.load.config import BenchConfig
from tokenergy.load.driver import LOAD_GC_THRESHOLD, RunObserver
from tokenergy.load.metrics import Window
from tokenergy.load.runlog import read_requests
from tokenergy.load.runner import LengthMismatchError, run_point
from tokenergy.load.schedule import LoadShape
from tokenergy.load.workload import LengthKind, LengthSpec, PromptKind
from tokenergy.records import Basis, Boundary, EnergyMeasurement
from tokenergy.sim.server import SimHandle, run_in_thread

PROFILE = "llama-3.1-8b-h100"


def config(url: str, out: Path, **overrides: object) -> BenchConfig:
    base: dict[str, object] = {
        "base_url": url,
        "model": "",
        "lengths": LengthSpec(LengthKind.FIXED, isl=200, osl=40),
        "shape": LoadShape(concurrency=4, num_prompts=24, warmup=2),
        "out_dir": out,
    }
    base.update(overrides)
    return BenchConfig(**base)  # type: ignore[arg-type]


class Recorder(RunObserver):
    """A meter-shaped observer: sees the hooks in order and reports energy for the window."""

    def __init__(self, sim: SimHandle) -> None:
        self.sim = sim
        self.calls: list[str] = []
        self.done: list[RequestRecord] = []
        self.energy_start_j = 0.0

    def on_start(self, anchor: ClockAnchor) -> None:
        self.calls.append("start")
        self.energy_start_j = self.sim.energy_j()

    def on_request_done(self, record: RequestRecord) -> None:
        self.done.append(record)

    def on_stop(self, stop_ns: int) -> None:
        self.calls.append("stop")
        self.energy_run_j = self.sim.energy_j() - self.energy_start_j

    def on_window(self, window: Window) -> EnergyMeasurement | None:
        self.calls.append("window")
        return EnergyMeasurement(
            energy_j=self.energy_run_j,
            boundary=Boundary.ACCELERATOR,
            basis=Basis.MEASURED,
            method="sim-ledger (whole run, test)",
        )


async def test_closed_loop_accounts_every_request_with_exact_lengths(
    sim: SimHandle, tmp_path: Path
) -> None:
    observer = Recorder(sim)
    outcome = await run_point(config(sim.url, tmp_path), [observer])
    counts = outcome.whole_run.counts
    assert (counts.attempted, counts.completed, counts.failed, counts.incomplete) == (24, 24, 0, 0)
    assert "RequestRecord" not in repr(outcome)  # asyncio.run formats its result's repr
    records = read_requests(tmp_path / "requests.jsonl")
    assert len(records) == 26 and sum(r.warmup for r in records) == 2
    assert {(r.prompt_tokens, r.completion_tokens) for r in records} == {(200, 40)}
    assert outcome.length_mismatches == 0
    assert observer.calls == ["start", "stop", "window"] and len(observer.done) == 26
    assert outcome.result.energy is not None and outcome.result.energy.energy_j > 0
    window = outcome.window
    assert window is not None and window.steady
    assert outcome.result.duration_s == pytest.approx(window.duration_s)
    assert outcome.result.duration_s < outcome.whole_run.duration_s  # type: ignore[operator]
    assert outcome.result.workload.mean_input_len == 200.0
    assert outcome.result.provenance.simulated
    assert outcome.result.identity.model == "meta-llama/Llama-3.1-8B-Instruct"
    law = outcome.littles_law
    assert law is not None and law.measured_concurrency == pytest.approx(4, rel=0.15)
    assert abs(law.relative_error) < 0.3
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["result"]["counts"]["completed"] == outcome.result.counts.completed
    assert run["provenance"]["server"]["prompt_kind"] == "token-ids"
    assert run["provenance"]["server"]["continuous_usage"] is True
    export = json.loads((tmp_path / "vllm_bench.json").read_text())
    assert export["completed"] == 24 and export["total_input_tokens"] == 24 * 200
    assert len(export["itls"]) == 24 and export["max_concurrency"] == 4


async def test_open_loop_poisson_with_cap(sim: SimHandle, tmp_path: Path) -> None:
    shape = LoadShape(concurrency=3, rate_rps=200.0, num_prompts=40)
    outcome = await run_point(config(sim.url, tmp_path, shape=shape))
    assert outcome.whole_run.counts.completed == 40
    assert outcome.window is not None and not outcome.window.steady  # open loop: whole run
    records = [r for r in outcome.records if not r.warmup]
    assert all(r.target_ns is not None for r in records)
    in_flight = max_in_flight(records)
    assert in_flight <= 3
    check = outcome.self_check
    assert check.requested_rate_rps == 200.0 and check.planned_rate_rps is not None


def max_in_flight(records: list[RequestRecord]) -> int:
    events = sorted([(r.send_ns, 1) for r in records] + [(r.end_ns, -1) for r in records])  # type: ignore[list-item]
    level = peak = 0
    for _, delta in events:
        level += delta
        peak = max(peak, level)
    return peak


async def test_duration_stop_cuts_in_flight_as_incomplete(tmp_path: Path) -> None:
    with run_in_thread(PROFILE, speed=5.0) as slow:
        shape = LoadShape(concurrency=4, duration_s=0.6)
        lengths = LengthSpec(LengthKind.FIXED, isl=100, osl=400)
        outcome = await run_point(config(slow.url, tmp_path, shape=shape, lengths=lengths))
    counts = outcome.whole_run.counts
    assert counts.incomplete == 4  # every slot was mid-request at the deadline
    assert counts.attempted == counts.completed + counts.failed + counts.incomplete
    assert outcome.whole_run.duration_s == pytest.approx(0.6, abs=0.15)


async def test_faults_are_counted_by_cause(tmp_path: Path) -> None:
    faults = "error_rate=0.25,status=500|429,disconnect=0.15"
    with run_in_thread(PROFILE, speed=50.0, faults=faults, seed=3) as faulty:
        shape = LoadShape(concurrency=4, num_prompts=80)
        outcome = await run_point(config(faulty.url, tmp_path, shape=shape))
    counts = outcome.whole_run.counts
    assert counts.attempted == 80 == counts.completed + counts.failed + counts.incomplete  # type: ignore[operator]
    causes = counts.failures_by_cause
    assert set(causes) == {"http_500", "http_429", "disconnect"}
    assert sum(causes.values()) == counts.failed
    assert counts.completed == sum(1 for r in outcome.records if r.ok)
    with_failures = outcome.whole_run.extras["latency_failures_as_inf"]
    assert with_failures["failures_as_inf"] is True and math.isinf(with_failures["e2el_s"]["p99"])
    assert outcome.whole_run.latency.e2el_s is not None
    assert math.isfinite(outcome.whole_run.latency.e2el_s.p99)  # type: ignore[arg-type]
    # a cut stream's tokens never count as a success's latency: successes all have full length
    assert all(r.completion_tokens == 40 for r in outcome.records if r.ok)


async def test_stall_beyond_read_timeout_is_a_timeout(tmp_path: Path) -> None:
    with run_in_thread(PROFILE, speed=10.0, faults="stall=0.3:5s", seed=1) as stalling:
        shape = LoadShape(concurrency=4, num_prompts=16)
        outcome = await run_point(config(stalling.url, tmp_path, shape=shape, timeout_s=0.2))
    causes = outcome.whole_run.counts.failures_by_cause
    assert causes.get("timeout", 0) >= 1
    assert outcome.whole_run.counts.attempted == 16


async def test_chat_text_prompts_uniform_lengths(sim: SimHandle, tmp_path: Path) -> None:
    lengths = LengthSpec(LengthKind.UNIFORM, isl=120, osl=30, range_ratio=0.5)
    outcome = await run_point(config(sim.url, tmp_path, api=Api.CHAT, lengths=lengths))
    records = [r for r in outcome.records if not r.warmup]
    assert outcome.length_mismatches == 0 and len({r.isl for r in records}) > 5
    assert all(r.prompt_tokens == r.isl and r.completion_tokens == r.osl for r in records)
    assert outcome.result.provenance.engine_config["prompt_kind"] == "text"


async def test_text_prompts_on_completions(sim: SimHandle, tmp_path: Path) -> None:
    shape = LoadShape(concurrency=2, num_prompts=6)
    outcome = await run_point(config(sim.url, tmp_path, prompt_kind=PromptKind.TEXT, shape=shape))
    assert all(r.prompt_tokens == 200 for r in outcome.records)


async def test_sharegpt_dataset_lengths_from_server_tokenizer(
    sim: SimHandle, tmp_path: Path
) -> None:
    from tokenergy.load.workload import read_dataset

    rows = [
        {
            "conversations": [
                {"from": "human", "value": "word " * n},
                {"from": "gpt", "value": "ok " * (n // 2)},
            ]
        }
        for n in (20, 40, 80)
    ]
    path = tmp_path / "sg.json"
    path.write_text(json.dumps(rows))
    conversations = read_dataset(path)
    assert isinstance(conversations, list)
    shape = LoadShape(concurrency=2, num_prompts=12)
    outcome = await run_point(
        config(sim.url, tmp_path / "run", shape=shape, conversations=tuple(conversations))
    )
    pairs = {(r.isl, r.osl) for r in outcome.records}
    assert len(pairs) >= 2 and all(r.prompt_tokens == r.isl for r in outcome.records)
    assert outcome.result.workload.sampler.value == "empirical"


async def test_workers_share_one_schedule(sim: SimHandle, tmp_path: Path) -> None:
    shape = LoadShape(concurrency=4, num_prompts=30, warmup=2)
    outcome = await run_point(config(sim.url, tmp_path, shape=shape, workers=2))
    records = read_requests(tmp_path / "requests.jsonl")
    assert sorted(r.index for r in records) == list(range(32))
    assert {r.worker for r in records} == {0, 1}
    assert outcome.whole_run.counts.completed == 30 and outcome.length_mismatches == 0


async def test_length_mismatch_fails_the_run_but_keeps_results(
    sim: SimHandle, tmp_path: Path
) -> None:
    lengths = LengthSpec(LengthKind.FIXED, isl=50, osl=1500)  # sim EOS mean 397 tokens
    shape = LoadShape(concurrency=8, num_prompts=16)
    bad = config(sim.url, tmp_path, lengths=lengths, shape=shape, ignore_eos=False)
    with pytest.raises(LengthMismatchError, match="other lengths than asked"):
        await run_point(bad)
    run = json.loads((tmp_path / "run.json").read_text())
    assert run["length_mismatches"] > 0
    assert len(read_requests(tmp_path / "requests.jsonl")) == 16


async def test_unreachable_server_raises_before_any_file(tmp_path: Path) -> None:
    with pytest.raises(ServerError, match="cannot reach"):
        await run_point(config("http://127.0.0.1:9", tmp_path / "never"))
    assert not (tmp_path / "never").exists()


def _spawned_children(pid: int) -> list[int]:
    """Pids of the multiprocessing workers (not the resource tracker) started by ``pid``."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        for child in children:
            try:
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline:
                found.append(int(child))
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_workers_exit_when_the_parent_is_killed(tmp_path: Path) -> None:
    tokenergy = str(Path(sys.executable).parent / "tokenergy")
    with run_in_thread(PROFILE, speed=1.0) as slow:
        args = [tokenergy, "bench", slow.url, "--workers", "2", "--concurrency", "2"]
        args += ["--num-prompts", "400", "--isl", "16", "--osl", "4000"]
        parent = subprocess.Popen(
            [*args, "--out", str(tmp_path / "run")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        workers: list[int] = []
        try:
            for _ in range(600):  # the parent probes and prepares before it spawns
                workers = _spawned_children(parent.pid)
                if len(workers) == 2 or parent.poll() is not None:
                    break
                time.sleep(0.1)
            assert len(workers) == 2, "the workers never started"
        finally:
            parent.kill()
            parent.wait()
        orphans = workers
        for _ in range(300):
            orphans = [pid for pid in workers if _running(pid)]
            if not orphans:
                break
            time.sleep(0.1)
        for pid in orphans:  # do not leave load running if the assertion below fails
            os.kill(pid, signal.SIGKILL)
        assert not orphans, "workers kept sending load after their parent died"


class Thresholds(RunObserver):
    """The cyclic collector's thresholds each time a request ends."""

    def __init__(self) -> None:
        self.seen: set[tuple[int, int, int]] = set()

    def on_request_done(self, record: RequestRecord) -> None:
        self.seen.add(gc.get_threshold())


async def test_the_collector_runs_rarely_during_load_only(sim: SimHandle, tmp_path: Path) -> None:
    before = gc.get_threshold()
    first, second = Thresholds(), Thresholds()
    shape = LoadShape(concurrency=2, num_prompts=6)
    await asyncio.gather(  # overlapping loads: the last to end restores the thresholds
        run_point(config(sim.url, tmp_path / "a", shape=shape), [first]),
        run_point(config(sim.url, tmp_path / "b", shape=shape), [second]),
    )
    assert first.seen == second.seen == {(LOAD_GC_THRESHOLD, *before[1:])}
    assert gc.get_threshold() == before
