"""Child of `benchmarks/report.py`: one default report in this fresh process, timed by phase.

`python benchmarks/report_split.py OUT` prints {phase: [wall s, CPU s]} as JSON. Only json, sys and
time are imported before the clock starts, so the imports it times are the CLI's and the report's.
Each phase's time is exclusive: a nested phase (figures inside a section, writing a file inside the
HTML step) pauses the one around it.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from pathlib import Path

PHASES = ("imports", "start", "load", "analysis", "figures", "background wait", "html", "write")


class Clock:
    def __init__(self, first: str) -> None:
        self.spent: dict[str, list[float]] = {name: [0.0, 0.0] for name in PHASES}
        self.stack = [first]
        self.mark = (time.perf_counter(), time.process_time())

    def charge(self) -> None:
        now = (time.perf_counter(), time.process_time())
        spent = self.spent[self.stack[-1]]
        spent[0] += now[0] - self.mark[0]
        spent[1] += now[1] - self.mark[1]
        self.mark = now

    def switch(self, phase: str) -> None:
        self.charge()
        self.stack[-1] = phase

    def wrap(self, owner: object, name: str, phase: str) -> None:
        original = getattr(owner, name)

        def timed(*args: object, **kwargs: object) -> object:
            self.charge()
            self.stack.append(phase)
            try:
                return original(*args, **kwargs)
            finally:
                self.charge()
                self.stack.pop()

        setattr(owner, name, timed)


def main(out: Path) -> None:
    clock = Clock("imports")
    import tokenergy.cli.app
    import tokenergy.cli.report
    from tokenergy.report import background, figures, html
    from tokenergy.report.build import make_report

    del tokenergy.cli.app, tokenergy.cli.report  # imported for their cost, as the CLI does
    clock.switch("start")
    clock.wrap(figures.FigureWriter, "block", "figures")
    clock.wrap(background.Background, "result", "background wait")
    for module in (figures, html):
        clock.wrap(module, "write_text", "write")

    def progress(_done: int, _total: int | None, step: str) -> None:
        phase = "load" if step.startswith("load") else "html" if step.startswith("writ") else None
        clock.switch(phase or "analysis")

    make_report([], out, progress=progress)
    clock.charge()
    print(json.dumps(clock.spent), flush=True)
    gc.freeze()  # as the CLI's entry point does before exiting


if __name__ == "__main__":
    main(Path(sys.argv[1]))
