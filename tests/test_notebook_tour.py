"""The notebook tour (tests/examples/notebook_tour.py) runs as a script: public API only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TOUR = Path(__file__).resolve().parent / "examples" / "notebook_tour.py"


def test_the_notebook_tour_runs(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(TOUR), str(tmp_path / "tour")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    for step in (
        "convert:",
        "best:",
        "estimate:",
        "bench:",
        "loaded 2 measured results",
        "reconcile:",
    ):
        assert step in done.stdout
