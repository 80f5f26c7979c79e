from __future__ import annotations

from pathlib import Path

import pytest

from tokenergy.errors import ConfigError
from tokenergy.sweep import load_spec, parse_spec

EXAMPLES = Path(__file__).parents[2] / "examples"


def _spec(**extra: object) -> dict[str, object]:
    document: dict[str, object] = {
        "server": {"command": "serve --port {port} --cap {batch_cap} --tp {tp}"},
        "parameters": {"tp": [1, 2], "batch_cap": [8, 64]},
        "workload": {"concurrency": [4]},
    }
    document.update(extra)
    return document


def test_the_grid_varies_the_first_parameter_slowest_with_stable_ids() -> None:
    spec = parse_spec(_spec())
    ids = [c.id for c in spec.configurations()]
    assert ids == ["tp-1_batch_cap-8", "tp-1_batch_cap-64", "tp-2_batch_cap-8", "tp-2_batch_cap-64"]
    assert spec.configurations()[1].label == "tp=1 batch_cap=64"


def test_unknown_placeholders_and_empty_loads_are_named() -> None:
    with pytest.raises(ConfigError, match=r"server.command: unknown placeholder \{model\}"):
        parse_spec(_spec(server={"command": "serve {model} --port {port}"}))
    with pytest.raises(ConfigError, match="concurrency"):
        parse_spec(_spec(workload={}))
    with pytest.raises(ConfigError, match="gpus_per_config names no parameter"):
        parse_spec(_spec(server={"command": "x {port}", "gpus_per_config": "pp"}))


def test_gpus_per_config_from_a_parameter() -> None:
    spec = parse_spec(
        _spec(server={"command": "s {port} {tp} {batch_cap}", "gpus_per_config": "tp"})
    )
    assert [spec.gpus_needed(c) for c in spec.configurations()] == [1, 1, 2, 2]


def test_the_shipped_examples_parse(tmp_path: Path) -> None:
    assert len(load_spec(EXAMPLES / "sweep-sim.toml").configurations()) == 3
    vllm = load_spec(EXAMPLES / "sweep-vllm.toml")
    assert vllm.gpu_pool == list(range(8)) and len(vllm.configurations()) == 6
    bad = tmp_path / "bad.toml"
    bad.write_text("[server\n")
    with pytest.raises(ConfigError, match="not a TOML sweep spec") as caught:
        load_spec(bad)
    assert caught.value.file == str(bad)
