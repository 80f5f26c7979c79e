"""Summary rows of an ingest of any size: in memory up to a byte budget, then on disk, with a
small index in memory.

Outputs that need every row before the first one is written (sorted, ``--top``, file-wide
warnings, the cross-row model_spellings check) read them back in the order they need. The
usual ingest (up to ~15,000 rows) keeps its records in memory; once they would hold more than
:data:`MEMORY_BYTES`, all of them move to an anonymous temporary file and every later one goes
there too, so memory holds ~100 bytes per row (its offset and sort value) instead of the row,
whatever the size. On disk a record goes through ``marshal`` (3–5× faster than JSON both
ways), which keeps every value a summary row holds exactly (None, bool, int, float incl.
NaN/inf, str, lists, tuples and dicts of those); the file is private to this process and read
back only by it. RowStore keeps a row as the marshal text of the list of its values (its keys
once per store: every row of an ingest has the same) with each finding as a (name, status,
text, args) tuple.
"""

from __future__ import annotations

import marshal
import os
import tempfile
from abc import ABC, abstractmethod
from array import array
from collections.abc import Callable, Collection, Iterator
from operator import itemgetter
from typing import IO, Any

from tokenergy.ingest.checks import STATUS_TEXT, Finding, Spellings, Status

_CHECKS = "checks"
_WRITE_ROWS = 256  # records per write to the spill file

# Bytes of records held in memory before they go to the spill file (each record's estimate,
# Spill.encode). Below it no record is written or read back (~1.7 µs a row less, and a CSV line
# is not marshalled either): the shared data's 3,615 rows hold ~4.3 MB as RowStore records,
# ~2.8 MB as CSV lines, a 20k-row InferenceX file ~16 MB as CSV lines. Above it memory holds
# this budget at most (released once the records are on disk) and the index.
MEMORY_BYTES = 16 << 20


