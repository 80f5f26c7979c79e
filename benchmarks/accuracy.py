"""Accuracy of the estimator against ML.ENERGY v3 measurements (issue 10, item 7).

1. **Leave-one-out** of the calibrated surfaces (estimate/calibrate.py): for every (model, GPU)
   whose deployment has at least ``--min-configs`` configurations, each configuration is held
   out, its deployment's surface is fitted on the rest, and its J/output-token is predicted at its
   batch and mean output length. Median and P90 absolute relative error, overall and per
   (model, GPU). Two groupings: per deployment (model, GPU, GPU count) over all tasks — the
   surfaces `estimate --table` builds — and per deployment and task.
2. **Estimator vs measured**: the default table (packaged 8×H100 FP8 TensorRT-LLM), accelerator
   boundary, catalog TDP × the table's GPU count, u = 1, L_in = 500, L_out = the measured mean
   output length; against ML.ENERGY's largest-batch configuration (the saturated point, like
   the table) for every model present in both. The ratio splits exactly into
   power per GPU × GPU count × throughput (measured ÷ estimated).

    .venv/bin/python benchmarks/accuracy.py [--data ../shared/data] [--min-configs 5]
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict
from pathlib import Path

import numpy as np

from tokenergy import catalog
from tokenergy.estimate import EstimateParams, run_estimate
from tokenergy.estimate.calibrate import CalibrationPoint, calibration_points, fit_calibrated
from tokenergy.estimate.distributions import Point
from tokenergy.estimate.montecarlo import load_fits
from tokenergy.ingest import load_results
from tokenergy.units import Boundary

TASKS = "mlenergy/leaderboard_v3/tasks"
# table model → ML.ENERGY model ids of the same weights (DeepSeek-V3.1 shares R1's architecture)
SAME_MODEL = {
    "Llama 3.1 405B": (
        "meta-llama/Llama-3.1-405B-Instruct-FP8",
        "meta-llama/Llama-3.1-405B-Instruct",
    ),
    "Llama 3.1 70B": ("meta-llama/Llama-3.1-70B-Instruct",),
    "DeepSeek-R1": ("deepseek-ai/DeepSeek-R1-0528", "deepseek-ai/DeepSeek-V3.1"),
}


def loo_errors(groups: dict[tuple[object, ...], list[CalibrationPoint]]) -> dict[str, list[float]]:
    """|predicted/measured − 1| of J/output-token per held-out point, keyed 'model on GPU'."""
    errors: dict[str, list[float]] = defaultdict(list)
    for key, points in groups.items():
        for index, held in enumerate(points):
            rest = points[:index] + points[index + 1 :]
            surface = fit_calibrated(str(key[0]), rest)
            predicted = surface.predict(lout=held.lout, batch=held.batch, lin=held.lin)
            errors[f"{held.model} on {held.gpu}"].append(
                abs(predicted.j_per_output_token / held.j_per_output_token - 1)
            )
    return errors


def summarise(name: str, errors: dict[str, list[float]], groups: int) -> None:
    pooled = [e for values in errors.values() for e in values]
    print(
        f"{name}: {len(errors)} (model, GPU), {groups} surfaces, {len(pooled)} held-out configs: "
        f"median |error| {statistics.median(pooled):.1%}, P90 {np.percentile(pooled, 90):.1%}"
    )


def leave_one_out(points: list[CalibrationPoint], min_configs: int) -> None:
    by_deployment: dict[tuple[object, ...], list[CalibrationPoint]] = defaultdict(list)
    for point in points:
        by_deployment[(point.model, point.gpu, point.gpus)].append(point)
    by_task: dict[tuple[object, ...], list[CalibrationPoint]] = defaultdict(list)
    for point in points:
        by_task[(point.model, point.gpu, point.gpus, Path(point.source).stem)].append(point)
    print("1. Leave-one-out, J per output token (ML.ENERGY v3, all LLM tasks)")
    for name, groups in (("per deployment", by_deployment), ("per deployment and task", by_task)):
        kept = {k: v for k, v in groups.items() if len(v) >= min_configs}
        errors = loo_errors(kept)
        summarise(f"   {name}", errors, len(kept))
        if name == "per deployment":
            worst = sorted(errors.items(), key=lambda item: -statistics.median(item[1]))[:5]
            for label, values in worst:
                print(
                    f"      worst: {label}: median {statistics.median(values):.1%} "
                    f"over {len(values)}"
                )


def estimator_vs_measured(points: list[CalibrationPoint]) -> None:
    print("\n2. Estimator (default table, accelerator, TDP, u = 1, L_in 500) vs measured")
    table = str(catalog.catalog_path(catalog.DEFAULT_THROUGHPUT_TABLE))
    fits = {fit.model: fit for fit in load_fits(table, [])}
    header = f"   {'table model':<15} {'measured (ML.ENERGY, largest batch)':<54} {'L_out':>6}"
    print(header + f" {'est Wh':>8} {'meas Wh':>8} {'ratio':>6}  = power × GPUs × throughput")
    for table_model, measured_ids in SAME_MODEL.items():
        fit = fits[table_model]
        tdp_w = catalog.tdp_w(fit.gpu or "H100")
        deployments: dict[tuple[object, ...], list[CalibrationPoint]] = defaultdict(list)
        for point in points:
            if point.model in measured_ids:
                deployments[(point.model, point.gpu, point.gpus, Path(point.source).stem)].append(
                    point
                )
        for (model, gpu, gpus, task), group in sorted(deployments.items(), key=str):
            top = max(group, key=lambda p: p.batch)
            params = EstimateParams(
                lin=Point(value=500.0),
                lout=Point(value=top.lout),
                util=Point(value=1.0),
                boundary=Boundary.ACCELERATOR,
                samples=1,
            )
            estimate = run_estimate(params, fits=[fit]).models[0].baseline.mean_wh
            measured = top.j_per_output_token * top.lout / 3600
            tps_est = float(fit.tps(500.0, top.lout))
            power = tdp_w / (top.power_w / top.gpus)
            count = fit.gpus / top.gpus
            speed = top.output_tok_s / tps_est
            label = f"{model.split('/')[1]} {gpus}×{gpu} {task} B={top.batch:g}"
            print(
                f"   {table_model:<15} {label:<54} {top.lout:6.0f} {estimate:8.4f} "
                f"{measured:8.4f} {estimate / measured:5.2f}×  = {power:.2f} × {count:.2f} × "
                f"{speed:.2f}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    here = Path(__file__).resolve().parent.parent
    parser.add_argument("--data", type=Path, default=here.parent / "shared" / "data")
    parser.add_argument("--min-configs", type=int, default=5)
    args = parser.parse_args()
    points = calibration_points(load_results([args.data / TASKS]).results)
    leave_one_out(points, args.min_configs)
    estimator_vs_measured(points)


if __name__ == "__main__":
    main()
