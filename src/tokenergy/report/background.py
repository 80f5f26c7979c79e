"""Slow computations of a report (Monte Carlo, sensitivity, reconciliation) started as the report
begins, each in a forked process where the OS has fork and there are spare cores, so they run
beside the loading, tables and figures; in one thread otherwise. Jobs are module-level functions
(their results are pickled back)."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any


def _executor(jobs: int) -> Executor:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if "fork" in multiprocessing.get_all_start_methods() and (cores or 1) > 1:
        context = multiprocessing.get_context("fork")
        return ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context)
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokenergy-report")


class Background:
    """Named jobs, all started at once; ``result(name)`` waits for one (None if not started)."""

    def __init__(self, jobs: Mapping[str, Callable[[], Any]]) -> None:
        self._futures: dict[str, Future[Any]] = {}
        if jobs:
            executor = _executor(len(jobs))
            self._futures = {name: executor.submit(job) for name, job in jobs.items()}
            executor.shutdown(wait=False)

    def result(self, name: str) -> Any:
        future = self._futures.get(name)
        return None if future is None else future.result()
