"""Where foreign results come from: files, directories (recursive) and GitHub Actions `.zip`s.

Each readable unit becomes a :class:`Document` named so that errors point at it
('artifact.zip!agg_bmk.json'); parsing is by content, the name is only for messages.
"""

from __future__ import annotations

import csv
import io
import json
import os
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path
from typing import IO, Any

from tokenergy.errors import IngestError
from tokenergy.ingest.jsonstream import JsonArrayStream, starts_array

PARSED_SUFFIXES = (".json", ".csv", ".jsonl", ".yaml", ".yml")
# Largest zip member read (uncompressed): a 1 MB archive can claim or inflate to gigabytes.
MAX_MEMBER_BYTES = 512 * 1024 * 1024
# Largest file parsed whole (~20× its size in memory once parsed); larger top-level JSON arrays
# stream element by element whatever their size (jsonstream.py)
MAX_WHOLE_FILE_BYTES = MAX_MEMBER_BYTES
# Files above this size that hold a top-level JSON array are streamed rather than parsed whole
STREAM_BYTES = 8 * 1024 * 1024
_READ_PIECE_BYTES = 1 << 20  # inflated per read of a zip member
YAML_SUFFIXES = (".yaml", ".yml")


class JsonLines(list[Any]):
    """The JSON values of a JSON-lines file (one per non-blank line), told apart from an array."""


