"""``tokenergy sim``: serve the simulated OpenAI-compatible server, list and calibrate profiles."""

from __future__ import annotations

import typer
from aiohttp import web
from rich.table import Table

from tokenergy.cli.render import console, fmt
from tokenergy.errors import ConfigError
from tokenergy.sim.faults import parse_faults
from tokenergy.sim.profiles import load_profile, profile_names
from tokenergy.sim.server import SimServer

app = typer.Typer(
    help="A simulated OpenAI-compatible LLM server with a calibrated timing and power model.",
    no_args_is_help=True,
)


@app.command("serve")
def serve_command(
    profile: str = typer.Option(
        "llama-3.1-8b-h100", "--profile", help="Packaged profile name or a profile .yaml path."
    ),
    port: int = typer.Option(8000, "--port", min=0, max=65535, help="TCP port (0 = any free)."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind."),
    speed: float = typer.Option(
        1.0, "--speed", help="Simulated seconds per wall second (10 = ten times faster)."
    ),
    faults: str = typer.Option(
        "",
        "--faults",
        help="e.g. error_rate=0.05,status=500|429,disconnect=0.01,stall=0.01:5s,slow_start=2s",
    ),
    gpus: int | None = typer.Option(
        None, "--gpus", min=1, help="Simulated GPUs (default: profile)."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of EOS draws, faults and GPU UUIDs."),
) -> None:
    """Serve until interrupted. Every response is labelled simulated."""
    if not speed > 0:
        raise ConfigError(f"must be > 0, got {speed}", field="--speed")
    resolved = load_profile(profile)
    server = SimServer(resolved, speed=speed, faults=parse_faults(faults), seed=seed, num_gpus=gpus)
    console.print(
        f"[bold]tokenergy-sim[/] (SIMULATED) {resolved.model} on {len(server.gpus)}× "
        f"{resolved.gpu_model_name}, profile {resolved.name}, speed {speed:g}× — "
        f"http://{host}:{port} (DCGM at /dcgm/metrics)",
        highlight=False,
    )
    web.run_app(server.app, host=host, port=port, print=None, access_log=None)


@app.command("profiles")
def profiles_command() -> None:
    """List the packaged profiles."""
    table = Table("profile", "model", "gpu", "gpus", "max seqs", "idle W", "max W", "calibrated on")
    for name in profile_names():
        prof = load_profile(name)
        source = str(prof.calibration.get("source", "—"))
        table.add_row(
            name,
            prof.model,
            prof.gpu_model_name,
            fmt(prof.num_gpus),
            fmt(prof.scheduler.max_num_seqs),
            fmt(prof.power.idle_w),
            fmt(prof.power.max_w),
            source,
        )
    console.print(table)
