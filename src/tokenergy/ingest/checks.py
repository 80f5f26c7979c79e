"""Sanity checks on ingested results, one small named function each (docs/methodology.md §5).

Each returns a :class:`Finding` (pass | warn | fail | skip). ``fail`` means a number derived from
the row would be wrong or undefined; ``warn`` means it needs care (and says why). Each takes the
result, the options and the result's benchmarked lengths (worked out once per row: they cost
~0.5 µs a call, and two checks and the analyst row need them).
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any

from tokenergy import catalog
from tokenergy.errors import CatalogError
from tokenergy.ingest.options import IngestOptions
from tokenergy.records import ServingResult

Lengths = tuple[float, float] | None  # Workload.benchmarked_lengths(): mean input, output

SUM_TOLERANCE = 0.005  # total = input + output, relative
RATIO_TOLERANCE = 0.03  # input/output rate ratio vs mean lengths, relative
LITTLE_HIGH = 1.10  # effective concurrency above the cap by more than this: rates are wrong
LITTLE_LOW = 0.80  # below this share of the cap: the load never saturated the cap
ITL_TPOT_RATIO = 1.5  # mean ITL this many times mean TPOT: chunks carry several tokens
# A power per GPU outside these multiples of the GPU's TDP is none one GPU draws while serving,
# at any boundary: the shared data's 1,760 measured rows span 0.24–1.30× TDP (ML.ENERGY's up
# to 0.99×, one AIPerf run 1.30×), and host overhead with a PUE of 2 makes ~3×. Beyond them: a
# W/kW slip (×1000) or a corrupt figure.
PLAUSIBLE_TDP_SHARE = (0.02, 10.0)


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


STATUS_TEXT = {status: status.value for status in Status}  # a dict lookup, not the enum descriptor
# Status.PASS is a metaclass __getattr__ hop on Python 3.11 (~75 ns, ~12 per row): the checks
# use these module names
PASS, WARN, FAIL, SKIP = Status.PASS, Status.WARN, Status.FAIL, Status.SKIP


# slots, not frozen: up to nine are made per row, and a frozen dataclass's __init__
# (object.__setattr__ per field) cost 3× as much
@dataclass(slots=True, eq=False)
class Finding:
    """One check's verdict. Its ``detail`` is ``text`` formatted with ``args`` (``str.format``)
    when read: CSV, Parquet and the table never show it. Without ``args``, ``text`` is the detail
    as written (braces and all). ``args`` are plain numbers and text (rows are spilled to disk
    with them). Equal by value, whichever of Finding and SharedFinding either is."""

    name: str
    status: Status
    text: str
    args: tuple[Any, ...] = ()

    @property
    def detail(self) -> str:
        return self.text.format(*self.args) if self.args else self.text

    def to_dict(self) -> dict[str, str]:
        """JSON-ready (``dataclasses.asdict`` deep-copies and cost 18 % of a large ingest; an
        enum's ``.value`` is a Python-level descriptor, the table lookup is not)."""
        return {"name": self.name, "status": STATUS_TEXT[self.status], "detail": self.detail}

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Finding):
            return NotImplemented
        mine = (self.name, self.status, self.text, self.args)
        return mine == (other.name, other.status, other.text, other.args)

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq is


class SharedFinding(Finding):
    """A verdict without numbers, made once at import and given to every row it applies to
    (making one costs ~0.13 µs, and about three a row are such verdicts). It refuses to be
    changed: a change would change every row's verdict, in this ingest and every later one."""

    __slots__ = ()

    def __init__(
        self, name: str, status: Status, text: str, args: tuple[Any, ...] = ()
    ) -> None:  # (``args`` for dataclasses.replace, whose copy is a SharedFinding too)
        for field, value in (("name", name), ("status", status), ("text", text), ("args", args)):
            object.__setattr__(self, field, value)

    def __setattr__(self, field: str, value: object) -> None:
        raise AttributeError(f"the shared {field} of a verdict cannot be changed: {self!r}")

    def __delattr__(self, field: str) -> None:
        raise AttributeError(f"the shared {field} of a verdict cannot be deleted: {self!r}")

    def __reduce__(self) -> tuple[type[SharedFinding], tuple[str, Status, str, tuple[Any, ...]]]:
        return SharedFinding, (self.name, self.status, self.text, self.args)

    def __copy__(self) -> SharedFinding:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> SharedFinding:
        return self


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-12)


