"""bench's live 'J/output token so far' (issue 12 build item 4): energy and tokens over one window,
the one the meters have read, so the first figure is not ~0 J over the tokens of a poll interval."""

from __future__ import annotations

import time

from tokenergy.cli.progress import BenchProgress
from tokenergy.load.client import ClockAnchor, Outcome, RequestRecord
from tokenergy.meters.base import DeviceInfo, PollingMeter, Reading, now_s
from tokenergy.meters.meterset import MeterSet


class _KilowattGpu(PollingMeter):
    """A GPU at a steady 1 kW (the hardware boundary): its counter is 1000 J per second."""

    name = "kw"

    def __init__(self) -> None:
        super().__init__("kw")
        self.origin_s = now_s()

    @classmethod
    def from_spec(cls, spec: str, args: str) -> _KilowattGpu:
        return cls()

    @property
    def method(self) -> str:
        return "kw-counter"

    def open(self) -> list[DeviceInfo]:
        return [DeviceInfo("gpu0", model="NVIDIA H100 80GB HBM3")]

    def read(self) -> dict[str, Reading]:
        t_s = now_s()
        return {"gpu0": Reading(t_s, energy_j=1000.0 * (t_s - self.origin_s))}


def _done(tokens: int) -> RequestRecord:
    return RequestRecord(
        index=0, warmup=False, isl=1, osl=tokens, target_ns=None, completion_tokens=tokens,
        outcome=Outcome.OK,
    )  # fmt: skip


def test_live_energy_per_token_uses_the_window_the_meters_read() -> None:
    meters = MeterSet([_KilowattGpu()])
    meters.open()
    meters.mark()  # the reading before the load (as the bench's idle/start edge)
    progress = BenchProgress("c=1", 10, meters, terminal=False, line_every_s=3600.0)
    progress.on_start(ClockAnchor.now())
    start_s = progress.metered_from
    assert start_s is not None
    progress.on_request_done(_done(100))
    # no reading since the load began: no figure (it was 0 J / 100 tokens, shown as 0)
    assert "J/output" not in progress.rates(fresh=True)
    time.sleep(0.2)
    read_s = meters.mark()
    progress.on_request_done(_done(300))  # after the meters' last reading: not in the window
    note = progress.rates(fresh=True)
    meters.close()
    progress.close()
    expected_j_per_token = 1000.0 * (read_s - start_s) / 100
    shown = float(note.split(", ")[1].split(" J/output")[0])
    assert abs(shown - expected_j_per_token) <= 0.01 * expected_j_per_token  # not ÷ 400 tokens
