"""``--help`` renders for every command and subcommand (issue 12 item 1: ``bench --help`` crashed
on rich markup in an option's help text)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import typer

from tokenergy.cli.app import app


def _paths(command: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of the app (typer vendors click, so groups are found by duck typing;
    the top level loads its commands lazily, so they are asked for by name)."""
    paths = [prefix]
    if not hasattr(command, "list_commands"):
        return paths
    for name in sorted(command.list_commands(None)):
        paths += _paths(command.get_command(None, name), (*prefix, name))
    return paths


COMMANDS = _paths(typer.main.get_command(app))


def test_the_tree_is_walked() -> None:
    names = {" ".join(path) for path in COMMANDS}
    assert {"", "bench", "convert", "runs add", "sim serve", "estimate", "report"} <= names


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "tokenergy")
def test_help_renders(path: tuple[str, ...], cli: Callable[..., Any]) -> None:
    done = cli(*path, "--help")
    assert done.code == 0, done.stderr
    assert "Usage" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    for option in ("--dataset",) if path == ("bench",) else ():
        assert option in done.stdout


def test_bench_dataset_help_keeps_its_text(cli: Callable[..., Any]) -> None:
    done = cli("bench", "--help")
    assert "input_len" in done.stdout and "count" in done.stdout


@pytest.mark.parametrize("path", [p for p in COMMANDS if p], ids=" ".join)
def test_one_line_summaries(path: tuple[str, ...]) -> None:
    """The command list shows a command's first paragraph as is: a line break there printed
    'report … no network' / 'needed to view it' as two ragged lines in `tokenergy --help`."""
    command: Any = typer.main.get_command(app)
    for name in path:
        command = command.get_command(None, name)
    summary = (command.help or "").strip().split("\n\n")[0]
    assert "\n" not in summary, summary
