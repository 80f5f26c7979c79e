"""The functions behind ``import tokenergy as t``: numbers or text with units in, typed results out.

Each wraps the library's own pieces with the defaults the CLI uses, so a notebook and a command
give the same answer. Errors are :class:`tokenergy.errors.TokenergyError` naming the parameter.
The analyses, the estimator and the ingest adapters are imported inside the functions that use
them, so ``tokenergy convert`` (which imports this module) starts without numpy or aiohttp.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tokenergy import units
from tokenergy.calculator import Conversion, ThroughputKind
from tokenergy.calculator import convert as convert_powers
from tokenergy.catalog import catalog_path
from tokenergy.errors import ConfigError, TokenergyError
from tokenergy.footprint import Grid, region_grid, stated_grid
from tokenergy.power import power_spec, resolve
from tokenergy.progress import ProgressCallback

if TYPE_CHECKING:
    from tokenergy.analyze.compare import Case, Summary
    from tokenergy.analyze.frontier import GroupFrontier
    from tokenergy.analyze.slo import Bound, Choice, Constraint
    from tokenergy.analyze.table import AnalysisRow, Metric
    from tokenergy.estimate.fleet import FleetResult
    from tokenergy.estimate.montecarlo import EstimateResult
    from tokenergy.estimate.params import EstimateParams, FleetParams
    from tokenergy.ingest import IngestOptions
    from tokenergy.records import ServingResult

Data = Iterable["ServingResult | AnalysisRow"]


def grid_of(
    grid: float | str | None = None, region: str | None = None, wue: float | str | None = None
) -> Grid | None:
    """The carbon/water layer: a stated intensity (gCO2e/kWh) or a country's, plus on-site WUE."""
    onsite = None if wue is None else units.quantity("wue", wue, units.parse_l_per_kwh)
    if grid is not None and region is not None:
        raise ConfigError("give grid or region, not both", field="grid")
    if grid is not None:
        return stated_grid(
            units.quantity("grid", grid, units.parse_g_per_kwh), wue_onsite_l_per_kwh=onsite
        )
    if region is not None:
        try:
            return region_grid(region, wue_onsite_l_per_kwh=onsite)
        except TokenergyError as error:
            raise ConfigError(error.message, field="region") from None
    if onsite is not None:
        raise ConfigError("a WUE needs a grid or a region", field="wue")
    return None


def convert(
    throughput_tok_s: float | str,
    power: float | str | Sequence[float | str] | None = None,
    *,
    kind: ThroughputKind | str = ThroughputKind.TOTAL,
    gpu: str | None = None,
    gpus: int | None = None,
    basis: str | None = None,
    boundary: str | None = None,
    host_overhead: float | str | None = None,
    pue: float | str | None = None,
    isl: int | None = None,
    osl: int | None = None,
    queries: float | None = None,
    grid: float | str | None = None,
    region: str | None = None,
    wue: float | str | None = None,
) -> list[Conversion]:
    """Throughput + power → J/token, kWh/Mtok, Wh/query: one Conversion per power bracket.

    ``power`` is the whole deployment's (``"1.5kW"``, ``700``, or a list of brackets); without it
    give ``basis="tdp"`` or ``"allin"`` with ``gpu`` and ``gpus`` (catalog figures).
    """
    rate_tok_s = units.quantity("throughput_tok_s", throughput_tok_s, units.parse_rate_tok_s)
    brackets: list[float | str | None]
    if power is None:
        brackets = [None]
    elif isinstance(power, str | int | float):
        brackets = [power]
    else:
        brackets = list(power)
    if gpus is None and gpu is not None and basis in ("tdp", "allin"):
        raise ConfigError(f"basis {basis} needs the GPU count: give gpus", field="gpus")
    measurements = [
        resolve(
            power_spec(
                power=bracket,
                basis=basis,
                boundary=boundary,
                host_overhead=host_overhead,
                pue=pue,
            ),
            gpu,
            gpus,
        )
        for bracket in brackets
    ]
    layer = grid_of(grid, region, wue)
    return convert_powers(rate_tok_s, ThroughputKind(kind), measurements, isl, osl, queries, layer)


def ingest_options(
    basis: str | None = None, power_per_gpu: float | str | None = None
) -> IngestOptions:
    """Power basis for foreign results that carry no energy (measured energy always wins)."""
    from tokenergy.ingest import IngestOptions

    if basis is None and power_per_gpu is None:
        return IngestOptions()
    return IngestOptions(power=power_spec(power_per_gpu=power_per_gpu, basis=basis))


REFERENCE_DATA = {"mlenergy": "reference/mlenergy_v3", "inferencex": "reference/inferencex"}


