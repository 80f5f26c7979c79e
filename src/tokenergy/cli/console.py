"""The console script: the CLI, with the cyclic garbage collector kept off its start-up objects.

What a CLI run imports (typer, pydantic, the record models, the command's module) lives until the
process exits, yet the collector would walk it again and again: ~30 passes while importing and,
during an ingest of the shared data, a full pass over all of it (~20 ms of a 0.5 s run). So
collection is paused while the CLI and the command's module import, everything so far is frozen
out of later passes (``gc.freeze``, the pattern the gc docs give for start-up objects) and
collection resumes for the command itself, whose passes then only see what the command makes.
The price: cyclic garbage made while importing is kept too (~0.4 MiB of peak RSS).
Kept apart from ``app`` because the pause must come before ``app`` and typer import; tests run
``app.run`` in-process and never come here.
"""

from __future__ import annotations

import gc
import sys


def main() -> None:
    """Console-script entry point: import with collection paused, freeze, then run."""
    gc.disable()
    from tokenergy.cli.app import aborted, preload
    from tokenergy.cli.app import main as run_main

    try:
        preload(sys.argv[1:])
    except KeyboardInterrupt:  # Ctrl-C while the command's module imports
        aborted()
    gc.freeze()
    gc.enable()
    run_main()
