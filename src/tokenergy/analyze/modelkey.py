"""Which figures describe the same model, however each source spells it.

Sources write one model many ways: 'meta-llama/Llama-3.1-405B-Instruct-FP8' (ML.ENERGY),
'Llama 3.1 405B' (TensorRT-LLM tables), 'dsr1' (InferenceX keys). A name is reduced to its *core*
tokens: lower case, organisation prefix dropped, split on separators, with the words that do not
change the weights' architecture ('instruct', 'chat', 'it', 'hf') dropped and precision tokens
('fp8', 'bf16' …) taken out as the precision. Two names match when their cores differ only by
revision dates ('0528', '2507'): DeepSeek-R1 and DeepSeek-R1-0528 are one model for energy, while
'Thinking' and 'Instruct' variants or 3.1 and 3.3 stay apart.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# InferenceX model keys (its `utils/process_result.py` / workflow configs) → the model they name
_ALIASES = {"dsr1": "deepseek-r1", "gptoss": "gpt-oss-120b"}
_NEUTRAL = frozenset({"instruct", "chat", "it", "hf"})
_PRECISIONS = {
    "fp8": "fp8",
    "fp4": "fp4",
    "mxfp4": "fp4",
    "nvfp4": "fp4",
    "bf16": "bf16",
    "bfloat16": "bf16",
    "fp16": "fp16",
    "float16": "fp16",
    "int8": "int8",
    "int4": "int4",
}
_REVISION = re.compile(r"^\d{4}$")


def normal_precision(text: str | None) -> str | None:
    """One spelling per precision ('bfloat16' → 'bf16', 'mxfp4' → 'fp4'); None when unknown."""
    if not text:
        return None
    key = text.strip().lower()
    return _PRECISIONS.get(key, key)


@dataclass(frozen=True)
class ModelKey:
    """A model name reduced for matching: core tokens (sorted) and the precision it names."""

    core: tuple[str, ...]
    precision: str | None

    def matches(self, other: ModelKey) -> bool:
        """Same model, up to revision dates; precision is compared separately by the caller."""
        difference = set(self.core) ^ set(other.core)
        return bool(self.core) and all(_REVISION.match(token) for token in difference)

    @property
    def family(self) -> tuple[str, ...]:
        """The core without revision dates: one key per model for grouping."""
        return tuple(token for token in self.core if not _REVISION.match(token))


# a reconciliation asks for the same few hundred names ~25,000 times
@functools.lru_cache(maxsize=4096)
def model_key(name: str) -> ModelKey:
    base = name.strip().rsplit("/", 1)[-1].lower()
    base = _ALIASES.get(base, base)
    tokens = [token for token in re.split(r"[\s_\-.]+", base) if token]
    precision = next((_PRECISIONS[t] for t in tokens if t in _PRECISIONS), None)
    core = sorted(t for t in tokens if t not in _NEUTRAL and t not in _PRECISIONS)
    return ModelKey(tuple(core), precision)
