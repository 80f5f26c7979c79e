"""Fit a simulator profile to ML.ENERGY leaderboard v3 records of one model on one GPU.

The records (one per batch cap ``max_num_seqs``) give the achieved batch B, median ITL, output
throughput and average power. With a closed loop of mean input ISL and mean output OSL, the steady
state of the engine model is, per step:

- decode work: base + B·s, with s = per_seq + per_context_token·(ISL + OSL/2);
- prefills: B/OSL sequences start per step on average (Poisson), each costing
  per_prefill_token·ISL, so the mean step adds B·ISL/OSL·per_prefill_token, and the median step
  adds ISL·per_prefill_token × the Poisson median of B/OSL;
- output throughput = B / mean step; median ITL = median step.

(base, s, per_prefill_token) are fitted to throughput and median ITL together (relative least
squares, non-negative bounds); s is split into per_seq and per_context_token with a physical prior
(KV bytes per token ÷ HBM bandwidth), since one workload cannot separate them. Per-GPU power
P(B) = busy_floor + (max − busy_floor)(1 − exp(−B/k)) is fitted to avg_power_watts / num_gpus.
Idle power is not in the records and comes from ``idle_w`` (a stated prior). The KV-cache size is
set so that the largest cap's achieved batch is reproduced when it fell short of its cap.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import poisson

from tokenergy.errors import ConfigError, IngestError
from tokenergy.sim.profiles import PowerCurve, Profile, Scheduler, StepTiming

GPU_MODEL_NAMES = {
    "H100": "NVIDIA H100 80GB HBM3",
    "H200": "NVIDIA H200",
    "B200": "NVIDIA B200",
    "A100": "NVIDIA A100-SXM4-80GB",
}
# Energy per token is power / throughput: throughput misfit costs more than ITL misfit.
_THROUGHPUT_WEIGHT = 3.0
_FIELDS = (
    "max_num_seqs",
    "avg_batch_size",
    "energy_per_token_joules",
    "avg_power_watts",
    "output_throughput_tokens_per_sec",
    "median_itl_ms",
    "avg_output_len",
    "num_gpus",
)


@dataclass(frozen=True)
class Record:
    """One ML.ENERGY configuration (a batch cap) of the calibrated model/GPU."""

    max_num_seqs: int
    avg_batch_size: float
    energy_per_token_j: float
    avg_power_w: float
    output_tok_s: float
    median_itl_s: float
    avg_output_len: float
    num_gpus: int


def load_records(
    task_file: Path, model: str, gpu: str, num_gpus: int | None = None
) -> list[Record]:
    """Records of ``model`` on ``gpu`` (optionally a GPU count), sorted by batch cap."""
    try:
        data = json.loads(task_file.read_text())
    except OSError as error:
        raise IngestError(f"cannot read: {error.strerror}", file=str(task_file)) from None
    except json.JSONDecodeError as error:
        raise IngestError(f"invalid JSON: {error.msg}", file=str(task_file)) from None
    except RecursionError:
        raise IngestError("invalid JSON: nested too deeply", file=str(task_file)) from None
    configs = data.get("configurations") if isinstance(data, dict) else None
    if not isinstance(configs, list):
        raise IngestError("no 'configurations' list", file=str(task_file), field="configurations")
    chosen = [
        c
        for c in configs
        if isinstance(c, dict)
        and c.get("model_id") == model
        and c.get("gpu_model") == gpu
        and (num_gpus is None or c.get("num_gpus") == num_gpus)
    ]
    if not chosen:
        raise ConfigError(
            f"no records of {model!r} on {gpu!r}" + (f" with {num_gpus} GPUs" if num_gpus else ""),
            file=str(task_file),
        )
    if len({c.get("num_gpus") for c in chosen}) > 1:
        raise ConfigError(
            "records span several GPU counts; choose one with `num_gpus`", file=str(task_file)
        )
    records = []
    for index, config in enumerate(chosen):
        missing = [name for name in _FIELDS if not isinstance(config.get(name), int | float)]
        if missing:
            raise IngestError(
                f"record {index} lacks {missing[0]}", file=str(task_file), field=missing[0]
            )
        huge = [name for name in _FIELDS if not _finite(config[name])]
        if huge:
            raise IngestError(
                f"record {index}: {huge[0]} is not a finite number",
                file=str(task_file),
                field=huge[0],
            )
        records.append(
            Record(
                max_num_seqs=int(config["max_num_seqs"]),
                avg_batch_size=float(config["avg_batch_size"]),
                energy_per_token_j=float(config["energy_per_token_joules"]),
                avg_power_w=float(config["avg_power_watts"]),
                output_tok_s=float(config["output_throughput_tokens_per_sec"]),
                median_itl_s=float(config["median_itl_ms"]) / 1000.0,
                avg_output_len=float(config["avg_output_len"]),
                num_gpus=int(config["num_gpus"]),
            )
        )
    if len(records) < 3:
        raise ConfigError(f"need at least 3 batch caps to fit, found {len(records)}")
    return sorted(records, key=lambda r: r.max_num_seqs)


def _finite(value: float) -> bool:
    """False for NaN, ±inf and integers beyond float range (10^400 parses as a Python int)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


