"""Workloads with exact lengths: length distributions, datasets and exact-length prompts.

Energy per query depends on the lengths actually run, so every prompt is built to an exact token
count *as the server counts it* (token-id prompts, or text calibrated through the server's
``/tokenize``), and outputs are forced with ``max_tokens`` + ``ignore_eos`` (+ ``min_tokens``).
The server's ``usage`` remains the count of record; the runner flags any request whose counts
differ from what was asked.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from tokenergy.errors import ConfigError, ServerError
from tokenergy.records import LengthSampler

# Plain English words for text prompts: tokenizers split them predictably and they never form
# special tokens. Calibration makes the exact count, so the choice only affects realism.
_WORDS = [
    "time",
    "person",
    "year",
    "way",
    "day",
    "thing",
    "man",
    "world",
    "life",
    "hand",
    "part",
    "child",
    "eye",
    "woman",
    "place",
    "work",
    "week",
    "case",
    "point",
    "government",
    "company",
    "number",
    "group",
    "problem",
    "fact",
    "water",
    "energy",
    "power",
    "light",
    "system",
    "river",
    "mountain",
    "garden",
    "window",
    "table",
    "paper",
    "music",
    "story",
    "morning",
    "evening",
    "city",
    "road",
    "field",
    "market",
    "answer",
    "question",
    "reason",
    "result",
    "change",
    "moment",
    "idea",
    "table",
    "kitchen",
    "letter",
    "machine",
]


_FILLERS = (" a", "a", ".", " .", "\n")


class LengthKind(StrEnum):
    FIXED = "fixed"
    UNIFORM = "uniform"
    EMPIRICAL = "empirical"


@dataclass(frozen=True)
class LengthSpec:
    """How (ISL, OSL) pairs are drawn for each request.

    ``uniform`` is symmetric: integers in [⌈L(1−r)⌉, ⌊L(1+r)⌋], mean exactly L (the vLLM lineage).
    The bench_serving [r·L, L] scheme is deliberately not offered: its mean is not L
    (docs/methodology.md §7).
    ``empirical`` resamples (with replacement) measured pairs, optionally weighted (a histogram).
    """

    kind: LengthKind
    isl: int = 0
    osl: int = 0
    range_ratio: float = 0.0
    pairs: tuple[tuple[int, int], ...] = ()
    weights: tuple[float, ...] = ()
    source: str | None = None

    def __post_init__(self) -> None:
        if self.kind is LengthKind.EMPIRICAL:
            if not self.pairs:
                raise ConfigError("no usable length pairs", file=self.source, field="dataset")
            return
        if self.isl < 1 or self.osl < 1:
            raise ConfigError("ISL and OSL must be >= 1", field="isl")
        if not 0.0 <= self.range_ratio < 1.0:
            raise ConfigError(
                f"range ratio must be in [0, 1), got {self.range_ratio}", field="range_ratio"
            )

    @property
    def sampler(self) -> LengthSampler:
        if self.kind is LengthKind.EMPIRICAL:
            return LengthSampler.EMPIRICAL
        return LengthSampler.VLLM if self.kind is LengthKind.UNIFORM else LengthSampler.FIXED

    def sample(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """``n`` input and output lengths (int64 arrays), drawn from ``rng``."""
        if self.kind is LengthKind.FIXED:
            return np.full(n, self.isl, np.int64), np.full(n, self.osl, np.int64)
        if self.kind is LengthKind.UNIFORM:
            return _symmetric(rng, self.isl, self.range_ratio, n), _symmetric(
                rng, self.osl, self.range_ratio, n
            )
        table = np.asarray(self.pairs, dtype=np.int64)
        probs = None
        if self.weights:
            w = np.asarray(self.weights, dtype=float)
            probs = w / w.sum()
        rows = rng.choice(len(table), size=n, p=probs)
        return table[rows, 0].copy(), table[rows, 1].copy()


def uniform_bounds(length: int, ratio: float) -> tuple[int, int]:
    """Inclusive integer bounds of the symmetric uniform sampler (symmetric about ``length``)."""
    half = math.floor(length * ratio + 1e-9)
    return max(1, length - half), length + half


def _symmetric(rng: np.random.Generator, length: int, ratio: float, n: int) -> np.ndarray:
    low, high = uniform_bounds(length, ratio)
    if low != length - (high - length):
        raise ConfigError(
            f"range ratio {ratio} would clip lengths of {length} at 1 and bias the mean",
            field="range_ratio",
        )
    return rng.integers(low, high + 1, size=n, dtype=np.int64)


# --- datasets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Conversation:
    """First user turn and the reply that followed, from a ShareGPT-style record."""

    prompt: str
    reply: str


def read_dataset(path: Path) -> LengthSpec | list[Conversation]:
    """Read a JSON/JSONL dataset: length rows (a histogram) or ShareGPT conversations.

    Length rows: ``{"input_len": N, "output_len": M[, "count": K]}`` (``isl``/``osl`` also read).
    Conversations: ``{"conversations": [{"from": "human", "value": ...}, {"from": "gpt", ...}]}``
    (``role``/``content`` keys and OpenAI ``messages`` lists also read); their token lengths are
    counted later by the server's tokenizer (see :func:`conversation_lengths`).
    """
    rows = _read_rows(path)
    if not rows:
        raise ConfigError("dataset is empty", file=str(path))
    if _is_length_row(rows[0]):
        pairs: list[tuple[int, int]] = []
        weights: list[float] = []
        for number, row in enumerate(rows):
            pairs.append(_length_pair(row, path, number))
            weights.append(_weight(row, path, number))
        return LengthSpec(
            LengthKind.EMPIRICAL, pairs=tuple(pairs), weights=tuple(weights), source=str(path)
        )
    conversations = [c for c in (_conversation(row) for row in rows) if c is not None]
    if not conversations:
        raise ConfigError(
            "no conversation with a user turn followed by a reply (ShareGPT 'conversations')",
            file=str(path),
        )
    return conversations


def _read_rows(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read dataset: {error.strerror}", file=str(path)) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"not a UTF-8 text file (byte {error.start}); expected JSON or JSONL", file=str(path)
        ) from None
    try:
        if path.suffix == ".jsonl":
            data: Any = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ConfigError(f"not valid JSON: {error}", file=str(path)) from None
    except RecursionError:
        raise ConfigError("JSON nested too deeply", file=str(path)) from None
    if isinstance(data, dict):
        data = data.get("data", data.get("rows", [data]))
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ConfigError("expected a list of objects", file=str(path))
    return data


def _is_length_row(row: dict[str, Any]) -> bool:
    return any(key in row for key in ("input_len", "isl")) and any(
        key in row for key in ("output_len", "osl")
    )


def _token_count(raw: Any) -> bool:
    """A whole number of tokens a request can ask for: 10^400, 1e300, inf and NaN are not."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return False
    return 1 <= raw < 2**31 and raw == int(raw)


