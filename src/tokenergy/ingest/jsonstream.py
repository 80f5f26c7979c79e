"""The elements of a top-level JSON array read one at a time from a file, in constant memory.

Parsed whole, a JSON file takes ~20× its size in Python objects (a 243 MB InferenceX file took
5.2 GB); its rows are independent, so they are decoded one by one with the standard library's
``JSONDecoder.raw_decode`` over a buffer refilled from the file. Errors carry the line and column
in the whole file, as ``json.loads`` reports them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tokenergy.errors import IngestError

CHUNK_CHARS = 1 << 20  # characters read per refill (a row longer than this doubles it)
MAX_ELEMENT_CHARS = 64 << 20  # an array element this long that does not parse is an error
_WHITESPACE = " \t\n\r"
_DECODER = json.JSONDecoder()


def starts_array(path: Path) -> bool:
    """True when the file's first non-blank character (after a BOM) opens a JSON array."""
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip(b"\xef\xbb\xbf").lstrip()
    return head.startswith(b"[")


class JsonArrayStream:
    """A top-level JSON array in a file; iterating decodes its elements in order.

    ``head`` is a list of the first element (or empty), enough to tell the format; truthy when
    the array has an element.
    """

    def __init__(self, path: Path, name: str) -> None:
        self.path, self.name = path, name
        self.head: list[Any] = []
        for element in self:
            self.head.append(element)
            break

    def __bool__(self) -> bool:
        return bool(self.head)

    def __iter__(self) -> Iterator[Any]:
        try:
            with self.path.open(encoding="utf-8-sig") as handle:
                yield from _Reader(handle, self.name).elements()
        except UnicodeDecodeError:
            raise IngestError("not UTF-8 text (binary file?)", file=self.name) from None
        except OSError as error:
            raise IngestError(f"cannot read: {error.strerror}", file=self.name) from None


class _Reader:
    """A buffer over a text file that knows where in the file it is (an error's line and column
    are counted from the start of the file when one is raised)."""

    def __init__(self, handle: IO[str], name: str) -> None:
        self.handle, self.name = handle, name
        self.buffer, self.pos, self.eof = "", 0, False
        self.offset = 0  # characters in the file before buffer[0]
        self.chunk = CHUNK_CHARS

    def _refill(self) -> bool:
        """Drop what was read, append the next chunk; False at the end of the file."""
        if self.eof:
            return False
        self.offset += self.pos
        more = self.handle.read(self.chunk)
        self.buffer, self.pos = self.buffer[self.pos :] + more, 0
        self.eof = not more
        return bool(more)

    def _skip_blank(self) -> str:
        """The next non-blank character ('' at the end of the file), not consumed."""
        while True:
            while self.pos < len(self.buffer) and self.buffer[self.pos] in _WHITESPACE:
                self.pos += 1
            if self.pos < len(self.buffer):
                return self.buffer[self.pos]
            if not self._refill():
                return ""

    def _error(self, message: str, at: int) -> IngestError:
        line, column = self._line_and_column(self.offset + at)
        return IngestError(
            f"invalid JSON: {message} at line {line} column {column}", file=self.name, field="json"
        )

    def _line_and_column(self, offset: int) -> tuple[int, int]:
        """Line and column (from 1) of the file's character ``offset``, as json.loads counts
        them, read again from the start: counting the newlines of every chunk as it streamed by
        was ~0.5 µs a row of a large file, for an error that rarely comes."""
        self.handle.seek(0)
        line, line_start, done = 1, 0, 0
        while done < offset:
            piece = self.handle.read(min(CHUNK_CHARS, offset - done))
            if not piece:
                break
            newlines = piece.count("\n")
            if newlines:
                line += newlines
                line_start = done + piece.rfind("\n") + 1
            done += len(piece)
        return line, offset - line_start + 1

    def _value(self) -> Any:
        """The JSON value at ``pos``; refills until it is complete (a number is complete only
        when something follows it)."""
        if len(self.buffer) - self.pos < self.chunk >> 4:
            # the next chunk read while a sixteenth of one is left, before an element is cut at
            # the buffer's end: decoding it would fail, and the JSONDecodeError counts the lines
            # of the whole buffer before it (~0.4 ms a 1 MB chunk, ~0.5 µs a row)
            self._refill()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buffer, self.pos)
            except json.JSONDecodeError as error:
                if self.eof or len(self.buffer) - self.pos > MAX_ELEMENT_CHARS:
                    raise self._error(error.msg, error.pos) from None
                self.chunk *= 2 if len(self.buffer) - self.pos >= self.chunk else 1
                self._refill()
                continue
            except RecursionError:
                raise IngestError(
                    "invalid JSON: nested too deeply", file=self.name, field="json"
                ) from None
            except ValueError as error:  # an integer over Python's 4300-digit limit
                raise IngestError(f"invalid JSON: {error}", file=self.name, field="json") from None
            if end < len(self.buffer) or self.eof:
                self.pos = end
                return value
            self._refill()

    def elements(self) -> Iterator[Any]:
        if self._skip_blank() != "[":
            raise self._error("Expecting value", self.pos)
        self.pos += 1
        if self._skip_blank() == "]":
            self.pos += 1
        else:
            while True:
                if not self._skip_blank():
                    raise self._error("Expecting value", self.pos)
                yield self._value()
                after = self._skip_blank()
                if after == "]":
                    self.pos += 1
                    break
                if after != ",":
                    raise self._error("Expecting ',' delimiter", self.pos)
                self.pos += 1
        if self._skip_blank():
            raise self._error("Extra data", self.pos)
