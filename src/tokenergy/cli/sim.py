"""``tokenergy sim``: serve the simulated OpenAI-compatible server, list and calibrate profiles."""

from __future__ import annotations

import ipaddress
import math
import socket
from pathlib import Path

import typer
from rich.table import Table

from tokenergy.cli.flags import as_flags
from tokenergy.cli.paths import output_file, writing
from tokenergy.cli.render import console, fmt, styled
from tokenergy.errors import ConfigError
from tokenergy.sim.eventloop import LoopKind, loop_name, new_event_loop
from tokenergy.sim.faults import parse_faults
from tokenergy.sim.profiles import load_profile, profile_names, write_profile
from tokenergy.sim.turnaround import HoldMode

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
    max_num_seqs: int | None = typer.Option(
        None,
        "--max-num-seqs",
        "--max-batch",
        min=1,
        help="Batch cap, vLLM's max_num_seqs (default: profile).",
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of EOS draws, faults and GPU UUIDs."),
    closed_loop_hold: HoldMode = typer.Option(
        HoldMode.AUTO,
        "--closed-loop-hold",
        help="Hold the next step (no simulated time) for a closed-loop client's next request: "
        "auto (detects open loops), on, off.",
    ),
    event_loop: LoopKind = typer.Option(
        LoopKind.ASYNCIO,
        "--event-loop",
        help="asyncio, uvloop (~5 % less CPU, millisecond timers), auto (uvloop when installed).",
    ),
) -> None:
    """Serve until interrupted. Every response is labelled simulated."""
    from aiohttp import web  # heavy imports only for this command

    from tokenergy.sim.server import SimServer

    if not 0 < speed < math.inf:
        raise ConfigError(f"must be a finite number > 0, got {speed}", field="--speed")
    _check_host(host)
    try:
        loop = new_event_loop(event_loop)
    except ConfigError as error:
        raise ConfigError(error.message, field="--event-loop") from None
    resolved = load_profile(profile)
    server = SimServer(
        resolved,
        speed=speed,
        faults=parse_faults(faults),
        seed=seed,
        num_gpus=gpus,
        max_num_seqs=max_num_seqs,
        hold=closed_loop_hold,
    )
    console.print(
        styled("tokenergy-sim", "bold"),
        f" (SIMULATED) {resolved.model} on {len(server.gpus)}× "
        f"{resolved.gpu_model_name}, profile {resolved.name}, "
        f"max_num_seqs {server.profile.scheduler.max_num_seqs}, speed {speed:g}×, "
        f"{loop_name(loop)}; "
        "DCGM metrics at /dcgm/metrics, energy truth at /sim/energy",
        sep="",
        highlight=False,
    )

    def announce(message: str) -> None:  # aiohttp's line names the bound address (port 0 too)
        console.print(message.strip(), highlight=False)

    try:
        web.run_app(server.app, host=host, port=port, print=announce, access_log=None, loop=loop)
    except OSError as error:  # busy port, an address not on this machine
        raise ConfigError(
            f"cannot listen on {host}:{port}: {error.strerror or error}", field="--host/--port"
        ) from None


def _check_host(host: str) -> None:
    """A name or address to bind; never empty (aiohttp would bind every interface)."""
    if not host.strip():
        raise ConfigError(
            "empty; give an address (default 127.0.0.1, or 0.0.0.0 to serve every interface)",
            field="--host",
        )
    try:
        ipaddress.ip_address(host)
    except ValueError:
        try:
            socket.getaddrinfo(host, None)
        except (OSError, UnicodeError):
            raise ConfigError(
                f"not an address or a known host name: {host!r}", field="--host"
            ) from None


@app.command("profiles")
def profiles_command() -> None:
    """List the packaged profiles."""
    table = Table("profile", "model", "GPUs", "max seqs", "power W", "calibration")
    table.columns[0].no_wrap = True
    for name in profile_names():
        prof = load_profile(name)
        power = prof.power
        table.add_row(
            name,
            prof.model,
            f"{prof.num_gpus}× {prof.gpu_model_name}",
            fmt(prof.scheduler.max_num_seqs),
            f"{power.idle_w:.0f} idle, {power.busy_floor_w:.0f}–{power.max_w:.0f} busy",
            f"ML.ENERGY, {len(prof.calibration['records'])} caps"
            if "records" in prof.calibration
            else "—",
        )
    console.print(table)