def _length_pair(row: dict[str, Any], path: Path, number: int) -> tuple[int, int]:
    values = []
    for keys in (("input_len", "isl"), ("output_len", "osl")):
        raw = next((row[k] for k in keys if k in row), None)
        if raw is None or not _token_count(raw):
            raise ConfigError(
                f"row {number}: needs an integer in [1, 2^31), got {str(raw)[:40]}",
                file=str(path),
                field=keys[0],
            )
        values.append(int(raw))
    return values[0], values[1]


def _weight(row: dict[str, Any], path: Path, number: int) -> float:
    raw = row.get("count", 1)
    if not isinstance(raw, int | float) or raw < 0:
        raise ConfigError(f"row {number}: bad count {raw!r}", file=str(path), field="count")
    return float(raw)


def _conversation(row: dict[str, Any]) -> Conversation | None:
    turns = row.get("conversations", row.get("conversation", row.get("messages")))
    if not isinstance(turns, list):
        return None
    texts: list[tuple[str, str]] = []
    for turn in turns:
        if not isinstance(turn, dict):
            return None
        role = str(turn.get("from", turn.get("role", "")))
        value = turn.get("value", turn.get("content"))
        if isinstance(value, str):
            texts.append((role, value))
    for (role, prompt), (next_role, reply) in itertools.pairwise(texts):
        if role in ("human", "user") and next_role in ("gpt", "assistant", "chatgpt", "bard"):
            return Conversation(prompt, reply)
    return None


async def conversation_lengths(
    conversations: Sequence[Conversation],
    counter: TokenCounter,
    source: str,
    *,
    min_len: int = 4,
) -> LengthSpec:
    """Token lengths of (prompt, reply) pairs as the server counts them.

    Pairs shorter than ``min_len`` tokens on either side are dropped, as vLLM's ShareGPT sampler
    does (a 1-token reply says nothing about decode cost).
    """
    pairs: list[tuple[int, int]] = []
    for conversation in conversations:
        isl = await counter.count_text(conversation.prompt)
        osl = await counter.count_text(conversation.reply, special_tokens=False)
        if isl >= min_len and osl >= min_len:
            pairs.append((isl, osl))
    return LengthSpec(LengthKind.EMPIRICAL, pairs=tuple(pairs), source=source)


# --- token counting and exact-length prompts ----------------------------------------------------


