"""The embedded reference data the report shows when given no sources (catalog/reference/).

Two families that must never be mixed in one comparison, because their watts differ in kind:
ML.ENERGY v3 (measured GPU energy, accelerator boundary) and an InferenceX snapshot (throughput
only; energy from the InferenceX all-in provisioned kW per GPU, facility boundary).
"""

from __future__ import annotations

from dataclasses import dataclass

from tokenergy.catalog import catalog_path
from tokenergy.power import GpuBasis, PowerSpec
from tokenergy.records import ServingResult

MLENERGY_DIR = "reference/mlenergy_v3"
INFERENCEX_DIR = "reference/inferencex"


@dataclass(frozen=True)
class ReferenceSet:
    """One family of reference results with the words the report needs to present it."""

    key: str
    title: str
    description: str
    results: list[ServingResult]


def reference_sets() -> list[ReferenceSet]:
    from tokenergy.ingest import IngestOptions, load_results  # the adapters only on a cache miss

    mlenergy = load_results([catalog_path(MLENERGY_DIR)]).results
    inferencex = load_results(
        [catalog_path(INFERENCEX_DIR)], IngestOptions(power=PowerSpec(gpu_basis=GpuBasis.ALLIN))
    ).results
    return [
        ReferenceSet(
            key="mlenergy",
            title="ML.ENERGY Leaderboard v3 (measured)",
            description=(
                "vLLM 0.11.1 on H100 and B200, 1–8 GPUs, five LLM tasks. Steady-state GPU energy "
                "from NVML counters summed over the GPUs serving (accelerator boundary, measured "
                "basis), divided by output tokens. Host, cooling and idle capacity are not in it."
            ),
            results=mlenergy,
        ),
        ReferenceSet(
            key="inferencex",
            title="InferenceX sweeps (provisioned power)",
            description=(
                "InferenceMAX/InferenceX processed rows (Dec 2025 – Jan 2026), fixed ISL/OSL "
                "random "
                "workloads. The rows carry throughput only; energy uses the InferenceX all-in "
                "provisioned kW per GPU (GPU + host share + facility overhead: facility boundary, "
                "provisioned basis), so it is an upper-bound style figure, not a measurement."
            ),
            results=inferencex,
        ),
    ]