@app.command("calibrate")
def calibrate_command(
    task: Path = typer.Option(
        ..., "--task", help="ML.ENERGY v3 task file, e.g. leaderboard_v3/tasks/lm-arena-chat.json."
    ),
    model: str = typer.Option(
        ..., "--model", help="model_id, e.g. meta-llama/Llama-3.1-8B-Instruct."
    ),
    gpu: str = typer.Option(..., "--gpu", help="gpu_model of the records, e.g. H100."),
    gpus: int | None = typer.Option(None, "--gpus", min=1, help="num_gpus, when several exist."),
    out: Path = typer.Option(..., "--out", help="Profile YAML to write."),
    name: str | None = typer.Option(None, "--name", help="Profile name (default: file stem)."),
    isl: int = typer.Option(256, "--isl", min=1, help="Assumed mean prompt length (not in data)."),
    idle_w: float = typer.Option(70.0, "--idle-w", help="Idle power per GPU, W (not in data)."),
    kv_bytes_per_token: float = typer.Option(
        131072.0, "--kv-bytes-per-token", help="KV-cache bytes per token (context-cost prior)."
    ),
    hbm_tb_s: float = typer.Option(
        3.35, "--hbm-tb-s", help="HBM bandwidth of all GPUs serving, TB/s (context-cost prior)."
    ),
    check: bool = typer.Option(
        True, "--check/--no-check", help="Sweep the fitted profile over the records' batch caps."
    ),
) -> None:
    """Fit a profile to ML.ENERGY records (scipy least squares) and check it by a batch sweep."""
    from tokenergy.sim.calibrate import Priors, fit_profile, load_records  # scipy: import late
    from tokenergy.sim.sweep import sweep_point

    _positive(hbm_tb_s, "--hbm-tb-s")
    _positive(kv_bytes_per_token, "--kv-bytes-per-token")
    if not 0 <= idle_w < math.inf:
        raise ConfigError(f"must be a finite number >= 0, got {idle_w}", field="--idle-w")
    output_file(out, "--out")
    with as_flags({"num_gpus": "--gpus"}):
        records = load_records(task, model, gpu, gpus)
    priors = Priors(
        isl=isl,
        idle_w=idle_w,
        kv_bytes_per_token=kv_bytes_per_token,
        hbm_bytes_per_s=hbm_tb_s * 1e12,
    )
    source = f"ML.ENERGY leaderboard v3 {task.stem}: {model} on {records[0].num_gpus}x {gpu}"
    profile = fit_profile(
        records, name=name or out.stem, model=model, gpu=gpu, source=source, priors=priors
    )
    table = Table(
        "cap",
        "batch rec",
        "batch sim",
        "J/tok rec",
        "J/tok sim",
        "Δ J/tok",
        "tok/s rec",
        "tok/s sim",
        "ITL ms rec",
        "ITL ms sim",
        title=f"{profile.name}: ML.ENERGY records vs simulator sweep",
    )
    deltas: dict[str, float] = {}
    for record in records if check else []:
        point = sweep_point(profile, record.max_num_seqs, isl=isl, osl=round(record.avg_output_len))
        delta = point.energy_per_output_token_j / record.energy_per_token_j - 1.0
        deltas[str(record.max_num_seqs)] = round(delta, 4)
        table.add_row(
            fmt(record.max_num_seqs),
            fmt(record.avg_batch_size, 3),
            fmt(point.avg_batch_size, 3),
            fmt(record.energy_per_token_j, 3),
            fmt(point.energy_per_output_token_j, 3),
            f"{delta:+.1%}",
            fmt(record.output_tok_s),
            fmt(point.output_tok_s),
            fmt(record.median_itl_s * 1000, 3),
            fmt(point.median_itl_s * 1000, 3),
        )
    if check:
        calibration = {**profile.calibration, "check_energy_per_token_rel_error": deltas}
        profile = profile.model_copy(update={"calibration": calibration})
        console.print(table)
    with writing(out, "--out"):
        write_profile(profile, out)
    console.print(f"wrote {out}", highlight=False)


def _positive(value: float, flag: str) -> None:
    if not 0 < value < math.inf:
        raise ConfigError(f"must be a finite number > 0, got {value}", field=flag)
