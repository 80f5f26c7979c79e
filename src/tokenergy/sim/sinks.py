"""Fast paths for a request's tokens: the engine hands them over at the end of their step.

A streamed request with one prompt (what every benchmark sends) has its SSE frames written to
its connection by the engine itself, in the step that produced them: one transport write per
request per step, at the step's simulated end, with no task wake-up and no JSON encoding (a
frame is a pre-serialised template around the token's one JSON byte). A request that does not
stream wakes once, when its last prompt finishes. Everything else (several prompts in one
streamed request, injected stalls and disconnects) takes the general path, engine.TokenStream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

from tokenergy.sim import tokenizer
from tokenergy.sim.engine import TokenEvent
from tokenergy.sim.responses import running_usage_tail

# The JSON string content of each generated token, by text position (printable ASCII: one byte).
TOKEN_JSON = tuple(
    json.dumps(chr(tokenizer.generated_token(position, 0)))[1:-1].encode()
    for position in range(tokenizer.GENERATED_PERIOD)
)
_PERIOD = tokenizer.GENERATED_PERIOD


def sse_frame(before: bytes, after: bytes, chunked: bool) -> tuple[bytes, bytes]:
    """The bytes a one-token event is written with, split around the token's JSON byte: the
    event's template (``data: {…"text":"`` and ``",…}\n\n``) inside an HTTP/1.1 chunk."""
    if not chunked:
        return before, after
    size = len(before) + 1 + len(after)
    return f"{size:x}\r\n".encode() + before, after + b"\r\n"


FrameRenderer = Callable[[int], bytes]  # token index → the wire bytes of its event


def token_frames(before: bytes, after: bytes, text_offset: int, chunked: bool) -> FrameRenderer:
    """Events of a request's tokens, the same around each token (``TokenChunks.template``)."""
    head, tail = sse_frame(before, after, chunked)

    def render(index: int) -> bytes:
        return head + TOKEN_JSON[(text_offset + index) % _PERIOD] + tail

    return render


def token_frames_with_usage(
    before: bytes, middle: bytes, prompt_tokens: int, text_offset: int, chunked: bool
) -> FrameRenderer:
    """Events with running usage (``TokenChunks.usage_template``): one prompt, so the
    completion tokens so far are the token's index + 1."""

    def render(index: int) -> bytes:
        token = TOKEN_JSON[(text_offset + index) % _PERIOD]
        event = before + token + middle + running_usage_tail(prompt_tokens, index + 1)
        return b"%x\r\n%b\r\n" % (len(event), event) if chunked else event

    return render


class DirectStream:
    """Writes one streamed prompt's token events straight to its connection.

    ``render`` gives a token's wire bytes (``token_frames``). The last token is left to the
    handler (``done`` resolves, ``final`` holds it), which writes it with the usage event,
    ``[DONE]`` and the end of the response: one write, as the step that ends the sequence
    produces them all. ``done`` also resolves as soon as the connection is found closed
    (``closed``).
    """

    __slots__ = ("_render", "_transport", "closed", "done", "final")

    def __init__(self, transport: asyncio.Transport, render: FrameRenderer) -> None:
        self._transport = transport
        self._render = render
        self.closed = False
        self.final: TokenEvent | None = None
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def put(self, event: TokenEvent) -> None:
        if self.done.done():
            return
        if event.finish_reason is not None:
            self.final = event
            self.done.set_result(None)
        elif self._transport.is_closing():  # the client went away: the handler aborts
            self.closed = True
            self.done.set_result(None)
        else:
            self._transport.write(self._render(event.token_index))


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
