"""`tokenergy --version` and `tokenergy convert` start without the heavy libraries.

Commands are imported only when they run (cli/app.py), the public package imports lazily, and
the convert path needs neither the analyses nor the estimator; benchmarks/startup.py times it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("numpy", "scipy", "matplotlib", "duckdb", "aiohttp", "pyarrow")
# convert states a power: it needs the energy models (tokenergy.energy), not the whole record,
# the store, the analyses, the estimator or any adapter, client, meter or simulator
NOT_FOR_CONVERT = (
    "tokenergy.records",
    "tokenergy.store",
    "tokenergy.analyze",
    "tokenergy.estimate",
    "tokenergy.ingest",
    "tokenergy.load",
    "tokenergy.meters",
    "tokenergy.measure",
    "tokenergy.report",
    "tokenergy.sim",
    "tokenergy.sweep",
)
# --version has no option to coerce: neither pydantic (typer's option coercion) nor rich
NOT_FOR_VERSION = ("pydantic", "rich", "tokenergy.api", *NOT_FOR_CONVERT)


@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        (["--version"], HEAVY + NOT_FOR_VERSION),
        (
            ["convert", "--throughput", "41.8", "--power", "1.5kW", "--json"],
            HEAVY + NOT_FOR_CONVERT,
        ),
        (["convert", "--throughput", "41.8", "--power", "1.5kW"], HEAVY + NOT_FOR_CONVERT),
    ],
)
def test_fast_commands_load_no_heavy_library(argv: list[str], absent: tuple[str, ...]) -> None:
    _assert_not_loaded(argv, absent)


@pytest.mark.parametrize("output", ["csv", "json"])
def test_ingest_to_csv_or_json_quietly_loads_neither_rich_nor_the_calculator(
    output: str, shared_data: Path, tmp_path: Path
) -> None:
    """rich (~20 ms of start-up) only when something is printed through it; the calculator
    (tokenergy.api) only for --grid/--region/--wue."""
    source = next(iter(sorted((shared_data / "inferencex/agg").glob("run_*.json"))))
    out = tmp_path / f"out.{output}"
    argv = ["ingest", str(source), "--basis", "allin", "--format", output, "--quiet"]
    absent = (*HEAVY, "rich", "tokenergy.api", "tokenergy.calculator")
    _assert_not_loaded([*argv, "--out", str(out)], absent)
    assert out.stat().st_size > 0


def _assert_not_loaded(argv: list[str], absent: tuple[str, ...]) -> None:
    """Run the command in a fresh interpreter: it succeeds and none of ``absent`` is imported."""
    probe = (
        "import sys\n"
        "from tokenergy.cli.app import run\n"
        f"code = run({argv!r})\n"
        f"loaded = [m for m in {absent!r} if m in sys.modules]\n"
        "print('LOADED', loaded, file=sys.stderr)\n"
        "sys.exit(code or (3 if loaded else 0))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_console_script_runs_a_command_and_maps_bad_input_to_exit_2() -> None:
    """A smoke test of the installed entry point (the other CLI tests run it in-process)."""
    tokenergy = str(Path(sys.executable).parent / "tokenergy")
    ok = subprocess.run(
        [tokenergy, "convert", "--throughput", "41.8", "--power", "1.5kW", "--json"],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and '"j_per_token"' in ok.stdout, ok.stderr
    bad = subprocess.run(
        [tokenergy, "convert", "--throughput", "fast"], capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        "error: --throughput: cannot parse 'fast' as a rate (e.g. '41.8', '1200 tok/s')"
    ]
