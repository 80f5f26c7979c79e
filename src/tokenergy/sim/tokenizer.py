"""The simulator's deterministic byte-level tokenizer.

One UTF-8 byte = one token (ids 0–255), so text round-trips exactly and a client can size a
prompt to the token without downloading a vocabulary. Ids 256..vocab_size−1 are valid in
token-id prompts (clients send random ids, as with real servers) and detokenize to ``<id>``.
Generated text uses printable bytes only, so re-tokenizing an output gives its usage count.
"""

from __future__ import annotations

from collections.abc import Sequence

_BYTE_TOKENS = 256
# What the sim "writes": printable ASCII, so every generated token is one character.
_GENERATED_TEXT = (
    b" the quick brown fox jumps over the lazy dog while simulated tokens stream at modelled"
    b" step times and a modelled power draw fills a counter"
)


def encode(text: str) -> list[int]:
    return list(text.encode("utf-8"))


def decode(token_ids: Sequence[int]) -> str:
    """Bytes below 256 decode together (invalid UTF-8 replaced); higher ids as ``<id>``."""
    parts: list[str] = []
    run = bytearray()
    for token in token_ids:
        if token < _BYTE_TOKENS:
            run.append(token)
            continue
        if run:
            parts.append(run.decode("utf-8", errors="replace"))
            run.clear()
        parts.append(f"<{token}>")
    if run:
        parts.append(run.decode("utf-8", errors="replace"))
    return "".join(parts)


GENERATED_PERIOD = len(_GENERATED_TEXT)  # the generated text repeats with this period


def generated_token(position: int, offset: int) -> int:
    """The token the sim emits at output position ``position`` for a request's text offset."""
    return _GENERATED_TEXT[(offset + position) % GENERATED_PERIOD]


def generated_text(count: int, offset: int) -> str:
    """The first ``count`` tokens a request with text offset ``offset`` generates, as text."""
    start = offset % GENERATED_PERIOD
    repeats = (start + count) // GENERATED_PERIOD + 1
    return (_GENERATED_TEXT * repeats)[start : start + count].decode("ascii")


def apply_chat_template(messages: Sequence[dict[str, object]], add_generation_prompt: bool) -> str:
    """A fixed, documented chat template: ``<|role|>\\ncontent\\n`` per message, then
    ``<|assistant|>\\n`` when a reply is requested."""
    rendered = "".join(
        f"<|{message.get('role', 'user')}|>\n{_content_text(message.get('content'))}\n"
        for message in messages
    )
    return rendered + ("<|assistant|>\n" if add_generation_prompt else "")


def _content_text(content: object) -> str:
    """String content, or the text parts of an OpenAI content-part list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    raise ValueError("message content must be a string or a list of content parts")
