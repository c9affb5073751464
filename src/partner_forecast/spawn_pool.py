"""Run tasks in spawned worker processes; the first error comes back with a note naming its task.

Shared by the backtest's folds (:mod:`partner_forecast.evaluate.backtest`) and the models fitted
side by side (:mod:`partner_forecast.fit_pool`). Spawn, not fork: the parent may already run
numba or OpenMP threads, which fork can deadlock. On an error the tasks not yet started are
cancelled and the parent does not wait for the running ones. On Linux each worker asks the
kernel to end it when its parent dies (``PR_SET_PDEATHSIG``): a command killed mid-run (SIGTERM,
SIGKILL) does not leave workers behind, which ProcessPoolExecutor's workers otherwise are.
"""

from __future__ import annotations

import ctypes
import multiprocessing as mp
import signal
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def end_with_parent() -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (elsewhere: nothing)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return


def _start_worker(initializer: Callable[..., None] | None, initargs: tuple[Any, ...]) -> None:
    end_with_parent()
    if initializer is not None:
        initializer(*initargs)


def run_spawned[T, R](fn: Callable[[T], R], tasks: Iterable[T], workers: int, *,
                describe: Callable[[T], str],
                initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = (),
                on_result: Callable[[R], None] | None = None) -> None:
    """Run ``fn(task)`` for every task in ``workers`` spawned processes, submitted in order.

    Parameters
    ----------
    fn : callable
        A module-level (picklable) function of one task.
    tasks : iterable
        Picklable tasks, started in this order as workers come free.
    workers : int
        Worker processes.
    describe : callable
        ``describe(task)``: the note added to a task's error, e.g. ``(in backtest fold ...)``.
    initializer, initargs
        Run once in each worker before its first task (what every task shares goes here, sent
        once per worker rather than once per task).
    on_result : callable, optional
        Called in the parent with each result, in completion order.
    """
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"),
                             initializer=_start_worker, initargs=(initializer, initargs)) as pool:
        futures = {pool.submit(fn, task): task for task in tasks}
        pending = set(futures)
        try:
            while pending:
                completed, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in completed:
                    exc = fut.exception()
                    if exc is not None:
                        exc.add_note(describe(futures[fut]))
                        raise exc
                    if on_result is not None:
                        on_result(fut.result())
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


__all__ = ["run_spawned"]
