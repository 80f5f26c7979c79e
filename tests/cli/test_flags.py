"""Library messages name parameters (`pmax_w`); the CLI shows the flag that set them (--pmax)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from inprocess import run_cli

import tokenergy
from tokenergy.cli.flags import as_flags, flag_of, with_flags
from tokenergy.errors import ConfigError
from tokenergy.ingest import load_results

STORE = Path(__file__).resolve().parents[1] / "data" / "store_6b1e0f4" / "home"


def test_with_flags_renames_known_quoted_parameters_only() -> None:
    message = "give `pmax_w` or `host_overhead`; `nobody_knows` stays; plain pmax_w stays"
    assert (
        with_flags(message)
        == "give --pmax or --host-overhead; `nobody_knows` stays; plain pmax_w stays"
    )
    assert with_flags("`rate_rps` too high", {"rate_rps": "--rate"}) == "--rate too high"


def test_a_command_table_wins_over_the_fallback() -> None:
    with pytest.raises(ConfigError) as caught, as_flags({"concurrency": "--max-concurrency"}):
        raise ConfigError("`workers` must not exceed `concurrency`", field="workers")
    assert str(flag_of(caught.value)) == "--workers: --workers must not exceed --max-concurrency"


def test_estimate_names_parameters_in_python_and_flags_on_the_command_line() -> None:
    with pytest.raises(ConfigError) as caught:
        tokenergy.estimate(pmax_w=10_000, host_overhead=0.1, samples=1000)
    assert "`pmax_w` or as GPU power × (1 + `host_overhead`)" in caught.value.message
    assert "--" not in str(caught.value)
    done = run_cli("estimate", "--pmax", "10kW", "--host-overhead", "10%")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: --host-overhead: give the node power either as --pmax or as GPU power × "
        "(1 + --host-overhead)"
    )


def test_compare_names_parameters_in_python_and_flags_on_the_command_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(STORE, home)  # one GPU only: baseline and candidate cannot be inferred
    with pytest.raises(ConfigError) as caught:
        tokenergy.compare(tokenergy.load_sources([home]), by="gpu", at_itl=["50ms"])
    assert caught.value.message == "gpu has values H100; name `baseline` and `candidate`"
    done = run_cli(
        "compare",
        "--by",
        "gpu",
        "--at-itl",
        "50ms",
        env={**os.environ, "TOKENERGY_HOME": str(home)},
    )
    assert done.returncode == 2
    assert "error: --baseline: gpu has values H100; name --baseline and --candidate" in done.stderr
    assert "`" not in done.stderr


def test_a_check_detail_names_flags_on_the_command_line_and_parameters_in_python() -> None:
    source = STORE.parent / "inferencex_h100.json"  # a row without energy: no power basis given
    (findings,) = load_results([source]).checks
    (power,) = [f for f in findings if f.name == "power_present"]
    assert "give `basis` allin|tdp, `power_per_gpu` or `power`" in power.detail
    done = run_cli("check", str(source))
    assert "WARN  power_present" in done.stdout
    assert "give --basis allin|tdp, --power-per-gpu or --power" in done.stdout