_RATES_UNREPORTED = SharedFinding(
    "total_is_sum", SKIP, "input, output and total rates are not all reported"
)
_NO_TOKENS = SharedFinding("total_is_sum", SKIP, "no tokens were processed")


def total_is_sum(result: ServingResult, options: IngestOptions, lengths: Lengths) -> Finding:
    """The reported total rate equals input + output (catches mixed normalisations)."""
    name, tp = "total_is_sum", result.throughput
    input_tok_s, output_tok_s, reported = tp.input_tok_s, tp.output_tok_s, tp.reported_total_tok_s
    if input_tok_s is None or output_tok_s is None or reported is None:
        return _RATES_UNREPORTED
    total = input_tok_s + output_tok_s
    if total == 0 and reported == 0:
        return _NO_TOKENS
    off = _rel(total, reported)
    status = PASS if off <= SUM_TOLERANCE else FAIL
    return Finding(
        name,
        status,
        "input + output = {0:.6g} tok/s vs total {1:.6g} ({2:.2%} off)",
        (total, reported, off),
    )


_RATIO_UNKNOWN = SharedFinding(
    "length_ratio", SKIP, "input/output rates or benchmarked lengths unknown"
)


def length_ratio(result: ServingResult, options: IngestOptions, lengths: Lengths) -> Finding:
    """input/output rate ratio matches the mean lengths run (±3 %): rates and lengths agree."""
    name, tp = "length_ratio", result.throughput
    input_tok_s, output_tok_s = tp.input_tok_s, tp.output_tok_s
    if lengths is None or not input_tok_s or not output_tok_s or not lengths[1]:
        return _RATIO_UNKNOWN
    observed = input_tok_s / output_tok_s
    input_len, output_len = lengths
    expected = input_len / output_len
    off = _rel(observed, expected)
    status = PASS if off <= RATIO_TOLERANCE else WARN
    return Finding(
        name,
        status,
        "in/out rate ratio {0:.4g} vs benchmarked lengths {1:.6g}/{2:.6g} = {3:.4g} ({4:.1%} off)",
        (observed, input_len, output_len, expected, off),
    )


_NOT_DISAGGREGATED = SharedFinding(
    "disagg_identity", SKIP, "not a disaggregated row with per-GPU rates"
)


def disagg_identity(result: ServingResult, options: IngestOptions, lengths: Lengths) -> Finding:
    """P·in + D·out = (P+D)·total on the per-GPU values of disaggregated rows."""
    name, ident = "disagg_identity", result.identity
    p, d = ident.num_prefill_gpus, ident.num_decode_gpus  # both known: Identity.disaggregated
    per_gpu = result.extras.get("per_gpu_tok_s")
    if p is None or d is None or not isinstance(per_gpu, dict):
        return _NOT_DISAGGREGATED
    lhs = p * per_gpu["input"] + d * per_gpu["output"]
    rhs = (p + d) * per_gpu["total"]
    off = _rel(lhs, rhs)
    status = PASS if off <= SUM_TOLERANCE else FAIL
    return Finding(
        name,
        status,
        "P·in + D·out = {0:.6g} vs (P+D)·total = {1:.6g} (P={2}, D={3})",
        (lhs, rhs, p, d),
    )


# a littles_law finding's text by how the effective concurrency was found (whole texts, not
# joined per row)
_LITTLE_FROM_RATE = (
    "effective concurrency {0:.4g} ({3:.4g} req/s × {4:.4g} s) = {1:.0%} of nominal {2}"
)
_LITTLE_AS_REPORTED = (
    "effective concurrency {0:.4g} (achieved batch as reported) = {1:.0%} of nominal {2}"
)


_NO_CAP = SharedFinding("littles_law", SKIP, "no nominal concurrency")
_NO_RATE_OR_E2EL = SharedFinding("littles_law", SKIP, "request rate or mean E2EL unknown")


