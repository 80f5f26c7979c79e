"""The OpenAI-compatible streaming client: sends one request and times every chunk.

Times are ``perf_counter_ns`` relative to one anchor taken at the start of the run (the anchor
also records the wall clock, so records can be lined up with power samples). Payloads are
serialised before the send so JSON encoding never sits inside a measured interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import re
import time
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import aiohttp

from tokenergy.errors import ServerError

SIMULATED_HEADER = "x-tokenergy-simulated"  # set by tokenergy's simulator on every response
# One compact encoder for request bodies and requests.jsonl lines (json.dumps with options builds
# a new encoder per call: 40 % of a token-id body's encoding time).
compact_json = json.JSONEncoder(separators=(",", ":")).encode
_SLOT = "\x00prompt\x00"  # stands for the prompt in a body template (encoded as \u0000prompt\u0000)


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
    BAD_RESPONSE = "bad_response"
    RESPONSE_TOO_LARGE = "response_too_large"
    CLIENT_FD_LIMIT = "client_fd_limit"
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
        """One ``requests.jsonl`` line: times relative to the run anchor, in seconds (``*_s``)
        except the token chunks' arrival times, integer nanoseconds (``chunk_ns``)."""

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
            "chunk_ns": self.chunk_ns,  # integers: 3× cheaper to write than float seconds
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
            chunk_ns=(
                [int(c) for c in row["chunk_ns"]]
                if "chunk_ns" in row
                else [round(c * 1e9) for c in row.get("chunk_s", [])]  # earlier files
            ),
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
    # Per output length, the body's bytes before and after a token-id prompt.
    _around: dict[int, tuple[bytes, bytes] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def body_json(self, prompt_json: bytes, osl: int) -> bytes:
        """:meth:`body` of a prompt already encoded as a compact JSON array of token ids: the
        rest of the body is encoded once per output length."""
        if osl not in self._around:
            text = self.body(_SLOT, osl)
            quoted = compact_json(_SLOT).encode()
            around = None
            if self.api is Api.COMPLETIONS and text.count(quoted) == 1:
                head, _, tail = text.partition(quoted)
                around = (head, tail)
            self._around[osl] = around
        around = self._around[osl]
        if around is None:  # ``extra_body`` replaced the prompt, or not a completions body
            return self.body(json.loads(prompt_json), osl)
        return around[0] + prompt_json + around[1]

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
        return compact_json(payload).encode()


# Limits on what a server can make the client hold (docs/reliability.md states them).
MAX_EVENT_BYTES = 1 << 20  # one SSE line; a longer one is `response_too_large`
MAX_ERROR_BODY_BYTES = 64 << 10  # read of a non-200 body (the rest is dropped with the connection)
MAX_METADATA_BYTES = 8 << 20  # /v1/models, /version, /tokenize answers
MAX_TOKEN_COUNT = 1 << 31  # a usage count at or above this is not a count
# Per-request deadline: the benchmark clients of vLLM (backend_request_func.py) and SGLang
# (bench_serving.py) allow 6 h per request (AIOHTTP_TIMEOUT); generous, but finite, so a
# trickling server cannot hold a slot forever.
DEFAULT_REQUEST_TIMEOUT_S = 6 * 3600.0
_FOREVER_S = 365 * 86400.0  # a deadline this far is none (keeps timer arithmetic finite)

_JSON_HEADERS = {"Content-Type": "application/json"}
# On one line: the opening of a choices list ("[", or "[]" when empty), then the line's last
# usage object and the last completion count after it (each .* runs to the line's end, never past
# it, and backs off to its key; the atomic groups never back into it again, so a line that does
# not match costs one pass per "choices", not a pass per pair of keys: linear, not quadratic).
_EVENT = re.compile(
    rb'"choices": ?(\[\]?)(?>.*"usage": ?\{)(?>.*"completion_tokens": ?)(\d{1,10})[,} ]'
)
PARSE_BYTES = 64 << 10  # stream bytes kept before they are parsed (bounds memory per request)
_FD_ERRNOS = (errno.EMFILE, errno.ENFILE)


class _BadStream(Exception):
    """A stream event the client cannot account for; the request fails with ``outcome``."""

    def __init__(self, outcome: Outcome, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


def _count(value: Any, name: str) -> int:
    """A token count from a usage object: a non-negative integer below MAX_TOKEN_COUNT."""
    if type(value) is not int or not 0 <= value < MAX_TOKEN_COUNT:
        raise _BadStream(Outcome.STREAM_ERROR, f"usage.{name} is not a token count: {value!r:.60}")
    return value


def _chunk_text(api: Api, choice: Any) -> bool:
    """Whether a choice carries generated text (a wrong-typed choice is a stream error)."""
    if not isinstance(choice, dict):
        raise _BadStream(Outcome.STREAM_ERROR, f"a choice is not an object: {choice!r:.60}")
    if api is Api.COMPLETIONS:
        return bool(choice.get("text"))
    delta = choice.get("delta") or {}
    if not isinstance(delta, dict):
        raise _BadStream(Outcome.STREAM_ERROR, f"a delta is not an object: {delta!r:.60}")
    return bool(delta.get("content") or delta.get("reasoning_content"))


class _Events:
    """Turns the ``data:`` lines of one stream into chunk times and token counts.

    Each read's complete lines are kept as they came, with the read's time and the number of
    ``data:`` lines they hold (one C-level count); a line still open waits for the next read.
    The kept bytes are parsed at ``[DONE]`` (and every ``PARSE_BYTES``, and at once when a read
    holds ``"error"``): when one regular-expression scan finds a choices list, then a usage
    object with its completion count, on as many lines as there are ``data:`` lines (key names
    inside generated text are escaped, \", so they never match), those counts are the tokens,
    and the last event is kept to read ``prompt_tokens`` once at the end. Anything else goes
    line by line through ``json.loads`` and a type check of every field used.
    """

    __slots__ = (
        "api",
        "continuous",
        "data_lines",
        "done",
        "kept_bytes",
        "last_usage",
        "pending",
        "pieces",
        "record",
        "saw_data",
        "seen",
        "stamps",
        "suspect",
    )

    def __init__(self, api: Api, record: RequestRecord) -> None:
        self.api = api
        self.record = record
        self.seen = 0  # completion tokens counted so far
        self.continuous = True  # every output chunk carried usage
        self.last_usage: bytes | None = None
        self.saw_data = False
        self.done = False
        self.pending = b""  # the start of a line whose end has not come yet
        self.pieces: list[bytes] = []  # complete lines not parsed yet, one item per read
        self.stamps: list[int] = []  # the arrival time of each piece
        self.data_lines: list[int] = []  # the ``data:`` lines in each piece
        self.kept_bytes = 0
        self.suspect = False  # a kept piece holds "error": parse it event by event

    def feed(self, chunk: bytes, now: int) -> None:
        """One read of the stream, at ``now``."""
        cut = chunk.rfind(b"\n") + 1
        if not cut:  # no line ends in this read
            self.pending += chunk
            _check_line(self.pending)
            return
        if cut == len(chunk):
            lines = chunk
            rest = b""
        else:
            lines, rest = chunk[:cut], chunk[cut:]
            _check_line(rest)
        if self.pending:
            lines = self.pending + lines
        self.pending = rest
        self._keep(lines, now)

    def end(self, now: int) -> None:
        """The stream ended (at ``now``): a last line without its newline counts, then parse."""
        if self.pending:
            line, self.pending = self.pending.strip(), b""
            self._keep(line + b"\n", now)
        self.parse()

    def _keep(self, lines: bytes, now: int) -> None:
        """Whole lines of one read (the last ends with a newline)."""
        if b"[DONE]" in lines:
            lines = self._before_done(lines)
        data = lines.count(b"\ndata:") + lines.startswith(b"data:")
        if data:
            self.saw_data = True
            self.pieces.append(lines)
            self.stamps.append(now)
            self.data_lines.append(data)
            self.kept_bytes += len(lines)
            if b'"error"' in lines:
                self.suspect = True
        if self.done or self.suspect or self.kept_bytes >= PARSE_BYTES:
            self.parse()

    def _before_done(self, lines: bytes) -> bytes:
        """The lines before a ``data: [DONE]`` line (none after it count), marking the end."""
        at = lines.find(b"[DONE]")
        while at >= 0:
            start = lines.rfind(b"\n", 0, at) + 1
            end = lines.find(b"\n", at)
            line = lines[start:end]
            if line.startswith(b"data:") and line[5:].strip() == b"[DONE]":
                self.done = self.saw_data = True
                return lines[:start]
            at = lines.find(b"[DONE]", end)
        return lines

    def parse(self) -> None:
        """Account for the kept lines (fast path for all of them when it applies)."""
        pieces, stamps, data_lines = self.pieces, self.stamps, self.data_lines
        if not pieces:
            return
        suspect = self.suspect
        self.pieces, self.stamps, self.data_lines = [], [], []
        self.kept_bytes, self.suspect = 0, False
        text = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        found = [] if suspect else _EVENT.findall(text)
        if found and len(found) == sum(data_lines):
            times: list[int] = []
            for now, count in zip(stamps, data_lines, strict=True):
                times += [now] * count
            record, seen = self.record, self.seen
            chunk_ns, chunk_tokens = record.chunk_ns, record.chunk_tokens
            for now, (opening, count) in zip(times, found, strict=True):
                completion = int(count)
                if completion > seen and opening == b"[":
                    chunk_ns.append(now)
                    chunk_tokens.append(completion - seen)
                    seen = completion
            self.seen = seen
            self.last_usage = text[text.rfind(b"\ndata:") + 1 :]
            record.completion_tokens = int(found[-1][1])
            return
        for piece, now in zip(pieces, stamps, strict=True):
            for line in piece.split(b"\n"):
                if line.startswith(b"data:"):
                    self._slow(line[5:].strip(), now)

    def _slow(self, data: bytes, now: int) -> None:
        try:
            event = json.loads(data)
        except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
            raise _BadStream(Outcome.STREAM_ERROR, f"unparsable stream event: {error}") from None
        if not isinstance(event, dict):
            raise _BadStream(Outcome.STREAM_ERROR, f"stream event is not an object: {data!r:.60}")
        if "error" in event or event.get("object") == "error":
            raise _BadStream(Outcome.STREAM_ERROR, data.decode("utf-8", "replace"))
        usage = event.get("usage")
        if usage is not None and not isinstance(usage, dict):
            raise _BadStream(Outcome.STREAM_ERROR, f"usage is not an object: {usage!r:.60}")
        choices = event.get("choices") or []
        if not isinstance(choices, list):
            raise _BadStream(Outcome.STREAM_ERROR, f"choices is not a list: {choices!r:.60}")
        record = self.record
        completion = None
        if usage is not None:
            completion = _count(usage.get("completion_tokens") or 0, "completion_tokens")
            prompt = usage.get("prompt_tokens")
            record.prompt_tokens = None if prompt is None else _count(prompt, "prompt_tokens")
            record.completion_tokens = completion
            self.last_usage = None  # the last usage seen is the count of record
        if choices:
            if completion is not None:
                tokens = completion - self.seen
                self.seen = max(self.seen, completion)
            else:
                self.continuous = False
                tokens = 1 if _chunk_text(self.api, choices[0]) else 0
            if tokens > 0:
                record.chunk_ns.append(now)
                record.chunk_tokens.append(tokens)

    def salvage(self) -> None:
        """Parse what is kept of a stream that failed or was cut (its own outcome stands)."""
        with contextlib.suppress(_BadStream):
            self.parse()

    def finish(self) -> None:
        """Read the prompt count of the last fast-path usage object (once per request)."""
        if self.last_usage is not None:
            prompt = _int_after(self.last_usage, b'"prompt_tokens":')
            self.record.prompt_tokens = None if prompt is None else _count(prompt, "prompt_tokens")


class _Watch:
    """A request's two deadlines on one timer: the whole request, and the longest silence.

    The timer is re-armed only when it fires (a read just stores its time in ``last_ns``):
    aiohttp's own read timeout re-arms a timer on every socket read, which cost ~12 % of the
    client's load-phase CPU at concurrency 256 (benchmarks/client_overhead.py). When a deadline
    passes, the task is cancelled the way ``asyncio.timeout`` does it, and :meth:`ours` tells
    that cancellation from any other.
    """

    __slots__ = (
        "anchor_ns",
        "cancelling",
        "end_ns",
        "expired",
        "handle",
        "last_ns",
        "loop",
        "read_ns",
        "request_s",
        "task",
    )

    def __init__(self, anchor_ns: int, now_ns: int, request_s: float, read_s: float | None) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.task = task
        self.cancelling = task.cancelling()
        self.loop = asyncio.get_running_loop()
        self.anchor_ns = anchor_ns
        self.request_s = request_s
        self.end_ns = now_ns + round(min(request_s, _FOREVER_S) * 1e9)
        self.read_ns = None if read_s is None else round(min(read_s, _FOREVER_S) * 1e9)
        self.last_ns = now_ns  # run-relative time of the last sign of life
        self.expired: str | None = None
        self.handle = self.loop.call_later((self._due_ns() - now_ns) / 1e9, self._fire)

    def _due_ns(self) -> int:
        if self.read_ns is None:
            return self.end_ns
        return min(self.end_ns, self.last_ns + self.read_ns)

    def _fire(self) -> None:
        now_ns = time.perf_counter_ns() - self.anchor_ns
        due_ns = self._due_ns()
        if now_ns < due_ns:  # data came in since the timer was set: wait for the new due time
            self.handle = self.loop.call_later((due_ns - now_ns) / 1e9, self._fire)
            return
        self.expired = "request" if now_ns >= self.end_ns else "read"
        self.task.cancel()

    def ours(self) -> bool:
        """Whether a CancelledError came from a deadline of this watch alone."""
        return self.expired is not None and self.task.uncancel() <= self.cancelling

    def reason(self) -> str:
        if self.expired == "request":
            return f"request not finished within {self.request_s:g} s"
        return "no data within the read timeout"

    def close(self) -> None:
        self.handle.cancel()


async def stream_request(
    session: aiohttp.ClientSession,
    url: str,
    api: Api,
    body: bytes,
    record: RequestRecord,
    anchor_perf_ns: int,
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
    read_timeout_s: float | None = None,
) -> None:
    """Send ``body`` and fill ``record`` with timings, usage and the outcome; never raises for
    anything the server does (each misbehaviour is an outcome), only on cancellation.

    The stream is read in whatever chunks arrive and split into lines here (one clock reading
    per chunk: events that arrived together are stamped together). Token chunks are the events
    that carry output; their token count is the growth of ``usage.completion_tokens`` when the
    server streams continuous usage (exact), else 1 per non-empty chunk (checked against the
    final usage afterwards). The whole request must end within ``request_timeout_s``, and no
    silence may last ``read_timeout_s`` (None: no limit).
    """
    clock = time.perf_counter_ns
    events = _Events(api, record)
    record.send_ns = clock() - anchor_perf_ns
    watch = _Watch(anchor_perf_ns, record.send_ns, request_timeout_s, read_timeout_s)
    # One coroutine, not two: every read resumes the whole chain of awaiting frames.
    try:
        done_ns: int | None = None
        headers_received = False
        content_type = ""
        try:
            async with session.post(url, data=body, headers=_JSON_HEADERS) as response:
                headers_received = True
                watch.last_ns = clock() - anchor_perf_ns
                if response.status != 200:
                    text = await _capped_text(response, MAX_ERROR_BODY_BYTES)
                    record.end_ns = clock() - anchor_perf_ns
                    record.outcome = f"http_{response.status}"
                    record.error = text[:300]
                    return
                content_type = response.headers.get("Content-Type", "")
                reader = response.content
                while True:
                    chunk = await reader.readany()
                    now = watch.last_ns = clock() - anchor_perf_ns
                    if not chunk:
                        events.end(now)
                        if events.done:  # "data: [DONE]" was the last line, with no newline
                            done_ns = now
                        break
                    events.feed(chunk, now)
                    if events.done:
                        done_ns = now
                        break
                if done_ns is not None:
                    await _drain(response)
        except asyncio.CancelledError:
            if not watch.ours():
                events.salvage()  # an incomplete request keeps the tokens it received
                raise
            if done_ns is None:  # (a deadline passing while draining after [DONE] changes nothing)
                record.outcome = Outcome.TIMEOUT
                record.error = watch.reason()
        except _BadStream as bad:
            record.outcome = bad.outcome
            record.error = str(bad)[:300]
        except TimeoutError as error:  # aiohttp's connect (or a session's own) timeouts
            if done_ns is None:
                record.outcome = Outcome.TIMEOUT
                if isinstance(error, aiohttp.ConnectionTimeoutError):
                    record.error = "no connection within the connect timeout"
                else:
                    record.error = "no data within the read timeout"
        except aiohttp.ClientConnectorError as error:
            fd_limit = error.os_error.errno in _FD_ERRNOS
            record.outcome = Outcome.CLIENT_FD_LIMIT if fd_limit else Outcome.CONNECT_ERROR
            record.error = str(error)[:300]
        except (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError) as error:
            record.outcome = Outcome.DISCONNECT if headers_received else Outcome.CONNECT_ERROR
            record.error = f"{type(error).__name__}: {error}"[:300]
        except aiohttp.ClientError as error:  # not HTTP, oversized headers, bad chunk framing...
            record.outcome = Outcome.BAD_RESPONSE
            record.error = f"{type(error).__name__}: {error}"[:300]
        except OSError as error:
            fd_limit = error.errno in _FD_ERRNOS
            record.outcome = Outcome.CLIENT_FD_LIMIT if fd_limit else Outcome.CONNECT_ERROR
            record.error = f"{type(error).__name__}: {error}"[:300]
        events.salvage()  # lines kept when the stream broke off
        record.end_ns = done_ns if done_ns is not None else clock() - anchor_perf_ns
        chunk_ns = record.chunk_ns
        if chunk_ns:
            record.first_token_ns = chunk_ns[0]
        if record.outcome != Outcome.PENDING:
            return
        if done_ns is None:
            if not events.saw_data and "text/event-stream" not in content_type:
                record.outcome = Outcome.BAD_RESPONSE
                record.error = f"HTTP 200 without an event stream (Content-Type {content_type!r})"
            else:
                record.outcome = Outcome.DISCONNECT
                record.error = "stream ended before [DONE]"
            return
        try:
            events.finish()
        except _BadStream as bad:
            record.outcome = bad.outcome
            record.error = str(bad)[:300]
            return
        record.outcome = Outcome.OK
        streamed = sum(record.chunk_tokens)
        # Without continuous usage, 1 token per chunk is exact only if the chunk count matches
        # usage.
        record.chunk_tokens_exact = (events.continuous and bool(record.chunk_tokens)) or (
            record.completion_tokens == streamed
        )
    finally:
        watch.close()


def _check_line(line: bytes) -> None:
    """A line still open may not grow past MAX_EVENT_BYTES (the client would hold it all)."""
    if len(line) > MAX_EVENT_BYTES:
        raise _BadStream(
            Outcome.RESPONSE_TOO_LARGE, f"a stream line exceeds {MAX_EVENT_BYTES} bytes"
        )


def _int_after(data: bytes, key: bytes) -> int | None:
    """The integer value of the last ``key`` in a JSON text (``"key": 12``), else None."""
    at = data.rfind(key)
    if at < 0:
        return None
    start = at + len(key)
    while start < len(data) and data[start] == 32:  # a space after the colon
        start += 1
    end = start
    while end < len(data) and 48 <= data[end] <= 57:
        end += 1
    if end == start or end - start > 10:  # no digits, or no plausible count: parse it properly
        return None
    return int(data[start:end])


async def _capped_text(response: aiohttp.ClientResponse, limit: int) -> str:
    """At most ``limit`` bytes of a body as text; the rest is dropped with the connection."""
    data = await _capped_body(response, limit)
    if data is None:
        response.close()
        return f"(body larger than {limit} bytes, not read)"
    return data.decode("utf-8", "replace")


async def _capped_body(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    """The whole body if it fits in ``limit`` bytes, else None (after reading ``limit``)."""
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = await response.content.read(limit + 1 - size)
        if not chunk:
            return b"".join(parts)
        parts.append(chunk)
        size += len(chunk)
    return None


async def _drain(response: aiohttp.ClientResponse) -> None:
    """Read the stream to its end after ``[DONE]`` so the keep-alive connection is reused
    (leaving unread bytes makes aiohttp close it, and every request would reconnect); a server
    that keeps sending after ``[DONE]`` loses its connection instead."""
    left = MAX_EVENT_BYTES
    try:
        while left > 0:
            chunk = await response.content.readany()
            if not chunk:
                return
            left -= len(chunk)
        response.close()
    except (aiohttp.ClientError, OSError):
        pass  # the request is complete; only the connection is lost


# --- server metadata and tokenizer --------------------------------------------------------------


async def _json_body(response: aiohttp.ClientResponse, url: str) -> Any:
    """A bounded JSON answer; ServerError when it is too large or not JSON."""
    data = await _capped_body(response, MAX_METADATA_BYTES)
    if data is None:
        raise ServerError(f"{url} answered more than {MAX_METADATA_BYTES} bytes")
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        raise ServerError(f"{url} did not answer JSON") from None


def _tokens(data: Any, url: str) -> list[int]:
    tokens = data.get("tokens", []) if isinstance(data, dict) else None
    if not isinstance(tokens, list) or not all(type(t) is int for t in tokens):
        raise ServerError(f"{url} answered without a list of integer 'tokens'")
    return tokens


class ServerTokenCounter:
    """Counts tokens with the server's own ``/tokenize`` (vLLM, SGLang, llama.cpp, the sim)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, model: str) -> None:
        self.session = session
        self.url = base_url.rstrip("/") + "/tokenize"
        self.model = model

    async def _post(self, payload: dict[str, Any]) -> Any:
        try:
            async with self.session.post(self.url, json=payload) as response:
                if response.status != 200:
                    text = (await _capped_text(response, MAX_ERROR_BODY_BYTES))[:200]
                    raise ServerError(f"{self.url} answered HTTP {response.status}: {text}")
                return await _json_body(response, self.url)
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            raise ServerError(f"{self.url}: {error or type(error).__name__}") from None

    async def _count(self, payload: dict[str, Any]) -> int:
        data = await self._post(payload)
        count = data.get("count") if isinstance(data, dict) else None
        if count is None:
            return len(_tokens(data, self.url))
        if type(count) is not int or not 0 <= count < MAX_TOKEN_COUNT:
            raise ServerError(f"{self.url} answered a 'count' that is not a token count")
        return count

    async def count_text(self, text: str, *, special_tokens: bool = True) -> int:
        return await self._count(
            {"model": self.model, "prompt": text, "add_special_tokens": special_tokens}
        )

    async def count_chat(self, text: str) -> int:
        return await self._count(
            {
                "model": self.model,
                "messages": [{"role": "user", "content": text}],
                "add_generation_prompt": True,
            }
        )

    async def token_ids(self, text: str) -> list[int]:
        payload = {"model": self.model, "prompt": text, "add_special_tokens": False}
        return _tokens(await self._post(payload), self.url)


async def get_json(session: aiohttp.ClientSession, url: str) -> dict[str, Any] | None:
    """GET a JSON document; None when the endpoint is absent, too large or not JSON."""
    try:
        async with session.get(url) as response:
            if response.status != 200:
                return None
            data = await _json_body(response, url)
    except (aiohttp.ClientError, TimeoutError, OSError, ServerError):
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
            models = await _json_body(response, f"{base}/v1/models")
            simulated = response.headers.get(SIMULATED_HEADER) == "1"
    except (aiohttp.ClientError, TimeoutError, OSError) as error:
        raise ServerError(f"cannot reach {base}: {error or type(error).__name__}") from None
    version = await get_json(session, base + "/version")
    return {"models": models, "version": version, "simulated": simulated}


def model_ids(models: Any) -> list[str]:
    """The ids a ``/v1/models`` answer lists (entries of another shape are ignored)."""
    data = models.get("data") if isinstance(models, dict) else None
    if not isinstance(data, list):
        return []
    return [str(m["id"]) for m in data if isinstance(m, dict) and isinstance(m.get("id"), str)]
