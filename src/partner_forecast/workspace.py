"""The workspace: a folder caching fitted posteriors so unchanged data is never refitted.

Default folder: ``.partner_forecast/`` in the current directory (``--workspace DIR``). Each
model's posterior is one file ``models/<model>-<key>.zarr.zip`` where ``key`` hashes

- the data fingerprint (:attr:`Export.fingerprint`: the source files' bytes and the as-of
  date; for an export built in memory, a hash of its tables' content),
- the model's config hash (its priors, the ``[sampler]`` settings that shape the draws, the
  settings its aggregation reads and the parametrisation), and
- the code version (a hash of the ``partner_forecast.models`` source).

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
from partner_forecast.models import MODEL_CLASSES, PartnerModel, code_version
from partner_forecast.models.base import POSTERIOR_SUFFIX, ModelMismatchError
from partner_forecast.models.base import export_fingerprint as data_fingerprint
from partner_forecast.models.diagnostics import format_table, warn_failures
from partner_forecast.models.fitted import FittedModels

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
        payload = f"{model.name}|{data_fp}|{model.config_hash_from(settings)}|{code_version()}"
        return hashlib.sha256(payload.encode()).hexdigest()[:20]

    def path(self, model: type[PartnerModel], data_fp: str, settings: Settings) -> Path:
        """File of a model's posterior for this data and config."""
        return self.models_dir / f"{model.name}-{self.key(model, data_fp, settings)}{POSTERIOR_SUFFIX}"


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def fit_all(export: Export, settings: Settings, workspace: Workspace | str | Path | None = None,
            progress: bool | Callable[[str], None] = True, refit: bool = False) -> FittedModels:
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
    new_fits = []
    for cls in MODEL_CLASSES:
        path = ws.path(cls, fp, settings)
        model = None
        if path.exists() and not refit:
            t0 = time.perf_counter()
            try:
                model = cls.load(path, data_fingerprint=fp,
                                 config_hash=cls.config_hash_from(settings))
                say(f"{cls.name}: loaded from {path} ({time.perf_counter() - t0:.2f} s)")
            except ModelMismatchError as exc:
                say(f"{cls.name}: cached posterior not usable, refitting ({exc})")
        if model is None:
            model = cls.from_export(export, settings, data_fingerprint=fp)
            model.fit(progress=say, thresholds=thresholds)
            model.save(path)
            new_fits.append(model)
            d = model.diagnostics
            say(f"{cls.name}: fitted in {d.compile_seconds + d.sample_seconds:.1f} s "
                f"(compile {d.compile_seconds:.1f} s, sampling {d.sample_seconds:.1f} s); "
                f"saved {path}")
        model.recheck(thresholds)
        fitted[cls.name] = model
    fits = FittedModels(**fitted).check_consistent()  # type: ignore[arg-type]
    if new_fits:
        say("sampler diagnostics:\n" + format_table([m.diagnostics for m in new_fits]))
    for m in fits:
        if m.diagnostics is not None:
            warn_failures(m.diagnostics)
    return fits


__all__ = ["Workspace", "fit_all", "data_fingerprint", "DEFAULT_WORKSPACE"]
