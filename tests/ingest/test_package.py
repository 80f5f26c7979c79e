"""The ingest package's names load on first use, and every exported one resolves."""

from __future__ import annotations

import subprocess
import sys

import tokenergy.ingest as ingest


def test_every_exported_name_resolves() -> None:
    for name in ingest.__all__:
        assert getattr(ingest, name) is not None
    assert len(ingest.ADAPTERS) > 5  # the registry is filled when the names are asked for


def test_a_submodule_does_not_import_the_adapters() -> None:
    code = (
        "import sys, tokenergy.ingest.common; "
        "print(sorted(m for m in sys.modules if m.startswith('tokenergy.ingest.')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "tokenergy.ingest.detect" not in loaded and "tokenergy.ingest.common" in loaded
