"""docs/api.md is executable: every ``python`` block runs, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_the_api_page_has_examples() -> None:
    assert len(BLOCK.findall(DOC.read_text())) >= 4


def test_every_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TOKENERGY_HOME", str(tmp_path / "home"))
    namespace: dict[str, object] = {}
    for number, block in enumerate(BLOCK.findall(DOC.read_text()), 1):
        code = compile(block, f"{DOC.name} block {number}", "exec")
        exec(code, namespace)  # an assertion inside a block fails the test with its line


def test_every_public_name_resolves_and_import_is_lazy() -> None:
    import subprocess
    import sys

    probe = (
        "import sys, tokenergy as t\n"
        "heavy = [m for m in ('numpy', 'aiohttp', 'duckdb', 'matplotlib', 'scipy') "
        "if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "missing = [n for n in t.__all__ if getattr(t, n, None) is None]\n"
        "assert not missing, missing\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
