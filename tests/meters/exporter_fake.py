"""A DCGM-exporter-like /metrics endpoint for tests: real HTTP on 127.0.0.1, values from P(t).

Like dcgm-exporter it exposes ``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION`` (mJ counter) and
``DCGM_FI_DEV_POWER_USAGE`` (W gauge) per GPU with the labels gpu, UUID, device, modelName,
Hostname. It stands in for the GPU + exporter pair, i.e. the hardware boundary of the dcgm meter.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from nvml_fake import SinePower


@dataclass
class Exporter:
    profiles: list[SinePower]
    hostname: str = "node1"
    with_energy: bool = True
    status: int = 200
    body_override: str | None = None
    t0_s: float = field(default_factory=time.time)
    url: str = ""

    def true_energy_j(self, index: int, start_s: float, end_s: float) -> float:
        return self.profiles[index].energy_j(start_s - self.t0_s, end_s - self.t0_s)

    def labels(self, index: int) -> str:
        return (
            f'gpu="{index}",UUID="GPU-{index:08d}-fake",device="nvidia{index}",'
            f'modelName="NVIDIA H100 80GB HBM3",Hostname="{self.hostname}",'
            'DCGM_FI_DRIVER_VERSION="550.54.15"'
        )

    def exposition(self) -> str:
        if self.body_override is not None:
            return self.body_override
        t_s = time.time() - self.t0_s
        lines = [
            "# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).",
            "# TYPE DCGM_FI_DEV_POWER_USAGE gauge",
        ]
        lines += [
            f"DCGM_FI_DEV_POWER_USAGE{{{self.labels(i)}}} {p.power_w(t_s):.3f}"
            for i, p in enumerate(self.profiles)
        ]
        if self.with_energy:
            lines += [
                "# HELP DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION Total energy since boot (in mJ).",
                "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter",
            ]
            lines += [
                f"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{{{self.labels(i)}}} "
                f"{round(p.energy_j(0.0, t_s) * 1000 + 5e9)}"
                for i, p in enumerate(self.profiles)
            ]
        return "\n".join(lines) + "\n"


@contextmanager
def serve(exporter: Exporter) -> Iterator[Exporter]:
    """Serve ``exporter`` at http://127.0.0.1:PORT/metrics until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/metrics":
                self.send_error(404)
                return
            body = exporter.exposition().encode()
            self.send_response(exporter.status)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    exporter.url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
    try:
        yield exporter
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
