"""Throughput surface: per model, log TPS = b0 + b1·log L_in + b2·log L_out, capped.

See docs/methodology.md §6.1.

A throughput table has rows (model, tp, quant, tps, lin, lout, source[, rate, gpu]), ``tps`` being
the tokens/s of a saturated node; ``rate`` says whether it counts output tokens (the default, as
TensorRT-LLM's tables do) or input + output tokens, and the fit keeps that label so energy is
charged for the same tokens the rate counts. The fit is ordinary least squares in log space;
predictions are capped at the model's largest observed TPS, so the surface never promises a node
faster than anyone measured. When the points cannot identify all three coefficients (rank-deficient
design), a reduced model is fitted instead and the fit carries a warning naming the model.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from tokenergy.errors import ConfigError
from tokenergy.ingest.common import canonical_gpu, known_gpu
from tokenergy.naming import match_name
from tokenergy.records import RateBasis, ServingResult

_COLUMNS = ("model", "tp", "quant", "tps", "lin", "lout", "source")
DEFAULT_RATE = RateBasis.OUTPUT  # TensorRT-LLM perf overviews: "Total Output Throughput"
_GPU_X = re.compile(r"(?<![0-9a-z])([a-z]+\d+[a-z]*)x\d+", re.IGNORECASE)  # 'h100x8' in a name


@dataclass(frozen=True)
class ThroughputPoint:
    """One measured (L_in, L_out) → tokens/s point of a model on a node of ``tp`` GPUs."""

    model: str
    tp: int
    quant: str
    tps: float
    lin: float
    lout: float
    source: str
    rate: RateBasis = DEFAULT_RATE
    gpu: str | None = None


class FitKind(StrEnum):
    FULL = "full"  # b0 + b1 log L_in + b2 log L_out
    INPUT_ONLY = "input-only"  # b0 + b1 log L_in
    OUTPUT_ONLY = "output-only"  # b0 + b2 log L_out
    CONSTANT = "constant"  # b0 (geometric mean TPS)


@dataclass(frozen=True)
class SurfaceFit:
    """The fitted surface of one model; coefficients absent from a reduced fit are 0."""

    model: str
    kind: FitKind
    b0: float
    b1: float
    b2: float
    r2: float | None
    n_points: int
    cap_tps: float
    gpus: int
    lin_range: tuple[float, float]
    lout_range: tuple[float, float]
    warning: str | None = None
    rate: RateBasis = DEFAULT_RATE
    gpu: str | None = None
    power_per_gpu_w: float | None = None  # measured mean W per GPU at the operating point
    batch: float | None = None  # operating batch of a calibrated surface
    noise_sigma: float | None = None  # std of the log residual (n − p dof); None: no dof left

    def charged_tokens(
        self, lin: NDArray[np.float64], lout: NDArray[np.float64]
    ) -> NDArray[np.float64]:
        """The tokens a query is charged against this surface's rate: like with like."""
        return lout if self.rate is RateBasis.OUTPUT else lin + lout

    def log_tps(
        self, lin: NDArray[np.float64] | float, lout: NDArray[np.float64] | float
    ) -> NDArray[np.float64]:
        """Capped log TPS at the given lengths (arrays broadcast)."""
        raw = self.b0 + self.b1 * np.log(lin) + self.b2 * np.log(lout)
        return np.minimum(raw, math.log(self.cap_tps))

    def tps(
        self, lin: NDArray[np.float64] | float, lout: NDArray[np.float64] | float
    ) -> NDArray[np.float64]:
        return np.exp(self.log_tps(lin, lout))


def load_throughput_table(path: Path) -> list[ThroughputPoint]:
    """Rows of a throughput CSV; malformed files and fields are errors naming file, row, field."""
    source = str(path)
    try:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
            if reader.fieldnames is None:
                raise ConfigError("throughput table is empty", file=source)
            if missing:
                raise ConfigError(f"missing column(s) {', '.join(missing)}", file=source)
            named = _GPU_X.search(path.stem)
            gpu = known_gpu(named[1]) if named else None
            points = [
                _point(row, source, number, gpu) for number, row in enumerate(reader, start=2)
            ]
    except UnicodeDecodeError:
        raise ConfigError("not a text CSV file (cannot decode as UTF-8)", file=source) from None
    except OSError as error:
        raise ConfigError(f"cannot read throughput table: {error.strerror}", file=source) from None
    if not points:
        raise ConfigError("throughput table has no rows", file=source)
    return points


