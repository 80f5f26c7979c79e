"""The typer application: thin — parse, call the library, render.

Each command lives in its own module and registers itself here; ``main`` turns every
TokenergyError (and pydantic validation error) into one line on stderr and exit code 2.
"""

from __future__ import annotations

import contextlib
import os
import sys

import typer
from pydantic import ValidationError

from tokenergy._version import __version__
from tokenergy.cli import analyze, bench, convert, estimate, ingest, reconcile, sim, sweep
from tokenergy.cli.paths import os_problem
from tokenergy.cli.render import error_line
from tokenergy.errors import TokenergyError, validation_problem

app = typer.Typer(
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


app.command("convert")(convert.convert_command)
app.command("ingest")(ingest.ingest_command)
app.command("check")(ingest.check_command)
estimate.register(app)
analyze.register(app)
app.command("reconcile")(reconcile.reconcile_command)
app.command("bench")(bench.bench_command)
app.command("sweep")(sweep.sweep_command)
app.add_typer(sim.app, name="sim")


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on ``argv`` and return its exit code (tests call this in-process)."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="tokenergy", standalone_mode=False)
    except typer.TyperException as error:  # usage errors of the parser itself
        ctx = getattr(error, "ctx", None)
        hint = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        error_line(f"{error.format_message()}{hint}")
        return 2
    except (typer.Abort, KeyboardInterrupt):
        error_line("aborted")
        return 130
    except TokenergyError as error:
        error_line(str(error))
        return 2
    except ValidationError as error:
        field, message = validation_problem(error)
        error_line(f"{field}: {message}")
        return 2
    except BrokenPipeError:  # `tokenergy ... | head`: the reader left, nothing more to say
        _silence_stdout()
        return 1
    except OSError as error:  # an unwritable --out, a full disk: the environment, not a bug
        error_line(os_problem(error))
        return 2
    return code if isinstance(code, int) else 0


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):
        os.dup2(devnull, sys.stdout.fileno())


def main() -> None:
    """Console-script entry point."""
    sys.exit(run())
