"""Fit several models side by side, each in its own worker process (``[sampler] fit_workers``).

Why: a model samples its chains in parallel (two by default, one thread each) and compiles on
one core, so fitted one after another the five models use two cores at most, and one while
compiling. On a machine with four or more cores, fitting ``cores // 2`` models at once puts
the rest to work: with enough cores the five fits take about as long as the longest one
(conversion) instead of their sum. On two cores the gain is small (141 s against 155 s on the
sample, compile cache warm), so :func:`auto_workers` fits one after another there.

Results are the same as fitting one after another: a model's draws depend only on its data,
config and seed (:meth:`~partner_forecast.models.base.PartnerModel.chain_seeds`), not on the
process it runs in. Workers are spawned (not forked: the parent may already run numba or
OpenMP threads, which fork can deadlock); each receives the export once, fits the models
handed to it, the most expensive first (:data:`FIT_ORDER`), and saves each posterior
atomically where the workspace expects it; the parent then loads them. Progress is relayed
through a queue: the workers' messages become the parent's lines, and their sampling progress
one live bar per running model (where bars are shown, :func:`~.models.progress.bars_wanted`).

A process that is itself a worker (a backtest fold, a Dask task) fits one model after another:
pools are never nested.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.spawn_pool import run_spawned

FIT_ORDER: tuple[str, ...] = ("conversion", "activation", "productivity", "timing", "deal_size")
"""Models by their usual cost, most expensive first (fits of the sample, compile + sampling:
96, 51, 25, 17, 10 s): the longest start first, so the last to finish is a short one."""
BAR_INTERVAL_SECONDS = 0.5
"""How often a worker relays a model's sampling progress to the parent's bar."""


def auto_workers(models: int, cores: int | None = None) -> int:
    """Worker processes for ``models`` fits on ``cores`` cores (``fit_workers = 0``).

    One per two cores (each model samples two chains, one thread each) from 4 cores up; one
    (fit here, one model after another) below that. Measured on 2 cores with a warm compile
    cache, two workers fitted the sample in 141 s against 155 s one after another (the chains
    already keep both cores busy while sampling, so only the compiles overlap) for about
    1.6 GB of memory in three processes against 0.9 GB: not worth it there.
    """
    cores = cores if cores is not None else (os.cpu_count() or 1)
    if cores < 4 or models <= 1:
        return 1
    return min(models, cores // 2)


def fit_workers(setting: int, models: int) -> int:
    """Worker processes to use: ``setting`` (0 = :func:`auto_workers`), 1 inside a worker."""
    if mp.parent_process() is not None:
        return 1
    if setting <= 0:
        return auto_workers(models)
    return max(1, min(setting, models))


def fit_and_save(cls: Any, export: Export, settings: Settings, fingerprint: str, path: Path,
                 thresholds: dict[str, Any], say: Callable[[str], None],
                 sampling_bar: Callable[[str, int], Any] | None = None) -> Any:
    """Fit one model class on ``export``, save it at ``path`` and say so; returns the model.

    The one way a model is fitted for the workspace, here in turn or in a worker process
    (``sampling_bar`` there relays the live bar to the parent).
    """
    model = cls.from_export(export, settings, data_fingerprint=fingerprint)
    if sampling_bar is not None:
        model.sampling_bar = sampling_bar
    model.fit(progress=say, thresholds=thresholds)
    model.save(path)
    say(fitted_message(model.name, model.diagnostics, path))
    return model


def fitted_message(name: str, diagnostics: Any, path: Path) -> str:
    """The line said when a model has been fitted and saved (either way of fitting)."""
    d = diagnostics
    return (f"{name}: fitted in {d.compile_seconds + d.sample_seconds:.1f} s "
            f"(compile {d.compile_seconds:.1f} s, sampling {d.sample_seconds:.1f} s); "
            f"saved {path}")


@dataclass(frozen=True)
class FitJob:
    """One model to fit in a worker and where to save its posterior."""

    name: str
    path: Path


# ---- in the worker ---------------------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(messages: Any, export: Export, settings: Settings, fingerprint: str,
                 thresholds: dict[str, Any], bars: bool) -> None:
    """Keep what every job of this worker shares (sent once per worker, not once per model)."""
    _WORKER.update(messages=messages, export=export, settings=settings, fingerprint=fingerprint,
                   thresholds=thresholds, bars=bars)


class RelayBar:
    """A nutpie progress callback that sends the draws done to the parent's bar (at 2 Hz)."""

    def __init__(self, messages: Any, label: str, total: int):
        self._messages, self._label, self._total = messages, label, total
        self._lock = threading.Lock()
        self._sent = 0.0
        self._messages.put(("bar", label, 0, total, "compiled"))

    def __call__(self, chains: Sequence[Any]) -> None:
        """Relay the draws finished over all chains, the phase and the divergences."""
        now = time.monotonic()
        with self._lock:
            if now - self._sent < BAR_INTERVAL_SECONDS:
                return
            self._sent = now
        from partner_forecast.models.progress import chain_progress

        done, postfix = chain_progress(chains)
        self._messages.put(("bar", self._label, done, self._total, postfix))

    def close(self) -> None:
        """Remove the parent's bar for this model."""
        self._messages.put(("close", self._label))


