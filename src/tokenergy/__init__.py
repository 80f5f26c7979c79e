"""tokenergy: how much energy does serving an LLM query take, and why.

``import tokenergy as t`` gives the public API below (docs/api.md). Names are imported on first
use (PEP 562 ``__getattr__``), so ``import tokenergy`` stays cheap: numpy, DuckDB, aiohttp and
matplotlib load only when a function needs them. Everything not in ``__all__`` is private by
convention.
"""

from __future__ import annotations

import sys
from importlib import import_module
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tokenergy._version import __version__

# public name → module that defines it
_EXPORTS: dict[str, str] = {
    # convert
    "convert": "tokenergy.api",
    "Conversion": "tokenergy.calculator",
    "ThroughputKind": "tokenergy.calculator",
    "grid_of": "tokenergy.api",
    # carbon and water over any energy figure
    "footprint": "tokenergy.footprint",
    "footprint_figures": "tokenergy.footprint",
    "Footprint": "tokenergy.footprint",
    "Grid": "tokenergy.footprint",
    # ingest and analyse
    "load_sources": "tokenergy.api",
    "ingest_options": "tokenergy.api",
    "rows": "tokenergy.api",
    "frontier": "tokenergy.api",
    "best_under": "tokenergy.api",
    "BestUnder": "tokenergy.api",
    "compare": "tokenergy.api",
    "Comparison": "tokenergy.api",
    "to_pandas": "tokenergy.api",
    "to_arrow": "tokenergy.api",
    "AnalysisRow": "tokenergy.analyze.table",
    "reference_data": "tokenergy.api",
    "IngestOptions": "tokenergy.ingest.options",
    # reconcile measured, converted and estimated figures
    "reconcile": "tokenergy.analyze.reconcile",
    "reconcilable_models": "tokenergy.analyze.reconcile",
    "Reconciliation": "tokenergy.analyze.reconcile",
    # report
    "make_report": "tokenergy.report.build",
    "Report": "tokenergy.report.model",
    # estimate
    "estimate": "tokenergy.api",
    "fleet": "tokenergy.api",
    "EstimateParams": "tokenergy.estimate.params",
    "FleetParams": "tokenergy.estimate.params",
    "EstimateResult": "tokenergy.estimate.montecarlo",
    "FleetResult": "tokenergy.estimate.fleet",
    "Progress": "tokenergy.progress",
    "sensitivity": "tokenergy.estimate.sensitivity",
    "SensitivityResult": "tokenergy.estimate.sensitivity",
    "Trim": "tokenergy.estimate.montecarlo",
    # measure
    "bench": "tokenergy.measure.bench",
    "bench_async": "tokenergy.measure.bench",
    "BenchHooks": "tokenergy.measure.bench",
    "Meters": "tokenergy.measure.bench",
    "PointResult": "tokenergy.measure.bench",
    "MeterSet": "tokenergy.meters.meterset",
    "Api": "tokenergy.load.client",
    "simulator": "tokenergy.sim.server",
    # sweep: one server per configuration of a grid
    "sweep": "tokenergy.sweep.driver",
    "SweepSpec": "tokenergy.sweep.spec",
    "SweepResult": "tokenergy.sweep.driver",
    "SweepHooks": "tokenergy.sweep.hooks",
    # records, units, store, errors
    "ServingResult": "tokenergy.records",
    "EnergyMeasurement": "tokenergy.energy",
    "Boundary": "tokenergy.units",
    "Basis": "tokenergy.units",
    "Store": "tokenergy.store",
    "TokenergyError": "tokenergy.errors",
}

__all__ = [
    "AnalysisRow",
    "Api",
    "Basis",
    "BenchHooks",
    "BestUnder",
    "Boundary",
    "Comparison",
    "Conversion",
    "EnergyMeasurement",
    "EstimateParams",
    "EstimateResult",
    "FleetParams",
    "FleetResult",
    "Footprint",
    "Grid",
    "IngestOptions",
    "MeterSet",
    "Meters",
    "PointResult",
    "Reconciliation",
    "Report",
    "SensitivityResult",
    "ServingResult",
    "Store",
    "SweepHooks",
    "SweepResult",
    "SweepSpec",
    "ThroughputKind",
    "TokenergyError",
    "Trim",
    "__version__",
    "bench",
    "bench_async",
    "best_under",
    "compare",
    "convert",
    "estimate",
    "fleet",
    "footprint",
    "footprint_figures",
    "frontier",
    "grid_of",
    "ingest_options",
    "load_sources",
    "make_report",
    "reconcilable_models",
    "reconcile",
    "reference_data",
    "rows",
    "sensitivity",
    "simulator",
    "sweep",
    "to_arrow",
    "to_pandas",
]


class _Package(ModuleType):
    """The package object: a public function keeps its name when a subpackage of the same name
    (``tokenergy.estimate``) is imported, which would otherwise rebind the attribute. The
    subpackage stays importable by its dotted name (``from tokenergy.estimate.params import …``).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _EXPORTS and isinstance(value, ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tokenergy' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:  # for type checkers and IDEs: the same names, imported eagerly
    from tokenergy.analyze.reconcile import Reconciliation, reconcilable_models, reconcile
    from tokenergy.analyze.table import AnalysisRow
    from tokenergy.api import (
        BestUnder,
        Comparison,
        best_under,
        compare,
        convert,
        estimate,
        fleet,
        frontier,
        grid_of,
        ingest_options,
        load_sources,
        reference_data,
        rows,
        to_arrow,
        to_pandas,
    )
    from tokenergy.calculator import Conversion, ThroughputKind
    from tokenergy.energy import EnergyMeasurement
    from tokenergy.errors import TokenergyError
    from tokenergy.estimate.fleet import FleetResult
    from tokenergy.estimate.montecarlo import EstimateResult, Trim
    from tokenergy.estimate.params import EstimateParams, FleetParams
    from tokenergy.estimate.sensitivity import SensitivityResult, sensitivity
    from tokenergy.footprint import Footprint, Grid, footprint, footprint_figures
    from tokenergy.ingest.options import IngestOptions
    from tokenergy.load.client import Api
    from tokenergy.measure.bench import BenchHooks, Meters, PointResult, bench, bench_async
    from tokenergy.meters.meterset import MeterSet
    from tokenergy.records import ServingResult
    from tokenergy.sim.server import simulator
    from tokenergy.store import Store
    from tokenergy.sweep.driver import SweepResult, sweep
    from tokenergy.sweep.hooks import SweepHooks
    from tokenergy.sweep.spec import SweepSpec
    from tokenergy.units import Basis, Boundary
