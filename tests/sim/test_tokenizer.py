from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tokenergy.sim import tokenizer


@given(st.text())
def test_text_round_trips_and_counts_bytes(text: str) -> None:
    ids = tokenizer.encode(text)
    assert len(ids) == len(text.encode("utf-8"))
    assert tokenizer.decode(ids) == text


def test_high_ids_decode_as_placeholders() -> None:
    assert tokenizer.decode([104, 105, 300, 33]) == "hi<300>!"


def test_generated_tokens_are_single_printable_characters() -> None:
    text = "".join(chr(tokenizer.generated_token(i, 5)) for i in range(500))
    assert text.isprintable()
    assert len(tokenizer.encode(text)) == 500


def test_chat_template_is_fixed_and_counts_generation_prompt() -> None:
    messages = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
    text = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
    assert text == "<|system|>\nbe brief\n<|user|>\nhi\n<|assistant|>\n"
    parts = [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]
    assert tokenizer.apply_chat_template(parts, add_generation_prompt=False) == "<|user|>\nab\n"