@dataclass
class Document:
    """One file's text, parsed lazily as JSON or CSV according to its first character/suffix."""

    name: str
    text: str
    suffix: str
    explicit: bool = False  # named by the user, not found inside a directory or a zip
    streamed: Path | None = None  # a large JSON array read from this file element by element
    _parsed: Any = field(default=None, repr=False)

    @property
    def path(self) -> Path:
        """The member's own name (inside a zip the part after '!'), for name-borne metadata."""
        return Path(self.name.split("!")[-1])

    def parse(self) -> Any:
        """JSON value, or a list of CSV row dicts, or (a large array) a JsonArrayStream;
        malformed text is an IngestError."""
        if self.streamed is not None:
            return JsonArrayStream(self.streamed, self.name)
        if self._parsed is None:
            self._parsed = self._parse()
        return self._parsed

    def _parse(self) -> Any:
        stripped = self.text.lstrip()
        if not stripped:
            raise IngestError("empty file", file=self.name)
        if self.suffix == ".jsonl":
            return self._json_lines()
        if self.suffix in YAML_SUFFIXES:
            return self._yaml()
        if self.suffix == ".json" or stripped[0] in "[{":
            try:
                return json.loads(self.text)
            except json.JSONDecodeError as error:
                if error.msg == "Extra data":  # one object per line, appended run after run
                    return self._json_lines()
                raise _json_error(error, self.name) from None
            except RecursionError:
                raise _too_deep(self.name) from None
            except ValueError as error:  # an integer over Python's 4300-digit limit
                raise IngestError(f"invalid JSON: {error}", file=self.name, field="json") from None
        rows = list(csv.DictReader(io.StringIO(self.text)))
        if not rows:
            raise IngestError("CSV has a header but no rows", file=self.name)
        return rows

    def _json_lines(self) -> JsonLines:
        values = JsonLines()
        for number, line in enumerate(self.text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                values.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise IngestError(
                    f"invalid JSON: {error.msg} at column {error.colno}",
                    file=self.name,
                    field=f"line {number}",
                ) from None
            except RecursionError:
                raise _too_deep(self.name) from None
            except ValueError as error:
                raise IngestError(
                    f"invalid JSON: {error}", file=self.name, field=f"line {number}"
                ) from None
        return values

    def _yaml(self) -> Any:
        import yaml  # ~20 ms at start-up, and most ingests read no YAML

        try:
            return yaml.load(self.text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f" at line {mark.line + 1}" if mark is not None else ""
            raise IngestError(f"invalid YAML{where}", file=self.name, field="yaml") from None


def _too_deep(name: str) -> IngestError:
    return IngestError("invalid JSON: nested too deeply", file=name, field="json")


def _json_error(error: json.JSONDecodeError, name: str) -> IngestError:
    return IngestError(
        f"invalid JSON: {error.msg} at line {error.lineno} column {error.colno}",
        file=name,
        field="json",
    )


@dataclass(frozen=True)
class SkippedFile:
    """A file that produced no results: an error (``failed``) or a documented, benign reason."""

    name: str
    reason: str
    failed: bool


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IngestError("not UTF-8 text (binary file?)", file=name) from None


def _from_zip(path: Path) -> Iterator[Document | SkippedFile]:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise IngestError("not a valid zip archive", file=str(path)) from None
    with archive:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            if info.is_dir():
                continue
            name = f"{path}!{info.filename}"
            suffix = Path(info.filename).suffix.lower()
            if suffix not in PARSED_SUFFIXES:
                yield SkippedFile(name, f"not a result file ({suffix or 'no suffix'})", False)
                continue
            try:
                yield Document(name, _decode(_read_member(archive, info, name), name), suffix)
            except IngestError as error:
                yield SkippedFile(name, str(error), True)


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str) -> bytes:
    """A member's bytes, at most MAX_MEMBER_BYTES whatever its header claims; corrupt,
    encrypted or unsupported members are IngestErrors."""
    if info.file_size > MAX_MEMBER_BYTES:
        raise IngestError(
            f"zip member of {info.file_size:,} bytes uncompressed is over the "
            f"{MAX_MEMBER_BYTES:,}-byte limit",
            file=name,
        )
    try:
        with archive.open(info) as member:
            data = _read_capped(member)
    except NotImplementedError:  # (a RuntimeError: test it first)
        raise IngestError(
            f"zip compression method {info.compress_type} is not supported", file=name
        ) from None
    except RuntimeError:  # zipfile's "is encrypted, password required"
        raise IngestError("encrypted zip member (password-protected)", file=name) from None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as error:
        raise IngestError(f"corrupt zip member: {error}", file=name) from None
    if len(data) > MAX_MEMBER_BYTES:
        raise IngestError(
            f"zip member inflates past the {MAX_MEMBER_BYTES:,}-byte limit", file=name
        )
    return data


def _read_capped(member: IO[bytes]) -> bytes:
    """At most MAX_MEMBER_BYTES + 1 bytes, a piece at a time: zipfile inflates as much as one
    ``read`` asks for before cutting at the header's size, so one big read of a member whose
    header understates it would inflate up to the cap in memory."""
    parts: list[bytes] = []
    size = 0
    while size <= MAX_MEMBER_BYTES:
        part = member.read(min(_READ_PIECE_BYTES, MAX_MEMBER_BYTES + 1 - size))
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def _from_file(name: str, suffix: str, explicit: bool) -> Iterator[Document | SkippedFile]:
    """The document of the file ``name`` (``suffix`` lower-cased), or why it is skipped."""
    if suffix == ".zip":
        yield from _from_zip(Path(name))
        return
    if suffix not in PARSED_SUFFIXES and not explicit:
        yield SkippedFile(name, f"not a result file ({suffix or 'no suffix'})", False)
        return
    try:
        data = _read_whole(name, suffix)
    except OSError as error:
        raise IngestError(f"cannot read: {error.strerror}", file=name) from None
    if data is None:
        yield Document(name, "", suffix, explicit, streamed=Path(name))
    else:
        yield Document(name, _decode(data, name), suffix, explicit)


def _read_whole(name: str, suffix: str) -> bytes | None:
    """The file's bytes, or None for a large JSON array (streamed instead); a file over
    MAX_WHOLE_FILE_BYTES is an IngestError. One open, fstat and read (Path.stat and read_bytes
    took ~5 µs a file more)."""
    handle = os.open(name, os.O_RDONLY)
    try:
        size = os.fstat(handle).st_size
        if suffix in (".json", "") and size > STREAM_BYTES and starts_array(Path(name)):
            return None
        if size > MAX_WHOLE_FILE_BYTES:
            raise IngestError(
                f"file of {size:,} bytes is over the {MAX_WHOLE_FILE_BYTES:,}-byte limit for a "
                "file read whole (only a top-level JSON array streams)",
                file=name,
            )
        parts = [os.read(handle, size + 1)]
        while parts[-1]:  # to the end, should the file have grown since fstat
            parts.append(os.read(handle, _READ_PIECE_BYTES))
    finally:
        os.close(handle)
    return parts[0] if len(parts) == 2 else b"".join(parts)


def _suffix(name: str) -> str:
    """``PurePath(name).suffix.lower()`` of a file name, without making a Path."""
    base = name.rpartition("/")[2]
    dot = base.rfind(".")
    return base[dot:].lower() if 0 < dot < len(base) - 1 else ""


def _files_under(directory: Path) -> list[str]:
    """The names of the files under ``directory`` as ``sorted(p for p in directory.rglob("*")
    if p.is_file())`` has them: every file at any depth (symlinked files too, not the inside of
    symlinked directories; unreadable directories left out), in Path order (part by part, which
    a walk sorting each directory's entries keeps). One scandir per directory, whose entries
    know their type: ~5 ms less than rglob, is_file and sorting Paths on the shared data. One
    difference: a file in a directory that can be listed but not entered is listed (its type
    comes from the listing, no stat), and then fails alone with "cannot read" where is_file's
    stat stopped the whole walk with PermissionError."""
    top = str(directory)
    found: list[str] = []
    _walk(top, "" if top == "." else os.path.join(top, ""), found)
    return found


def _walk(directory: str, prefix: str, found: list[str]) -> None:
    """Append the files under ``directory`` to ``found``, named ``prefix`` + their relative path."""
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=attrgetter("name"))
    except PermissionError:  # (as rglob: other errors are raised)
        return
    for entry in entries:
        name = prefix + entry.name
        try:
            is_file = entry.is_file()  # (follows a symlink, as Path.is_file)
            is_dir = not is_file and entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_file:
            found.append(name)
        elif is_dir:
            _walk(entry.path, name + "/", found)


