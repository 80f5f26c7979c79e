"""``tokenergy ARGS`` in this process, returned as a CompletedProcess (exit code, stdout, stderr).

The real entry point (``tokenergy.cli.app.run``) with captured streams: the same exit codes and
output as the console script, without a Python start per call (minutes of a suite on a busy
machine). ``env`` overrides environment variables for the call. A few subprocess smoke tests
(tests/cli/test_startup.py, the signal tests of bench and sim) keep the console script honest.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path

from tokenergy.cli.app import run


@contextlib.contextmanager
def _environment(env: Mapping[str, str] | None) -> Iterator[None]:
    saved = dict(os.environ)
    if env is not None:
        os.environ.clear()
        os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_cli(
    *args: str | Path, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    argv = [str(arg) for arg in args]
    out, err = io.StringIO(), io.StringIO()
    with _environment(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = run(argv)
        except SystemExit as done:  # --help, --version
            code = done.code if isinstance(done.code, int) else 0 if done.code is None else 1
    return subprocess.CompletedProcess(["tokenergy", *argv], code, out.getvalue(), err.getvalue())