def littles_law(result: ServingResult, options: IngestOptions, lengths: Lengths) -> Finding:
    """(completed/T) × mean E2EL ≈ effective concurrency, compared with the nominal cap."""
    name, work = "littles_law", result.workload
    cap = work.concurrency
    if cap is None:
        return _NO_CAP
    e2el_s, throughput = result.latency.e2el_s, result.throughput
    e2el = e2el_s.mean if e2el_s else None
    rate = throughput.request_per_s
    if rate is None and lengths and lengths[1] and throughput.output_tok_s:
        rate = throughput.output_tok_s / lengths[1]
    values: tuple[float, ...] = ()
    if rate and e2el:
        effective, text, values = rate * e2el, _LITTLE_FROM_RATE, (rate, e2el)
    elif work.achieved_concurrency is not None:
        effective, text = work.achieved_concurrency, _LITTLE_AS_REPORTED
    else:
        return _NO_RATE_OR_E2EL
    share = effective / cap
    args = (effective, share, cap, *values)
    if share > LITTLE_HIGH:
        return Finding(name, FAIL, text + ": more in flight than allowed; rates wrong?", args)
    if share < LITTLE_LOW:
        return Finding(name, WARN, text + ": the cap was not reached", args)
    return Finding(name, PASS, text, args)


_NO_COUNTS = SharedFinding("failure_rate", SKIP, "no request counts")


def failure_rate(result: ServingResult, options: IngestOptions, lengths: Lengths) -> Finding:
    """Failed requests above the gate (default 5 %) make per-query figures misleading."""
    name, counts = "failure_rate", result.counts
    attempted, completed = counts.attempted, counts.completed
    if completed == 0 and attempted:
        return Finding(name, FAIL, "0 of {0} requests completed", (attempted,))
    if not attempted or completed is None:  # no Counts.failure_rate
        return _NO_COUNTS
    lost = attempted - completed
    rate = lost / attempted
    # compare counts, not a rounded fraction: 5 of 100 is exactly at a 5 % gate
    gate = options.failure_gate
    status = PASS if lost <= gate * attempted + 1e-9 else FAIL
    return Finding(
        name,
        status,
        "{0:.1%} of {1} requests did not complete (gate {2:.0%})",
        (rate, attempted, gate),
    )


_NO_STD_INTVTY = SharedFinding("reciprocal_spread", SKIP, "no reported std of interactivity")


def reciprocal_spread(result: ServingResult, options: IngestOptions, lengths: Lengths) -> Finding:
    """A std of interactivity above its mean is 1/std(TPOT), not a spread (upstream bug)."""
    name = "reciprocal_spread"
    reported = result.extras.get("reported_std_intvty")
    intvty = result.latency.intvty_tok_s
    mean = intvty.mean if intvty else None
    if not isinstance(reported, (int, float)) or mean is None:
        return _NO_STD_INTVTY
    values = (reported, mean)
    if reported > mean:
        text = "std_intvty {0:.4g} > mean {1:.4g}: it is 1/std(TPOT); dropped"
        return Finding(name, WARN, text, values)
    return Finding(name, PASS, "std_intvty {0:.4g} <= mean {1:.4g}", values)


_NO_ITL_OR_TPOT = SharedFinding("itl_vs_tpot", SKIP, "mean ITL or TPOT unknown")


def itl_vs_tpot(result: ServingResult, options: IngestOptions, lengths: Lengths) -> Finding:
    """ITL ≫ TPOT means chunks carry several tokens: do not derive per-token latency from ITL."""
    name, lat = "itl_vs_tpot", result.latency
    itl_s, tpot_s = lat.itl_s, lat.tpot_s
    itl = itl_s.mean if itl_s else None
    tpot = tpot_s.mean if tpot_s else None
    if not itl or not tpot:
        return _NO_ITL_OR_TPOT
    ratio = itl / tpot
    if ratio > ITL_TPOT_RATIO:
        return Finding(
            name,
            WARN,
            "mean ITL {0:.4g} ms = {1:.2f}× TPOT: server-side chunking or speculative decoding; "
            "use TPOT for per-token latency",
            (itl * 1e3, ratio),
        )
    return Finding(name, PASS, "mean ITL/TPOT = {0:.2f}", (ratio,))


