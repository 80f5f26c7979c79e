"""What the machine lets a benchmark measure (shared by the benchmark scripts)."""

from __future__ import annotations

from pathlib import Path


def autogroup_note() -> str:
    """Linux's autogroup scheduling gives each session one fair share of the CPUs: when other
    sessions keep the cores busy, this session's workers split that share instead of adding to it
    (so the wall speed-up then measures the machine, not the implementation)."""
    try:
        enabled = Path("/proc/sys/kernel/sched_autogroup_enabled").read_text().strip() == "1"
        group = Path("/proc/self/autogroup").read_text().split()[0]
    except OSError:
        return "no autogroup scheduling information"
    if not enabled:
        return "autogroup scheduling off: every worker competes for the cores on its own"
    return (
        f"autogroup scheduling on ({group}): this session's processes share one fair share of the "
        "cores, so on a busy machine the workers split it rather than add to it"
    )
