"""The sweep spec: a server command template, the grid of its parameters, the client workload,
meters, a GPU pool and the SLO that picks the winner — read from TOML or built in Python.

Placeholders in ``command``, ``env`` values and meter specs are Python format fields: the grid's
parameter names plus ``{port}``, ``{host}``, ``{url}``, ``{gpus}`` (comma-separated ids handed to
the configuration) and ``{num_gpus}``.
"""

from __future__ import annotations

import itertools
import re
import tomllib
from pathlib import Path
from string import Formatter
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from tokenergy.errors import ConfigError, validation_problem

BUILTIN_FIELDS = frozenset({"port", "host", "url", "gpus", "num_gpus"})
ParamValue = int | float | str | bool


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSpec(_Spec):
    """How to launch, probe and stop one server configuration."""

    command: str = Field(
        min_length=1, description="template, e.g. 'vllm serve {model} --port {port}'"
    )
    env: dict[str, str] = Field(default_factory=dict, description="extra environment (templated)")
    host: str = "127.0.0.1"
    ready_path: str = "/v1/models"
    ready_timeout_s: float = Field(default=600.0, gt=0)
    stop_grace_s: float = Field(default=15.0, ge=0)
    gpus_per_config: int | str = Field(
        default=0, description="GPUs handed to each configuration: a number or a parameter name"
    )


class WorkloadSpec(_Spec):
    """The client side of every configuration: the arguments of ``tokenergy.bench``."""

    model: str | None = None
    isl: int = Field(default=1024, ge=1)
    osl: int = Field(default=1024, ge=1)
    range_ratio: float = Field(default=0.0, ge=0, lt=1)
    dataset: Path | None = None
    concurrency: list[int] = Field(default_factory=list)
    rate_rps: float | None = Field(default=None, gt=0)
    num_prompts: int | None = Field(default=None, ge=1)
    duration_s: float | None = Field(default=None, gt=0)
    warmup: int = Field(default=0, ge=0)
    seed: int = Field(default=0, ge=0)
    timeout_s: float = Field(default=600.0, gt=0)

    @model_validator(mode="after")
    def _has_load(self) -> Self:
        if not self.concurrency and self.rate_rps is None:
            raise ValueError("give concurrency (a list) or rate_rps")
        if any(c < 1 for c in self.concurrency):
            raise ValueError("concurrency values must be >= 1")
        return self


class MeterSpec(_Spec):
    specs: list[str] = Field(default_factory=list, description="templated meter specs")
    idle_s: float = Field(default=0.0, ge=0)
    min_window_s: float = Field(default=1.0, gt=0, description="shortest valid energy window")


class SloSpec(_Spec):
    """The winner: least ``energy`` with ``metric`` ≤ ``max`` (a quantity such as '50ms')."""

    metric: str = "median_itl"
    max: str = "50ms"
    energy: str = "energy_per_token_j"


class SweepSpec(_Spec):
    name: str = "sweep"
    server: ServerSpec
    parameters: dict[str, list[ParamValue]] = Field(default_factory=dict)
    workload: WorkloadSpec
    meters: MeterSpec = MeterSpec()
    gpu_pool: list[int] = Field(default_factory=list, description="GPU ids handed out per config")
    slo: SloSpec = SloSpec()

    @model_validator(mode="after")
    def _placeholders_are_known(self) -> Self:
        known = BUILTIN_FIELDS | set(self.parameters)
        for where, template in self._templates():
            for name in template_fields(template):
                if name not in known:
                    raise ValueError(f"{where}: unknown placeholder {{{name}}}")
        for name, values in self.parameters.items():
            if not values:
                raise ValueError(f"parameter {name!r} has no values")
            if name in BUILTIN_FIELDS:
                raise ValueError(f"parameter {name!r} is a built-in placeholder")
        count = self.server.gpus_per_config
        if isinstance(count, str) and count not in self.parameters:
            raise ValueError(f"gpus_per_config names no parameter: {count!r}")
        return self

    def _templates(self) -> list[tuple[str, str]]:
        templates = [("server.command", self.server.command)]
        templates += [(f"server.env.{k}", v) for k, v in self.server.env.items()]
        templates += [(f"meters.specs[{i}]", s) for i, s in enumerate(self.meters.specs)]
        return templates

    def configurations(self) -> list[Configuration]:
        """Every combination of the parameters, in the spec's order (the first varies slowest)."""
        names = list(self.parameters)
        grid = itertools.product(*(self.parameters[name] for name in names))
        return [Configuration(dict(zip(names, values, strict=True))) for values in grid]

    def gpus_needed(self, config: Configuration) -> int:
        count = self.server.gpus_per_config
        return int(config.params[count]) if isinstance(count, str) else count


class Configuration:
    """One point of the server grid: its parameter values and a stable, readable id."""

    def __init__(self, params: dict[str, ParamValue]) -> None:
        self.params = params

    @property
    def id(self) -> str:
        """``batch_cap=8,tp=2`` → ``batch_cap-8_tp-2``: a directory name, stable across runs."""
        if not self.params:
            return "default"
        parts = [f"{k}-{v}" for k, v in self.params.items()]
        return re.sub(r"[^A-Za-z0-9._=-]+", "-", "_".join(parts))

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.params.items()) or "default"

    def __repr__(self) -> str:
        return f"Configuration({self.label})"


def template_fields(template: str) -> list[str]:
    try:
        return [name for _, name, _, _ in Formatter().parse(template) if name]
    except ValueError as error:
        raise ConfigError(f"bad template {template!r}: {error}", field="template") from None


def render(template: str, values: dict[str, Any]) -> str:
    return template.format(**values)


def load_spec(path: Path) -> SweepSpec:
    """Read a TOML sweep spec; errors name the file and the field."""
    try:
        document = tomllib.loads(path.read_text())
    except OSError as error:
        raise ConfigError(f"cannot read sweep spec: {error.strerror}", file=str(path)) from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"not a TOML sweep spec: {error}", file=str(path)) from None
    except RecursionError:
        raise ConfigError("TOML nested too deeply", file=str(path)) from None
    return parse_spec(document, source=str(path))


def parse_spec(document: dict[str, Any], source: str | None = None) -> SweepSpec:
    try:
        return SweepSpec.model_validate(document)
    except ValidationError as error:
        field, message = validation_problem(error)
        raise ConfigError(message, file=source, field=field or None) from None
