"""Latency and throughput definitions (vLLM's benchmark definitions), pinned by tests.

See docs/methodology.md §7.

- TTFT = first token chunk − send; E2EL = last token chunk − send.
- TPOT = (E2EL − TTFT) / (n_out − 1) per request, n_out = the server's usage count (n_out > 1).
- ITL = gaps between consecutive token chunks, pooled over requests. When a chunk carries k > 1
  tokens, its gap can also be spread evenly over the k tokens (k gaps of g/k): ``itl_unit`` says
  which one ``LatencyStats.itl_s`` holds (``token`` only when every chunk carried one token).
- Interactivity = 1/TPOT per request (tok/s/user); its spread comes from per-request values.
- Percentiles over successes, and separately with failures as +∞ (interactivity 0).
- Steady state (closed loop, cap B, N requests): from the moment B requests have produced a first
  token to the moment N − B − 1 requests have finished (ML.ENERGY rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tokenergy.load.client import RequestRecord
from tokenergy.records import Counts, ItlUnit, LatencyStats, MetricStats

_PERCENTILES = (50.0, 90.0, 95.0, 99.0)
_BIG = 1e300  # stands in for +inf so interpolation towards a failure stays above every real value


def metric_stats(values: Sequence[float] | np.ndarray) -> MetricStats | None:
    """Mean, median, std, p90/p95/p99 (linear interpolation, as numpy/vLLM); +inf allowed.

    With +inf values the mean and std are +inf/undefined and any percentile whose interpolation
    reaches a +inf value is +inf.
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return None
    infinite = np.isinf(data)
    finite = data[~infinite]
    if infinite.any():
        limit = float(finite.max()) if finite.size else 0.0
        padded = np.where(infinite, _BIG, data)
        p50, p90, p95, p99 = (
            float(v) if v <= limit else float("inf") for v in np.percentile(padded, _PERCENTILES)
        )
        return MetricStats(mean=float("inf"), median=p50, std=None, p90=p90, p95=p95, p99=p99)
    p50, p90, p95, p99 = (float(v) for v in np.percentile(data, _PERCENTILES))
    return MetricStats(
        mean=float(data.mean()), median=p50, std=float(data.std()), p90=p90, p95=p95, p99=p99
    )


@dataclass(frozen=True)
class RequestLatency:
    """Per-request latencies in seconds (None when undefined, e.g. TPOT with one output token)."""

    ttft_s: float
    e2el_s: float
    tpot_s: float | None
    chunk_gaps_s: np.ndarray
    token_gaps_s: np.ndarray

    @property
    def intvty_tok_s(self) -> float | None:
        return None if not self.tpot_s else 1.0 / self.tpot_s


def request_latency(record: RequestRecord) -> RequestLatency | None:
    """Latencies of a request that streamed at least one token chunk; None otherwise."""
    if record.send_ns is None or not record.chunk_ns:
        return None
    times = np.asarray(record.chunk_ns, dtype=np.int64)
    ttft = (times[0] - record.send_ns) / 1e9
    e2el = (times[-1] - record.send_ns) / 1e9
    n_out = record.output_tokens
    tpot = (e2el - ttft) / (n_out - 1) if n_out > 1 else None
    gaps = np.diff(times) / 1e9
    tokens = np.asarray(record.chunk_tokens[1:], dtype=np.int64)
    token_gaps = np.repeat(gaps / np.maximum(tokens, 1), np.maximum(tokens, 1))
    return RequestLatency(ttft, e2el, tpot, gaps, token_gaps)


@dataclass(frozen=True)
class LatencySummary:
    """LatencyStats plus the ITL in the other unit (per token when ``stats`` holds chunk gaps)."""

    stats: LatencyStats
    itl_per_token_s: MetricStats | None
    num_requests: int


def latency_summary(records: Sequence[RequestRecord], *, failures_as_inf: bool) -> LatencySummary:
    """Latency statistics over successful requests, optionally with failures as +∞.

    Incomplete requests (cut off by the stop) are neither successes nor failures and are left out.
    """
    ttft, e2el, tpot, intvty = [], [], [], []
    chunk_gaps: list[np.ndarray] = []
    token_gaps: list[np.ndarray] = []
    one_token_chunks = True
    count = 0
    for record in records:
        if record.failed and failures_as_inf:
            count += 1
            ttft.append(np.inf)
            e2el.append(np.inf)
            tpot.append(np.inf)
            intvty.append(0.0)
            continue
        if not record.ok:
            continue
        latency = request_latency(record)
        if latency is None:
            continue
        count += 1
        ttft.append(latency.ttft_s)
        e2el.append(latency.e2el_s)
        if latency.tpot_s is not None:
            tpot.append(latency.tpot_s)
            if latency.intvty_tok_s is not None:
                intvty.append(latency.intvty_tok_s)
        chunk_gaps.append(latency.chunk_gaps_s)
        token_gaps.append(latency.token_gaps_s)
        one_token_chunks &= record.chunk_tokens_exact and all(k == 1 for k in record.chunk_tokens)
    chunk_itl = metric_stats(np.concatenate(chunk_gaps)) if chunk_gaps else None
    token_itl = metric_stats(np.concatenate(token_gaps)) if token_gaps else None
    unit = ItlUnit.TOKEN if one_token_chunks and chunk_gaps else ItlUnit.CHUNK
    stats = LatencyStats(
        ttft_s=metric_stats(ttft),
        tpot_s=metric_stats(tpot),
        itl_s=chunk_itl,
        e2el_s=metric_stats(e2el),
        intvty_tok_s=metric_stats(intvty),
        itl_unit=unit,
        failures_as_inf=failures_as_inf,
    )
    return LatencySummary(stats, None if unit is ItlUnit.TOKEN else token_itl, count)


