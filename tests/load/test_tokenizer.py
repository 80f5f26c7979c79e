"""The local tokenizer path (optional extra) against the simulator's byte-level counting."""

from __future__ import annotations

from pathlib import Path

import pytest

from tokenergy.errors import ConfigError
from tokenergy.load.config import BenchConfig
from tokenergy.load.runner import run_point
from tokenergy.load.schedule import LoadShape
from tokenergy.load.tokenizer import LocalTokenCounter
from tokenergy.load.workload import LengthKind, LengthSpec, PromptKind
from tokenergy.sim.server import SimHandle

tokenizers = pytest.importorskip("tokenizers")


def byte_tokenizer(path: Path) -> Path:
    """One token per UTF-8 byte, like the simulator: BPE over the byte alphabet, no merges."""
    alphabet = sorted(tokenizers.pre_tokenizers.ByteLevel.alphabet())
    model = tokenizers.models.BPE(vocab={ch: i for i, ch in enumerate(alphabet)}, merges=[])
    tokenizer = tokenizers.Tokenizer(model)
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.ByteLevel(add_prefix_space=False)
    file = path / "tokenizer.json"
    tokenizer.save(str(file))
    return file


async def test_counts_like_the_server(tmp_path: Path) -> None:
    counter = LocalTokenCounter(byte_tokenizer(tmp_path))
    assert await counter.count_text("hello wörld") == len("hello wörld".encode())
    with pytest.raises(ConfigError, match="chat"):
        await counter.count_chat("hi")


@pytest.mark.parametrize("kind", [PromptKind.TEXT, PromptKind.TOKEN_IDS])
async def test_exact_lengths_with_a_local_tokenizer(
    sim: SimHandle, tmp_path: Path, kind: PromptKind
) -> None:
    config = BenchConfig(
        base_url=sim.url,
        model="",
        lengths=LengthSpec(LengthKind.FIXED, isl=90, osl=10),
        shape=LoadShape(concurrency=2, num_prompts=6),
        out_dir=tmp_path / "run",
        prompt_kind=kind,
        tokenizer=byte_tokenizer(tmp_path),
    )
    outcome = await run_point(config)
    assert outcome.length_mismatches == 0
    assert all(r.prompt_tokens == 90 for r in outcome.records)


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        LocalTokenCounter(tmp_path / "nope.json")
    assert "nope.json" in str(error.value)
