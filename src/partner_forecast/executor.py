"""Run independent tasks in this process, in local worker processes or on a Dask cluster.

Backtest folds (:mod:`partner_forecast.evaluate.backtest`) are independent tasks, and so are the
scenarios of a sweep: each is a picklable task and a module-level function of it. An
:class:`Executor` runs ``fn(task)`` for every task and hands each result to ``on_result`` as it
finishes (in completion order); the first error comes back with a note naming its task
(``describe(task)``). Three executors:

- :class:`InProcess`: one task after the other, here;
- :class:`ProcessPool`: spawned local worker processes
  (:func:`partner_forecast.spawn_pool.run_spawned`), the machine's cores shared between them;
- :class:`DaskCluster`: a Dask distributed cluster at a scheduler address, or a local cluster
  (``"local"``). Each task is scattered to the cluster as data of its own, not embedded in the
  task graph. Dask is an optional dependency (``pip install 'partner-forecast[dask]'``); how the
  client is made is injectable (``connect``), so the executor runs on a stand-in cluster in
  tests.

:func:`executor_for` picks one from the CLI's ``--workers`` and ``--scheduler``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from partner_forecast.errors import PartnerForecastError


def share_cores(threads: int) -> None:
    """Limit numba's threads in this (worker) process to ``threads``, so workers share the cores."""
    try:
        import numba

        # NUMBA_NUM_THREADS is read from the environment at import; numba does not declare it.
        limit = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
        numba.set_num_threads(max(1, min(threads, limit)))
    except (ImportError, ValueError):
        pass


def threads_per_worker(workers: int) -> int:
    """The cores of this machine divided between ``workers`` processes (at least 1)."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))


class Executor(Protocol):
    """Runs ``fn(task)`` for every task and reports each result as it finishes."""

    def where(self, n_tasks: int) -> str:
        """Where the tasks run, in words (``this process``, ``2 worker process(es)``, ...)."""
        ...

    def run[T, R](self, fn: Callable[[T], R], tasks: Sequence[T], *,
                  describe: Callable[[T], str], on_result: Callable[[R], None]) -> None:
        """Run ``fn`` on every task; ``on_result(result)`` in completion order.

        ``fn`` is a module-level (picklable) function and the tasks are picklable. The first
        error is raised with ``describe(task)`` added as a note.
        """
        ...


@dataclass(frozen=True)
class InProcess:
    """Every task in this process, one after the other."""

    def where(self, n_tasks: int) -> str:
        """Always ``this process``."""
        return "this process"

    def run[T, R](self, fn: Callable[[T], R], tasks: Sequence[T], *,
                  describe: Callable[[T], str], on_result: Callable[[R], None]) -> None:
        """See :meth:`Executor.run`."""
        for task in tasks:
            try:
                out = fn(task)
            except BaseException as exc:
                exc.add_note(describe(task))
                raise
            on_result(out)


@dataclass(frozen=True)
class ProcessPool:
    """Tasks in ``workers`` spawned local processes (one task or one worker: in this process)."""

    workers: int

    def where(self, n_tasks: int) -> str:
        """``N worker process(es)``."""
        return f"{min(self.workers, n_tasks)} worker process(es)"

    def run[T, R](self, fn: Callable[[T], R], tasks: Sequence[T], *,
                  describe: Callable[[T], str], on_result: Callable[[R], None]) -> None:
        """See :meth:`Executor.run`."""
        if self.workers <= 1 or len(tasks) <= 1:
            InProcess().run(fn, tasks, describe=describe, on_result=on_result)
            return
        from partner_forecast.spawn_pool import run_spawned

        n = min(self.workers, len(tasks))
        run_spawned(fn, tasks, n, describe=describe, initializer=share_cores,
                    initargs=(threads_per_worker(n),), on_result=on_result)


@dataclass
class DaskConnection:
    """A Dask client, Dask's ``as_completed`` and the local cluster it runs on (if it made one)."""

    client: Any
    as_completed: Callable[[list[Any]], Iterable[Any]]
    cluster: Any = None

    def close(self) -> None:
        """Close the client, then the local cluster."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


def connect_dask(scheduler: str, workers: int) -> DaskConnection:
    """A client of the Dask scheduler at ``scheduler``, or of a new local cluster (``"local"``).

    Raises
    ------
    PartnerForecastError
        When Dask's distributed scheduler is not installed, or the scheduler cannot be reached.
    """
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise PartnerForecastError(
            "--scheduler needs Dask's distributed scheduler, which is not installed: "
            "pip install 'partner-forecast[dask]'") from None
    if scheduler == "local":
        cluster = LocalCluster(n_workers=max(1, workers), threads_per_worker=1, processes=True)
        return DaskConnection(client=Client(cluster), as_completed=as_completed, cluster=cluster)
    try:
        client = Client(scheduler, timeout="30s")
    except OSError as exc:
        raise PartnerForecastError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    return DaskConnection(client=client, as_completed=as_completed)


@dataclass(frozen=True)
class DaskCluster:
    """Tasks on a Dask distributed cluster.

    Attributes
    ----------
    scheduler : str
        Scheduler address (``tcp://host:8786``), or ``"local"`` for a local cluster.
    workers : int
        Workers of a local cluster (each gets its share of this machine's cores).
    connect : callable
        ``connect(scheduler, workers)`` -> :class:`DaskConnection` (default
        :func:`connect_dask`).
    """

    scheduler: str
    workers: int = 1
    connect: Callable[[str, int], DaskConnection] = connect_dask

    def where(self, n_tasks: int) -> str:
        """``Dask scheduler ADDRESS``."""
        return f"Dask scheduler {self.scheduler}"

    def run[T, R](self, fn: Callable[[T], R], tasks: Sequence[T], *,
                  describe: Callable[[T], str], on_result: Callable[[R], None]) -> None:
        """See :meth:`Executor.run`."""
        conn = self.connect(self.scheduler, self.workers)
        try:
            if self.scheduler == "local":  # a local cluster: share this machine's cores
                conn.client.run(share_cores, threads_per_worker(self.workers))
            futures = []
            by_key = {}
            for task in tasks:
                # The task travels as its own piece of data, not inside the task graph.
                [data] = conn.client.scatter([task])
                fut = conn.client.submit(fn, data, pure=False)
                futures.append(fut)
                by_key[fut.key] = task
            for fut in conn.as_completed(futures):
                try:
                    out = fut.result()
                except BaseException as exc:
                    exc.add_note(describe(by_key[fut.key]))
                    raise
                on_result(out)
        finally:
            conn.close()


def executor_for(workers: int = 1, scheduler: str | None = None) -> Executor:
    """The executor of ``--workers`` / ``--scheduler``: Dask, local processes, or this process."""
    if scheduler is not None:
        return DaskCluster(scheduler, workers)
    if workers > 1:
        return ProcessPool(workers)
    return InProcess()


__all__ = ["DaskCluster", "DaskConnection", "Executor", "InProcess", "ProcessPool",
           "connect_dask", "executor_for", "share_cores", "threads_per_worker"]
