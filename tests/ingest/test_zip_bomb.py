"""A zip bomb is refused in bounded memory (issue 14 item 7): a 1 MB archive whose member
inflates to 1 GiB is refused from its header without being read, and one whose header
understates the size stops at the stated size (a CRC error), never inflating the rest."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

MIB = 1 << 20
RSS_BOUND_MB = 200  # growth allowed while ingesting; the unfixed reader grew by > 1 GB

# Ingests the archive in a fresh interpreter and reports the peak RSS growth (VmHWM, KiB)
# over the RSS just before the call (the peak is reset there: import-time peaks do not
# count), with the reason the member was skipped.
_PEAK_RSS = (Path(__file__).parents[1] / "peak_rss.py").read_text()
_PROBE = (
    _PEAK_RSS
    + """
import json, sys
from tokenergy.ingest import load_results
before = status_kib("VmRSS:")
reset_peak()
ingested = load_results([sys.argv[1]])
peak = status_kib("VmHWM:")
print(json.dumps({"growth_mb": (peak - before) / 1024,
                  "reasons": [s.reason for s in ingested.skipped if s.failed]}))
"""
)


def _bomb(path: Path, inflated_bytes: int, stated_bytes: int) -> None:
    """A one-member zip of ``inflated_bytes`` spaces whose header states ``stated_bytes``.

    The deflate stream is built without inflating anything: after a full flush the compressor
    starts afresh, so every MiB of spaces compresses to the same ~1 KB block.
    """
    block = b" " * MIB
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    piece = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    blocks = inflated_bytes // MIB
    data = piece * blocks + compressor.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    name = b"results.json"
    sizes = struct.pack("<III", crc, len(data), stated_bytes)
    local = struct.pack("<IHHHHH", 0x04034B50, 20, 0, 8, 0, 0x21) + sizes
    local += struct.pack("<HH", len(name), 0) + name
    central = struct.pack("<IHHHHHH", 0x02014B50, 20, 20, 0, 8, 0, 0x21) + sizes
    central += struct.pack("<HHHHHII", len(name), 0, 0, 0, 0, 0, 0) + name
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central), len(local + data), 0)
    path.write_bytes(local + data + central + end)


def _ingest_in_child(path: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize(
    ("stated_bytes", "reason"),
    [(1 << 30, "over the 536,870,912-byte limit"), (4096, "corrupt zip member")],
    ids=["truthful-header", "understated-header"],
)
def test_a_1mb_zip_of_1gib_is_refused_in_bounded_memory(
    tmp_path: Path, stated_bytes: int, reason: str
) -> None:
    bomb = tmp_path / "artifact.zip"
    _bomb(bomb, 1 << 30, stated_bytes)
    assert bomb.stat().st_size < 2 * MIB
    result = _ingest_in_child(bomb)
    assert result["growth_mb"] < RSS_BOUND_MB  # type: ignore[operator]
    (refusal,) = result["reasons"]  # type: ignore[misc]
    assert reason in refusal
