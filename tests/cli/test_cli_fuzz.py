"""Fuzz every CLI command with hostile arguments (issue 14, "make the class impossible").

Random option values — rich markup, emoji codes, terminal escape sequences, huge and non-finite
numbers, odd paths — must end in exit code 0 or 2: never a traceback (an exception escaping
``run`` fails the test), never a control character in what reaches the terminal. Runs in
process, with a bounded number of examples per command so the suite stays fast.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokenergy.cli.app import run

MARKUP = ["[/x]", "[bold]b[/bold]", "[blink red]M[/blink red]", ":smile:", "[link=file:///]l[/]"]
ESCAPES = ["\x1b[31mred\x1b[0m", "\x1b]8;;http://x\x07l\x1b]8;;\x07", "\x9b2J", "\x07\x08\r"]
NUMBERS = ["1e400", "1" + "0" * 400, "-1", "0", "nan", "inf", "-inf", "1e30", "1e-30", "0.5"]
WORDS = ["", " ", "=", ",", "a=b", "gpu=", "%s%n{0}", "50ms", "1kW", "10%", "H100", "1,8"]
# Inputs never name devices that read forever (/dev/zero, /dev/full); outputs may.
INPUT_PATHS = ["/nonexistent/x.json", "/proc/version", "/", ".", "missing.json", "[/x].json"]
OUTPUT_PATHS = ["/dev/full", "/proc/x.csv", "/", ".", "sub/missing/x.svg", "out[/x].csv"]

# No NUL: a real argv cannot hold one.
_TEXT = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
HOSTILE = st.sampled_from(MARKUP + ESCAPES + NUMBERS + WORDS)
VALUE = st.one_of(HOSTILE, _TEXT, st.tuples(HOSTILE, _TEXT).map("".join))
INPUT = st.one_of(st.sampled_from(INPUT_PATHS), HOSTILE.map(lambda s: s.lstrip("/") or "x"))
OUTPUT = st.one_of(st.sampled_from(OUTPUT_PATHS), HOSTILE.map(lambda s: s.lstrip("/") or "x"))

# Options (name → kind) per command; a fuzz case draws some of them with hostile values.
# bench targets a closed local port (nothing listens on 9), so it never reaches the network;
# its --meter stays out (a meter spec is a URL the fuzz must not visit).
COMMANDS: dict[tuple[str, ...], dict[str, str]] = {
    ("convert",): {
        "--throughput": "value", "--power": "value", "--gpu": "value", "--gpus": "value",
        "--basis": "value", "--boundary": "value", "--host-overhead": "value", "--pue": "value",
        "--isl": "value", "--osl": "value", "--queries": "value",
    },
    ("ingest", "@data"): {
        "--basis": "value", "--power": "value", "--power-per-gpu": "value", "--pue": "value",
        "--model": "value", "--hw": "value", "--sort": "value", "--top": "value",
        "--format": "value", "--out": "output", "--range-ratio": "value",
        "--failure-gate": "value", "--sampler": "value", "--input-format": "value",
    },
    ("check", "@data"): {
        "--power": "value", "--gpu": "value", "--gpus": "value", "--failure-gate": "value",
    },
    ("estimate", "--samples", "500"): {
        "--model": "value", "--lin": "value", "--lout-median": "value", "--pmax": "value",
        "--p-idle": "value", "--util-p5": "value", "--pue-p95": "value", "--lever": "value",
        "--regime": "value", "--leff": "value", "--seed": "value", "--plot": "output",
        "--table": "input", "--lout-file": "input",
    },
    ("fleet", "--scenarios", "50", "--length-samples", "500"): {
        "--queries-per-day": "value", "--mix": "value", "--model": "value", "--beta": "value",
        "--min-load": "value", "--redundancy": "value", "--lever": "value", "--pmax": "value",
    },
    ("bench", "http://127.0.0.1:9"): {
        "--concurrency": "value", "--rate": "value", "--num-prompts": "value",
        "--isl": "value", "--osl": "value", "--seed": "value", "--timeout": "value",
        "--max-length-mismatch": "value", "--prompt": "value", "--api": "value",
        "--dataset": "input", "--out": "output", "--workers": "value",
    },
    ("runs", "add"): {"@source": "input", "--basis": "value", "--power-per-gpu": "value"},
    ("runs", "list"): {"--where": "value"},
    ("runs", "show"): {"@id": "value"},
    ("runs", "export"): {"--out": "output", "--format": "value", "--where": "value"},
    ("frontier", "@data"): {
        "--x": "value", "--y": "value", "--group-by": "value", "--where": "value",
        "--plot": "output",
    },
    ("best", "@data"): {
        "--max-itl": "value", "--max-tpot": "value", "--min-intvty": "value", "--stat": "value",
        "--energy": "value", "--group-by": "value", "--where": "value",
    },
    ("compare", "@data"): {
        "--by": "value", "--at-itl": "value", "--baseline": "value", "--candidate": "value",
        "--where": "value", "--stat": "value",
    },
    ("sim", "calibrate", "--model", "m", "--gpu", "H100"): {
        "--task": "input", "--out": "output", "--hbm-tb-s": "value", "--isl": "value",
    },
}  # fmt: skip

DATA = "mlenergy/leaderboard_v3/tasks/sourcegraph-fim.json"
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture(scope="module", autouse=True)
def _sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A private store and working directory: relative output paths land in a temp dir."""
    root = tmp_path_factory.mktemp("fuzz")
    before, home = Path.cwd(), os.environ.get("TOKENERGY_HOME")
    os.environ["TOKENERGY_HOME"] = str(root / "home")
    os.chdir(root)
    yield
    os.chdir(before)
    if home is None:
        os.environ.pop("TOKENERGY_HOME", None)
    else:
        os.environ["TOKENERGY_HOME"] = home


