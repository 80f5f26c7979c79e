"""Simulator profiles: the timing, scheduler and power parameters of one model on one GPU.

Profiles are data (YAML in ``sim/profiles/``, or any YAML path) so that calibrations are
reviewable and reproducible; ``calibrate.py`` writes them from ML.ENERGY records.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tokenergy.errors import ConfigError, validation_problem

_PROFILE_DIR = "profiles"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StepTiming(_Strict):
    """Engine step time = base + per_seq·decoding seqs + per_context_token·their context
    + per_prefill_token·prefill tokens in the step (seconds)."""

    base_s: float = Field(gt=0)
    per_seq_s: float = Field(ge=0)
    per_context_token_s: float = Field(ge=0)
    per_prefill_token_s: float = Field(ge=0)


class Scheduler(_Strict):
    """vLLM-like scheduler limits: batch cap, KV-cache tokens, per-step token budget."""

    max_num_seqs: int = Field(ge=1)
    kv_cache_tokens: int = Field(ge=1, description="KV-cache capacity in tokens (all requests)")
    max_num_batched_tokens: int = Field(ge=1, description="tokens per step (chunked prefill)")


class PowerCurve(_Strict):
    """Per-GPU power: idle_w with no work; when busy, busy_floor_w + (max_w − busy_floor_w) ×
    (1 − exp(−batch / saturation_seqs))."""

    idle_w: float = Field(gt=0)
    busy_floor_w: float = Field(gt=0)
    max_w: float = Field(gt=0)
    saturation_seqs: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        # busy ≥ idle keeps the energy counter monotone when a step starts at its arrival time
        if not self.idle_w <= self.busy_floor_w <= self.max_w:
            raise ValueError("power needs idle_w <= busy_floor_w <= max_w")
        return self


class Profile(_Strict):
    """One simulated deployment: model identity, timing, scheduler, power, output lengths."""

    name: str
    description: str = ""
    model: str = Field(description="model id served at /v1/models")
    gpu_model_name: str = Field(description="DCGM modelName label, e.g. 'NVIDIA H100 80GB HBM3'")
    num_gpus: int = Field(default=1, ge=1)
    max_model_len: int = Field(default=8192, ge=2)
    vocab_size: int = Field(default=32000, ge=512)
    eos_mean_tokens: float = Field(
        gt=0, description="mean natural output length when ignore_eos is false (exponential)"
    )
    step: StepTiming
    scheduler: Scheduler
    power: PowerCurve
    calibration: dict[str, Any] = Field(default_factory=dict, description="how it was fitted")

    @model_validator(mode="after")
    def _one_request_fits(self) -> Self:
        if self.scheduler.kv_cache_tokens < self.max_model_len:
            raise ValueError("scheduler.kv_cache_tokens must hold one max_model_len request")
        return self


def with_max_num_seqs(profile: Profile, max_num_seqs: int) -> Profile:
    """The same profile with another batch cap (the knob ML.ENERGY sweeps)."""
    scheduler = Scheduler(
        max_num_seqs=max_num_seqs,
        kv_cache_tokens=profile.scheduler.kv_cache_tokens,
        max_num_batched_tokens=profile.scheduler.max_num_batched_tokens,
    )
    return profile.model_copy(update={"scheduler": scheduler})


def profile_dir() -> Path:
    return Path(str(files("tokenergy.sim").joinpath(_PROFILE_DIR)))


def profile_names() -> list[str]:
    """Names of the packaged profiles."""
    return sorted(path.stem for path in profile_dir().glob("*.yaml"))


def read_profile(path: Path) -> Profile:
    """Read a profile YAML file; errors name the file and field."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"cannot read profile: {error.strerror}", file=str(path)) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"invalid YAML: {error}", file=str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError("a profile must be a YAML mapping", file=str(path))
    try:
        return Profile.model_validate(data)
    except ValidationError as error:
        field, message = validation_problem(error)
        raise ConfigError(message, file=str(path), field=field) from None


@cache
def _packaged(name: str) -> Profile:
    return read_profile(profile_dir() / f"{name}.yaml")


def load_profile(name_or_path: str) -> Profile:
    """A packaged profile by name, or a profile YAML by path."""
    if name_or_path in profile_names():
        return _packaged(name_or_path)
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") and path.exists():
        return read_profile(path)
    raise ConfigError(
        f"unknown profile {name_or_path!r}; packaged: {', '.join(profile_names())} "
        "(or give a .yaml path)",
        field="profile",
    )


def write_profile(profile: Profile, path: Path) -> None:
    """Write a profile as YAML, keeping field order for readable diffs."""
    text = yaml.safe_dump(profile.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
