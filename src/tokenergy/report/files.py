"""Writing report files: every failure (a file where the directory should be, /proc, a full
disk) becomes one ConfigError line naming --out, never a traceback."""

from __future__ import annotations

import os
from pathlib import Path

from tokenergy.errors import ConfigError


def prepare_out(out: Path) -> Path:
    """Create the output directory or say in one line why it cannot be (a file, /proc, ...)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} exists and is not a directory", field="out")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot create {out}: {error.strerror or error}", field="out") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write into {out}: permission denied", field="out")
    return out


def write_text(path: Path, text: str) -> None:
    """Write or raise a one-line ConfigError (disk full, read-only file system, ...)."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot write {path}: {error.strerror or error}", field="out") from None
