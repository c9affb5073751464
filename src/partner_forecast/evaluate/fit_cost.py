"""What forecasting as of a date will cost, said before it starts: cached fits, or a fit and how long.

A forecast as of a date the workspace has no fits for fits the five models first (minutes on
a real export), which ``report``, ``variance`` and ``backtest`` would otherwise do silently.
This module tells them, beforehand,

- which models lack a saved fit for the data as of a date (:func:`missing_fits`), and
- how long fitting those is likely to take (:func:`estimate_fit`): per model, the median wall
  time (compile + sampling, :class:`~partner_forecast.models.diagnostics.Diagnostics`) of the
  most recent fits saved in the workspace -- read from each posterior file's stamp, not its
  draws (a millisecond per file) -- or, for a model never fitted there,
  :data:`DEFAULT_MODEL_SECONDS`, a stated rough default.

A fit's duration grows with the data's cells and the machine's load, so the figure is an
estimate, labelled with what it stands on.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from partner_forecast.config import Settings
from partner_forecast.data.export import Export

DEFAULT_MODEL_SECONDS = 50.0
"""Rough wall time of one model's fit when the workspace holds none to go by (seconds).

The five fits of the sample export (about 40,000 conversion cells) took 243 s on a quiet 2-core
machine (issue 11: compile 88 s, sampling 155 s), so about 50 s a model; larger exports take
longer.
"""
RECENT_FITS = 3
"""Saved fits per model whose median duration makes the estimate (the most recent ones)."""


@dataclass(frozen=True)
class FitEstimate:
    """How long fitting some models is likely to take.

    Attributes
    ----------
    models : tuple of str
        The models to fit.
    seconds : float
        Estimated wall time of fitting them all (seconds): one after the other, or with
        ``workers`` side by side.
    basis : str
        What the estimate stands on, in words.
    workers : int
        Models fitted at a time (``[sampler] fit_workers`` as :mod:`partner_forecast.fit_pool`
        resolves it).
    """

    models: tuple[str, ...]
    seconds: float
    basis: str
    workers: int = 1

    def times(self, n: int) -> FitEstimate:
        """The estimate for ``n`` such rounds of fits (e.g. backtest folds)."""
        return FitEstimate(self.models, self.seconds * n, self.basis, self.workers)

    def describe(self) -> str:
        """``likely about 4 min (<basis>)``, with ``, N models at a time`` when side by side."""
        at_once = f", {self.workers} models at a time" if self.workers > 1 else ""
        return f"likely {duration_text(self.seconds)}{at_once} ({self.basis})"


def duration_text(seconds: float) -> str:
    """A rough duration in words: ``about 40 s``, ``about 4 min``, ``about 1 h 10 min``."""
    s = float(seconds)
    if not math.isfinite(s) or s < 0:
        return "an unknown time"
    if s < 90:
        return f"about {max(1, round(s / 5) * 5 if s >= 10 else round(s))} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"about {minutes} min"
    hours, rest = divmod(minutes, 60)
    return f"about {hours} h" + (f" {rest} min" if rest else "")


def missing_fits(export: Export, settings: Settings, workspace: str | Path,
                 cut: str | pd.Timestamp | None = None) -> list[str] | None:
    """Names of the models without a saved fit for ``export`` as of ``cut`` (None: no models).

    The same cache keys :func:`partner_forecast.workspace.fit_all` looks up, so an empty list
    means a forecast as of ``cut`` loads its posteriors in seconds. None when the models are
    not available in this installation (nothing would be fitted). ``cut=None``: ``export`` is
    already the as-of view to fit on.
    """
    try:
        from partner_forecast.models import MODEL_CLASSES
        from partner_forecast.workspace import Workspace, data_fingerprint
    except ImportError:
        return None
    ws = Workspace(Path(workspace))
    view = export if cut is None else export.as_of(pd.Timestamp(cut).normalize())
    fp = data_fingerprint(view)
    return [cls.name for cls in MODEL_CLASSES if not ws.path(cls, fp, settings).exists()]


def saved_fit_seconds(workspace: str | Path) -> pd.DataFrame:
    """Wall time of every fit saved in the workspace, from the posterior files' stamps.

    Returns
    -------
    pandas.DataFrame
        model, path, modified (file time, seconds since the epoch), compile_seconds,
        sample_seconds, seconds (their sum); newest first. Files that cannot be read, or whose
        stamp records no time (e.g. fabricated test fits), are left out.
    """
    rows = []
    models_dir = Path(workspace) / "models"
    for path in models_dir.glob("*.zarr.zip") if models_dir.is_dir() else ():
        diag = _stamped_diagnostics(path)
        if diag is None:
            continue
        try:
            compile_s = float(diag.get("compile_seconds") or 0.0)
            sample_s = float(diag.get("sample_seconds") or 0.0)
        except (TypeError, ValueError):
            continue
        total = compile_s + sample_s
        if not math.isfinite(total) or total <= 0.0:
            continue
        rows.append({"model": str(diag.get("model", "")), "path": str(path),
                     "modified": path.stat().st_mtime, "compile_seconds": compile_s,
                     "sample_seconds": sample_s, "seconds": total})
    frame = pd.DataFrame(rows, columns=["model", "path", "modified", "compile_seconds",
                                        "sample_seconds", "seconds"])
    return frame.sort_values("modified", ascending=False, kind="stable").reset_index(drop=True)


def _stamped_diagnostics(path: Path) -> dict | None:
    """The ``diagnostics`` stamp of a saved posterior (zarr in a zip), without reading draws."""
    import zipfile

    import zarr
    from zarr.storage import ZipStore

    try:
        with ZipStore(path, mode="r") as store:
            raw = zarr.open_group(store, mode="r").attrs.get("diagnostics")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, zarr.errors.BaseZarrError):
        return None
    try:
        diag = json.loads(raw) if isinstance(raw, str) else None
    except json.JSONDecodeError:
        return None
    return diag if isinstance(diag, dict) else None


def estimate_fit(models: Sequence[str], workspace: str | Path, workers: int = 1) -> FitEstimate:
    """Likely wall time of fitting ``models`` in ``workspace``, ``workers`` at a time.

    Per model: the median compile + sampling seconds of its :data:`RECENT_FITS` most recent
    fits saved in the workspace, else :data:`DEFAULT_MODEL_SECONDS`. One at a time, the sum;
    side by side, as the fit pool runs them (the longest first, each to the first free
    worker), the time the last one ends (:func:`side_by_side_seconds`). The saved times were
    measured one model per process, so on a machine too small for the workers this is low.
    """
    saved = saved_fit_seconds(workspace)
    each: list[float] = []
    known, guessed = 0, []
    for name in models:
        mine = saved.loc[saved["model"] == name, "seconds"].head(RECENT_FITS)
        if len(mine):
            each.append(float(statistics.median(mine)))
            known += 1
        else:
            each.append(DEFAULT_MODEL_SECONDS)
            guessed.append(name)
    workers = max(1, min(int(workers), len(each) or 1))
    seconds = side_by_side_seconds(each, workers)
    if not guessed:
        basis = f"compile + sampling time of the fits saved in {workspace}"
    elif known:
        basis = (f"compile + sampling time of the fits saved in {workspace}; a rough "
                 f"{DEFAULT_MODEL_SECONDS:.0f} s each for {', '.join(guessed)}, never fitted there")
    else:
        basis = (f"a rough {DEFAULT_MODEL_SECONDS:.0f} s a model: no timed fit saved in "
                 f"{workspace} yet; longer on a large export")
    return FitEstimate(models=tuple(models), seconds=seconds, basis=basis, workers=workers)


def side_by_side_seconds(seconds: Sequence[float], workers: int) -> float:
    """When the last of jobs of these durations ends, run longest first on ``workers`` lanes.

    Each job goes to the lane that frees first (the fit pool's order: the most expensive model
    first); one lane gives the sum.
    """
    lanes = [0.0] * max(1, int(workers))
    for s in sorted(seconds, reverse=True):
        i = lanes.index(min(lanes))
        lanes[i] += float(s)
    return max(lanes)


def describe_fit(models: Sequence[str], workspace: str | Path, cut: str | pd.Timestamp,
                 workers: int = 1) -> str:
    """``fitting 5 models (activation, ...) on the data as of 2026-04-01, likely about 4 min (...)``."""
    what = f"{len(models)} model{'s' if len(models) != 1 else ''} ({', '.join(models)})"
    return (f"fitting {what} on the data as of {pd.Timestamp(cut).date()}, "
            f"{estimate_fit(models, workspace, workers).describe()}")


def fit_announcement(export: Export, settings: Settings, workspace: str | Path,
                     cut: str | pd.Timestamp) -> str | None:
    """:func:`describe_fit` of the models a forecast as of ``cut`` must fit, or None.

    None when every fit for ``export`` as of ``cut`` is saved (or the models are not installed).
    """
    from partner_forecast.fit_pool import fit_workers

    missing = missing_fits(export, settings, workspace, cut)
    if not missing:
        return None
    return describe_fit(missing, workspace, cut, fit_workers(settings.sampler.fit_workers,
                                                             len(missing)))


__all__ = ["DEFAULT_MODEL_SECONDS", "FitEstimate", "RECENT_FITS", "describe_fit", "duration_text",
           "estimate_fit", "fit_announcement", "missing_fits", "saved_fit_seconds",
           "side_by_side_seconds"]
