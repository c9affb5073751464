"""The workspace: a folder caching fitted posteriors so unchanged data is never refitted.

Default folder: ``.partner_forecast/`` in the current directory (``--workspace DIR``). Each
model's posterior is one file ``models/<model>-<key>.zarr.zip`` where ``key`` hashes

- the data fingerprint (:attr:`Export.fingerprint`: the source files' bytes and the as-of
  date; for an export built in memory, a hash of its tables' content),
- the model's config hash (its priors, the ``[sampler]`` settings that shape the draws, the
  settings its aggregation reads and the parametrisation), and
- the saved-file format (:data:`~partner_forecast.models.saved.FORMAT_VERSION`) and the
  model's own :attr:`~partner_forecast.models.base.PartnerModel.version`.

So changing a prior refits only that model, a new as-of or a new export refits all, and the
diagnostics thresholds (which do not change the draws) are re-judged on load without a refit.
Files are written atomically (temp file + ``os.replace``), so an interrupted fit never leaves
a half-written cache entry.
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.fit_pool import FitJob, fit_and_save, fit_in_workers, fit_workers
from partner_forecast.models import MODEL_CLASSES, PartnerModel
from partner_forecast.models.diagnostics import format_table, warn_failures
from partner_forecast.models.errors import ModelMismatchError
from partner_forecast.models.fitted import FittedModels
from partner_forecast.models.saved import FORMAT_VERSION, POSTERIOR_SUFFIX
from partner_forecast.models.saved import export_fingerprint as data_fingerprint

DEFAULT_WORKSPACE = ".partner_forecast"


@dataclass(frozen=True)
class Workspace:
    """A cache folder for fitted posteriors (see module docstring)."""

    root: Path

    @classmethod
    def at(cls, path: str | Path | None = None) -> Workspace:
        """The workspace at ``path`` (default ``.partner_forecast`` in the current directory)."""
        return cls(Path(path) if path is not None else Path.cwd() / DEFAULT_WORKSPACE)

    @property
    def models_dir(self) -> Path:
        """Where posteriors are kept."""
        return self.root / "models"

    @staticmethod
    def key(model: type[PartnerModel], data_fp: str, settings: Settings) -> str:
        """Cache key of a model fitted on data ``data_fp`` with ``settings``."""
        payload = (f"{model.name}|{data_fp}|{model.config_hash_from(settings)}"
                   f"|format {FORMAT_VERSION}|version {model.version}")
        return hashlib.sha256(payload.encode()).hexdigest()[:20]

    def path(self, model: type[PartnerModel], data_fp: str, settings: Settings) -> Path:
        """File of a model's posterior for this data and config."""
        return self.models_dir / f"{model.name}-{self.key(model, data_fp, settings)}{POSTERIOR_SUFFIX}"


def _stderr(message: str) -> None:
    """A line on stderr that leaves live progress bars intact (tqdm clears and redraws them)."""
    from tqdm.auto import tqdm

    tqdm.write(message, file=sys.stderr)


def fit_all(export: Export, settings: Settings, workspace: Workspace | str | Path | None = None,
            progress: bool | Callable[[str], None] = True, refit: bool = False,
            workers: int | None = None) -> FittedModels:
    """Fit the five models on ``export``, or load them from the workspace when cached.

    Parameters
    ----------
    export : Export
        The export (its as-of view) to learn from.
    settings : Settings
        Priors, sampler settings and thresholds.
    workspace : Workspace or path, optional
        Cache folder (default ``.partner_forecast`` in the current directory).
    progress : bool or callable
        ``True`` prints progress and the diagnostics table on stderr; a callable receives
        each message instead; ``False`` is silent (failed diagnostics still warn on stderr).
    refit : bool
        Ignore the cache and fit again (the new posteriors replace the cached ones).
    workers : int, optional
        Models fitted side by side in worker processes (default ``[sampler] fit_workers``;
        0 = automatic, 1 = one after another here; see :mod:`partner_forecast.fit_pool`).
        The posteriors are the same either way.

    Returns
    -------
    FittedModels
        With diagnostics judged against the current ``[sampler]`` thresholds.
    """
    ws = workspace if isinstance(workspace, Workspace) else Workspace.at(workspace)
    say: Callable[[str], None] = (_stderr if progress is True else
                                  (progress if callable(progress) else (lambda _m: None)))
    thresholds = settings.sampler.model_dump()
    fp = data_fingerprint(export)
    fitted: dict[str, PartnerModel] = {}
    to_fit: list[type[PartnerModel]] = []
    for cls in MODEL_CLASSES:
        path = ws.path(cls, fp, settings)
        if path.exists() and not refit:
            t0 = time.perf_counter()
            try:
                fitted[cls.name] = cls.load(path, data_fingerprint=fp,
                                            config_hash=cls.config_hash_from(settings))
                say(f"{cls.name}: loaded from {path} ({time.perf_counter() - t0:.2f} s)")
                continue
            except ModelMismatchError as exc:
                say(f"{cls.name}: cached posterior not usable, refitting ({exc})")
        to_fit.append(cls)
    n_workers = fit_workers(settings.sampler.fit_workers if workers is None else workers,
                            len(to_fit))
    new_fits = []
    paths = {cls.name: ws.path(cls, fp, settings) for cls in to_fit}
    if n_workers > 1:
        jobs = [FitJob(cls.name, paths[cls.name]) for cls in to_fit]
        fit_in_workers(jobs, export, settings, fp, thresholds, n_workers, say)
        for cls in to_fit:
            model = cls.load(paths[cls.name], data_fingerprint=fp,
                             config_hash=cls.config_hash_from(settings))
            fitted[cls.name] = model
            new_fits.append(model)
    else:
        for cls in to_fit:
            model = fit_and_save(cls, export, settings, fp, paths[cls.name], thresholds, say)
            fitted[cls.name] = model
            new_fits.append(model)
    fitted = {cls.name: fitted[cls.name] for cls in MODEL_CLASSES}
    for model in fitted.values():
        model.recheck(thresholds)
    fits = FittedModels(**fitted).check_consistent()  # type: ignore[arg-type]
    if new_fits:
        say("sampler diagnostics:\n"
            + format_table([m.diagnostics for m in new_fits if m.diagnostics is not None]))
    for m in fits:
        if m.diagnostics is not None:
            warn_failures(m.diagnostics)
    return fits


__all__ = ["Workspace", "fit_all", "data_fingerprint", "DEFAULT_WORKSPACE"]
