"""The floor of any typer command with options: convert's signature, doing nothing.

typer (0.2x) coerces every non-flag option through a pydantic ``TypeAdapter``, so parsing one
``--throughput`` imports pydantic's validation machinery whatever the command does;
benchmarks/startup.py runs this beside ``tokenergy convert`` to show that share of its start-up.
Run: ``python benchmarks/typer_floor.py convert --throughput 41.8 --power 1.5kW``.
"""

from __future__ import annotations

from enum import StrEnum

import typer


class Kind(StrEnum):
    TOTAL = "total"
    OUTPUT = "output"


app = typer.Typer(add_completion=False)


@app.callback()
def _root() -> None:
    """A group, as tokenergy's commands are."""


@app.command("convert")
def convert_command(
    throughput: str = typer.Option(..., "--throughput"),
    throughput_kind: Kind = typer.Option(Kind.TOTAL, "--throughput-kind"),
    power: list[str] = typer.Option([], "--power"),
    gpu: str | None = typer.Option(None, "--gpu"),
    gpus: int | None = typer.Option(None, "--gpus", min=1),
    basis: str | None = typer.Option(None, "--basis"),
    boundary: str | None = typer.Option(None, "--boundary"),
    host_overhead: str | None = typer.Option(None, "--host-overhead"),
    pue: str | None = typer.Option(None, "--pue"),
    isl: int | None = typer.Option(None, "--isl", min=0),
    osl: int | None = typer.Option(None, "--osl", min=0),
    queries: float | None = typer.Option(None, "--queries", min=0),
    grid: str | None = typer.Option(None, "--grid"),
    region: str | None = typer.Option(None, "--region"),
    wue: str | None = typer.Option(None, "--wue"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Parse the options and print nothing."""


if __name__ == "__main__":
    app()
