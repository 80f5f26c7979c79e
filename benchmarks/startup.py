"""CLI start-up: ``tokenergy --version`` and ``tokenergy convert …`` against bare Python imports.

Run: `.venv/bin/python benchmarks/startup.py [ROUNDS] [--from-source]` (tokenergy's modules are
byte-compiled first unless --from-source: machine.byte_compile). Each round runs every command
once, in turn (so a slow spell of the machine hits all of them alike); the figures are per-command
medians of CPU time (user + sys of the child) and wall time, and the ratios of the medians to
``python -c "import json, typer"`` (the floor of any typer CLI) and to ``python -c pass``.
Target: --version and convert within 1.5× of ``import json, typer``. Beside them, what convert
cannot avoid: a typer command with convert's options that does nothing (benchmarks/typer_floor.py;
typer coerces options through pydantic), ``import json, typer, pydantic.main``, and rich, which
draws the table.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from machine import byte_compile

BIN = Path(sys.executable).parent
COMMANDS = {
    "tokenergy --version": [str(BIN / "tokenergy"), "--version"],
    "tokenergy convert --throughput 41.8 --power 1.5kW": [
        str(BIN / "tokenergy"),
        "convert",
        "--throughput",
        "41.8",
        "--power",
        "1.5kW",
    ],
    "typer floor: convert's options, no work": [
        sys.executable,
        str(Path(__file__).with_name("typer_floor.py")),
        "convert",
        "--throughput",
        "41.8",
        "--power",
        "1.5kW",
    ],
    'python -c "import json, typer, pydantic.main"': [
        sys.executable,
        "-c",
        "import json, typer, pydantic.main",
    ],
    'python -c "import rich.console, rich.table"': [
        sys.executable,
        "-c",
        "import rich.console, rich.table",
    ],
    'python -c "import tokenergy"': [sys.executable, "-c", "import tokenergy"],
    'python -c "import json, typer"': [sys.executable, "-c", "import json, typer"],
    'python -c "pass"': [sys.executable, "-c", "pass"],
}
BASE = 'python -c "import json, typer"'
BARE = 'python -c "pass"'


def run_once(argv: list[str]) -> tuple[float, float]:
    """(CPU s, wall s) of one run of ``argv`` as a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env={**os.environ})
    wall_s = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu_s, wall_s


def main() -> None:
    args = [arg for arg in sys.argv[1:] if arg != "--from-source"]
    rounds = int(args[0]) if args else 7
    print(byte_compile(from_source="--from-source" in sys.argv))
    for argv in COMMANDS.values():  # warm the page cache
        run_once(argv)
    cpu: dict[str, list[float]] = {name: [] for name in COMMANDS}
    wall: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(rounds):
        for name, argv in COMMANDS.items():
            cpu_s, wall_s = run_once(argv)
            cpu[name].append(cpu_s)
            wall[name].append(wall_s)
    med_cpu = {name: statistics.median(values) for name, values in cpu.items()}
    med_wall = {name: statistics.median(values) for name, values in wall.items()}
    print(f"{rounds} rounds, medians; ratios of CPU time (wall in brackets)")
    print(f"{'command':52} {'CPU s':>7} {'wall s':>7} {'÷ json,typer':>15} {'÷ pass':>15}")
    for name in COMMANDS:
        base = f"{med_cpu[name] / med_cpu[BASE]:5.2f} ({med_wall[name] / med_wall[BASE]:4.2f})"
        bare = f"{med_cpu[name] / med_cpu[BARE]:5.2f} ({med_wall[name] / med_wall[BARE]:4.2f})"
        print(f"{name:52} {med_cpu[name]:7.3f} {med_wall[name]:7.3f} {base:>15} {bare:>15}")


if __name__ == "__main__":
    main()