def _fit_job(job: FitJob) -> str:
    """Fit one model on the worker's export and save it (runs in the worker process)."""
    from partner_forecast.models import PartnerModel

    messages = _WORKER["messages"]

    def say(message: str) -> None:
        messages.put(("say", message))

    bars = _WORKER["bars"]
    fit_and_save(PartnerModel.registry[job.name], _WORKER["export"], _WORKER["settings"],
                 _WORKER["fingerprint"], job.path, _WORKER["thresholds"], say,
                 # a worker never draws a bar of its own: relayed to the parent, or none
                 sampling_bar=lambda label, total: RelayBar(messages, label, total) if bars else None)
    return job.name


# ---- in the parent ---------------------------------------------------------------------------
class _Relay(threading.Thread):
    """Reads the workers' messages: lines go to ``say``, progress to one bar per model."""

    def __init__(self, messages: Any, say: Callable[[str], None], bars: bool):
        super().__init__(name="fit-progress", daemon=True)
        self._messages, self._say, self._bars = messages, say, bars
        self._open: dict[str, Any] = {}

    def run(self) -> None:
        while True:
            item = self._messages.get()
            if item is None:
                break
            kind = item[0]
            if kind == "say":
                self._say(item[1])
            elif kind == "bar" and self._bars:
                self._update(*item[1:])
            elif kind == "close" and item[1] in self._open:
                self._open.pop(item[1]).close()
        for bar in self._open.values():
            bar.close()

    def _update(self, label: str, done: int, total: int, postfix: str) -> None:
        from partner_forecast.models.progress import SamplingBar

        bar = self._open.get(label)
        if bar is None:  # the first free line: bars of models still sampling keep theirs
            taken = {b.position for b in self._open.values()}
            position = next(i for i in range(len(self._open) + 1) if i not in taken)
            bar = self._open[label] = SamplingBar(label, total, position=position)
        bar.show(done, postfix, refresh=True)

    def stop(self) -> None:
        """Handle every message already sent, then end."""
        self._messages.put(None)
        self.join()


def fit_in_workers(jobs: Sequence[FitJob], export: Export, settings: Settings, fingerprint: str,
                   thresholds: dict[str, Any], workers: int, say: Callable[[str], None]) -> None:
    """Fit and save ``jobs`` in ``workers`` spawned processes, the most expensive first.

    Raises the first worker's error (with a note naming the model) after cancelling the
    models not yet started; posteriors already saved stay (each is complete: saved atomically).
    """
    from partner_forecast.models.progress import bars_wanted

    rank = {name: i for i, name in enumerate(FIT_ORDER)}
    ordered = sorted(jobs, key=lambda j: rank.get(j.name, len(rank)))
    context = mp.get_context("spawn")
    messages = context.Queue()
    bars = bars_wanted()
    relay = _Relay(messages, say, bars)
    relay.start()
    say(f"fitting {len(ordered)} models, {workers} at a time in worker processes "
        f"({', '.join(j.name for j in ordered)})")
    try:
        run_spawned(_fit_job, ordered, workers,
                    describe=lambda job: f"(fitting the {job.name} model in a worker process)",
                    initializer=_init_worker,
                    initargs=(messages, export, settings, fingerprint, thresholds, bars))
    finally:
        relay.stop()


__all__ = ["FIT_ORDER", "FitJob", "RelayBar", "auto_workers", "fit_in_workers", "fit_workers",
           "fitted_message"]
