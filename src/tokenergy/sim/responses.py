"""OpenAI/vLLM response formats: error bodies, completion bodies, SSE stream chunks."""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tokenergy.sim.engine import TokenEvent
from tokenergy.sim.protocol import Generation

_ERROR_TYPES = {400: "BadRequestError", 404: "NotFoundError", 429: "RateLimitError"}


def error_response(status: int, message: str) -> web.Response:
    """OpenAI-style error body, as vLLM returns it."""
    kind = _ERROR_TYPES.get(status, "InternalServerError")
    body = {"error": {"message": message, "type": kind, "param": None, "code": status}}
    return web.json_response(body, status=status)


@dataclass
class Outcome:
    """What a request's prompts produced so far."""

    texts: list[list[str]]
    finish: list[str | None]

    @classmethod
    def empty(cls, prompts: int) -> Outcome:
        return cls([[] for _ in range(prompts)], [None] * prompts)

    def add(self, event: TokenEvent, text: str) -> None:
        self.texts[event.choice].append(text)
        if event.finish_reason is not None:
            self.finish[event.choice] = event.finish_reason

    @property
    def completion_tokens(self) -> int:
        return sum(len(text) for text in self.texts)

    @property
    def done(self) -> bool:
        return all(reason is not None for reason in self.finish)


def text_completion(model: str, outcome: Outcome, usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": f"cmpl-{uuid.uuid4().hex}",
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": choice,
                "text": "".join(texts),
                "logprobs": None,
                "finish_reason": outcome.finish[choice],
                "stop_reason": None,
            }
            for choice, texts in enumerate(outcome.texts)
        ],
        "usage": usage,
    }


def chat_completion(model: str, outcome: Outcome, usage: dict[str, int]) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "".join(outcome.texts[0])},
                "logprobs": None,
                "finish_reason": outcome.finish[0],
            }
        ],
        "usage": usage,
    }


def stream_choice(chat: bool, event: TokenEvent, text: str) -> dict[str, Any]:
    if chat:
        return {
            "index": event.choice,
            "delta": {"content": text},
            "logprobs": None,
            "finish_reason": event.finish_reason,
        }
    return {
        "index": event.choice,
        "text": text,
        "logprobs": None,
        "finish_reason": event.finish_reason,
        "stop_reason": None,
    }


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload, separators=(",", ":")).encode() + b"\n\n"


def chunk_builder(
    base: dict[str, Any], chat: bool, gen: Generation, usage: Callable[[], dict[str, int]]
) -> Callable[[dict[str, Any]], bytes]:
    """Chunks carry ``usage: null`` when usage was requested (OpenAI), running usage when
    ``continuous_usage_stats`` was (vLLM)."""

    def build(choice: dict[str, Any]) -> bytes:
        payload: dict[str, Any] = {**base, "choices": [choice]}
        if gen.continuous_usage:
            payload["usage"] = usage()
        elif gen.include_usage:
            payload["usage"] = None
        return sse(payload)

    return build


_SLOT_TEXT = "\uffff"  # a placeholder the sim never generates (its output is printable ASCII)
_SLOT_JSON = b"\\uffff"  # how json.dumps writes it


@functools.lru_cache(maxsize=64)
def _choice_template(chat: bool, choice: int, finish_reason: str | None) -> tuple[bytes, bytes]:
    """A stream choice's JSON before and after its token text (the same for every request)."""
    slot = TokenEvent(choice, 0, 0.0, finish_reason)
    whole = json.dumps(stream_choice(chat, slot, _SLOT_TEXT), separators=(",", ":")).encode()
    before, after = whole.split(_SLOT_JSON, 1)
    return before, after


class TokenChunks:
    """Pre-serialised token chunks: per request, one ``json.dumps`` of the fields every chunk
    repeats; the choice around a token's text is a template shared by all requests, so a token
    costs byte concatenations instead of a ``json.dumps``. Byte-identical to ``chunk_builder``
    (running usage, which changes per chunk, is not templated: use ``chunk_builder`` for
    ``continuous_usage_stats``)."""

    def __init__(self, base: dict[str, Any], chat: bool, gen: Generation) -> None:
        self._chat = chat
        fields = json.dumps(base, separators=(",", ":")).encode()[:-1]  # without its "}"
        self._head = b"data: " + fields + b',"choices":['
        self._usage_head = b"data: " + fields + b',"choices":[],"usage":'
        self._tail = b"]" + (b',"usage":null' if gen.include_usage else b"") + b"}\n\n"
        self._templates: dict[tuple[int, str | None], tuple[bytes, bytes]] = {}
        self._texts: dict[str, bytes] = {}

    def template(self, choice: int, finish_reason: str | None) -> tuple[bytes, bytes]:
        """The event's bytes before and after the token's JSON string content."""
        key = (choice, finish_reason)
        template = self._templates.get(key)
        if template is None:
            before, after = _choice_template(self._chat, choice, finish_reason)
            template = self._templates[key] = (self._head + before, after + self._tail)
        return template

    def __call__(self, event: TokenEvent, text: str) -> bytes:
        before, after = self.template(event.choice, event.finish_reason)
        escaped = self._texts.get(text)
        if escaped is None:
            escaped = self._texts[text] = json.dumps(text)[1:-1].encode()
        return before + escaped + after

    def usage_template(
        self, choice: int, finish_reason: str | None, prompt_tokens: int
    ) -> tuple[bytes, bytes]:
        """For running usage (vLLM's ``continuous_usage_stats``): the event's bytes before the
        token's JSON string content, and after it up to the completion token count."""
        before, after = _choice_template(self._chat, choice, finish_reason)
        middle = after + b'],"usage":{"prompt_tokens":%d,"completion_tokens":' % prompt_tokens
        return self._head + before, middle

    def with_usage(
        self, event: TokenEvent, text: str, prompt_tokens: int, completion: int
    ) -> bytes:
        """A token event with running usage (``completion`` tokens so far, this one included)."""
        before, middle = self.usage_template(event.choice, event.finish_reason, prompt_tokens)
        escaped = json.dumps(text)[1:-1].encode()
        return before + escaped + middle + running_usage_tail(prompt_tokens, completion)

    def usage(self, usage: dict[str, int]) -> bytes:
        """The final usage event (no choices), as ``sse`` writes it."""
        return self._usage_head + json.dumps(usage, separators=(",", ":")).encode() + b"}\n\n"


def running_usage_tail(prompt_tokens: int, completion_tokens: int) -> bytes:
    """The end of a running-usage event, from its completion token count on."""
    return b'%d,"total_tokens":%d}}\n\n' % (completion_tokens, prompt_tokens + completion_tokens)