def reference_data(name: str = "mlenergy") -> Path:
    """Directory of a packaged reference snapshot: ``mlenergy`` (ML.ENERGY v3, measured) or
    ``inferencex`` (InferenceX sweeps, throughput only: give a power basis when loading)."""
    if name not in REFERENCE_DATA:
        raise ConfigError(f"unknown reference data {name!r}; use one of mlenergy, inferencex")
    return catalog_path(REFERENCE_DATA[name])


def load_sources(
    paths: Iterable[Path | str],
    *,
    basis: str | None = None,
    power_per_gpu: float | str | None = None,
    progress: ProgressCallback | None = None,
) -> list[ServingResult]:
    """Results of run directories, tokenergy JSON and foreign files (InferenceX, vllm bench …).

    ``basis`` (tdp|allin) or ``power_per_gpu`` states the power of results without energy;
    ``progress`` is told the files done of the total with the results so far.
    """
    from tokenergy.analyze.sources import load_sources as load_source_paths

    options = ingest_options(basis, power_per_gpu)
    return load_source_paths([Path(p) for p in paths], options, progress)


def rows(
    data: Data, where: Mapping[str, str] | None = None, include_invalid: bool = False
) -> list[AnalysisRow]:
    """Flat analysis rows (one vocabulary whatever the source), filtered by ``where``;
    results whose energy the meters marked invalid are left out unless ``include_invalid``."""
    from tokenergy.analyze.select import select_rows

    return select_rows(data, where, include_invalid).rows


def _groups(group_by: Sequence[str] | str) -> tuple[str, ...]:
    from tokenergy.analyze.table import check_columns

    names = group_by.split(",") if isinstance(group_by, str) else group_by
    return check_columns([n.strip() for n in names if n.strip()], "group_by")


def frontier(
    data: Data,
    x: str = "median_itl",
    y: str = "energy_per_token_j",
    group_by: Sequence[str] | str = ("model", "task", "gpu"),
    include_invalid: bool = False,
) -> list[GroupFrontier]:
    """Per group, the configurations not beaten on both latency (x) and energy (y); when the
    data mix bases or boundaries, each basis/boundary is a group of its own."""
    from tokenergy.analyze.frontier import frontiers
    from tokenergy.analyze.select import family_groups
    from tokenergy.analyze.table import metric

    selected = rows(data, include_invalid=include_invalid)
    groups = family_groups(selected, _groups(group_by))
    return frontiers(selected, metric(x, "x"), metric(y, "y"), groups)


@dataclass(frozen=True)
class BestUnder:
    """Per group, the least-energy configuration meeting the SLO (``choices``)."""

    choices: list[Choice]
    constraints: list[Constraint]
    energy: Metric
    group_by: tuple[str, ...]

    def to_dict(self) -> list[dict[str, Any]]:
        """One object per group, as ``tokenergy best --json`` prints."""
        from tokenergy.analyze.slo import choice_dict

        return [choice_dict(c, self.group_by, self.constraints, self.energy) for c in self.choices]


def best_under(
    data: Data,
    *,
    max_itl: Bound | None = None,
    max_tpot: Bound | None = None,
    max_ttft: Bound | None = None,
    min_intvty: Bound | None = None,
    stat: str = "median",
    energy: str = "energy_per_token_j",
    group_by: Sequence[str] | str = ("model", "task"),
    include_invalid: bool = False,
) -> BestUnder:
    """Least energy per group under a latency SLO, e.g. ``best_under(results, max_itl="50ms")``.

    Bounds are seconds or text with a unit; ``stat`` is the statistic they bound (median, p90).
    When the data mix bases or boundaries, each basis/boundary is a group of its own.
    """
    from tokenergy.analyze.select import family_groups
    from tokenergy.analyze.slo import best_under as best_rows
    from tokenergy.analyze.slo import slo_constraints
    from tokenergy.analyze.table import metric

    constraints = slo_constraints(
        max_itl=max_itl, max_tpot=max_tpot, max_ttft=max_ttft, min_intvty=min_intvty, stat=stat
    )
    energy_metric = metric(energy, "energy")
    selected = rows(data, include_invalid=include_invalid)
    groups = family_groups(selected, _groups(group_by))
    return BestUnder(
        best_rows(selected, constraints, energy_metric, groups), constraints, energy_metric, groups
    )


@dataclass(frozen=True)
class Comparison:
    """Best baseline vs best candidate per group and latency bound, and their summary."""

    by: str
    baseline: str
    candidate: str
    cases: list[Case]
    summary: Summary
    energy: Metric
    group_by: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """``{energy_metric, cases, summary}`` as ``tokenergy compare --json`` prints."""
        from tokenergy.analyze.compare import comparison_dict

        return comparison_dict(self.cases, self.summary, self.group_by, self.energy)


