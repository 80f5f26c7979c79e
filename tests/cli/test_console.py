"""The console script pauses garbage collection through start-up, freezes it, and runs the command
with collection on (tokenergy.cli.console; benchmarks/ingest.py times what that saves)."""

from __future__ import annotations

import ast
import subprocess
import sys

import pytest

# What the console script's run sees: app.run replaced by a probe that records the collector's
# state and which command modules are loaded by then.
_PROBE = """
import gc, sys
import tokenergy.cli.app as app
seen = {}
def probe(argv=None):
    seen.update(enabled=gc.isenabled(), frozen=gc.get_freeze_count(),
                ingest="tokenergy.cli.ingest" in sys.modules)
    return 0
app.run = probe
sys.argv = ["tokenergy", *ARGV]
from tokenergy.cli.console import main
try:
    main()
except SystemExit as leaving:
    seen["code"] = leaving.code
print(repr(seen))
"""


@pytest.mark.parametrize(
    ("argv", "ingest_loaded"),
    [(["ingest", "--help"], True), (["--version"], False), (["no-such-command"], False)],
)
def test_console_runs_the_command_with_collection_on_and_start_up_frozen(
    argv: list[str], ingest_loaded: bool
) -> None:
    probe = _PROBE.replace("ARGV", repr(argv))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    seen = ast.literal_eval(done.stdout.strip().splitlines()[-1])
    assert seen["enabled"] is True
    assert seen["frozen"] > 1000  # typer, pydantic and tokenergy's modules at least
    assert seen["ingest"] is ingest_loaded  # the named command's module, before it runs
    assert seen["code"] == 0


def test_the_console_script_entry_point_is_console_main() -> None:
    """The installed `tokenergy` script goes through console.main (pyproject [project.scripts])."""
    from importlib.metadata import entry_points

    (script,) = [ep for ep in entry_points(group="console_scripts") if ep.name == "tokenergy"]
    assert script.value == "tokenergy.cli.console:main"


def test_ctrl_c_while_the_command_imports_is_one_line_and_exit_130() -> None:
    """The preload runs before ``run`` and its Ctrl-C handling: it says "aborted" as run does."""
    probe = """
import sys
import tokenergy.cli.app as app
real = app.import_module
def interrupted(name, *args):
    if name == "tokenergy.cli.ingest":
        raise KeyboardInterrupt
    return real(name, *args)
app.import_module = interrupted
sys.argv = ["tokenergy", "ingest", "x.json"]
from tokenergy.cli.console import main
main()
"""
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 130
    assert done.stderr.strip().splitlines() == ["error: aborted"]