_STATED_ENERGY_PER_REQUEST = SharedFinding(
    "counts_present", PASS, "no counts, but the source states energy per request"
)
_COUNTS_MISSING = SharedFinding(
    "counts_present",
    WARN,
    "no request counts: Wh/query is extrapolated from J/token × tokens per query",
)


def counts_present(result: ServingResult, options: IngestOptions, lengths: Lengths) -> Finding:
    """Without request counts a measured Wh/query is impossible; it is extrapolated instead."""
    name, completed = "counts_present", result.counts.completed
    if completed is not None:
        return Finding(name, PASS, "{0} completed requests", (completed,))
    if "energy_per_query_j" in result.extras:
        return _STATED_ENERGY_PER_REQUEST
    return _COUNTS_MISSING


_ZERO_POWER = SharedFinding("power_present", FAIL, "power or energy is zero")


def power_present(result: ServingResult, options: IngestOptions, lengths: Lengths) -> Finding:
    """A zero or absent power makes every energy figure undefined; one no GPU draws (a W/kW
    slip) makes every figure wrong."""
    name, energy, extras = "power_present", result.energy, result.extras
    if energy is None:
        why = extras.get("power_missing", "no power")
        if extras.get("measured_power_rejected"):
            why += "; " + str(extras["measured_power_rejected"])
        return Finding(name, WARN, "no energy figures: {0}", (str(why),))
    power = result.power_w
    if energy.energy_j == 0 or power == 0:
        return _ZERO_POWER
    # str() of a StrEnum is its value, without the .value descriptor (~0.1 µs each)
    scope = (str(energy.basis), str(energy.boundary), energy.method)
    if power is None:  # energy (a record has power or energy) over a window of unknown length
        return Finding(
            name,
            WARN,
            "{0:.5g} J over an unknown window, so no power and no J/token ({1}, {2}, {3})",
            (energy.energy_j, *scope),
        )
    rate, duration_s = result.throughput.total_tok_s, result.duration_s
    if not (  # absurd but finite inputs (1e300 W, 1e-300 tok/s) give infinite figures
        math.isfinite(power)
        and (not rate or math.isfinite(power / rate))
        and (not duration_s or math.isfinite(power * duration_s))
    ):
        return Finding(
            name,
            FAIL,
            "{0:.5g} W ({3}, {4}, {5}) over {1} tok/s and {2} s: J/token or the window's "
            "energy is not finite",
            (power, rate, duration_s, *scope),
        )
    implausible = _implausible_per_gpu(result, power, scope)
    if implausible is not None:
        return implausible
    text = "{0:.5g} W ({1}, {2}, {3})"
    args = (power, *scope)
    rejected = extras.get("measured_power_rejected")
    if rejected:
        return Finding(name, WARN, text + "; {4}", (*args, str(rejected)))
    if not energy.valid:
        return Finding(name, WARN, text + "; {4}", (*args, "; ".join(energy.reasons)))
    return Finding(name, PASS, text, args)


def _implausible_per_gpu(
    result: ServingResult, power_w: float, scope: tuple[str, str, str]
) -> Finding | None:
    """A fail when a stated or measured power per GPU is outside PLAUSIBLE_TDP_SHARE of the
    GPU's TDP (GPU and count known, the GPU in the catalog); None otherwise. A power made from
    the catalog's own figures (``catalog-*``: TDP or all-in × the given host overhead and PUE)
    has no unit to slip."""
    identity = result.identity
    gpu, count = identity.gpu, identity.num_gpus
    if gpu is None or not count or scope[2].startswith("catalog-"):
        return None
    known = _tdp_w(gpu)
    if known is None:
        return None
    name, tdp_w = known
    share = power_w / count / tdp_w
    low, high = PLAUSIBLE_TDP_SHARE
    if low <= share <= high:
        return None
    return Finding(
        "power_present",
        FAIL,
        "{0:.5g} W per GPU ({1}, {2}, {3}) is {4:.3g}× the {5:g} W TDP of the {6}: no GPU "
        "draws that serving (a W/kW slip?)",
        (power_w / count, *scope, share, tdp_w, name),
    )


