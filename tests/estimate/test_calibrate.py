"""Surfaces calibrated on measurements (ML.ENERGY v3, metered runs): fit, predict, estimate."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tokenergy.estimate import EstimateParams, run_estimate
from tokenergy.estimate.calibrate import (
    CalibrationPoint,
    calibrated_surfaces,
    fit_calibrated,
)
from tokenergy.estimate.distributions import Point
from tokenergy.estimate.montecarlo import load_fits
from tokenergy.ingest import load_results
from tokenergy.units import Basis, Boundary

TASK = "mlenergy/leaderboard_v3/tasks/lm-arena-chat.json"
LLAMA_405B = "meta-llama/Llama-3.1-405B-Instruct-FP8 (8×H100)"


def exact_points() -> list[CalibrationPoint]:
    """ln TPS = 3 + 0.9 ln B − 0.04 ln²B − 0.1 ln L; ln W/GPU = 5.5 + 0.1 ln B + 0.05 ln L."""
    points = []
    for batch in (8, 16, 32, 64, 128, 256):
        for lout in (200, 800):
            lb, ll = math.log(batch), math.log(lout)
            tps = math.exp(3 + 0.9 * lb - 0.04 * lb * lb - 0.1 * ll)
            per_gpu = math.exp(5.5 + 0.1 * lb + 0.05 * ll)
            points.append(
                CalibrationPoint("m", "H100", 4, batch, lout, None, tps, 4 * per_gpu, "s")
            )
    return points


def test_fit_recovers_exact_coefficients_and_predicts_j_per_output_token() -> None:
    surface = fit_calibrated("m", exact_points())
    assert surface.terms == ("ln_batch", "ln_batch_sq", "ln_lout")
    assert surface.tps_coef == pytest.approx((3, 0.9, -0.04, -0.1), abs=1e-9)
    assert surface.power_coef == pytest.approx((5.5, 0.1, 0.0, 0.05), abs=1e-9)
    assert surface.sigma == pytest.approx(0.0, abs=1e-9)
    lb, ll = math.log(100), math.log(500)
    tps = math.exp(3 + 0.9 * lb - 0.04 * lb * lb - 0.1 * ll)
    per_gpu = math.exp(5.5 + 0.1 * lb + 0.05 * ll)
    prediction = surface.predict(lout=500, batch=100)
    assert prediction.j_per_output_token == pytest.approx(4 * per_gpu / tps, rel=1e-9)
    assert prediction.wh_per_query == pytest.approx(4 * per_gpu / tps * 500 / 3600, rel=1e-9)
    assert prediction.at_boundary(Boundary.FACILITY, host_overhead=0.25, pue=1.2) == (
        pytest.approx(4 * per_gpu / tps * 1.25 * 1.2, rel=1e-9)
    )


def test_estimator_view_charges_exactly_the_predicted_energy(tmp_path: Path) -> None:
    """The SurfaceFit at one batch: GPUs · P(L_ref) · L / TPS_eff = GPUs · P(L) · L / TPS(L)."""
    surface = fit_calibrated("m", exact_points())
    fit = surface.surface_fit(batch=64)
    assert (fit.power_per_gpu_w is not None, fit.batch, fit.gpus) == (True, 64, 4)
    params = EstimateParams(
        lin=Point(value=1.0),
        lout=Point(value=300.0),
        boundary=Boundary.ACCELERATOR,
        samples=10,
    )
    got = run_estimate(params, fits=[fit]).models[0]
    assert got.node.basis is Basis.MEASURED and not got.node.applies_util
    expected = surface.predict(lout=300, batch=64).wh_per_query
    assert got.baseline.mean_wh == pytest.approx(expected, rel=1e-9)


def test_mlenergy_405b_fp8_h100_calibrated_surface(shared_data: Path) -> None:
    """8 configurations (batch 8–256); at batch 256 and its mean output length 367.2 tokens the
    surface gives J/output-token within 3 % of the measured 2.063 (0.2104 Wh/query)."""
    results = load_results([shared_data / TASK]).results
    surfaces = calibrated_surfaces(results)
    surface = surfaces[LLAMA_405B]
    assert (surface.gpu, surface.gpus, surface.n_points) == ("H100", 8, 8)
    (row,) = [
        r
        for r in results
        if r.identity.model == "meta-llama/Llama-3.1-405B-Instruct-FP8"
        and r.identity.gpu == "H100"
        and r.workload.concurrency == 256
    ]
    assert row.workload.mean_output_len is not None and row.j_per_output_token is not None
    prediction = surface.predict(lout=row.workload.mean_output_len, batch=256)
    assert prediction.j_per_output_token == pytest.approx(row.j_per_output_token, rel=0.03)
    assert surface.sigma is not None and 0 < surface.sigma < 0.2


def test_load_fits_uses_measurements_and_fit_noise_widens(shared_data: Path) -> None:
    (fit,) = load_fits(str(shared_data / TASK), [LLAMA_405B], batch=128)
    assert fit.batch == 128 and fit.power_per_gpu_w is not None
    base = {
        "lin": Point(value=500.0),
        "lout": Point(value=360.0),
        "boundary": Boundary.ACCELERATOR,
        "samples": 20_000,
    }
    plain = run_estimate(EstimateParams(**base), fits=[fit]).models[0].baseline  # type: ignore[arg-type]
    noisy = run_estimate(EstimateParams(**base, fit_noise=True), fits=[fit])  # type: ignore[arg-type]
    spread = noisy.models[0].baseline
    assert plain.quantile_wh(0.05) == pytest.approx(plain.quantile_wh(0.95), rel=1e-3)
    sigma = fit.noise_sigma or 0.0
    assert sigma > 0.005
    ratio = spread.quantile_wh(0.95) / spread.quantile_wh(0.05)
    assert ratio == pytest.approx(math.exp(2 * 1.6449 * sigma), rel=0.01)  # ln E ± 1.645 σ
    assert spread.mean_wh == pytest.approx(plain.mean_wh * np.exp(sigma**2 / 2), rel=0.02)


def _metered_run(concurrency: int, lin: float, lout: float, tps: float, power_w: float) -> object:
    """A ServingResult as a metered `tokenergy bench` run records it (energy over a window)."""
    from tokenergy.records import (
        EnergyMeasurement,
        Identity,
        Provenance,
        ServingResult,
        Throughput,
        Workload,
    )

    return ServingResult(
        identity=Identity(model="sim", gpu="H100", num_gpus=2),
        workload=Workload(
            isl=int(lin),
            osl=int(lout),
            mean_input_len=lin,
            mean_output_len=lout,
            concurrency=concurrency,
        ),
        throughput=Throughput(input_tok_s=tps * lin / lout, output_tok_s=tps),
        duration_s=100.0,
        energy=EnergyMeasurement(
            energy_j=power_w * 100.0,
            boundary=Boundary.ACCELERATOR,
            basis=Basis.MEASURED,
            method="nvml-counter",
        ),
        provenance=Provenance(source="run", source_format="tokenergy"),
    )


def test_metered_runs_calibrate_with_input_lengths() -> None:
    """Runs at 3 concurrencies × 2 input × 2 output lengths: ln L_in enters when it varies."""
    runs = []
    for conc in (4, 16, 64):
        for lin in (256.0, 2048.0):
            for lout in (128.0, 1024.0):
                tps = 50.0 * conc**0.8 * lin**-0.2 * lout**0.1
                runs.append(_metered_run(conc, lin, lout, tps, 1000.0 + 10 * conc))
    (surface,) = calibrated_surfaces(runs).values()  # type: ignore[arg-type]
    assert "ln_lin" in surface.terms and surface.gpus == 2
    prediction = surface.predict(lout=1024.0, batch=16, lin=2048.0)
    expected = (1000.0 + 160) / (50.0 * 16**0.8 * 2048**-0.2 * 1024**0.1)
    assert prediction.j_per_output_token == pytest.approx(expected, rel=0.02)
