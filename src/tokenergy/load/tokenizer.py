"""A local tokenizer (optional extra ``tokenizers``) for servers without ``/tokenize``.

It must be the served model's own ``tokenizer.json``, or the lengths will not be exact — which the
run then reports as length mismatches (the server's usage stays the count of record).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tokenergy.errors import ConfigError


class LocalTokenCounter:
    """Counts with a Hugging Face ``tokenizer.json``; chat templates are not rendered locally."""

    def __init__(self, path: Path) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError:
            raise ConfigError(
                "a local tokenizer needs the optional extra: pip install 'tokenergy[tokenizers]'",
                field="tokenizer",
            ) from None
        file = path / "tokenizer.json" if path.is_dir() else path
        try:
            self._tokenizer: Any = Tokenizer.from_file(str(file))
        except Exception as error:  # the library raises a bare Exception for unreadable files
            raise ConfigError(f"cannot load tokenizer: {error}", file=str(file)) from None
        self.source = str(file)

    async def count_text(self, text: str, *, special_tokens: bool = True) -> int:
        return len(self._tokenizer.encode(text, add_special_tokens=special_tokens).ids)

    async def count_chat(self, text: str) -> int:
        raise ConfigError(
            "chat prompts are calibrated with the server's /tokenize (templates are not rendered "
            "locally); use `api`=completions with a local tokenizer",
            field="tokenizer",
        )

    async def token_ids(self, text: str) -> list[int]:
        return [int(i) for i in self._tokenizer.encode(text, add_special_tokens=False).ids]
