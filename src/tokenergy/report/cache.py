"""Results of the report's slow steps on the embedded data (the reference rows, the default Monte
Carlo, the reconciliation), kept between runs in the user cache directory.

Those steps read nothing but the package itself (its code and its catalog), so a result is keyed
by a hash of every file of the installed package, its path, the Python, numpy and pydantic
versions and the step's name: any change to code or data is a new key, never a stale hit. The
entries of the few package versions written last are kept (several installs may share the
directory), older ones deleted. A missing, unreadable or corrupt entry is recomputed.
``TOKENERGY_CACHE_DIR`` moves the directory; set to ``off`` it turns the cache off.

Entries are pickles, and unpickling runs code, so an entry is read only when it and its directory
belong to the current user and no one else can write them (the directory is created 0700): a
cache directory someone else could plant a file in is treated as no cache (docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

CACHE_ENV = "TOKENERGY_CACHE_DIR"
KEPT_VERSIONS = 4  # package versions whose entries are kept (~2.5 MB each)
_SUFFIX = ".pickle"


def cache_dir() -> Path | None:
    """$TOKENERGY_CACHE_DIR (``off``: no cache), else the platform's user cache dir."""
    configured = os.environ.get(CACHE_ENV)
    if configured is not None and configured.strip().lower() in ("off", "0", "none", ""):
        return None
    if configured:
        return Path(configured)
    import platformdirs  # only when no directory is configured

    return platformdirs.user_cache_path("tokenergy") / "report"


def tree_digest(root: Path, *salt: str) -> str:
    """SHA-256 (first 128 bits, hex) of every file under ``root`` (path and bytes; compiled
    ``__pycache__`` left out), its own path and ``salt``."""
    digest = hashlib.sha256("|".join((str(root), *salt)).encode())
    for path in sorted(root.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:32]


@functools.cache
def package_digest() -> str:
    """The digest of the installed package (code, templates, catalog data; its path, since
    results may name files in it) and the versions that decide how results are computed and
    unpickled."""
    import numpy
    import pydantic

    root = Path(__file__).resolve().parents[1]
    return tree_digest(root, sys.version, numpy.__version__, pydantic.VERSION)


class ResultCache:
    """Pickled step results in one directory, named ``<package digest>-<step>.pickle``."""

    def __init__(self, directory: Path, digest: str | None = None) -> None:
        self.dir = directory
        self.digest = digest or package_digest()

    def _path(self, name: str) -> Path:
        return self.dir / f"{self.digest}-{name}{_SUFFIX}"

    def get(self, name: str) -> tuple[bool, Any]:
        """(True, value) on a hit; (False, None) when absent, unreadable or not private."""
        try:
            with self._path(name).open("rb") as file:
                if not (_private(os.fstat(file.fileno())) and _private(self.dir.stat())):
                    return False, None
                return True, pickle.load(file)
        except Exception:  # any unreadable entry is a miss: it is recomputed and rewritten
            return False, None

    def put(self, name: str, value: Any) -> None:
        """Write atomically (a reader never sees half a file); a cache that cannot be written is
        no cache, never an error."""
        partial: Path | None = None
        try:
            self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            if not _private(self.dir.stat()):
                return
            with tempfile.NamedTemporaryFile(
                "wb", dir=self.dir, prefix=".", suffix=".part", delete=False
            ) as file:
                partial = Path(file.name)
                pickle.dump(value, file, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(partial, self._path(name))
            partial = None
            self._prune()
        except (OSError, pickle.PicklingError, TypeError, AttributeError):
            pass
        finally:
            if partial is not None:
                partial.unlink(missing_ok=True)

    def _prune(self) -> None:
        """Keep this package version's entries and those of the ``KEPT_VERSIONS`` - 1 versions
        written most recently (several installs may share the directory), delete the rest."""
        newest: dict[str, float] = {}
        entries = list(self.dir.glob(f"*{_SUFFIX}"))
        for entry in entries:
            digest = entry.name.split("-", 1)[0]
            with contextlib.suppress(OSError):
                newest[digest] = max(newest.get(digest, 0.0), entry.stat().st_mtime)
        others = sorted((d for d in newest if d != self.digest), key=newest.__getitem__)
        stale = set(others[: max(len(others) - (KEPT_VERSIONS - 1), 0)])
        for entry in entries:
            if entry.name.split("-", 1)[0] in stale:
                entry.unlink(missing_ok=True)

    def compute(self, name: str, job: Callable[[], Any]) -> Any:
        """The cached value of ``name``, else ``job()`` stored under it."""
        hit, value = self.get(name)
        if hit:
            return value
        value = job()
        self.put(name, value)
        return value


def _private(status: os.stat_result) -> bool:
    """Owned by this user and writable by no one else (always true where there are no uids)."""
    if not hasattr(os, "getuid"):
        return True
    return status.st_uid == os.getuid() and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def default_cache() -> ResultCache | None:
    directory = cache_dir()
    return None if directory is None else ResultCache(directory)
