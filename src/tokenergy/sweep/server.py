"""One server configuration as a process group: start it, wait until it answers, stop it.

The server runs in its own session (``start_new_session``), so stopping it signals the whole group
— a launcher script and the engine workers it forks die together. SIGTERM first, SIGKILL after the
grace period; the group is reaped before :meth:`ServerProcess.stop` returns, so nothing outlives it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tokenergy.errors import ServerError

_POLL_S = 0.2
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


class ServerFailed(ServerError):
    """The server exited, or never became ready; ``cause`` is a short machine-readable reason."""

    def __init__(self, message: str, cause: str) -> None:
        super().__init__(message)
        self.cause = cause


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel reports free now (the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@dataclass
class ServerProcess:
    command: str
    log_path: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    launch_s: float = 0.0
    ready_s: float | None = None

    def start(self) -> None:
        """Launch the command in a new session, its stdout and stderr in the log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            argv = shlex.split(self.command)
        except ValueError as error:
            raise ServerFailed(f"bad server command: {error}", "bad_command") from None
        if not argv:
            raise ServerFailed("empty server command", "bad_command")
        argv[0] = _resolve(argv[0])
        with self.log_path.open("ab") as log:
            try:
                self.process = subprocess.Popen(
                    argv,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    env={**os.environ, **self.env},
                    start_new_session=True,
                    preexec_fn=_die_with_parent,
                )
            except OSError as error:
                raise ServerFailed(
                    f"cannot start {argv[0]!r}: {error.strerror}", "start_failed"
                ) from None
        self.launch_s = time.monotonic()

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def wait_ready(self, url: str, timeout_s: float) -> float:
        """Poll ``url`` until it answers 200; seconds from launch. Fails if the process exits."""
        deadline = self.launch_s + timeout_s
        while True:
            code = self.exit_code()
            if code is not None:
                raise ServerFailed(f"server exited with code {code} before it was ready", "exited")
            if _answers(url):
                self.ready_s = time.monotonic() - self.launch_s
                return self.ready_s
            if time.monotonic() >= deadline:
                raise ServerFailed(f"not ready after {timeout_s:g} s ({url})", "ready_timeout")
            time.sleep(_POLL_S)

    def stop(self, grace_s: float) -> None:
        """SIGTERM the group, SIGKILL it after ``grace_s``, and reap the leader."""
        if self.process is None:
            return
        group = self.process.pid
        if self.process.poll() is None:
            _signal_group(group, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace_s)
        _signal_group(group, signal.SIGKILL)  # stragglers the leader left behind
        self.process.wait()


def _resolve(program: str) -> str:
    """PATH, then this interpreter's own bin directory: a spec naming ``tokenergy`` (or ``vllm``)
    finds the one installed beside the running tokenergy even when its venv is not activated."""
    if os.sep in program:
        return program
    search = os.pathsep.join([os.environ.get("PATH", ""), os.path.dirname(sys.executable)])
    return shutil.which(program, path=search) or program


def _die_with_parent() -> None:
    """In the child, Linux only: SIGTERM when the sweep dies, even by SIGKILL (no orphans)."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2.0) as response:
            return 200 <= int(response.status) < 300
    except (urllib.error.URLError, OSError, ValueError):
        return False