def _arguments(draw: Callable[..., Any], command: tuple[str, ...], data: str) -> list[str]:
    args = [data if part == "@data" else part for part in command]
    options = COMMANDS[command]
    chosen = draw(st.lists(st.sampled_from(sorted(options)), min_size=1, max_size=4, unique=True))
    for option in chosen:
        kind = options[option]
        value = draw({"value": VALUE, "input": INPUT, "output": OUTPUT}[kind])
        args += [value] if option.startswith("@") else [option, value]
    return args


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_hostile_arguments(
    command: tuple[str, ...], cli: Callable[..., Any], shared_data: Path
) -> None:
    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.data())
    def check(data: st.DataObject) -> None:
        args = _arguments(data.draw, command, str(shared_data / DATA))
        done = cli(*args)
        assert done.code in (0, 2), (args, done.code, done.stderr[-2000:])
        for stream in (done.stdout, done.stderr):
            assert not _CONTROL.search(stream), (args, stream[-2000:])
            assert "Traceback" not in stream

    check()


SWEEP = ["\x1b[31mX\x1b]0;title\x07[/x][blink]M", "1e400"]


@pytest.mark.parametrize("command", sorted(COMMANDS), ids=" ".join)
def test_each_option_with_each_hostile_class(
    command: tuple[str, ...], cli: Callable[..., Any], shared_data: Path
) -> None:
    """Every option once with escapes + markup, once with a number too large for a float."""
    base = [str(shared_data / DATA) if part == "@data" else part for part in command]
    for option in COMMANDS[command]:
        for value in SWEEP:
            args = [*base, value] if option.startswith("@") else [*base, option, value]
            done = cli(*args)
            assert done.code in (0, 2), (args, done.code, done.stderr[-2000:])
            for stream in (done.stdout, done.stderr):
                assert not _CONTROL.search(stream), (args, stream[-2000:])
                assert "Traceback" not in stream


def test_the_entry_point_is_the_one_fuzzed() -> None:
    """The fuzz goes through ``run``, the function the console script calls."""
    from tokenergy.cli import app

    assert app.main.__code__.co_names.count("run") == 1 and run is app.run