# --- windows, throughput, Little's law ----------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """A measurement window in ns relative to the run anchor; ``steady`` says which rule made it."""

    start_ns: int
    end_ns: int
    steady: bool
    reason: str

    @property
    def duration_s(self) -> float:
        return (self.end_ns - self.start_ns) / 1e9

    def contains(self, t_ns: int) -> bool:
        return self.start_ns <= t_ns <= self.end_ns


def whole_run_window(records: Sequence[RequestRecord]) -> Window | None:
    """First send to last end of the measured requests."""
    sends = [r.send_ns for r in records if r.send_ns is not None]
    ends = [r.end_ns for r in records if r.end_ns is not None]
    if not sends or not ends or max(ends) <= min(sends):
        return None
    return Window(min(sends), max(ends), steady=False, reason="whole run")


def steady_state_window(records: Sequence[RequestRecord], concurrency: int) -> Window | None:
    """The ML.ENERGY steady state of a closed-loop run; None when the run never reached it.

    Starts when ``concurrency`` (B) requests have produced a first token and ends when
    N − B − 1 requests have finished (any outcome but cut-off), N = measured requests sent.
    """
    sent = [r for r in records if r.send_ns is not None]
    n, b = len(sent), concurrency
    firsts = sorted(r.first_token_ns for r in sent if r.first_token_ns is not None)
    ends = sorted(r.end_ns for r in sent if r.end_ns is not None and r.outcome != "incomplete")
    finished_needed = n - b - 1
    if len(firsts) < b or finished_needed < 1 or len(ends) < finished_needed:
        return None
    start, end = firsts[b - 1], ends[finished_needed - 1]
    if end <= start:
        return None
    return Window(start, end, steady=True, reason=f"steady state: B={b}, N={n}")


@dataclass(frozen=True)
class WindowTotals:
    """Work done inside a window: output tokens by chunk time, input tokens at first token."""

    input_tokens: int
    output_tokens: int
    counts: Counts

    def rates(self, window: Window) -> tuple[float, float, float]:
        """input tok/s, output tok/s, completed req/s."""
        t = window.duration_s
        completed = self.counts.completed or 0
        return self.input_tokens / t, self.output_tokens / t, completed / t


def window_totals(records: Sequence[RequestRecord], window: Window) -> WindowTotals:
    """Tokens and requests that fall inside ``window`` (partial requests count their share)."""
    input_tokens = completed = failed = 0
    output_tokens = 0.0
    causes: dict[str, int] = {}
    for record in records:
        streamed = sum(record.chunk_tokens)
        # Chunk counts not confirmed by usage: spread the usage count evenly over the chunks.
        scale = 1.0
        if not record.chunk_tokens_exact and record.completion_tokens and streamed:
            scale = record.completion_tokens / streamed
        for t, k in zip(record.chunk_ns, record.chunk_tokens, strict=True):
            if window.contains(t):
                output_tokens += k * scale
        if record.first_token_ns is not None and window.contains(record.first_token_ns):
            input_tokens += record.prompt_tokens if record.prompt_tokens is not None else record.isl
        if record.end_ns is None or not window.contains(record.end_ns):
            continue
        if record.ok:
            completed += 1
        elif record.failed:
            failed += 1
            causes[record.outcome] = causes.get(record.outcome, 0) + 1
    counts = Counts(
        attempted=completed + failed,
        completed=completed,
        failed=failed,
        incomplete=0,
        failures_by_cause=causes,
    )
    return WindowTotals(input_tokens, round(output_tokens), counts)


def run_counts(records: Sequence[RequestRecord]) -> Counts:
    """Every measured request accounted for: attempted = completed + failed + incomplete."""
    causes: dict[str, int] = {}
    completed = incomplete = 0
    for record in records:
        if record.ok:
            completed += 1
        elif record.failed:
            causes[record.outcome] = causes.get(record.outcome, 0) + 1
        else:
            incomplete += 1
    failed = sum(causes.values())
    return Counts(
        attempted=len(records),
        completed=completed,
        failed=failed,
        incomplete=incomplete,
        failures_by_cause=dict(sorted(causes.items())),
    )


@dataclass(frozen=True)
class LittlesLaw:
    """L = λ·W inside a window, against the time-averaged requests in flight and the nominal cap."""

    completed_req_s: float
    mean_e2el_s: float
    predicted_concurrency: float
    measured_concurrency: float
    nominal_concurrency: int | None

    @property
    def relative_error(self) -> float:
        if self.measured_concurrency == 0:
            return float("inf")
        return self.predicted_concurrency / self.measured_concurrency - 1.0


def littles_law(
    records: Sequence[RequestRecord], window: Window, nominal: int | None
) -> LittlesLaw | None:
    """λ = requests completed in the window / T, W = their mean latency (send → end)."""
    done = [
        r
        for r in records
        if r.ok and r.end_ns is not None and r.send_ns is not None and window.contains(r.end_ns)
    ]
    if not done:
        return None
    rate = len(done) / window.duration_s
    mean_latency_s = float(np.mean([(r.end_ns - r.send_ns) / 1e9 for r in done]))  # type: ignore[operator]
    busy_ns = 0
    for r in records:
        if r.send_ns is None:
            continue
        end = r.end_ns if r.end_ns is not None else window.end_ns
        busy_ns += max(0, min(end, window.end_ns) - max(r.send_ns, window.start_ns))
    measured = busy_ns / (window.end_ns - window.start_ns)
    return LittlesLaw(rate, mean_latency_s, rate * mean_latency_s, measured, nominal)