def iter_documents(paths: list[Path]) -> Iterator[Document | SkippedFile]:
    """Documents under ``paths`` in a stable order; unreadable ones yield a failed SkippedFile.

    Files named explicitly are always read (content decides the format); inside directories only
    ``.json``, ``.jsonl``, ``.yaml``/``.yml``, ``.csv`` and ``.zip`` files are read and others are
    listed as skipped.
    """
    for path in paths:
        try:
            if path.is_dir():
                for name in _files_under(path):
                    yield from _from_file(name, _suffix(name), explicit=False)
            elif path.exists():
                yield from _from_file(str(path), path.suffix.lower(), explicit=True)
            else:
                yield SkippedFile(str(path), f"{path}: no such file or directory", True)
        except IngestError as error:
            yield SkippedFile(error.file or str(path), str(error), True)


def count_documents(paths: list[Path]) -> int:
    """How many items :func:`iter_documents` will yield (for progress), without reading files:
    a file counts once, a zip once per member (from its directory), a bad path once."""
    count = 0
    for path in paths:
        try:
            files = _files_under(path) if path.is_dir() else [str(path)]
        except OSError:
            files = [str(path)]
        count += sum(_zip_members(Path(file)) if _suffix(file) == ".zip" else 1 for file in files)
    return count


def _zip_members(path: Path) -> int:
    try:
        with zipfile.ZipFile(path) as archive:
            return max(sum(not info.is_dir() for info in archive.infolist()), 1)
    except (zipfile.BadZipFile, OSError):
        return 1
