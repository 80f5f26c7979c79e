"""Length distributions, datasets and exact-length prompts (with a counting tokenizer)."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pytest

from tokenergy.errors import ConfigError
from tokenergy.load.workload import (
    LengthKind,
    LengthSpec,
    PromptBuilder,
    PromptKind,
    TokenIdPrompts,
    conversation_lengths,
    read_dataset,
    uniform_bounds,
)
from tokenergy.records import LengthSampler


def test_fixed_lengths() -> None:
    isl, osl = LengthSpec(LengthKind.FIXED, isl=7, osl=3).sample(np.random.default_rng(0), 5)
    assert isl.tolist() == [7] * 5 and osl.tolist() == [3] * 5


def test_uniform_is_symmetric_with_mean_l_never_rl_to_l() -> None:
    spec = LengthSpec(LengthKind.UNIFORM, isl=1000, osl=101, range_ratio=0.8)
    assert uniform_bounds(1000, 0.8) == (200, 1800)  # not [800, 1000]
    assert uniform_bounds(101, 0.8) == (21, 181)
    isl, osl = spec.sample(np.random.default_rng(0), 200_000)
    assert isl.min() == 200 and isl.max() == 1800
    assert isl.mean() == pytest.approx(1000, rel=0.005)
    assert osl.mean() == pytest.approx(101, rel=0.005)
    assert spec.sampler is LengthSampler.VLLM


def test_bad_ranges_refused() -> None:
    with pytest.raises(ConfigError, match="range ratio"):
        LengthSpec(LengthKind.UNIFORM, isl=10, osl=10, range_ratio=1.0)
    with pytest.raises(ConfigError):
        LengthSpec(LengthKind.FIXED, isl=0, osl=10)


def test_histogram_dataset_weights(tmp_path: Path) -> None:
    path = tmp_path / "hist.jsonl"
    rows = [{"input_len": 100, "output_len": 10, "count": 3}, {"isl": 200, "osl": 20, "count": 1}]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    spec = read_dataset(path)
    assert isinstance(spec, LengthSpec) and spec.sampler is LengthSampler.EMPIRICAL
    isl, osl = spec.sample(np.random.default_rng(1), 40_000)
    assert (isl == 100).mean() == pytest.approx(0.75, abs=0.01)
    assert set(zip(isl.tolist(), osl.tolist(), strict=True)) == {(100, 10), (200, 20)}


def test_bad_dataset_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([{"input_len": 5, "output_len": -2}]))
    with pytest.raises(ConfigError) as error:
        read_dataset(path)
    assert error.value.file == str(path) and error.value.field == "output_len"
    (tmp_path / "x.json").write_text("{nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        read_dataset(tmp_path / "x.json")


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("model.bin", bytes(range(256)) * 4, "not a UTF-8 text file"),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        ("huge.json", b'[{"input_len": 1' + b"0" * 400 + b', "output_len": 8}]', "input_len"),
        ("inf.json", b'[{"input_len": Infinity, "output_len": 8}]', "input_len"),
        ("nan.json", b'[{"input_len": 8, "output_len": NaN}]', "output_len"),
        ("big.json", b'[{"input_len": 8, "output_len": 1e300}]', "output_len"),
    ],
)
def test_binary_or_deep_dataset_is_one_clear_error(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(ConfigError, match=message) as error:
        read_dataset(tmp_path / name)
    assert error.value.file == str(tmp_path / name)


class WordCounter:
    """A real (if simple) tokenizer: one token per whitespace word, 1 BOS, chat adds 5."""

    async def count_text(self, text: str, *, special_tokens: bool = True) -> int:
        return len(text.split()) + (1 if special_tokens else 0)

    async def count_chat(self, text: str) -> int:
        return len(text.split()) + 5

    async def token_ids(self, text: str) -> list[int]:
        return [100 + i for i, _ in enumerate(text.split())]


async def test_sharegpt_conversations_counted_by_the_tokenizer(tmp_path: Path) -> None:
    path = tmp_path / "sg.json"
    data = [
        {
            "conversations": [
                {"from": "human", "value": "a b c d e"},
                {"from": "gpt", "value": "x y z w"},
            ]
        },
        {"conversations": [{"from": "human", "value": "short"}, {"from": "gpt", "value": "no"}]},
        {
            "messages": [
                {"role": "user", "content": "one two three"},
                {"role": "assistant", "content": "1 2 3 4 5 6"},
            ]
        },
        {"conversations": [{"from": "gpt", "value": "orphan reply"}]},
    ]
    path.write_text(json.dumps(data))
    conversations = read_dataset(path)
    assert isinstance(conversations, list) and len(conversations) == 3
    spec = await conversation_lengths(conversations, WordCounter(), str(path))
    assert spec.pairs == ((6, 4), (4, 6))  # BOS counted on the prompt; the 2-token pair dropped


async def test_token_id_prompts_exact_and_unique() -> None:
    builder = PromptBuilder(WordCounter(), PromptKind.TOKEN_IDS, chat=False)
    a = await builder.build(np.random.default_rng(1), 300)
    b = await builder.build(np.random.default_rng(2), 300)
    assert isinstance(a, list) and len(a) == 300 and a != b
    assert all(100 <= t < 200 for t in a)


@pytest.mark.parametrize(("chat", "target"), [(False, 1), (False, 57), (True, 6), (True, 300)])
async def test_text_prompts_calibrated_to_exact_count(chat: bool, target: int) -> None:
    counter = WordCounter()
    builder = PromptBuilder(counter, PromptKind.TEXT, chat=chat)
    text = await builder.build(np.random.default_rng(0), target)
    assert isinstance(text, str)
    count = await (counter.count_chat(text) if chat else counter.count_text(text))
    assert count == target


async def test_target_below_template_overhead_refused() -> None:
    builder = PromptBuilder(WordCounter(), PromptKind.TEXT, chat=True)
    with pytest.raises(ConfigError, match="below the 5 tokens"):
        await builder.build(np.random.default_rng(0), 3)


@pytest.mark.parametrize("pool", [[3, 70, 5000, 123456], [0, 1], list(range(100, 2100, 7))])
def test_token_id_prompt_json_is_the_built_prompt(pool: list[int]) -> None:
    prompts = pickle.loads(pickle.dumps(TokenIdPrompts(np.asarray(pool, dtype=np.int64))))
    for seed, length in ((0, 1), (1, 128), (2, 3000)):
        ids = prompts.build(np.random.default_rng(seed), length)
        text = prompts.json(np.random.default_rng(seed), length)
        assert text == json.dumps(ids, separators=(",", ":")).encode()
