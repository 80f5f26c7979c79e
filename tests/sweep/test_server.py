"""Server process groups: a launcher and what it forks die together; early exits are causes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tokenergy.sweep.server import ServerFailed, ServerProcess, free_port


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def test_stop_kills_the_whole_group_even_a_child_ignoring_sigterm(tmp_path: Path) -> None:
    child_pid = tmp_path / "child.pid"
    script = (
        "import os, signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)'])\n"
        f"open({str(child_pid)!r}, 'w').write(str(child.pid))\n"
        "time.sleep(600)\n"
    )
    (tmp_path / "server.py").write_text(script)
    server = ServerProcess(f"{sys.executable} {tmp_path / 'server.py'}", tmp_path / "log", {})
    server.start()
    deadline = time.monotonic() + 60
    while not child_pid.exists() or not child_pid.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    grandchild = int(child_pid.read_text())
    assert server.pid is not None and _alive(server.pid) and _alive(grandchild)
    server.stop(grace_s=0.5)
    time.sleep(0.2)
    assert not _alive(server.pid) and not _alive(grandchild)


def test_a_command_that_exits_at_once_is_a_cause_not_a_hang(tmp_path: Path) -> None:
    server = ServerProcess(f"{sys.executable} -c 'raise SystemExit(3)'", tmp_path / "log", {})
    server.start()
    with pytest.raises(ServerFailed) as caught:
        server.wait_ready(f"http://127.0.0.1:{free_port()}/v1/models", timeout_s=60)
    assert caught.value.cause == "exited" and "code 3" in caught.value.message
    server.stop(grace_s=1)


def test_a_missing_program_and_a_silent_server_are_causes(tmp_path: Path) -> None:
    with pytest.raises(ServerFailed) as missing:
        ServerProcess("no-such-server-program --x", tmp_path / "log", {}).start()
    assert missing.value.cause == "start_failed"
    quiet = ServerProcess(f"{sys.executable} -c 'import time; time.sleep(60)'", tmp_path / "l", {})
    quiet.start()
    with pytest.raises(ServerFailed) as silent:
        quiet.wait_ready(f"http://127.0.0.1:{free_port()}/", timeout_s=0.5)
    assert silent.value.cause == "ready_timeout"
    quiet.stop(grace_s=1)
    assert quiet.exit_code() is not None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux only")
def test_a_server_dies_when_the_sweep_is_killed(tmp_path: Path) -> None:
    """SIGKILL of the process running the sweep (no cleanup runs) still ends its server: the
    kernel's parent-death signal (issue 14: no orphans)."""
    server_pid = tmp_path / "server.pid"
    sweep = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from tokenergy.sweep.server import ServerProcess\n"
        "server = ServerProcess(f'{sys.executable} -c \"import time; time.sleep(600)\"', "
        f"Path({str(tmp_path / 'log')!r}), {{}})\n"
        "server.start()\n"
        f"Path({str(server_pid)!r}).write_text(str(server.pid))\n"
        "time.sleep(600)\n"
    )
    runner = subprocess.Popen([sys.executable, "-c", sweep])
    try:
        deadline = time.monotonic() + 120  # an import of tokenergy on a busy machine
        while not server_pid.exists() or not server_pid.read_text():
            assert time.monotonic() < deadline and runner.poll() is None
            time.sleep(0.05)
        pid = int(server_pid.read_text())
        assert _alive(pid)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait()
        deadline = time.monotonic() + 30
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)  # leave nothing running if the assertion fails
            pytest.fail("the server outlived the sweep")
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