def _point(row: dict[str, str], source: str, line: int, gpu: str | None) -> ThroughputPoint:
    def number(field: str) -> float:
        try:
            value = float(row[field])
        except (TypeError, ValueError):
            raise ConfigError(
                f"line {line}: {row[field]!r} is not a number", file=source, field=field
            ) from None
        if not (value > 0 and math.isfinite(value)):
            raise ConfigError(f"line {line}: must be positive", file=source, field=field)
        return value

    model = (row["model"] or "").strip()
    if not model:
        raise ConfigError(f"line {line}: empty model", file=source, field="model")
    rate_text = (row.get("rate") or "").strip().lower()
    try:
        rate = RateBasis(rate_text) if rate_text else DEFAULT_RATE
    except ValueError:
        raise ConfigError(
            f"line {line}: expected output or total, got {row['rate']!r}", file=source, field="rate"
        ) from None
    return ThroughputPoint(
        model=model,
        tp=_whole(number("tp"), source, line),
        quant=row["quant"] or "",
        tps=number("tps"),
        lin=number("lin"),
        lout=number("lout"),
        source=row["source"] or "",
        rate=rate,
        gpu=canonical_gpu((row.get("gpu") or "").strip() or gpu),
    )


def _whole(value: float, source: str, line: int) -> int:
    """A GPU count must be a whole number; 8.5 GPUs is a typo, not 8."""
    if value != int(value) or value < 1:
        raise ConfigError(
            f"line {line}: tp must be a whole number >= 1, got {value:g}", file=source, field="tp"
        )
    return int(value)


def points_from_results(results: Iterable[ServingResult]) -> list[ThroughputPoint]:
    """Saturated *output*-rate points from ingested or measured results.

    Output rates are used because every source has them (InferenceX, bench JSON, ML.ENERGY,
    throughput tables) and the estimator charges output tokens against them. A benchmark sweeps
    concurrency at each (ISL, OSL); the surface wants the node's saturated rate, so of results with
    a concurrency the highest output tok/s per (model, node size, lengths) is kept; rows without
    one (throughput tables) are saturated figures already and all kept. A model measured on
    several deployments becomes one surface per (GPU, GPU count), e.g. 'model (8×H200)'.
    Results without an output rate or lengths are skipped: they say nothing about the surface.
    """
    best: dict[tuple[str, str | None, int, float, float] | int, ThroughputPoint] = {}
    for index, result in enumerate(results):
        output = result.throughput.output_tok_s
        lengths = result.workload.benchmarked_lengths()
        ident = result.identity
        gpus = ident.num_gpus or ident.tp
        if not output or lengths is None or gpus is None or min(lengths) <= 0:
            continue
        swept = result.workload.concurrency is not None  # table rows are already saturated
        key = (ident.model, ident.gpu, gpus, lengths[0], lengths[1]) if swept else index
        if key not in best or output > best[key].tps:
            best[key] = ThroughputPoint(
                model=ident.model,
                tp=gpus,
                quant=ident.precision or "",
                tps=output,
                lin=lengths[0],
                lout=lengths[1],
                source=result.provenance.source,
                rate=RateBasis.OUTPUT,
                gpu=ident.gpu,
            )
    return split_by_deployment(list(best.values()))


def split_by_deployment(points: list[ThroughputPoint]) -> list[ThroughputPoint]:
    """Rename points so each surface covers one (model, GPU, GPU count): a fit must not mix them.

    A model seen on one deployment keeps its name; otherwise 'model (8×H200)', or
    'model (8 GPUs)' when the GPU model is unknown.
    """
    deployments: dict[str, set[tuple[str | None, int]]] = {}
    for point in points:
        deployments.setdefault(point.model, set()).add((point.gpu, point.tp))
    return [
        replace(point, model=f"{point.model} ({deployment_label(point.gpu, point.tp)})")
        if len(deployments[point.model]) > 1
        else point
        for point in points
    ]


def deployment_label(gpu: str | None, gpus: int) -> str:
    return f"{gpus}×{gpu}" if gpu else f"{gpus} GPUs"


def why_no_points(results: list[ServingResult]) -> str:
    """Why ``points_from_results`` kept nothing: the user can only fix what is named."""
    if not results:
        return "no results found"
    missing = {"an output tok/s": 0, "lengths": 0, "a GPU count": 0}
    for result in results:
        missing["an output tok/s"] += not result.throughput.output_tok_s
        missing["lengths"] += result.workload.benchmarked_lengths() is None
        missing["a GPU count"] += (result.identity.num_gpus or result.identity.tp) is None
    lacking = ", ".join(f"{count} without {what}" for what, count in missing.items() if count)
    only_gpus = missing["a GPU count"] and not missing["an output tok/s"] + missing["lengths"]
    hint = " (name it in the file name, e.g. tp8)" if only_gpus else ""
    return f"none of {len(results)} result(s) can be fitted: {lacking}{hint}"


def fit_surfaces(points: Iterable[ThroughputPoint]) -> dict[str, SurfaceFit]:
    """One fit per model, in the order models first appear."""
    by_model: dict[str, list[ThroughputPoint]] = {}
    for point in points:
        by_model.setdefault(point.model, []).append(point)
    return {model: fit_model(model, rows) for model, rows in by_model.items()}


