"""Output paths given on the command line: refused early, in one line, before any work is done.

Commands call :func:`output_file` / :func:`output_dir` on their ``--out``/``--plot`` values, and
wrap the final write in :func:`writing` so a full disk or a vanished directory is one line too.
Directories are never created beyond what the user asked for: a missing parent of an output file
is an error, not a reason to create ``/nonexistent``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from tokenergy.errors import ConfigError


def os_problem(error: OSError) -> str:
    """'PATH: reason' for an OSError (the reason without Python's '[Errno N]' prefix)."""
    reason = error.strerror or str(error) or type(error).__name__
    return f"{error.filename}: {reason}" if error.filename else reason


def output_file(path: Path, option: str) -> Path:
    """A file we may create or replace: its parent exists and is a directory; it is not one."""
    if path.is_dir():
        raise ConfigError("is a directory; give a file name", file=str(path), field=option)
    parent = path.parent
    if not parent.exists():
        raise ConfigError(
            f"directory {parent} does not exist (create it first)", file=str(path), field=option
        )
    if not parent.is_dir():
        raise ConfigError(f"{parent} is not a directory", file=str(path), field=option)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"directory {parent} is not writable", file=str(path), field=option)
    return path


def output_dir(path: Path, option: str) -> Path:
    """A directory we may create (with its parents): no existing part of it is a file."""
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                raise ConfigError(f"{part} is not a directory", file=str(path), field=option)
            if not os.access(part, os.W_OK | os.X_OK):
                raise ConfigError(f"{part} is not writable", file=str(path), field=option)
            break
    return path


@contextlib.contextmanager
def writing(path: Path, option: str) -> Iterator[None]:
    """Turn any OSError of the block into a one-line error naming the path and option."""
    try:
        yield
    except OSError as error:
        raise ConfigError(
            f"cannot write: {error.strerror or error}", file=str(path), field=option
        ) from None


def write_via_temp(path: Path, option: str, write: Callable[[Path], None]) -> None:
    """Let ``write`` produce a file in a private temp directory, then copy it to ``path``.

    For writers (DuckDB, pyarrow) whose failures are not OSErrors: whatever they raise, the
    user's target is touched only by a plain copy, whose failure (a full disk, /dev/full) is
    one line.
    """
    output_file(path, option)
    with tempfile.TemporaryDirectory(prefix="tokenergy-") as tmp:
        staged = Path(tmp) / (path.name or "out")
        write(staged)
        with writing(path, option):
            shutil.copyfile(staged, path)