class TokenCounter(Protocol):
    """Counts tokens the way the server under test will count them."""

    async def count_text(self, text: str, *, special_tokens: bool = True) -> int: ...

    async def count_chat(self, text: str) -> int:
        """Tokens of a one-message chat, chat template and generation prompt included."""
        ...

    async def token_ids(self, text: str) -> list[int]:
        """Ids of ``text`` without special tokens (a pool of ids the server accepts)."""
        ...


class PromptKind(StrEnum):
    TOKEN_IDS = "token-ids"
    TEXT = "text"


@dataclass(frozen=True)
class TokenIdPrompts:
    """Token-id prompts drawn from a pool of ids the server's tokenizer produces: no server call
    per prompt, synchronous and picklable, so each is built when the load needs it (and by each
    ``--workers`` process for its own share)."""

    pool: np.ndarray
    # Each id as right-aligned text and a comma ("  123,"): a prompt's JSON array is one gather,
    # one copy and one strip of the padding (a fifth of tolist + json encoding).
    _texts: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        texts = self.pool.astype(str)
        width = int(np.char.str_len(texts).max()) + 1
        padded = np.char.add(np.char.rjust(texts, width - 1), ",").astype(f"S{width}")
        object.__setattr__(self, "_texts", padded)

    def _draw(self, rng: np.random.Generator, length: int) -> np.ndarray:
        # The very draws of rng.choice(pool, size=length), whose uniform case takes indices from
        # rng.integers(0, len(pool)), at 60 % of its cost (tests/load/test_lazy_prompts.py pins
        # the prompts a seed gives).
        return rng.integers(0, len(self.pool), size=length)

    def build(self, rng: np.random.Generator, length: int) -> list[int]:
        ids: list[int] = self.pool[self._draw(rng, length)].tolist()
        return ids

    def json(self, rng: np.random.Generator, length: int) -> bytes:
        """The compact JSON array of the ids :meth:`build` draws from the same ``rng``."""
        digits: bytes = self._texts[self._draw(rng, length)].tobytes().replace(b" ", b"")
        return b"[" + digits[:-1] + b"]"


class PromptBuilder:
    """Builds prompts of an exact token count, unique per request (no prefix-cache hits)."""

    def __init__(self, counter: TokenCounter, kind: PromptKind, *, chat: bool) -> None:
        if chat and kind is PromptKind.TOKEN_IDS:
            raise ConfigError("chat requests need text prompts", field="prompt_kind")
        self.counter = counter
        self.kind = kind
        self.chat = chat
        self._ids: TokenIdPrompts | None = None

    async def build(self, rng: np.random.Generator, length: int) -> list[int] | str:
        if self.kind is PromptKind.TOKEN_IDS:
            return (await self.token_id_prompts()).build(rng, length)
        return await self._text(rng, length)

    async def token_id_prompts(self) -> TokenIdPrompts:
        """The id pool, asked of the tokenizer once: distinct ids it produces for ordinary
        words (never special ids)."""
        if self._ids is None:
            ids = await self.counter.token_ids(" ".join(_WORDS))
            pool = np.unique(np.asarray(ids, dtype=np.int64))
            if len(pool) < 8:
                raise ServerError(f"tokenizer returned only {len(pool)} distinct ids")
            self._ids = TokenIdPrompts(pool)
        return self._ids

    async def _count(self, text: str) -> int:
        return await (self.counter.count_chat(text) if self.chat else self.counter.count_text(text))

    async def _text(self, rng: np.random.Generator, target: int) -> str:
        """Random words, then trimmed/padded word by word until the server counts ``target``."""
        words = [str(w) for w in rng.choice(_WORDS, size=max(1, target))]
        lo, hi = 0, len(words)
        base = await self._count("")  # template/BOS tokens that come with any prompt
        if base > target:
            raise ConfigError(
                f"ISL {target} is below the {base} tokens the server adds to any prompt",
                field="isl",
            )
        # Binary search the longest word prefix that does not exceed the target.
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if await self._count(" ".join(words[:mid])) <= target:
                lo = mid
            else:
                hi = mid - 1
        text = " ".join(words[:lo])
        count = await self._count(text)
        # Pad with short fillers; the first that grows the count without overshooting wins
        # (" a" is one token for BPE vocabularies, two for byte-level ones, where "a" is one).
        while count < target:
            for filler in _FILLERS:
                candidate = (text + filler) if text else filler.strip()
                new = await self._count(candidate)
                if count < new <= target:
                    text, count = candidate, new
                    break
            else:
                break
        if count != target:
            raise ServerError(f"could not calibrate a text prompt to {target} tokens (got {count})")
        return text
