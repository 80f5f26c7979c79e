"""A real vLLM-on-CPU sweep: two batch caps (--max-num-seqs 1 and 4) of the tiny llama of
scripts/setup_vllm_cpu.sh, one server launched and torn down per configuration (.ci/run)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tokenergy.sweep import Status, parse_spec, sweep

# one vLLM server at a time: each pins the same core (scripts/serve_vllm_cpu.sh)
pytestmark = [pytest.mark.vllm, pytest.mark.slow, pytest.mark.xdist_group("vllm")]

REPO = Path(__file__).resolve().parents[2]
VENV = Path(os.environ.get("TOKENERGY_VLLM_VENV", "/work/.vllm-venv"))
MODEL = Path(os.environ.get("TOKENERGY_VLLM_MODEL_DIR", "/work/.vllm-tiny-llama"))


def test_a_vllm_sweep_launches_measures_and_stops_each_configuration(tmp_path: Path) -> None:
    if not (VENV / "bin" / "vllm").exists() or not (MODEL / "config.json").exists():
        pytest.skip("no vLLM CPU venv/model (run scripts/setup_vllm_cpu.sh)")
    script = REPO / "scripts" / "serve_vllm_cpu.sh"
    spec = parse_spec(
        {
            "name": "vllm-cpu",
            "server": {
                # --enforce-eager: no torch.compile warm-up (~30 s of each ~75 s launch on 2 cores);
                # what is checked is the launch, measure and stop of each configuration
                "command": f"bash {script} {{port}} --max-num-seqs {{batch_cap}} --enforce-eager",
                "ready_timeout_s": 600,
                "stop_grace_s": 20,
            },
            "parameters": {"batch_cap": [1, 4]},
            "workload": {"isl": 32, "osl": 16, "concurrency": [4], "num_prompts": 16},
            # no GPU here: a stated 100 W stands in for the meter, so the verdict has an energy
            "meters": {"specs": ["constant:100W"], "min_window_s": 0.1},
            "slo": {"metric": "median_itl", "max": "10s"},
        }
    )
    result = sweep(spec, tmp_path / "out")
    assert [o.status for o in result.outcomes] == [Status.OK, Status.OK], [
        (o.cause, o.message) for o in result.outcomes
    ]
    assert all(o.ready_s is not None and o.ready_s > 0 for o in result.outcomes)
    (choice,) = result.best
    assert choice.chosen is not None and choice.chosen.label in {
        "vllm-cpu batch_cap=1",
        "vllm-cpu batch_cap=4",
    }
