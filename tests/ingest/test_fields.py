"""RowReader: typed reads of foreign rows, every bad value one IngestError naming its key."""

from __future__ import annotations

import pytest

from tokenergy.errors import IngestError
from tokenergy.ingest.fields import RowReader


def _reader(**row: object) -> RowReader:
    return RowReader(row, "f.json", 3)


@pytest.mark.parametrize(
    "raw", [1e308, 1.7976931348623157e308, float(2**53), 2**53, 2**60, -1e17, 1e20]
)
def test_a_whole_number_from_2_to_the_53_is_out_of_range_by_its_own_key(raw: object) -> None:
    """1e308.is_integer() is True, but int(1e308) is a 309-digit count that every later float
    sum, product or length breaks on (OverflowError): refused where it is read."""
    for read in (RowReader.integer, RowReader.optional_integer):
        with pytest.raises(IngestError) as caught:
            read(_reader(pp=raw, tp=4), "pp", minimum=-(2**62))
        assert caught.value.field == "row 3 pp", read
        assert "number out of range" in caught.value.message and "2**53" in caught.value.message


def test_numbers_written_as_text_are_held_to_the_same_range() -> None:
    reader = RowReader({"tp": "1e308", "pp": "9007199254740991"}, "t.csv", 0, from_text=True)
    with pytest.raises(IngestError, match="number out of range") as caught:
        reader.integer("tp")
    assert caught.value.field == "row 0 tp"
    assert reader.integer("pp") == 2**53 - 1


@pytest.mark.parametrize("raw", [2**53 - 1, float(2**53 - 1), -(2**53) + 1, 0, 4.0])
def test_whole_numbers_below_2_to_the_53_read_as_exact_ints(raw: float) -> None:
    for read in (RowReader.integer, RowReader.optional_integer):
        value = read(_reader(n=raw), "n", minimum=-(2**62))
        assert value == raw and type(value) is int


def test_an_integer_beyond_float_range_still_says_how_many_digits() -> None:
    with pytest.raises(IngestError, match=r"number out of range \(401 digits\)"):
        _reader(tp=10**400).integer("tp")


@pytest.mark.parametrize(
    ("row", "expected"),
    [({"k": "vllm"}, "vllm"), ({"k": ""}, None), ({"k": None}, None), ({}, None)],
)
def test_optional_text_reads_text_and_treats_empty_as_absent(
    row: dict[str, object], expected: str | None
) -> None:
    assert RowReader(row, "f.json").optional_text("k") == expected


def test_optional_text_keeps_a_str_subclass_and_refuses_other_types() -> None:
    class Name(str):
        pass

    assert RowReader({"k": Name("x")}, "f.json").optional_text("k") == "x"
    assert RowReader({"k": Name("")}, "f.json").optional_text("k") is None
    with pytest.raises(IngestError, match="expected text, got int") as caught:
        _reader(k=1).optional_text("k")
    assert caught.value.field == "row 3 k"


def test_big_integer_keeps_unix_times_in_ns_exact() -> None:
    """ns since 1970 (~1.8e18) are beyond 2**53 but no count: read exactly as written."""
    ns = 1795899472485519388
    assert _reader(t=ns).big_integer("t") == ns and float(ns) != ns
    assert _reader(t=1.5e18).big_integer("t") == 1_500_000_000_000_000_000
    for row, message in [
        ({"t": 1.5}, "expected a whole number"),
        ({"t": -1}, "must be >= 0"),
        ({"t": 10**400}, "number out of range"),
        ({"t": True}, "expected a number"),
        ({}, "missing"),
    ]:
        with pytest.raises(IngestError, match=message) as caught:
            _reader(**row).big_integer("t")
        assert caught.value.field == "row 3 t"
