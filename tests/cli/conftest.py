"""In-process CLI runs: the real entry point (``tokenergy.cli.app.run``) with captured streams."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tokenergy.cli.app import run


@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str


def invoke(*args: str) -> Outcome:
    """``tokenergy ARGS`` in this process: exit code, stdout and stderr as a user sees them."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = run(list(args))
        except SystemExit as done:  # --help, --version and typer.Exit in standalone paths
            code = done.code if isinstance(done.code, int) else 0 if done.code is None else 1
    return Outcome(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli() -> Callable[..., Outcome]:
    return invoke
