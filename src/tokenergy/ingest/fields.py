"""Typed reads of foreign rows: every bad value becomes an IngestError naming file, row and field.

Adapters never index a foreign dict directly; they go through :class:`RowReader` so a missing key,
a string where a number belongs, NaN or a negative count all produce the same one-line error.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from tokenergy.errors import IngestError

# integers below it convert to float exactly: whole-number fields (counts, lengths) stay below it
EXACT_INT_LIMIT = 2**53
# the largest float: a rate or power an adapter derives above it is inf, which no J/token divides by
FLOAT_MAX = sys.float_info.max


class RowReader:
    """Reads one foreign record (a JSON object or a CSV row) with validation.

    ``from_text`` accepts numbers written as strings (CSV cells); JSON numbers must be numbers.
    ``at`` is where a nested object sits in its record ('metrics.ttft'): errors name its keys
    from there ('metrics.ttft.avg', not 'avg').
    """

    def __init__(
        self,
        data: Any,
        source: str,
        row: int | None = None,
        *,
        from_text: bool = False,
        at: str | None = None,
    ) -> None:
        if type(data) is not dict and not isinstance(data, Mapping):  # (ABC check: ~0.2 µs)
            raise IngestError(
                f"expected an object, got {type(data).__name__}", file=source, field=self._at(row)
            )
        self.data: Mapping[str, Any] = data
        self.source = source
        self.row = row
        self.from_text = from_text
        self.at = at

    @staticmethod
    def _at(row: int | None, key: str | None = None) -> str | None:
        parts = [f"row {row}"] if row is not None else []
        if key is not None:
            parts.append(key)
        return " ".join(parts) if parts else None

    def error(self, key: str, message: str) -> IngestError:
        field = f"{self.at}.{key}" if self.at else key
        return IngestError(message, file=self.source, field=self._at(self.row, field))

    def has(self, key: str) -> bool:
        value = self.data.get(key)
        return value is not None and value != ""

    def number(self, key: str, *, minimum: float | None = 0.0) -> float:
        """A required finite number (>= ``minimum`` unless None)."""
        raw = self.data.get(key)
        if type(raw) is float and raw - raw == 0 and (minimum is None or raw >= minimum):
            return raw  # the common case without a second call (as in optional_number)
        value = self.optional_number(key, minimum=minimum)
        if value is None:
            raise self.error(key, "missing")
        return value

    def optional_number(self, key: str, *, minimum: float | None = 0.0) -> float | None:
        raw: Any = self.data.get(key)
        if type(raw) is float:  # the common cases first, fast
            if raw - raw == 0 and (minimum is None or raw >= minimum):  # finite, in range
                return raw
        elif type(raw) is int and -EXACT_INT_LIMIT < raw < EXACT_INT_LIMIT:
            if minimum is None or raw >= minimum:
                return float(raw)
        elif raw is None or raw == "":
            return None
        return self.checked_number(key, raw, minimum)

    def checked_number(self, key: str, raw: Any, minimum: float | None) -> float:
        """``raw`` (read from ``key``, possibly nested) as a finite number >= ``minimum``, or
        refused naming ``key``."""
        if isinstance(raw, bool):
            raise self.error(key, f"expected a number, got {raw!r}")
        if isinstance(raw, str):
            if not self.from_text:
                raise self.error(key, f"expected a number, got the string {raw!r}")
            try:
                raw = float(raw)
            except ValueError:
                raise self.error(key, f"expected a number, got {raw!r}") from None
        if not isinstance(raw, int | float):
            raise self.error(key, f"expected a number, got {type(raw).__name__}")
        try:
            value = float(raw)
        except OverflowError:  # an integer beyond float range, e.g. 10**400
            raise self.error(key, f"number out of range ({len(str(raw))} digits)") from None
        if not math.isfinite(value):
            raise self.error(key, f"not a finite number ({raw!r})")
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be >= {minimum:g}, got {value:g}")
        return value

    def integer(self, key: str, *, minimum: int = 0) -> int:
        raw = self.data.get(key)
        if type(raw) is int and minimum <= raw < EXACT_INT_LIMIT:
            return raw  # the common case without a second call (as in optional_integer)
        value = self.optional_integer(key, minimum=minimum)
        if value is None:
            raise self.error(key, "missing")
        return value

    def optional_integer(self, key: str, *, minimum: int = 0) -> int | None:
        raw = self.data.get(key)
        if type(raw) is int and minimum <= raw < EXACT_INT_LIMIT:  # the common cases, fast
            return raw
        if raw is None:
            return None
        value = self.optional_number(key, minimum=minimum)
        if value is None:
            return None
        if not value.is_integer():
            raise self.error(key, f"expected a whole number, got {value:g}")
        # 1e308 is whole but no count: beyond 2**53 floats skip integers (and int(1e308) has 309
        # digits, which later float sums and products overflow on)
        if not -EXACT_INT_LIMIT < value < EXACT_INT_LIMIT:
            raise self.inexact(key, raw)
        return int(value)

    def inexact(self, key: str, raw: Any) -> IngestError:
        """The error for a whole number at or beyond 2**53, which no count or length reaches."""
        return self.error(key, f"number out of range ({raw!r}): must be below 2**53 to be exact")

    def big_integer(self, key: str) -> int:
        """A required whole number >= 0 of any size within float range, exact when written as an
        integer: Unix times in ns (~1.8e18) are beyond 2**53, which :meth:`integer` refuses."""
        value = self.number(key)  # present, a number, finite, >= 0
        raw = self.data[key]
        if type(raw) is int:
            return raw
        if not value.is_integer():
            raise self.error(key, f"expected a whole number, got {value:g}")
        return int(value)

    def text(self, key: str) -> str:
        raw = self.data.get(key)
        if type(raw) is str and raw:
            return raw  # the common case without a second call (as in optional_text)
        value = self.optional_text(key)
        if value is None:
            raise self.error(key, "missing")
        return value

    def optional_text(self, key: str) -> str | None:
        raw = self.data.get(key)
        if type(raw) is str:  # the common case, fast
            return raw or None
        if raw is not None and not isinstance(raw, str):
            raise self.error(key, f"expected text, got {type(raw).__name__}")
        return raw or None  # (None, or a str subclass from a library caller's mapping)

    def flag(self, key: str) -> bool | None:
        """Booleans written as JSON booleans or as the strings 'true'/'false'."""
        raw = self.data.get(key)
        if raw is None or raw == "":
            return None
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise self.error(key, f"expected true/false, got {raw!r}")


def nominal_number(reader: RowReader, field: str, raw: Any) -> float | None:
    """A figure a tool's config states about the run (a nominal length, a rate, a concurrency
    cap): None when absent or not a number (tools write other things there, e.g. vLLM's rate
    "inf"); refused, naming ``field``, when a boolean, not finite or beyond float range."""
    if type(raw) is float and raw - raw == 0:
        return raw
    if type(raw) is int and -EXACT_INT_LIMIT < raw < EXACT_INT_LIMIT:
        return float(raw)
    if not isinstance(raw, int | float):  # (a bool is an int: refused below)
        return None
    return reader.checked_number(field, raw, None)


def nominal_count(reader: RowReader, field: str, raw: Any, *, minimum: int = 0) -> int | None:
    """A config's whole-number figure, truncated as the tools do (a mean length of 127.6 is a
    nominal 127): None as :func:`nominal_number` or below ``minimum``; refused at 2**53."""
    value = nominal_number(reader, field, raw)
    if value is None or value < minimum:
        return None
    if value >= EXACT_INT_LIMIT:
        raise reader.inexact(field, raw)
    return int(value)


def per_second(reader: RowReader, divisor_key: str, amount: float, divisor: float) -> float:
    """``amount`` ÷ ``divisor`` (> 0, a duration in s: a rate), refused naming the divisor's field
    when beyond float range: a duration of 1e-320 s makes any token total an infinite rate."""
    rate = amount / divisor
    if rate > FLOAT_MAX:
        raise reader.error(
            divisor_key, f"out of range: {amount:g} / {divisor:g} is beyond float range"
        )
    return rate


def token_rates(
    reader: RowReader, duration_key: str, input_total: float, output_total: float, duration_s: float
) -> tuple[float, float]:
    """(input, output) tok/s over ``duration_s``, refused naming the duration's field when one,
    or their sum (the total rate J/token divides by), is beyond float range."""
    input_tok_s = per_second(reader, duration_key, input_total, duration_s)
    output_tok_s = per_second(reader, duration_key, output_total, duration_s)
    if input_tok_s + output_tok_s > FLOAT_MAX:
        raise reader.error(
            duration_key,
            f"out of range: {input_total:g} + {output_total:g} tokens / {duration_s:g} s",
        )
    return input_tok_s, output_tok_s


def unix_date(reader: RowReader, key: str, unix_s: float | None) -> str | None:
    """A Unix time in s (read from ``key``) as an ISO date, refused when no date can hold it."""
    if unix_s is None:
        return None
    try:
        return datetime.fromtimestamp(unix_s, UTC).isoformat()
    except (OverflowError, ValueError, OSError):
        raise reader.error(key, f"not a date: {unix_s:g} s since 1970") from None
