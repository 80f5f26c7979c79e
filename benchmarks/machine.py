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


def byte_compile(from_source: bool) -> str:
    """Byte-compile tokenergy's modules as pip does when it installs a wheel (unless
    ``from_source``), and say so. These machines set PYTHONDONTWRITEBYTECODE, so an editable
    install otherwise compiles every module a command imports from source on every run (~40 ms
    of the CLI's start-up), which no installed copy pays."""
    import compileall

    import tokenergy

    package = Path(tokenergy.__file__).parent
    if from_source:
        return f"tokenergy's modules as they are ({package}; none compiled by this script)"
    compileall.compile_dir(package, quiet=1)
    return f"tokenergy's modules byte-compiled first, as a wheel install has them ({package})"
