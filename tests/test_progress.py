"""The library's progress tally: running counts, and a last call at what was actually done."""

from __future__ import annotations

from tokenergy.progress import Progress, Tally


def test_a_tally_reports_running_counts() -> None:
    seen: list[Progress] = []
    tally = Tally(seen.append, 5, "files")
    tally.add(2, results=10)
    tally.add(3, results=12)
    tally.finish(12)  # the total was right: no extra call
    assert seen == [Progress(2, 5, "files", 10), Progress(5, 5, "files", 12)]


def test_a_short_run_ends_at_what_was_done() -> None:
    """An announced total that came out larger (a file counted but not read) is corrected."""
    seen: list[Progress] = []
    tally = Tally(seen.append, 4, "files")
    tally.add(3)
    tally.finish()
    assert seen[-1] == Progress(3, 3, "files")


def test_work_past_the_announced_total_raises_it() -> None:
    seen: list[Progress] = []
    tally = Tally(seen.append, 1, "files")
    tally.add(2)
    assert seen == [Progress(2, 2, "files")]


def test_without_a_callback_nothing_is_called() -> None:
    tally = Tally(None, 3, "draws")
    tally.add(3)
    tally.finish()
    assert tally.done == 3
