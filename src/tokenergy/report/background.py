"""Slow computations of a report (Monte Carlo, sensitivity, reconciliation) started as the report
begins, each in a forked process where the OS has fork and there are spare cores, so they run
beside the loading, tables and figures; in one thread otherwise. Jobs are module-level functions
(their results are pickled back).

With a ``ResultCache``, the jobs named in ``cached`` are looked up first: a hit is not started at
all (its result is read here), a miss stores its result from the worker.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

from tokenergy.report.cache import ResultCache


def _executor(jobs: int) -> Executor:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if "fork" in multiprocessing.get_all_start_methods() and (cores or 1) > 1:
        context = multiprocessing.get_context("fork")
        return ProcessPoolExecutor(max_workers=max(1, jobs), mp_context=context)
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokenergy-report")


class Background:
    """Named jobs, all started at once; ``result(name)`` waits for one (None if not started)."""

    def __init__(
        self,
        jobs: Mapping[str, Callable[[], Any]],
        cache: ResultCache | None = None,
        cached: Collection[str] = (),
    ) -> None:
        self._futures: dict[str, Future[Any]] = {}
        self._done: dict[str, Any] = {}
        pending: dict[str, Callable[[], Any]] = {}
        for name, job in jobs.items():
            if cache is None or name not in cached:
                pending[name] = job
                continue
            hit, value = cache.get(name)
            if hit:
                self._done[name] = value
            else:
                pending[name] = functools.partial(cache.compute, name, job)
        if pending:
            executor = _executor(len(pending))
            self._futures = {name: executor.submit(job) for name, job in pending.items()}
            executor.shutdown(wait=False)

    def result(self, name: str) -> Any:
        if name in self._done:
            return self._done[name]
        future = self._futures.get(name)
        return None if future is None else future.result()
