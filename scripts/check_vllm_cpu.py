#!/usr/bin/env python3
"""Smoke-check a running vLLM server (e.g. the CPU tiny-llama from setup_vllm_cpu.sh).

Standard library only, so any python3 can run it:

    python3 scripts/check_vllm_cpu.py [--port 8765] [--concurrency 4] [--requests 16]

Checks: /version, /v1/models, /tokenize, /metrics (vllm:num_requests_running), streamed
/v1/completions with a 128-token-id prompt + ignore_eos (usage must be 128/32 exactly),
the same with min_tokens=max_tokens, a streamed /v1/chat/completions, then a small
fixed-size load (bounded request count) reporting output tokens/s. Exits 1 on a failed check.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
import urllib.request

FAILS: list[str] = []


def check(cond: bool, what: str) -> None:
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def get(base: str, path: str) -> bytes:
    with urllib.request.urlopen(base + path, timeout=30) as r:
        return r.read()


def post(base: str, path: str, body: dict) -> bytes:
    req = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=300) as r:
        return r.read()


def stream(base: str, path: str, body: dict) -> tuple[list[dict], float | None, float]:
    """POST a streaming request; return (json chunks, ttft seconds, total seconds)."""
    req = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    t0 = time.perf_counter()
    ttft = None
    chunks = []
    with urllib.request.urlopen(req, timeout=300) as r:
        for raw in r:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            d = json.loads(line[6:])
            if ttft is None and d.get("choices"):
                ttft = time.perf_counter() - t0
            chunks.append(d)
    return chunks, ttft, time.perf_counter() - t0


def usage_of(chunks: list[dict]) -> dict:
    return next((c["usage"] for c in reversed(chunks) if c.get("usage")), {})


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--requests", type=int, default=16)
    ap.add_argument("--max-tokens", type=int, default=64)
    a = ap.parse_args()
    base = f"http://{a.host}:{a.port}"

    print("version:", get(base, "/version").decode())
    models = json.loads(get(base, "/v1/models"))
    model = models["data"][0]["id"]
    check(
        bool(model),
        f"/v1/models -> {model} (max_model_len={models['data'][0].get('max_model_len')})",
    )

    tok = json.loads(post(base, "/tokenize", {"model": model, "prompt": "hello"}))
    check(
        isinstance(tok.get("tokens"), list) and tok.get("count") == len(tok["tokens"]),
        f"/tokenize -> {tok}",
    )

    metrics = get(base, "/metrics").decode()
    check("vllm:num_requests_running" in metrics, "/metrics has vllm:num_requests_running")

    prompt = list(range(300, 428))  # 128 token ids
    base_body = {
        "model": model,
        "prompt": prompt,
        "max_tokens": 32,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    for label, extra in (("ignore_eos", {"ignore_eos": True}), ("min_tokens", {"min_tokens": 32})):
        chunks, ttft, tot = stream(base, "/v1/completions", {**base_body, **extra})
        u = usage_of(chunks)
        n_text = sum(1 for c in chunks for ch in c.get("choices", []))
        check(
            u.get("prompt_tokens") == 128 and u.get("completion_tokens") == 32,
            f"completions stream {label}: usage={u} choice-chunks={n_text} "
            f"ttft={ttft:.3f}s total={tot:.3f}s",
        )

    chunks, ttft, tot = stream(
        base,
        "/v1/chat/completions",
        {
            "model": model,
            "messages": [{"role": "user", "content": "hello there"}],
            "max_tokens": 16,
            "ignore_eos": True,
            "stream": True,
            "stream_options": {"include_usage": True},
        },
    )
    u = usage_of(chunks)
    check(
        u.get("completion_tokens") == 16,
        f"chat stream: usage={u} chunks={len(chunks)} (role chunk + content chunks + usage chunk)",
    )

    # bounded load: a.requests requests, a.concurrency at a time
    lock = threading.Lock()
    todo = list(range(a.requests))
    out_tokens = 0
    ttfts: list[float] = []

    def worker() -> None:
        nonlocal out_tokens
        while True:
            with lock:
                if not todo:
                    return
                i = todo.pop()
            ch, t1, _ = stream(
                base,
                "/v1/completions",
                {
                    **base_body,
                    "prompt": [300 + (i + j) % 2000 for j in range(128)],
                    "max_tokens": a.max_tokens,
                    "ignore_eos": True,
                },
            )
            with lock:
                out_tokens += usage_of(ch).get("completion_tokens", 0)
                if t1 is not None:
                    ttfts.append(t1)

    t0 = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    ttfts.sort()
    check(
        out_tokens == a.requests * a.max_tokens,
        f"load: {a.requests} req x {a.max_tokens} out tok, concurrency {a.concurrency}: "
        f"{dt:.2f}s, {out_tokens / dt:.1f} output tok/s, median ttft {ttfts[len(ttfts) // 2]:.3f}s",
    )
    print(f"{len(FAILS)} failed" if FAILS else "all checks passed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