class Spill(ABC):
    """Records of rows appended in input order, read back in input order or sorted by one key
    of the row; what a record holds is the subclass's (``encode``). ``commit``/``rollback`` drop
    the rows of a file that turned out bad half-way."""

    def __init__(self, sort_key: str | None = None) -> None:
        self.sort_key = sort_key
        # the records while they fit in MEMORY_BYTES; None once they are on disk
        self._held: list[Any] | None = []
        self._held_bytes = 0
        self._file: IO[bytes] | None = None
        self._starts = array("q")  # where each row starts in the file, in input order
        self._size = 0  # bytes of records in the file, written or pending
        # records not yet written: one write per _WRITE_ROWS rows (a write and a tell per row
        # cost ~0.8 µs of it)
        self._pending: list[bytes] = []
        # per row: (sort value, row number, model spelling id); the value of 'status' is the
        # status before model_spellings, which only the whole call decides
        self._index: list[tuple[Any, int, int]] = []
        self._spelling_ids: dict[tuple[str, str], int] = {}
        self._spellings: list[tuple[str, str]] = []
        self.sortable: list[str] | None = None  # the keys of the first row that can sort
        self._mark = (0, 0)  # rows and held bytes at the last commit

    def __len__(self) -> int:
        return len(self._index)

    @property
    def on_disk(self) -> bool:
        """Whether the records went to the spill file (they outgrew MEMORY_BYTES)."""
        return self._held is None

    @abstractmethod
    def encode(self, row: dict[str, Any]) -> tuple[Any, int]:
        """What is kept of a row (anything ``marshal`` writes; never changed once made) and
        about how many bytes it holds in memory."""

    # a record as written to the spill file and as read back
    _dump: Callable[[Any], bytes] = staticmethod(marshal.dumps)
    _load: Callable[[bytes], Any] = staticmethod(marshal.loads)

    def append(self, row: dict[str, Any], spelling: tuple[str, str]) -> None:
        """Keep a checked row whose findings lack model_spellings (added on reading)."""
        if self.sortable is None:
            self.sortable = [k for k, v in row.items() if not isinstance(v, list | dict)]
        record, held_bytes = self.encode(row)
        if self._held is not None:
            self._held.append(record)
            self._held_bytes += held_bytes
            if self._held_bytes > MEMORY_BYTES:
                self._to_disk()
        else:
            self._put(record)
        spelling_id = self._spelling_ids.setdefault(spelling, len(self._spellings))
        if spelling_id == len(self._spellings):
            self._spellings.append(spelling)
        value = row.get(self.sort_key) if self.sort_key else None
        self._index.append((value, len(self._index), spelling_id))

    def _to_disk(self) -> None:
        """Every held record into the spill file, and the later ones after them."""
        assert self._held is not None
        # anonymous: gone when the store is collected or the process ends
        self._file = tempfile.TemporaryFile()  # noqa: SIM115
        held, self._held = self._held, None
        for record in held:
            self._put(record)

    def _put(self, record: Any) -> None:
        data = self._dump(record)
        self._starts.append(self._size)
        self._size += len(data)
        self._pending.append(data)
        if len(self._pending) == _WRITE_ROWS:
            self._write()

    def _write(self) -> None:
        assert self._file is not None
        self._file.write(b"".join(self._pending))
        self._pending.clear()

    def commit(self) -> None:
        self._mark = (len(self._index), self._held_bytes)

    def rollback(self) -> None:
        rows, held_bytes = self._mark
        del self._index[rows:]
        if not self._index:
            self.sortable = None
        if self._held is not None:
            del self._held[rows:]
            self._held_bytes = held_bytes
            return
        assert self._file is not None
        # the mark may be from before the move to disk: where its rows end is in the offsets
        offset = self._starts[rows] if rows < len(self._starts) else self._size
        del self._starts[rows:]
        self._write()  # rows of earlier files may still be pending
        self._file.seek(offset)
        self._file.truncate()
        self._size = offset

    def records(
        self, spellings: Spellings, *, descending: bool = False
    ) -> Iterator[tuple[Any, Finding]]:
        """Every record with its row's model_spellings finding: in input order without a sort
        key, else sorted (stable; rows without a value last either way)."""
        if not self._index:
            return
        findings = [spellings.finding(*pair) for pair in self._spellings]
        order = self._index
        if self.sort_key is not None:
            order = self._sorted(findings, descending)
        if self._held is not None:
            held = self._held
            for _, number, spelling_id in order:
                yield held[number], findings[spelling_id]
            return
        assert self._file is not None
        self._write()
        self._file.flush()
        ends = self._starts[1:]
        ends.append(self._size)
        starts, fd = self._starts, self._file.fileno()
        # one pread per row: seek + marshal.load on the file object was 7× slower, and a memory
        # map would count the whole file in the process's resident memory
        for _, number, spelling_id in order:
            stored = self._load(os.pread(fd, ends[number] - starts[number], starts[number]))
            yield stored, findings[spelling_id]

    def _sorted(self, findings: list[Finding], descending: bool) -> list[tuple[Any, int, int]]:
        entries = self._index
        if self.sort_key == "status":  # model_spellings may make a passing row warn
            entries = [
                (final_status(value, findings[sid]), number, sid) for value, number, sid in entries
            ]
        present = [e for e in entries if e[0] is not None]
        absent = [e for e in entries if e[0] is None]
        present.sort(key=itemgetter(0), reverse=descending)
        return present + absent


_BYTES_OBJECT = 33  # what a bytes object holds besides its bytes (sys.getsizeof(b""))


class RowStore(Spill):
    """Rows as :func:`~tokenergy.ingest.rows.checked_row` makes them (Finding objects under
    ``checks``), read back in the row vocabulary (``checks`` as dicts).

    A record is the ``marshal`` text of the row's values, in memory and on disk alike: held as
    lists and tuples (~3 kB a row) the rows made every garbage collection walk them (the shared
    data's JSON run collected for 18 ms instead of 5, more than not marshalling saved)."""

    # a record is marshal text already
    _dump = _load = staticmethod(bytes)

    def __init__(self, sort_key: str | None = None) -> None:
        super().__init__(sort_key)
        # each distinct key order once: (keys, where 'checks' is among them)
        self._layouts: list[tuple[tuple[str, ...], int]] = []
        self._layout_ids: dict[tuple[str, ...], int] = {}

    def encode(self, row: dict[str, Any]) -> tuple[Any, int]:
        keys = tuple(row)
        layout = self._layout_ids.get(keys)
        if layout is None:
            layout = self._layout_ids[keys] = len(self._layouts)
            self._layouts.append((keys, keys.index(_CHECKS)))
        values = list(row.values())
        checks = self._layouts[layout][1]
        values[checks] = [(f.name, STATUS_TEXT[f.status], f.text, f.args) for f in values[checks]]
        values.append(layout)
        record = marshal.dumps(values)
        return record, len(record) + _BYTES_OBJECT

    def rows(
        self, spellings: Spellings, *, descending: bool = False, details: bool = True
    ) -> Iterator[dict[str, Any]]:
        """Every row with its model_spellings finding and final status, in the order of
        :meth:`records`. Without ``details`` the checks are only names and statuses (what
        Parquet and the table show), and no detail text is formatted."""
        layouts = self._layouts
        for stored, spelling in self.records(spellings, descending=descending):
            values = marshal.loads(stored)
            keys, checks = layouts[values.pop()]
            found = values[checks]
            if details:
                values[checks] = [
                    {"name": name, "status": status, "detail": text.format(*args) if args else text}
                    for name, status, text, args in found
                ]
            else:
                values[checks] = [{"name": name, "status": status} for name, status, _, _ in found]
            yield finished(dict(zip(keys, values, strict=True)), spelling, details)


