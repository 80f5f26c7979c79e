"""Crash safety: SIGKILL a process adding results at random moments; the store stays readable."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tokenergy.store import Store

_WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from analyze.builders import make_result
from tokenergy.store import Store
store = Store(Path(sys.argv[1]))
store.add(make_result(power_w=100.0))
print("ready", flush=True)  # after one add: the slow first imports and writes are done
for i in range(1, 10_000):
    store.add(make_result(power_w=100.0 + i))
"""


@pytest.mark.slow
def test_sigkill_while_adding_never_leaves_an_unreadable_store(tmp_path: Path) -> None:
    tests_dir = str(Path(__file__).parent)
    rng = random.Random(20261128)
    for _ in range(20):
        writer = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path), tests_dir],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.4))
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
        store = Store(tmp_path)
        assert store.damaged() == []
        rows = store.query()  # DuckDB reads every row file
        assert len({row["id"] for row in rows}) == len(rows)
        for row in rows[-3:]:
            assert store.get(row["id"]).identity.gpu == "H100"
    assert Store(tmp_path).query(), "the writers never got to store anything"
