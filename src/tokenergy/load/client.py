"""The OpenAI-compatible streaming client: sends one request and times every chunk.

Times are ``perf_counter_ns`` relative to one anchor taken at the start of the run (the anchor
also records the wall clock, so records can be lined up with power samples). Payloads are
serialised before the send so JSON encoding never sits inside a measured interval.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import aiohttp

from tokenergy.errors import ServerError

_COMPLETION_TOKENS = re.compile(rb'"completion_tokens":\s*(\d+)')
_PROMPT_TOKENS = re.compile(rb'"prompt_tokens":\s*(\d+)')
_EMPTY_CHOICES = re.compile(rb'"choices":\s*\[\s*\]')
SIMULATED_HEADER = "x-tokenergy-simulated"  # set by tokenergy's simulator on every response


class Api(StrEnum):
    COMPLETIONS = "completions"
    CHAT = "chat"

    @property
    def path(self) -> str:
        return "/v1/completions" if self is Api.COMPLETIONS else "/v1/chat/completions"


@dataclass(frozen=True, slots=True)
class ClockAnchor:
    """One wall-clock reading taken together with ``perf_counter_ns`` (the run's time zero)."""

    wall_ns: int
    perf_ns: int

    @classmethod
    def now(cls) -> ClockAnchor:
        return cls(time.time_ns(), time.perf_counter_ns())

    def wall_s(self, rel_ns: int) -> float:
        """Unix time of a time given relative to the anchor."""
        return (self.wall_ns + rel_ns) / 1e9


class Outcome(StrEnum):
    OK = "ok"
    TIMEOUT = "timeout"
    DISCONNECT = "disconnect"
    CONNECT_ERROR = "connect_error"
    STREAM_ERROR = "stream_error"
    INCOMPLETE = "incomplete"
    PENDING = "pending"
    # HTTP errors are written "http_<status>"


@dataclass(slots=True)
class RequestRecord:
    """Everything observed about one request; times in ns relative to the run's anchor."""

    index: int
    warmup: bool
    isl: int
    osl: int
    target_ns: int | None
    slot_free_ns: int | None = None
    send_ns: int | None = None
    first_token_ns: int | None = None
    end_ns: int | None = None
    chunk_ns: list[int] = field(default_factory=list)
    chunk_tokens: list[int] = field(default_factory=list)
    chunk_tokens_exact: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    outcome: str = Outcome.PENDING
    error: str | None = None
    worker: int = 0

    @property
    def ok(self) -> bool:
        return self.outcome == Outcome.OK

    @property
    def failed(self) -> bool:
        return self.outcome not in (Outcome.OK, Outcome.INCOMPLETE, Outcome.PENDING)

    @property
    def output_tokens(self) -> int:
        """Server-counted output tokens (usage), else the streamed count."""
        if self.completion_tokens is not None:
            return self.completion_tokens
        return sum(self.chunk_tokens)

    @property
    def length_mismatch(self) -> bool:
        """A successful request whose server counts differ from what was asked (or are missing)."""
        return self.ok and (self.prompt_tokens != self.isl or self.completion_tokens != self.osl)

    @property
    def schedule_delay_ns(self) -> int | None:
        """How late the send was against its target (open loop) or its free slot (closed loop)."""
        due = self.target_ns if self.target_ns is not None else self.slot_free_ns
        if due is None or self.send_ns is None:
            return None
        return self.send_ns - due

    def to_json(self) -> dict[str, Any]:
        """One ``requests.jsonl`` line: times in seconds relative to the run anchor."""

        def s(ns: int | None) -> float | None:
            return None if ns is None else ns / 1e9

        return {
            "index": self.index,
            "warmup": self.warmup,
            "worker": self.worker,
            "isl": self.isl,
            "osl": self.osl,
            "outcome": self.outcome,
            "error": self.error,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "length_mismatch": self.length_mismatch,
            "target_s": s(self.target_ns),
            "slot_free_s": s(self.slot_free_ns),
            "send_s": s(self.send_ns),
            "first_token_s": s(self.first_token_ns),
            "end_s": s(self.end_ns),
            "chunk_s": [c / 1e9 for c in self.chunk_ns],
            "chunk_tokens": self.chunk_tokens,
            "chunk_tokens_exact": self.chunk_tokens_exact,
        }

    @classmethod
    def from_json(cls, row: dict[str, Any]) -> RequestRecord:
        def ns(value: float | None) -> int | None:
            return None if value is None else round(value * 1e9)

        return cls(
            index=int(row["index"]),
            warmup=bool(row["warmup"]),
            isl=int(row["isl"]),
            osl=int(row["osl"]),
            target_ns=ns(row.get("target_s")),
            slot_free_ns=ns(row.get("slot_free_s")),
            send_ns=ns(row.get("send_s")),
            first_token_ns=ns(row.get("first_token_s")),
            end_ns=ns(row.get("end_s")),
            chunk_ns=[round(c * 1e9) for c in row.get("chunk_s", [])],
            chunk_tokens=[int(k) for k in row.get("chunk_tokens", [])],
            chunk_tokens_exact=bool(row.get("chunk_tokens_exact", False)),
            prompt_tokens=row.get("prompt_tokens"),
            completion_tokens=row.get("completion_tokens"),
            outcome=str(row["outcome"]),
            error=row.get("error"),
            worker=int(row.get("worker", 0)),
        )


@dataclass(frozen=True)
class RequestOptions:
    """What goes into every request body besides the prompt (per-backend field names)."""

    model: str
    api: Api = Api.COMPLETIONS
    ignore_eos: bool = True
    min_tokens: bool = True
    continuous_usage: bool = True
    extra_body: dict[str, Any] = field(default_factory=dict)

    def body(self, prompt: list[int] | str, osl: int) -> bytes:
        """The serialised JSON body (done before the send, outside the timed interval)."""
        payload: dict[str, Any] = {"model": self.model, "max_tokens": osl, "stream": True}
        if self.api is Api.COMPLETIONS:
            payload["prompt"] = prompt
        else:
            payload["messages"] = [{"role": "user", "content": prompt}]
        if self.ignore_eos:
            payload["ignore_eos"] = True
        if self.min_tokens:
            payload["min_tokens"] = osl
        options: dict[str, Any] = {"include_usage": True}
        if self.continuous_usage:
            options["continuous_usage_stats"] = True
        payload["stream_options"] = options
        payload.update(self.extra_body)
        return json.dumps(payload, separators=(",", ":")).encode()


def _chunk_text(api: Api, choice: dict[str, Any]) -> str:
    if api is Api.COMPLETIONS:
        return str(choice.get("text") or "")
    delta = choice.get("delta") or {}
    return str(delta.get("content") or "") + str(delta.get("reasoning_content") or "")


async def stream_request(
    session: aiohttp.ClientSession,
    url: str,
    api: Api,
    body: bytes,
    record: RequestRecord,
    anchor_perf_ns: int,
) -> None:
    """Send ``body`` and fill ``record`` with timings, usage and the outcome.

    Token chunks are the SSE events that carry output; their token count is the growth of
    ``usage.completion_tokens`` when the server streams continuous usage (exact), else 1 per
    non-empty chunk (checked against the final usage afterwards).
    """
    clock = time.perf_counter_ns
    chunk_ns = record.chunk_ns
    chunk_tokens = record.chunk_tokens
    seen_usage = 0
    continuous = True
    done_ns: int | None = None
    headers_received = False
    record.send_ns = clock() - anchor_perf_ns
    try:
        async with session.post(
            url, data=body, headers={"Content-Type": "application/json"}
        ) as response:
            headers_received = True
            if response.status != 200:
                text = await response.text()
                record.end_ns = clock() - anchor_perf_ns
                record.outcome = f"http_{response.status}"
                record.error = text[:300]
                return
            async for raw in response.content:
                now = clock() - anchor_perf_ns
                if not raw.startswith(b"data:"):
                    continue
                data = raw[5:].strip()
                if data == b"[DONE]":
                    done_ns = now
                    break
                if b'"error"' not in data:
                    # Fast path for events carrying usage: find the counts without a full JSON
                    # parse. Key names inside generated text are escaped (\"), so they never
                    # match these patterns; anything unusual falls through to json.loads.
                    completions = _COMPLETION_TOKENS.findall(data)
                    if completions:
                        completion = int(completions[-1])
                        if _EMPTY_CHOICES.search(data) is None and completion > seen_usage:
                            chunk_ns.append(now)
                            chunk_tokens.append(completion - seen_usage)
                            seen_usage = completion
                        prompts = _PROMPT_TOKENS.findall(data)
                        record.prompt_tokens = int(prompts[-1]) if prompts else None
                        record.completion_tokens = completion
                        continue
                event = json.loads(data)
                if "error" in event or event.get("object") == "error":
                    record.outcome = Outcome.STREAM_ERROR
                    record.error = json.dumps(event)[:300]
                    record.end_ns = now
                    return
                usage = event.get("usage")
                choices = event.get("choices") or []
                if choices:
                    if usage is not None:
                        tokens = int(usage.get("completion_tokens") or 0) - seen_usage
                        seen_usage += tokens
                    else:
                        continuous = False
                        tokens = 1 if _chunk_text(api, choices[0]) else 0
                    if tokens > 0:
                        chunk_ns.append(now)
                        chunk_tokens.append(tokens)
                if usage is not None:  # the last usage seen is the count of record
                    record.prompt_tokens = usage.get("prompt_tokens")
                    record.completion_tokens = usage.get("completion_tokens")
            if done_ns is not None:
                await _drain(response)
    except (TimeoutError, aiohttp.ServerTimeoutError):
        record.outcome = Outcome.TIMEOUT
        record.error = "no data within the read timeout"
    except aiohttp.ClientConnectorError as error:
        record.outcome = Outcome.CONNECT_ERROR
        record.error = str(error)[:300]
    except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as error:
        record.outcome = Outcome.DISCONNECT if headers_received else Outcome.CONNECT_ERROR
        record.error = f"{type(error).__name__}: {error}"[:300]
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as error:
        record.outcome = Outcome.STREAM_ERROR
        record.error = f"unparsable stream event: {error}"[:300]
    record.end_ns = done_ns if done_ns is not None else clock() - anchor_perf_ns
    if chunk_ns:
        record.first_token_ns = chunk_ns[0]
    if record.outcome != Outcome.PENDING:
        return
    if done_ns is None:
        record.outcome = Outcome.DISCONNECT
        record.error = "stream ended before [DONE]"
        return
    record.outcome = Outcome.OK
    streamed = sum(chunk_tokens)
    # Without continuous usage, 1 token per chunk is exact only if the chunk count matches usage.
    record.chunk_tokens_exact = (continuous and bool(chunk_tokens)) or (
        record.completion_tokens == streamed
    )


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Read the stream to its end after ``[DONE]`` so the keep-alive connection is reused
    (leaving unread bytes makes aiohttp close it, and every request would reconnect)."""
    try:
        async for _ in response.content.iter_any():
            pass
    except (aiohttp.ClientError, TimeoutError):
        pass  # the request is complete; only the connection is lost


# --- server metadata and tokenizer --------------------------------------------------------------


class ServerTokenCounter:
    """Counts tokens with the server's own ``/tokenize`` (vLLM, SGLang, llama.cpp, the sim)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, model: str) -> None:
        self.session = session
        self.url = base_url.rstrip("/") + "/tokenize"
        self.model = model

    async def _post(self, payload: dict[str, Any]) -> dict[str, Any]:
        async with self.session.post(self.url, json=payload) as response:
            if response.status != 200:
                text = (await response.text())[:200]
                raise ServerError(f"{self.url} answered HTTP {response.status}: {text}")
            data: dict[str, Any] = await response.json(content_type=None)
        return data

    async def count_text(self, text: str, *, special_tokens: bool = True) -> int:
        data = await self._post(
            {"model": self.model, "prompt": text, "add_special_tokens": special_tokens}
        )
        return int(data.get("count", len(data.get("tokens", []))))

    async def count_chat(self, text: str) -> int:
        data = await self._post(
            {
                "model": self.model,
                "messages": [{"role": "user", "content": text}],
                "add_generation_prompt": True,
            }
        )
        return int(data.get("count", len(data.get("tokens", []))))

    async def token_ids(self, text: str) -> list[int]:
        data = await self._post({"model": self.model, "prompt": text, "add_special_tokens": False})
        return [int(t) for t in data.get("tokens", [])]


async def get_json(session: aiohttp.ClientSession, url: str) -> dict[str, Any] | None:
    """GET a JSON document; None when the endpoint is absent or not JSON."""
    try:
        async with session.get(url) as response:
            if response.status != 200:
                return None
            data = await response.json(content_type=None)
    except (aiohttp.ClientError, json.JSONDecodeError, TimeoutError):
        return None
    return data if isinstance(data, dict) else None


async def server_info(session: aiohttp.ClientSession, base_url: str) -> dict[str, Any]:
    """``/v1/models`` (required: proves the server is up), ``/version`` (when exposed), and
    whether the server labels itself simulated (tokenergy's sim does, on every response)."""
    base = base_url.rstrip("/")
    try:
        async with session.get(base + "/v1/models") as response:
            if response.status != 200:
                raise ServerError(f"{base}/v1/models answered HTTP {response.status}")
            models = await response.json(content_type=None)
            simulated = response.headers.get(SIMULATED_HEADER) == "1"
    except (aiohttp.ClientError, TimeoutError) as error:
        raise ServerError(f"cannot reach {base}: {error or type(error).__name__}") from None
    except json.JSONDecodeError:
        raise ServerError(f"{base}/v1/models did not answer JSON") from None
    version = await get_json(session, base + "/version")
    return {"models": models, "version": version, "simulated": simulated}
