"""What metering costs the client: CPU per poll of each meter path, and window computation time.

Prints, measured side by side in one run:
- CPU seconds per DCGM scrape + parse of a simulated exporter (1 and 8 GPUs) as a share of one
  core at the default 0.5 s interval — the load generator shares the machine with this thread
  (an upper bound: the simulator answers in the same process and its CPU is counted too);
- the time to compute one window over an hour of 10 Hz readings of 8 GPUs, against the hour it
  covers.
"""

from __future__ import annotations

import time

from tokenergy.meters.base import DeviceInfo, Reading
from tokenergy.meters.dcgm import DcgmMeter
from tokenergy.meters.window import window_energy
from tokenergy.sim.server import run_in_thread

PROFILE = "llama-3.1-8b-h100"
POLLS = 200


def scrape_cpu_s(num_gpus: int) -> float:
    with run_in_thread(PROFILE, num_gpus=num_gpus) as sim:
        meter = DcgmMeter("dcgm", sim.dcgm_url)
        meter.open()
        start = time.process_time()
        for _ in range(POLLS):
            meter.read()
        return (time.process_time() - start) / POLLS


def window_s(devices: int, hours: float, rate_hz: float) -> float:
    count = int(hours * 3600 * rate_hz)
    series = {
        DeviceInfo(f"gpu{d}"): [
            Reading(i / rate_hz, energy_j=500.0 * i / rate_hz) for i in range(count)
        ]
        for d in range(devices)
    }
    start = time.perf_counter()
    window_energy(series, 10.0, hours * 3600 - 10.0)
    return time.perf_counter() - start


def main() -> None:
    interval_s = DcgmMeter.poll_interval_s
    for gpus in (1, 8):
        cpu_s = scrape_cpu_s(gpus)
        print(
            f"dcgm scrape+parse, {gpus} GPU(s): {cpu_s * 1000:.2f} ms CPU per poll = "
            f"{cpu_s / interval_s:.2%} of one core at {interval_s:g} s polls"
        )
    seconds = window_s(devices=8, hours=1.0, rate_hz=10.0)
    print(
        f"window over 1 h of 10 Hz readings x 8 GPUs: {seconds * 1000:.0f} ms "
        f"({seconds / 3600:.1e} of the window's duration)"
    )


if __name__ == "__main__":
    main()
