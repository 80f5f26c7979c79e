"""`tokenergy --version` and `tokenergy convert` start without the heavy libraries.

Commands are imported only when they run (cli/app.py), the public package imports lazily, and
the convert path needs neither the analyses nor the estimator; benchmarks/startup.py times it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("numpy", "scipy", "matplotlib", "duckdb", "aiohttp", "pyarrow")


@pytest.mark.parametrize(
    "argv",
    [["--version"], ["convert", "--throughput", "41.8", "--power", "1.5kW", "--json"]],
)
def test_fast_commands_load_no_heavy_library(argv: list[str]) -> None:
    probe = (
        "import sys\n"
        "from tokenergy.cli.app import run\n"
        f"code = run({argv!r})\n"
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('LOADED', loaded, file=sys.stderr)\n"
        "sys.exit(code or (3 if loaded else 0))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
