"""One load point's configuration (what the runner needs, what run.json records)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tokenergy.errors import ConfigError
from tokenergy.load.client import DEFAULT_REQUEST_TIMEOUT_S, Api
from tokenergy.load.schedule import LoadShape
from tokenergy.load.workload import Conversation, LengthSpec, PromptKind


@dataclass(frozen=True)
class BenchConfig:
    """One load point: where, what, how much. ``prompt_kind`` None = token ids when accepted."""

    base_url: str
    model: str
    lengths: LengthSpec
    shape: LoadShape
    out_dir: Path
    api: Api = Api.COMPLETIONS
    seed: int = 0
    prompt_kind: PromptKind | None = None
    timeout_s: float = 600.0  # per read: longest silence of a stream
    request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S  # per request, send to last byte
    run_timeout_s: float | None = None  # the whole run, warm-up included; in flight → incomplete
    max_length_mismatch: float = 0.01
    dataset: str | None = None
    conversations: tuple[Conversation, ...] = ()
    workers: int = 1
    ignore_eos: bool = True
    tokenizer: Path | None = None  # local tokenizer.json instead of the server's /tokenize
    extra_body: dict[str, Any] = field(default_factory=dict)
    label: str | None = None  # the user's name for the run (provenance.label)
    metadata: dict[str, str] = field(default_factory=dict)  # the user's key=value notes

    def __post_init__(self) -> None:
        for name, value in (
            ("timeout_s", self.timeout_s),
            ("request_timeout_s", self.request_timeout_s),
            ("run_timeout_s", self.run_timeout_s),
        ):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise ConfigError(f"must be finite seconds > 0, not {value}", field=name)
        if not 0 <= self.seed < 2**63:
            raise ConfigError(f"must be in [0, 2^63), got {self.seed}", field="seed")

    def to_json(self) -> dict[str, Any]:
        shape = self.shape
        return {
            "base_url": self.base_url,
            "model": self.model,
            "api": self.api.value,
            "lengths": {
                "kind": self.lengths.kind.value,
                "isl": self.lengths.isl,
                "osl": self.lengths.osl,
                "range_ratio": self.lengths.range_ratio,
                "source": self.lengths.source,
            },
            "concurrency": shape.concurrency,
            "rate_rps": shape.rate_rps,
            "burstiness": shape.burstiness,
            "num_prompts": shape.num_prompts,
            "duration_s": shape.duration_s,
            "warmup": shape.warmup,
            "seed": self.seed,
            "prompt_kind": None if self.prompt_kind is None else self.prompt_kind.value,
            "timeout_s": self.timeout_s,
            "request_timeout_s": self.request_timeout_s,
            "run_timeout_s": self.run_timeout_s,
            "max_length_mismatch": self.max_length_mismatch,
            "dataset": self.dataset,
            "extra_body": self.extra_body,
            "workers": self.workers,
            "ignore_eos": self.ignore_eos,
            "tokenizer": None if self.tokenizer is None else str(self.tokenizer),
            "label": self.label,
            "metadata": self.metadata,
        }


@dataclass(frozen=True)
class Capabilities:
    """What the server accepted in the probe requests (recorded in the provenance)."""

    token_ids: bool
    continuous_usage: bool