def fit_model(model: str, rows: list[ThroughputPoint]) -> SurfaceFit:
    """Least-squares fit of one model's points, reduced when the design is rank-deficient."""
    gpu_counts = {row.tp for row in rows}
    if len(gpu_counts) > 1:
        raise ConfigError(
            f"model {model!r} has rows for nodes of {sorted(gpu_counts)} GPUs; "
            "use one node size per model",
            field="tp",
        )
    rates = {row.rate for row in rows}
    if len(rates) > 1:
        raise ConfigError(
            f"model {model!r} mixes output and total tok/s rows; one rate basis per model",
            field="rate",
        )
    gpu_models = {row.gpu for row in rows if row.gpu}
    if len(gpu_models) > 1:
        raise ConfigError(
            f"model {model!r} has rows for GPUs {sorted(gpu_models)}; one GPU model per model",
            field="gpu",
        )
    lin = np.log([row.lin for row in rows])
    lout = np.log([row.lout for row in rows])
    y = np.log([row.tps for row in rows])
    ones = np.ones_like(y)
    candidates = {
        FitKind.FULL: np.column_stack([ones, lin, lout]),
        FitKind.INPUT_ONLY: np.column_stack([ones, lin]),
        FitKind.OUTPUT_ONLY: np.column_stack([ones, lout]),
        FitKind.CONSTANT: ones[:, None],
    }
    kind, coef, r2 = _choose(candidates, y)
    b0, b1, b2 = _expand(kind, coef)
    dof = len(rows) - candidates[kind].shape[1]
    residual = y - candidates[kind] @ coef
    sigma = math.sqrt(float(residual @ residual) / dof) if dof > 0 else None
    warning = None
    if kind is not FitKind.FULL:
        warning = (
            f"{model}: {len(rows)} point(s) cannot identify log TPS = b0 + b1·log L_in + "
            f"b2·log L_out; using the {kind.value} fit"
        )
    return SurfaceFit(
        model=model,
        kind=kind,
        b0=b0,
        b1=b1,
        b2=b2,
        r2=r2,
        n_points=len(rows),
        cap_tps=max(row.tps for row in rows),
        gpus=gpu_counts.pop(),
        lin_range=(min(row.lin for row in rows), max(row.lin for row in rows)),
        lout_range=(min(row.lout for row in rows), max(row.lout for row in rows)),
        warning=warning,
        rate=rates.pop(),
        gpu=gpu_models.pop() if gpu_models else None,
        noise_sigma=sigma,
    )


def _choose(
    candidates: dict[FitKind, NDArray[np.float64]], y: NDArray[np.float64]
) -> tuple[FitKind, NDArray[np.float64], float | None]:
    """The full fit if identifiable; else the best identifiable one-slope fit; else a constant.

    Between one-slope fits the higher R² wins; on a tie (e.g. two points, both exact) the smaller
    |slope| wins, the more conservative extrapolation.
    """
    fitted: dict[FitKind, tuple[NDArray[np.float64], float | None]] = {}
    for kind, design in candidates.items():
        if np.linalg.matrix_rank(design) == design.shape[1]:
            coef = np.asarray(np.linalg.lstsq(design, y, rcond=None)[0], dtype=np.float64)
            fitted[kind] = (coef, _r2(design @ coef, y))
    if FitKind.FULL in fitted:
        return FitKind.FULL, *fitted[FitKind.FULL]
    slopes = [k for k in (FitKind.INPUT_ONLY, FitKind.OUTPUT_ONLY) if k in fitted]
    if slopes:
        best = min(slopes, key=lambda k: (-round(fitted[k][1] or 0.0, 12), abs(fitted[k][0][1])))
        return best, *fitted[best]
    return FitKind.CONSTANT, *fitted[FitKind.CONSTANT]


def _r2(predicted: NDArray[np.float64], y: NDArray[np.float64]) -> float | None:
    total = float(np.sum((y - y.mean()) ** 2))
    if total == 0.0:
        return None
    return 1.0 - float(np.sum((y - predicted) ** 2)) / total


def _expand(kind: FitKind, coef: NDArray[np.float64]) -> tuple[float, float, float]:
    values = [float(c) for c in coef]
    if kind is FitKind.FULL:
        return values[0], values[1], values[2]
    if kind is FitKind.INPUT_ONLY:
        return values[0], values[1], 0.0
    if kind is FitKind.OUTPUT_ONLY:
        return values[0], 0.0, values[1]
    return values[0], 0.0, 0.0


def select(fits: dict[str, SurfaceFit], names: list[str], source: str) -> list[SurfaceFit]:
    """The fits of the named models (case and punctuation ignored); all when none is named."""
    if not names:
        return list(fits.values())
    return [
        fits[match_name(name, fits, what="model", field="models", where=f" in {Path(source).name}")]
        for name in names
    ]
