"""Packaged reference data (see SOURCES.md): GPU power figures, throughput tables, equivalents.

Unknown GPUs and unknown figures are errors listing what is known — never a silent 0 W.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib.resources import files
from pathlib import Path

from tokenergy.errors import CatalogError

_GPU_FILE = "gpu_power.csv"
DEFAULT_THROUGHPUT_TABLE = "h100x8_fp8_trtllm.csv"
_EQUIVALENTS_FILE = "equivalents.csv"


@dataclass(frozen=True)
class GpuSpec:
    """Power figures of one GPU form factor; None means the figure is unknown."""

    gpu: str
    form: str
    tdp_w: float | None
    allin_kw_per_gpu: float | None
    tdp_source: str
    allin_source: str


@dataclass(frozen=True)
class Equivalent:
    """An everyday activity to express a Wh figure in: a power (W) or an energy per unit (Wh)."""

    key: str
    label: str
    kind: str  # "power_w" or "energy_wh"
    value: float
    unit_phrase: str
    source: str
    url: str


def catalog_path(name: str) -> Path:
    """Path of a packaged catalog file."""
    return Path(str(files("tokenergy.catalog").joinpath(name)))


def _optional_float(text: str) -> float | None:
    return float(text) if text.strip() else None


@cache
def gpu_specs() -> tuple[GpuSpec, ...]:
    with catalog_path(_GPU_FILE).open(newline="") as handle:
        return tuple(
            GpuSpec(
                gpu=row["gpu"],
                form=row["form"],
                tdp_w=_optional_float(row["tdp_w"]),
                allin_kw_per_gpu=_optional_float(row["allin_provisioned_kw_per_gpu"]),
                tdp_source=row["tdp_source"],
                allin_source=row["allin_source"],
            )
            for row in csv.DictReader(handle)
        )


def known_gpus() -> list[str]:
    return sorted({spec.gpu for spec in gpu_specs()})


def _tokens(name: str) -> list[str]:
    return [token for token in re.split(r"[\s_\-/]+", name.strip().lower()) if token]


@lru_cache(maxsize=1024)
def gpu_spec(name: str) -> GpuSpec:
    """Look up a GPU by a name as users and sources write it ('H100', 'h100-pcie', 'b200-trt').

    The first token names the GPU; a later token may pick the form factor (default: first row,
    the SXM/OAM part). Cached: ingest asks for the same few names on every row.
    """
    tokens = _tokens(name)
    if not tokens:
        raise CatalogError("empty GPU name", field="gpu")
    candidates = [spec for spec in gpu_specs() if spec.gpu.lower() == tokens[0]]
    if not candidates:
        raise CatalogError(f"unknown GPU {name!r}; known: {', '.join(known_gpus())}", field="gpu")
    for spec in candidates:
        form_tokens = _tokens(spec.form)
        if form_tokens and any(token == form_tokens[0] for token in tokens[1:]):
            return spec
    return candidates[0]


def canonical_gpu(name: str) -> str:
    """Canonical catalog name of a GPU ('b200-trt' → 'B200')."""
    return gpu_spec(name).gpu


def tdp_w(name: str) -> float:
    spec = gpu_spec(name)
    if spec.tdp_w is None:
        known = [f"{s.gpu} {s.form}" for s in gpu_specs() if s.tdp_w is not None]
        raise CatalogError(
            f"no TDP known for {spec.gpu} {spec.form}; known: {', '.join(known)}", field="gpu"
        )
    return spec.tdp_w


def allin_w(name: str) -> float:
    """InferenceX all-in provisioned power per GPU, in W."""
    spec = gpu_spec(name)
    if spec.allin_kw_per_gpu is None:
        known = [s.gpu for s in gpu_specs() if s.allin_kw_per_gpu is not None]
        raise CatalogError(
            f"no all-in provisioned power known for {spec.gpu} {spec.form}; "
            f"known: {', '.join(dict.fromkeys(known))}",
            field="gpu",
        )
    return spec.allin_kw_per_gpu * 1000.0


@cache
def equivalents() -> tuple[Equivalent, ...]:
    with catalog_path(_EQUIVALENTS_FILE).open(newline="") as handle:
        return tuple(
            Equivalent(
                key=row["key"],
                label=row["label"],
                kind=row["kind"],
                value=float(row["value"]),
                unit_phrase=row["unit_phrase"],
                source=row["source"],
                url=row["url"],
            )
            for row in csv.DictReader(handle)
        )


def express(energy_wh: float, equivalent: Equivalent) -> float:
    """How many of the equivalent's units an energy amounts to (minutes for powers)."""
    if equivalent.kind == "power_w":
        return energy_wh / equivalent.value * 60.0
    return energy_wh / equivalent.value
