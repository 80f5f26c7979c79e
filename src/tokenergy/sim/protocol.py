"""Parsing OpenAI/vLLM request bodies into what the engine needs, with vLLM-like 400 errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tokenergy.sim import tokenizer


class BadRequest(Exception):
    """A request the sim answers with HTTP 400 (or ``status``) and an OpenAI error body."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class Generation:
    """One completions or chat request, reduced to token counts and sampling limits."""

    prompts: list[list[int]]
    max_tokens: int | None
    min_tokens: int
    ignore_eos: bool
    stream: bool
    include_usage: bool
    continuous_usage: bool
    seed: int | None


def _ids(value: list[Any], vocab_size: int) -> list[int]:
    if not set(map(type, value)) <= {int}:  # bool is not a token id (type(True) is bool)
        raise BadRequest("prompt token ids must be integers")
    if value and (min(value) < 0 or max(value) >= vocab_size):
        raise BadRequest(f"token id out of vocabulary (0..{vocab_size - 1})")
    return list(value)


def completion_prompts(prompt: Any, vocab_size: int) -> list[list[int]]:
    """A string, a list of token ids, or a list of either (a batch)."""
    if isinstance(prompt, str):
        return [tokenizer.encode(prompt)]
    if isinstance(prompt, list) and prompt:
        if all(isinstance(item, str) for item in prompt):
            return [tokenizer.encode(item) for item in prompt]
        if all(isinstance(item, list) for item in prompt):
            return [_ids(item, vocab_size) for item in prompt]
        return [_ids(prompt, vocab_size)]
    raise BadRequest("prompt must be a string, a list of token ids, or a non-empty list of those")


def chat_prompt(body: dict[str, Any]) -> list[int]:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest("messages must be a non-empty list")
    if not all(isinstance(message, dict) for message in messages):
        raise BadRequest("each message must be an object")
    add_generation_prompt = bool(body.get("add_generation_prompt", True))
    try:
        text = tokenizer.apply_chat_template(messages, add_generation_prompt)
    except ValueError as error:
        raise BadRequest(str(error)) from None
    return tokenizer.encode(text)


def _int_field(body: dict[str, Any], name: str, minimum: int) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise BadRequest(f"{name} must be an integer >= {minimum}")
    return value


def parse_generation(body: dict[str, Any], chat: bool, vocab_size: int) -> Generation:
    if chat:
        prompts = [chat_prompt(body)]
        max_tokens = _int_field(body, "max_completion_tokens", 1)
        if max_tokens is None:
            max_tokens = _int_field(body, "max_tokens", 1)
    else:
        if "prompt" not in body:
            raise BadRequest("prompt is required")
        prompts = completion_prompts(body["prompt"], vocab_size)
        max_tokens = _int_field(body, "max_tokens", 1)
        if body.get("max_tokens", 16) is None:
            max_tokens = None
        elif max_tokens is None:
            max_tokens = 16  # the OpenAI/vLLM default for completions
    if any(not prompt for prompt in prompts):
        raise BadRequest("prompt must not be empty")
    n = _int_field(body, "n", 1)
    if n not in (None, 1):
        raise BadRequest("the simulator supports n=1 only")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise BadRequest("stream_options must be an object")
    stream = bool(body.get("stream", False))
    if options and not stream:
        raise BadRequest("stream_options is only allowed when stream is true")
    return Generation(
        prompts=prompts,
        max_tokens=max_tokens,
        min_tokens=_int_field(body, "min_tokens", 0) or 0,
        ignore_eos=bool(body.get("ignore_eos", False)),
        stream=stream,
        include_usage=bool(options.get("include_usage", False)),
        continuous_usage=bool(options.get("continuous_usage_stats", False)),
        seed=_int_field(body, "seed", 0),
    )