@lru_cache(maxsize=1024)
def _tdp_w(gpu: str) -> tuple[str, float] | None:
    """The catalog's name and TDP of a GPU; None when the catalog has no TDP for it (cached:
    an ingest asks for the same few names on every row)."""
    try:
        spec = catalog.gpu_spec(gpu)
    except CatalogError:
        return None
    return None if spec.tdp_w is None else (f"{spec.gpu} {spec.form}", spec.tdp_w)


# every check gets the result's benchmarked lengths, worked out once per row (row_checks)
CheckFn = Callable[[ServingResult, IngestOptions, Lengths], Finding]

CHECKS: tuple[CheckFn, ...] = (
    total_is_sum,
    length_ratio,
    disagg_identity,
    littles_law,
    failure_rate,
    reciprocal_spread,
    itl_vs_tpot,
    counts_present,
    power_present,
)


def _base_name(name: str) -> str:
    """'openai/gpt-oss-120b', '/mnt/x/gpt-oss-120b/' and 'GPT-OSS-120B' all give 'gptoss120b'."""
    return re.sub(r"[^a-z0-9]", "", name.rstrip("/").rsplit("/", 1)[-1].lower())


class Spellings:
    """How each model is written across one call, kept as a small summary (distinct names and
    keys, not rows), so the cross-row check works on a stream of any length."""

    def __init__(self) -> None:
        self.names: dict[str, set[str]] = defaultdict(set)
        self.keys: dict[str, set[str]] = defaultdict(set)

    @staticmethod
    def spelling(result: ServingResult) -> tuple[str, str]:
        """(model key, model as written): all that the check looks at in a result."""
        ident = result.identity
        return ident.model, ident.model_name or ident.model

    def add(self, model: str, name: str) -> None:
        names = self.names[model]
        if name in names:  # the usual row: its key is tallied already (no regex per row)
            return
        names.add(name)
        self.keys[_base_name(name)].add(model)

    def finding(self, model: str, name: str) -> Finding:
        """The model_spellings finding of a result written (model, name), once all are added."""
        spelled = sorted(self.names[model])
        other_keys = sorted(self.keys[_base_name(name)])
        problems = []
        if len(spelled) > 1:
            problems.append(f"model '{model}' is written {len(spelled)} ways: {', '.join(spelled)}")
        if len(other_keys) > 1:
            problems.append(f"one model under several keys: {', '.join(other_keys)}")
        status = WARN if problems else PASS
        return Finding("model_spellings", status, "; ".join(problems) or "one spelling")


def model_spellings(results: list[ServingResult]) -> list[Finding]:
    """One model written several ways across the call: several names under one key (paths, hub
    ids), or one base name under several keys (so rows would not be grouped together)."""
    tally = Spellings()
    for result in results:
        tally.add(*Spellings.spelling(result))
    return [tally.finding(*Spellings.spelling(result)) for result in results]


def row_checks(result: ServingResult, options: IngestOptions) -> list[Finding]:
    """The checks that look at one result alone (all but model_spellings), in CHECKS order.

    Each is called by name: a loop over CHECKS has one call site, which the interpreter cannot
    specialise for nine functions (0.5 µs per row slower)."""
    lengths = result.workload.benchmarked_lengths()  # once, not once per check that uses them
    return [
        total_is_sum(result, options, lengths),
        length_ratio(result, options, lengths),
        disagg_identity(result, options, lengths),
        littles_law(result, options, lengths),
        failure_rate(result, options, lengths),
        reciprocal_spread(result, options, lengths),
        itl_vs_tpot(result, options, lengths),
        counts_present(result, options, lengths),
        power_present(result, options, lengths),
    ]


def run_checks(results: list[ServingResult], options: IngestOptions) -> list[list[Finding]]:
    """All checks for every result, aligned with ``results``."""
    spelled = model_spellings(results)
    return [
        [*row_checks(result, options), spelling]
        for result, spelling in zip(results, spelled, strict=True)
    ]


def worst(findings: list[Finding]) -> Status:
    """The overall status of a row: fail > warn > pass (skips do not count)."""
    statuses = {f.status for f in findings}
    return FAIL if FAIL in statuses else WARN if WARN in statuses else PASS
