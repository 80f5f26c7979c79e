"""Read observed token lengths from the files users have into an Empirical distribution.

Accepted (detected by content, not by suffix):
- an ML.ENERGY leaderboard v3 model file (``output_length_distribution``: ``bins`` + ``counts``);
- a bench_serving / InferenceX raw client JSON (``output_lens`` array);
- a JSON array of numbers;
- JSONL, one request per line, with ``output_len``, ``output_tokens``, ``completion_tokens`` or
  ``usage.completion_tokens`` (lines with ``"success": false`` are skipped: no answer, no length);
- plain text: numbers separated by newlines, commas or spaces.

Input lengths (``--lin-file``) are read from the same layouts under their own names:
``input_lens``, JSONL ``input_len``/``input_tokens``/``prompt_tokens``/``usage.prompt_tokens``.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tokenergy.errors import ConfigError
from tokenergy.estimate.distributions import Empirical


@dataclass(frozen=True)
class _Names:
    """Where one kind of length lives in each layout."""

    histogram: str | None
    array: str
    jsonl: tuple[str, ...]
    usage: str


OUTPUT = _Names(
    "output_length_distribution",
    "output_lens",
    ("output_len", "output_tokens", "completion_tokens"),
    "completion_tokens",
)
INPUT = _Names(None, "input_lens", ("input_len", "input_tokens", "prompt_tokens"), "prompt_tokens")


def load_lengths(path: Path, field: str = "lout", names: _Names = OUTPUT) -> Empirical:
    """An Empirical distribution of output (``names=INPUT``: input) lengths from ``path``."""
    try:
        text = path.read_text()
    except UnicodeDecodeError:
        raise ConfigError(
            "not a text file (cannot decode as UTF-8)", file=str(path), field=field
        ) from None
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}", field=field) from None
    source = str(path)
    stripped = text.strip()
    if not stripped:
        raise ConfigError("file is empty", file=source, field=field)
    try:
        document = json.loads(stripped)
    except json.JSONDecodeError:
        document = None
    except RecursionError:
        raise ConfigError("invalid JSON: nested too deeply", file=source, field=field) from None
    if document is not None:
        return _from_json(document, source, names)
    if stripped.startswith("{"):
        return _from_jsonl(stripped.splitlines(), source, names)
    return _from_numbers(stripped, source)


def _from_json(document: Any, source: str, names: _Names) -> Empirical:
    if isinstance(document, int | float) and not isinstance(document, bool):
        return _empirical_values([_number(document, source, "value 1")], source)
    if isinstance(document, list):
        return _empirical_values(
            [_number(v, source, f"[{i}]") for i, v in enumerate(document)], source
        )
    if isinstance(document, dict):
        histogram = document.get(names.histogram) if names.histogram else None
        if isinstance(histogram, dict):
            try:
                return Empirical(
                    bins=[float(b) for b in histogram["bins"]],
                    counts=[float(c) for c in histogram["counts"]],
                    source=source,
                )
            except (KeyError, TypeError, ValueError) as error:
                raise ConfigError(
                    f"bad histogram: {error}", file=source, field=names.histogram
                ) from None
        if isinstance(document.get(names.array), list):
            lens = document[names.array]
            return _empirical_values(
                [_number(v, source, f"{names.array}[{i}]") for i, v in enumerate(lens)], source
            )
        length = _jsonl_length(document, names)
        if length is not None:
            return _empirical_values([_number(length, source, names.jsonl[0])], source)
    expected = ", ".join(n for n in (names.histogram, names.array) if n)
    raise ConfigError(
        f"no lengths found: expected {expected}, a JSON array, "
        f"or JSONL with {names.jsonl[0]}/usage.{names.usage}",
        file=source,
    )


def _jsonl_length(record: dict[str, Any], names: _Names) -> Any:
    for key in names.jsonl:
        if key in record:
            return record[key]
    usage = record.get("usage")
    if isinstance(usage, dict) and names.usage in usage:
        return usage[names.usage]
    return None


def _from_jsonl(lines: list[str], source: str, names: _Names) -> Empirical:
    values: list[float] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ConfigError(f"line {number}: not JSON ({error.msg})", file=source) from None
        except RecursionError:
            raise ConfigError(f"line {number}: JSON nested too deeply", file=source) from None
        if not isinstance(record, dict):
            raise ConfigError(f"line {number}: expected a JSON object", file=source)
        if record.get("success") is False:
            continue
        length = _jsonl_length(record, names)
        if length is None:
            raise ConfigError(
                f"line {number}: no {', '.join(names.jsonl)} or usage.{names.usage}",
                file=source,
            )
        values.append(_number(length, source, f"line {number}"))
    return _empirical_values(values, source)


def _from_numbers(text: str, source: str) -> Empirical:
    tokens = [token for token in re.split(r"[\s,]+", text) if token]
    return _empirical_values(
        [_number(t, source, f"value {i + 1}") for i, t in enumerate(tokens)], source
    )


def _number(raw: Any, source: str, where: str) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: {raw!r} is not a number", file=source) from None
    except OverflowError:  # an integer beyond float range, e.g. 10^400
        raise ConfigError(
            f"{where}: number out of range ({len(str(raw))} digits)", file=source
        ) from None
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{where}: length {raw!r} must be a finite number >= 0", file=source)
    return value


def _empirical_values(values: list[float], source: str) -> Empirical:
    if not values:
        raise ConfigError("no lengths found", file=source)
    return Empirical(values=values, source=source)
