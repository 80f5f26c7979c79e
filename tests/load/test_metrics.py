"""Metric definitions against hand-made chunk timelines (times in ms, written out by hand)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tokenergy.load.client import RequestRecord
from tokenergy.load.metrics import (
    Window,
    latency_summary,
    littles_law,
    metric_stats,
    request_latency,
    run_counts,
    steady_state_window,
    whole_run_window,
    window_totals,
)
from tokenergy.records import ItlUnit

MS = 1_000_000


def rec(
    index: int,
    send_ms: float,
    chunks_ms: list[float],
    tokens: list[int] | None = None,
    *,
    outcome: str = "ok",
    end_ms: float | None = None,
    isl: int = 10,
) -> RequestRecord:
    tokens = tokens if tokens is not None else [1] * len(chunks_ms)
    chunk_ns = [round(c * MS) for c in chunks_ms]
    return RequestRecord(
        index=index,
        warmup=False,
        isl=isl,
        osl=sum(tokens),
        target_ns=None,
        send_ns=round(send_ms * MS),
        first_token_ns=chunk_ns[0] if chunk_ns else None,
        end_ns=round((end_ms if end_ms is not None else chunks_ms[-1]) * MS),
        chunk_ns=chunk_ns,
        chunk_tokens=tokens,
        chunk_tokens_exact=True,
        prompt_tokens=isl if outcome == "ok" else None,
        completion_tokens=sum(tokens) if outcome == "ok" else None,
        outcome=outcome,
    )


def test_single_token_chunks_ttft_tpot_itl_e2el() -> None:
    # send at 0; tokens at 100, 110, 130, 160 ms
    latency = request_latency(rec(0, 0, [100, 110, 130, 160]))
    assert latency is not None
    assert latency.ttft_s == pytest.approx(0.100)
    assert latency.e2el_s == pytest.approx(0.160)
    assert latency.tpot_s == pytest.approx(0.060 / 3)  # (E2EL - TTFT) / (n - 1)
    assert latency.chunk_gaps_s == pytest.approx([0.010, 0.020, 0.030])
    assert latency.intvty_tok_s == pytest.approx(50.0)


def test_chunked_stream_tpot_differs_from_chunk_itl() -> None:
    # 7 tokens in 3 chunks: 1 at 100 ms, 3 at 130 ms, 3 at 160 ms.
    latency = request_latency(rec(0, 0, [100, 130, 160], [1, 3, 3]))
    assert latency is not None
    assert latency.tpot_s == pytest.approx(0.060 / 6)  # counts tokens, not chunks
    assert latency.chunk_gaps_s == pytest.approx([0.030, 0.030])  # per chunk
    assert latency.token_gaps_s == pytest.approx([0.010] * 6)  # spread over the 3 tokens


def test_summary_reports_itl_unit_and_per_token_spread() -> None:
    chunked = latency_summary([rec(0, 0, [100, 130, 160], [1, 3, 3])], failures_as_inf=False)
    assert chunked.stats.itl_unit is ItlUnit.CHUNK
    assert chunked.stats.itl_s is not None and chunked.stats.itl_s.median == pytest.approx(0.030)
    assert chunked.itl_per_token_s is not None
    assert chunked.itl_per_token_s.median == pytest.approx(0.010)
    plain = latency_summary([rec(0, 0, [100, 110, 120])], failures_as_inf=False)
    assert plain.stats.itl_unit is ItlUnit.TOKEN and plain.itl_per_token_s is None


def test_interactivity_spread_from_per_request_values() -> None:
    # TPOTs 10 ms and 40 ms → interactivity 100 and 25 tok/s: mean 62.5 (never 1/mean(TPOT)=40)
    records = [rec(0, 0, [100, 110, 120]), rec(1, 0, [100, 140, 180])]
    stats = latency_summary(records, failures_as_inf=False).stats
    assert stats.intvty_tok_s is not None and stats.tpot_s is not None
    assert stats.intvty_tok_s.mean == pytest.approx(62.5)
    assert stats.intvty_tok_s.std == pytest.approx(37.5)
    assert stats.tpot_s.mean == pytest.approx(0.025)


def test_failures_as_infinity_move_percentiles_not_success_stats() -> None:
    records = [rec(i, 0, [100 + i]) for i in range(9)] + [
        rec(9, 0, [], outcome="http_500", end_ms=5)
    ]
    ok = latency_summary(records, failures_as_inf=False)
    with_failures = latency_summary(records, failures_as_inf=True)
    assert ok.num_requests == 9 and with_failures.num_requests == 10
    assert ok.stats.ttft_s is not None and ok.stats.ttft_s.p99 == pytest.approx(0.10792)
    ttft = with_failures.stats.ttft_s
    assert ttft is not None
    assert ttft.median == pytest.approx(0.1045)  # the failure sits above every success
    assert math.isinf(ttft.p99) and math.isinf(ttft.mean)  # type: ignore[arg-type]
    assert with_failures.stats.failures_as_inf


def test_metric_stats_inf_only_where_interpolation_reaches_it() -> None:
    stats = metric_stats([1.0, 2.0, 3.0, np.inf])
    assert stats is not None
    assert stats.median == pytest.approx(2.5)
    assert stats.p90 == math.inf
    exact = metric_stats([1.0, 2.0, 3.0, 4.0, np.inf])
    assert exact is not None and exact.median == 3.0


def test_incomplete_requests_are_neither_success_nor_failure() -> None:
    records = [
        rec(0, 0, [100]),
        rec(1, 0, [], outcome="timeout", end_ms=50),
        rec(2, 0, [100], outcome="incomplete"),
    ]
    counts = run_counts(records)
    assert (counts.attempted, counts.completed, counts.failed, counts.incomplete) == (3, 1, 1, 1)
    assert counts.failures_by_cause == {"timeout": 1}
    assert latency_summary(records, failures_as_inf=True).num_requests == 2


def closed_loop_timeline() -> list[RequestRecord]:
    """B=2, N=6; each request lasts 100 ms: first token at +20 ms, then 8 tokens every 10 ms.

    Slot A sends at 0, 100, 200; slot B at 10, 110, 210. Ends: 100,110,200,210,300,310.
    """
    records = []
    for i, send in enumerate([0, 10, 100, 110, 200, 210]):
        chunks = [send + 20 + 10 * k for k in range(9)]  # 20..100 ms after send
        records.append(rec(i, send, chunks))
    return records


def test_steady_state_window_boundaries() -> None:
    records = closed_loop_timeline()
    window = steady_state_window(records, concurrency=2)
    assert window is not None and window.steady
    assert window.start_ns == 30 * MS  # second first token (B = 2): request 1 at 10 + 20
    assert window.end_ns == 200 * MS  # N - B - 1 = 3rd finish: 100, 110, 200
    assert window.duration_s == pytest.approx(0.170)
    whole = whole_run_window(records)
    assert whole is not None and (whole.start_ns, whole.end_ns) == (0, 310 * MS)


def test_steady_state_absent_when_run_too_short() -> None:
    assert steady_state_window(closed_loop_timeline()[:3], concurrency=2) is None


def test_tokens_counted_inside_window_only() -> None:
    records = closed_loop_timeline()
    window = steady_state_window(records, concurrency=2)
    assert window is not None
    totals = window_totals(records, window)
    # output chunk times inside [30, 200] ms, counted by hand:
    # r0 20..100 → 30..100 = 8; r1 30..110 = 9; r2 120..200 = 9; r3 130..210 → 130..200 = 8;
    # r4 220.. none; r5 none → 34
    assert totals.output_tokens == 34
    # first tokens inside the window: r1 (30), r2 (120), r3 (130) → 3 prompts of 10 tokens
    assert totals.input_tokens == 30
    # finished inside: r0 (100), r1 (110), r2 (200)
    assert totals.counts.completed == 3
    input_tok_s, output_tok_s, req_s = totals.rates(window)
    assert input_tok_s == pytest.approx(30 / 0.170)
    assert output_tok_s == pytest.approx(34 / 0.170)
    assert req_s == pytest.approx(3 / 0.170)


def test_littles_law_on_closed_loop_timeline() -> None:
    records = closed_loop_timeline()
    window = steady_state_window(records, concurrency=2)
    assert window is not None
    law = littles_law(records, window, nominal=2)
    assert law is not None
    assert law.mean_e2el_s == pytest.approx(0.100)
    assert law.completed_req_s == pytest.approx(3 / 0.170)
    assert law.predicted_concurrency == pytest.approx(0.3 / 0.170)
    # both slots busy throughout [30, 200] except slot A's gap? none: back-to-back → exactly 2
    assert law.measured_concurrency == pytest.approx(2.0)


def test_unconfirmed_chunk_counts_are_spread_to_the_usage_count() -> None:
    # 2 chunks seen, usage says 6 tokens: 3 per chunk; only the first chunk is in the window.
    record = rec(0, 0, [100, 200], [1, 1])
    record.chunk_tokens_exact = False
    record.completion_tokens = 6
    window = Window(50 * MS, 150 * MS, steady=True, reason="test")
    assert window_totals([record], window).output_tokens == 3