def final_status(status: str | None, spelling: Finding) -> str | None:
    """A row's status once its model_spellings finding is known (it may turn pass into warn)."""
    if status is None or spelling.status is not Status.WARN or status == Status.FAIL.value:
        return status
    return Status.WARN.value


def finished(row: dict[str, Any], spelling: Finding, details: bool = True) -> dict[str, Any]:
    """A row whose checks lacked model_spellings, completed: the finding and the status."""
    entry = spelling.to_dict()
    if not details:
        del entry["detail"]
    row[_CHECKS].append(entry)
    row["status"] = final_status(row["status"], spelling)
    return row


class _Source:
    """A source's rows: how many, the warnings all of them share (the first row's finding) and
    the model spellings seen."""

    __slots__ = ("common", "count", "spellings")

    def __init__(self, common: dict[str, Finding], spelling: tuple[str, str]) -> None:
        self.count = 1
        self.common = common
        self.spellings = [spelling]

    def share(self, warned: Collection[str]) -> None:
        """Keep only the common warnings among these."""
        for name in [n for n in self.common if n not in warned]:
            del self.common[name]

    def merge(self, later: _Source) -> None:
        self.count += later.count
        self.share(later.common.keys())
        for spelling in later.spellings:
            if spelling not in self.spellings:
                self.spellings.append(spelling)


class FileWarnings:
    """Per source file: rows seen and the warnings every one of its rows shares (with the first
    row's detail), from a stream; a bad file's rows are rolled back.

    The rows since the last commit are tallied apart, by source: a file's rows usually have one,
    whose tally a commit moves over as it is (with a row's warnings looked at only while some
    are shared, ~3 ms less of the shared data's 3,615 rows in 467 files than a tally per commit
    merged into the kept one)."""

    def __init__(self) -> None:
        self._kept: dict[str, _Source] = {}
        self._staged: dict[str, _Source] = {}

    @property
    def counts(self) -> dict[str, int]:
        """Rows per source."""
        return {source: tally.count for source, tally in self._kept.items()}

    def add(self, row: dict[str, Any], spelling: tuple[str, str]) -> None:
        """A checked row whose findings lack model_spellings; counted once :meth:`commit` is
        called."""
        warn = Status.WARN
        source = row["source"]
        tally = self._staged.get(source)
        if tally is None:
            common = {f.name: f for f in row[_CHECKS] if f.status is warn}
            self._staged[source] = _Source(common, spelling)
            return
        tally.count += 1
        if tally.common:  # once none is shared, the row's own warnings do not matter
            warned = {f.name for f in row[_CHECKS] if f.status is warn}
            if not tally.common.keys() <= warned:  # the usual row warns as the others did
                tally.share(warned)
        if spelling not in tally.spellings:
            tally.spellings.append(spelling)

    def commit(self) -> None:
        for source, later in self._staged.items():
            kept = self._kept.get(source)
            if kept is None:
                self._kept[source] = later
            else:
                kept.merge(later)
        self._staged = {}

    def rollback(self) -> None:
        self._staged = {}

    def wide(self, spellings: Spellings) -> dict[str, dict[str, str]]:
        """Per source with more than one row, the checks that warn on every row (sorted by
        name) with the first row's detail: ``file_wide_warnings`` of all rows, from the tally."""
        wide: dict[str, dict[str, str]] = {}
        for source, tally in self._kept.items():
            if tally.count < 2:
                continue
            shared = {name: finding.detail for name, finding in tally.common.items()}
            found = [spellings.finding(*pair) for pair in tally.spellings]
            if all(f.status is Status.WARN for f in found):
                shared["model_spellings"] = found[0].detail
            if shared:
                wide[source] = {name: shared[name] for name in sorted(shared)}
        return wide