@dataclass(frozen=True)
class Priors:
    """What the records do not determine, stated explicitly."""

    isl: int = 256
    idle_w: float = 70.0
    kv_bytes_per_token: float = 131072.0  # Llama-3.1-8B bf16: 2·32 layers·8 KV heads·128·2 B
    hbm_bytes_per_s: float = 3.35e12  # H100 SXM
    max_model_len: int = 8192
    max_num_batched_tokens: int = 8192
    kv_headroom_seqs: int = 1024  # when no record is KV-limited: room for this many sequences


def _fit_timing(records: list[Record], isl: int, osl: float) -> tuple[float, float, float]:
    """(base_s, decode slope s per sequence, prefill cost per prompt token)."""
    batch = np.array([r.avg_batch_size for r in records])
    itl = np.array([r.median_itl_s for r in records])
    throughput = np.array([r.output_tok_s for r in records])
    median_prefills = np.asarray(poisson.median(batch / osl), dtype=float)

    def residuals(theta: np.ndarray) -> np.ndarray:
        base, slope, prefill = theta
        decode = base + slope * batch
        mean_step = decode + prefill * isl * batch / osl
        median_step = decode + prefill * isl * median_prefills
        itl_residuals = median_step / itl - 1.0
        throughput_residuals = (batch / mean_step) / throughput - 1.0
        return np.concatenate([itl_residuals, _THROUGHPUT_WEIGHT * throughput_residuals])

    start = np.array([itl[0], (itl[-1] - itl[0]) / max(batch[-1] - batch[0], 1.0), 1e-5])
    fit = least_squares(residuals, start, bounds=([1e-6, 0.0, 0.0], [1.0, 1.0, 1.0]))
    base, slope, prefill = (float(v) for v in fit.x)
    return base, slope, prefill


def _fit_power(records: list[Record]) -> tuple[float, float, float]:
    """(busy_floor_w, max_w, saturation_seqs) of one GPU."""
    batch = np.array([r.avg_batch_size for r in records])
    power = np.array([r.avg_power_w / r.num_gpus for r in records])

    def residuals(theta: np.ndarray) -> np.ndarray:
        floor, ceiling, scale = (float(v) for v in theta)
        modelled = floor + (ceiling - floor) * (1.0 - np.exp(-batch / scale))
        return np.asarray(modelled / power - 1.0, dtype=float)

    start = np.array([power.min() * 0.95, power.max(), max(float(np.median(batch)), 1.0)])
    upper = [power.max() * 2, power.max() * 2, batch.max() * 10]
    fit = least_squares(residuals, start, bounds=([1.0, 1.0, 0.1], upper))
    floor, ceiling, scale = (float(v) for v in fit.x)
    return floor, ceiling, scale


def fit_profile(
    records: list[Record],
    *,
    name: str,
    model: str,
    gpu: str,
    source: str,
    priors: Priors | None = None,
) -> Profile:
    """A profile whose steady state reproduces the records' throughput, ITL and power."""
    prior = priors or Priors()
    osl = float(np.mean([r.avg_output_len for r in records]))
    base_s, slope_s, prefill_s = _fit_timing(records, prior.isl, osl)
    context_s = prior.kv_bytes_per_token / prior.hbm_bytes_per_s
    mean_context = prior.isl + osl / 2.0
    context_s = min(context_s, slope_s / mean_context)
    per_seq_s = slope_s - context_s * mean_context
    floor_w, max_w, scale = _fit_power(records)
    largest = records[-1]
    kv_limited = largest.avg_batch_size < 0.95 * largest.max_num_seqs
    seqs = largest.avg_batch_size if kv_limited else prior.kv_headroom_seqs
    kv_tokens = max(math.ceil(seqs * mean_context), prior.max_model_len)
    num_gpus = records[0].num_gpus
    calibration: dict[str, Any] = {
        "source": source,
        "model_id": model,
        "gpu": gpu,
        "records": [r.max_num_seqs for r in records],
        "assumed_isl": prior.isl,
        "mean_output_len": round(osl, 1),
        "idle_w_prior": prior.idle_w,
        "context_cost_prior": "KV bytes per token / HBM bandwidth "
        f"({prior.kv_bytes_per_token:g} B / {prior.hbm_bytes_per_s:g} B/s)",
        "kv_cache_tokens_from": (
            f"achieved batch {largest.avg_batch_size:.1f} at cap {largest.max_num_seqs}"
            if kv_limited
            else f"headroom for {prior.kv_headroom_seqs} sequences (no record KV-limited)"
        ),
        "method": "tokenergy.sim.calibrate (scipy least_squares, relative residuals)",
    }
    return Profile(
        name=name,
        description=f"calibrated on {source}",
        model=model,
        gpu_model_name=GPU_MODEL_NAMES.get(gpu, f"NVIDIA {gpu}"),
        num_gpus=num_gpus,
        max_model_len=prior.max_model_len,
        vocab_size=128256 if "llama" in model.lower() else 32000,
        eos_mean_tokens=round(osl, 1),
        step=StepTiming(
            base_s=base_s,
            per_seq_s=per_seq_s,
            per_context_token_s=context_s,
            per_prefill_token_s=prefill_s,
        ),
        scheduler=Scheduler(
            max_num_seqs=largest.max_num_seqs,
            kv_cache_tokens=kv_tokens,
            max_num_batched_tokens=prior.max_num_batched_tokens,
        ),
        power=PowerCurve(
            idle_w=prior.idle_w, busy_floor_w=floor_w, max_w=max_w, saturation_seqs=scale
        ),
        calibration=calibration,
    )
