"""Fast paths for a request's tokens: the engine hands them over at the end of their step.

A streamed request with one prompt (what every benchmark sends) has its SSE frames written to
its connection by the engine itself, with no task wake-up and no JSON encoding (a frame is a
pre-serialised template around the token's one JSON byte): one transport write per request each
time the engine yields, i.e. per step on schedule and per run of due steps behind it. A request
that does not stream wakes once, when its last prompt finishes. Everything else (several prompts
in one streamed request, injected stalls and disconnects) takes the general path,
engine.TokenStream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from tokenergy.sim import tokenizer
from tokenergy.sim.engine import Buffered, TokenEvent
from tokenergy.sim.responses import running_usage_tail

# The JSON string content of each generated token, by text position (printable ASCII: one byte).
TOKEN_JSON = tuple(
    json.dumps(chr(tokenizer.generated_token(position, 0)))[1:-1].encode()
    for position in range(tokenizer.GENERATED_PERIOD)
)
_PERIOD = tokenizer.GENERATED_PERIOD


FrameRenderer = Callable[[int], bytes]  # token index → the bytes of its SSE event


def token_frames(before: bytes, after: bytes, text_offset: int) -> FrameRenderer:
    """Events of a request's tokens, the same around each token (``TokenChunks.template``)."""

    def render(index: int) -> bytes:
        return before + TOKEN_JSON[(text_offset + index) % _PERIOD] + after

    return render


def token_frames_with_usage(
    before: bytes, middle: bytes, prompt_tokens: int, text_offset: int
) -> FrameRenderer:
    """Events with running usage (``TokenChunks.usage_template``): one prompt, so the
    completion tokens so far are the token's index + 1."""

    def render(index: int) -> bytes:
        token = TOKEN_JSON[(text_offset + index) % _PERIOD]
        return before + token + middle + running_usage_tail(prompt_tokens, index + 1)

    return render


def http_chunk(data: bytes) -> bytes:
    """``data`` as one HTTP/1.1 chunk (Transfer-Encoding: chunked); SSE events may share one."""
    return b"%x\r\n%b\r\n" % (len(data), data)


class DirectStream:
    """Writes one streamed prompt's token events straight to its connection.

    ``render`` gives a token's SSE event (``token_frames``). Events wait in the sink until the
    engine flushes its ``outbox``, before it yields to the event loop: on schedule that is each
    step's end; behind schedule, one write (one HTTP chunk when ``chunked``) carries every due
    step's events, as vLLM's API server merges a request's outputs that pile up while it is
    behind (``RequestOutputCollector``), though here each token keeps its own event. The last
    token is left to the handler (``done`` resolves, ``final`` holds it), which writes the
    events still held (``take``) with it, the usage event, ``[DONE]`` and the end of the
    response: one write. When the connection is found closed, ``on_close`` runs at once (the
    handler's abort would wait for the engine to yield) and ``done`` resolves (``closed``).
    """

    __slots__ = (
        "_chunked",
        "_events",
        "_on_close",
        "_outbox",
        "_over",
        "_render",
        "_transport",
        "closed",
        "done",
        "final",
    )

    def __init__(
        self,
        transport: asyncio.Transport,
        render: FrameRenderer,
        *,
        chunked: bool,
        outbox: list[Buffered],
        on_close: Callable[[], None],
    ) -> None:
        self._transport = transport
        self._render = render
        self._chunked = chunked
        self._outbox = outbox
        self._on_close = on_close
        self._events: list[bytes] = []
        self._over = False  # the last token came, or the connection was found closed
        self.closed = False
        self.final: TokenEvent | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def put(self, event: TokenEvent) -> None:
        if self._over:
            return
        if event.finish_reason is not None:
            self.final = event
            self._end()
            return
        events = self._events
        if not events:  # the first since the engine last yielded: was the client seen to go?
            if self._transport.is_closing():
                self.closed = True
                self._end()
                self._on_close()
                return
            self._outbox.append(self)
        events.append(self._render(event.token_index))

    def _end(self) -> None:
        self._over = True
        self.done.set_result(None)

    def flush(self) -> None:
        """Write the events held since the last flush, in one write (the engine calls it); once
        the last token is out, the handler sends them with it instead."""
        if self.final is not None or not self._events:
            return
        data = self.take()
        if not self._transport.is_closing():
            self._transport.write(http_chunk(data) if self._chunked else data)

    def take(self) -> bytes:
        """The events held and not yet written, in order (and hold none)."""
        events = self._events
        data = events[0] if len(events) == 1 else b"".join(events)
        events.clear()
        return data


class FinishLine:
    """A non-streamed request's prompts: the handler wakes once, when the last one finishes."""

    __slots__ = ("_left", "done", "finish")

    def __init__(self, prompts: int) -> None:
        self._left = prompts
        self.finish: list[str | None] = [None] * prompts
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def put(self, event: TokenEvent) -> None:
        if event.finish_reason is None:
            return
        self.finish[event.choice] = event.finish_reason
        self._left -= 1
        if not self._left:
            self.done.set_result(None)
