"""The typer application: thin — parse, call the library, render.

Each command lives in its own module, named in ``COMMANDS`` and imported only when that command
runs (or help lists it), so ``tokenergy --version`` and ``tokenergy convert`` do not load the
analyses, the estimator, aiohttp or DuckDB. ``run`` turns every TokenergyError (and pydantic
validation error) into one line on stderr and exit code 2.
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from importlib import import_module
from typing import Any, NoReturn

import typer
from typer.core import TyperGroup

from tokenergy._version import __version__
from tokenergy.errors import TokenergyError, validation_problem

# command name → (module, attribute): a command function, or a typer app of subcommands
COMMANDS: dict[str, tuple[str, str]] = {
    "convert": ("tokenergy.cli.convert", "convert_command"),
    "ingest": ("tokenergy.cli.ingest", "ingest_command"),
    "check": ("tokenergy.cli.ingest", "check_command"),
    "estimate": ("tokenergy.cli.estimate", "estimate_command"),
    "fleet": ("tokenergy.cli.estimate", "fleet_command"),
    "runs": ("tokenergy.cli.runs", "runs_app"),
    "frontier": ("tokenergy.cli.analyze", "frontier_command"),
    "best": ("tokenergy.cli.analyze", "best_command"),
    "compare": ("tokenergy.cli.analyze", "compare_command"),
    "report": ("tokenergy.cli.report", "report_command"),
    "reconcile": ("tokenergy.cli.reconcile", "reconcile_command"),
    "bench": ("tokenergy.cli.bench", "bench_command"),
    "sweep": ("tokenergy.cli.sweep", "sweep_command"),
    "sim": ("tokenergy.cli.sim", "app"),
}


def preload(argv: list[str]) -> None:
    """Import the module of the command ``argv`` names, if it names one, ahead of parsing (the
    console script freezes what start-up made before the command runs: ``console``)."""
    if argv and argv[0] in COMMANDS:
        import_module(COMMANDS[argv[0]][0])


def _load(name: str) -> Any:
    """The click command of one tokenergy command, built by typer from its module (typed Any:
    recent typer versions carry their own click)."""
    module, attribute = COMMANDS[name]
    target = getattr(import_module(module), attribute)
    holder = typer.Typer()
    if isinstance(target, typer.Typer):
        holder.add_typer(target, name=name)
    else:
        holder.command(name)(target)
    holder.callback()(lambda: None)  # a group, even with one command
    group = typer.main.get_command(holder)
    assert isinstance(group, TyperGroup)
    return group.commands[name]


class _LazyGroup(TyperGroup):
    """Lists every command; imports a command's module only when it is looked up."""

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            self.add_command(_load(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=_LazyGroup,
    name="tokenergy",
    help="How much energy does serving an LLM query take, and why: measure, convert, estimate.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"tokenergy {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """tokenergy: J/token, Wh/query and GWh/day, each with its boundary and power basis."""


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` and return its exit code (tests call this in-process)."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="tokenergy", standalone_mode=False)
    except (typer.Abort, KeyboardInterrupt):
        _error_line("aborted")
        return 130
    except BrokenPipeError:  # `tokenergy ... | head`: the reader left, nothing more to say
        _silence_stdout()
        return 1
    except Exception as error:
        return _exit_code(error)
    return code if isinstance(code, int) else 0


def aborted() -> NoReturn:
    """Ctrl-C before ``run`` (while the console script preloads): one line and exit code 130,
    as ``run`` says it."""
    _error_line("aborted")
    sys.exit(130)


def _exit_code(error: Exception) -> int:
    """One line and exit code 2 for what the user can fix; anything else is a bug: re-raised.

    The renderers and pydantic are imported here, on failure, not at every start.
    """
    from pydantic import ValidationError

    from tokenergy.cli.paths import os_problem

    if isinstance(error, typer.TyperException):  # usage errors of the parser itself
        ctx = getattr(error, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        _error_line(f"{error.format_message()}{hint}")
    elif isinstance(error, TokenergyError):
        from tokenergy.cli.flags import flag_of

        _error_line(str(flag_of(error)))
    elif isinstance(error, ValidationError):
        field, message = validation_problem(error)
        _error_line(f"{field}: {message}")
    elif isinstance(error, OSError):  # an unwritable --out, a full disk: the environment
        _error_line(os_problem(error))
    else:
        raise error
    return 2


def _error_line(message: str) -> None:
    from tokenergy.cli.render import error_line

    error_line(message)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())


def main() -> None:
    """Run the CLI and exit with its code (the console script, ``console.main``, calls this
    once start-up is frozen).

    The objects alive at the end are frozen out of the interpreter's final garbage collection:
    the process is leaving and its memory goes with it (a report holding its data and pages spent
    ~0.1 s CPU in that collection). ``run`` (tests, in-process) does not freeze.
    """
    code = run()
    gc.freeze()
    sys.exit(code)
