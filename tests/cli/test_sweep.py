"""``tokenergy sweep`` in-process: flags as a spec, one-line errors, failures reported."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tokenergy.cli.app import run


def test_a_bad_spec_is_one_line_with_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[server]\ncommand = "x {nope}"\n[workload]\nconcurrency = [1]\n')
    assert run(["sweep", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "bad.toml" in err and "unknown placeholder {nope}" in err and "Traceback" not in err
    assert run(["sweep", "--out", str(tmp_path / "o"), "--param", "novalue"]) == 2
    assert "--param" in capsys.readouterr().err


def test_flags_alone_make_a_spec_and_all_failed_configurations_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    command = f"{sys.executable} -c 'raise SystemExit({{code}})'"
    code = run(
        [
            "sweep",
            "--out",
            str(tmp_path / "o"),
            "--command",
            command,
            "--param",
            "code=3,4",
            "--concurrency",
            "1",
            "--no-save",
            "--json",
        ]
    )
    assert code == 1
    payload = json.loads(capsys.readouterr().out)
    assert [c["cause"] for c in payload["configurations"]] == ["exited", "exited"]
    assert [c["params"] for c in payload["configurations"]] == [{"code": 3}, {"code": 4}]
    assert (tmp_path / "o" / "code-3" / "outcome.json").exists()