def compare(
    data: Data,
    *,
    by: str = "gpu",
    at_itl: Sequence[Bound] = (),
    at_tpot: Sequence[Bound] = (),
    stat: str = "median",
    baseline: str | None = None,
    candidate: str | None = None,
    energy: str = "energy_per_token_j",
    group_by: Sequence[str] | str = ("model", "task"),
    include_invalid: bool = False,
) -> Comparison:
    """Matched-latency comparison across ``by`` (e.g. H100 vs B200 at ITL ≤ 50 and 100 ms).

    With exactly two values of ``by`` in the data, baseline and candidate may be left out.
    When the data mix bases or boundaries, each basis/boundary is a group of its own.
    """
    from tokenergy.analyze.compare import compare as compare_rows
    from tokenergy.analyze.compare import pick_sides, summarize
    from tokenergy.analyze.select import FAMILY_COLUMNS, family_groups
    from tokenergy.analyze.slo import latency_bounds
    from tokenergy.analyze.table import check_columns, metric

    (by_column,) = check_columns([by], "by")
    groups = _groups(group_by)
    if by_column in groups:
        raise ConfigError(f"by {by_column} cannot also be a group_by column", field="group_by")
    if baseline is not None and candidate is not None and baseline.lower() == candidate.lower():
        raise ConfigError(
            f"baseline and candidate are both {baseline!r}; compare two different values",
            field="candidate",
        )
    constraints = latency_bounds(at_itl=at_itl, at_tpot=at_tpot, stat=stat)
    energy_metric = metric(energy, "energy")
    selected = rows(data, include_invalid=include_invalid)
    if by_column not in FAMILY_COLUMNS:  # comparing across bases or boundaries on purpose
        groups = family_groups(selected, groups)
    base, cand = pick_sides(selected, by_column, baseline, candidate)
    cases = compare_rows(selected, by_column, base, cand, constraints, energy_metric, groups)
    return Comparison(by_column, base, cand, cases, summarize(cases), energy_metric, groups)


def estimate(
    params: EstimateParams | None = None,
    /,
    *,
    progress: ProgressCallback | None = None,
    **fields: Any,
) -> EstimateResult:
    """Per-query energy distribution (Wh, facility boundary, modeled) by Monte Carlo.

    Give an :class:`EstimateParams` or its fields, e.g. ``estimate(models=["llama-3.1-70b"],
    samples=100_000)``. ``progress`` is called with the draws done of the total as blocks of
    draws finish (a :class:`tokenergy.progress.Progress`).
    """
    from tokenergy.estimate.montecarlo import run_estimate
    from tokenergy.estimate.params import EstimateParams

    chosen = params if params is not None else EstimateParams(**fields)
    return run_estimate(chosen, progress)


def fleet(
    params: FleetParams | None = None,
    /,
    *,
    progress: ProgressCallback | None = None,
    **fields: Any,
) -> FleetResult:
    """Daily fleet energy (GWh/day, fleet boundary, modeled): ``fleet(queries_per_day=1e9)``.

    ``progress`` is called with the per-query length draws done of the total, chunk by chunk.
    """
    from tokenergy.estimate.fleet import run_fleet
    from tokenergy.estimate.params import FleetParams

    chosen = params if params is not None else FleetParams(**fields)
    return run_fleet(chosen, progress=progress)


def _records(data: Iterable[Any]) -> list[dict[str, Any]]:
    from tokenergy.analyze.table import AnalysisRow, to_row
    from tokenergy.records import ServingResult

    items = list(data)
    records = []
    for item in items:
        if isinstance(item, ServingResult):
            item = to_row(item)
        if isinstance(item, AnalysisRow):
            records.append(item.as_dict())
        elif isinstance(item, Mapping):
            records.append(dict(item))
        elif hasattr(item, "to_dict"):
            records.append(item.to_dict())
        else:
            raise ConfigError(f"cannot make a row of {type(item).__name__}", field="data")
    return records


def to_pandas(data: Iterable[Any]) -> Any:
    """A pandas DataFrame of results, rows or dicts (pandas is optional: imported here)."""
    try:
        import pandas as pd
    except ImportError:
        raise ConfigError("pandas is not installed (pip install pandas)", field="data") from None
    return pd.DataFrame.from_records(_records(data))


def to_arrow(data: Iterable[Any]) -> Any:
    """A pyarrow Table of results, rows or dicts (columns in the rows' order)."""
    import pyarrow as pa

    return pa.Table.from_pylist(_records(data))
