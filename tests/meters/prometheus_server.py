"""Start the real Prometheus binary (Debian package ``prometheus``) on 127.0.0.1 for a test."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

BINARY = shutil.which("prometheus")
needs_prometheus = pytest.mark.skipif(
    BINARY is None,
    reason="prometheus binary not found (Debian: apt-get install -y prometheus)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=2) as response:
        answer: dict[str, object] = json.loads(response.read())
        return answer


@contextmanager
def prometheus(
    tmp: Path, target: str, scrape_interval_s: int = 1, metrics_path: str = "/metrics"
) -> Iterator[str]:
    """Prometheus scraping ``target`` (host:port) at ``metrics_path``; yields its base URL."""
    assert BINARY is not None
    port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text(
        "global:\n"
        f"  scrape_interval: {scrape_interval_s}s\n"
        f"  scrape_timeout: {scrape_interval_s}s\n"
        "scrape_configs:\n"
        "  - job_name: dcgm\n"
        f"    metrics_path: {metrics_path}\n"
        "    static_configs:\n"
        f"      - targets: ['{target}']\n"
    )
    log = (tmp / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            BINARY,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for_first_scrape(base, process, tmp)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_for_first_scrape(base: str, process: subprocess.Popen[bytes], tmp: Path) -> None:
    query = f"{base}/api/v1/query?query=up%3D%3D1"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited: {(tmp / 'prometheus.log').read_text()}")
        try:
            data = _get_json(query)["data"]
            if isinstance(data, dict) and data.get("result"):
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("prometheus did not scrape its target within 30 s")
