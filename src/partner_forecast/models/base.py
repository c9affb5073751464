"""One base class for the five models (pymc-marketing ModelBuilder manner).

Life of a model::

    spec  = Model.build_spec(export, settings)          # aggregated data + coords (no PyMC)
    model = Model(spec, model_config, sampler_config)   # priors: defaults | user overrides
    model.build_model()                                 # the PyMC graph, from the spec only
    model.fit()                                         # nutpie via pm.sample, seeded chains
    model.save(path); Model.load(path, ...)             # one self-describing posterior file

``default_model_config`` holds the model's priors declared in the packaged ``default.toml``
``[priors]`` table (keys ``<prefix><name>``) as :class:`pymc_extras.prior.Prior`; a user config's
``[priors]`` entries are merged over them with ``|``. ``default_sampler_config`` comes from
``[sampler]``. The saved posterior is an ArviZ :class:`xarray.DataTree` (zarr in a zip file,
written atomically) with groups ``posterior``, ``sample_stats`` (divergences) and ``spec`` (the
aggregated data), stamped in ``attrs`` with the model name, the code version (hash of the
``models`` package source), the config hash, the data fingerprint and the diagnostics;
:meth:`PartnerModel.load` refuses a file whose stamp does not match what the caller expects.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import importlib.util
import json
import math
import os
import tempfile
import time
import tomllib
import warnings
import zipfile
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from pymc_extras.prior import Prior

from partner_forecast import __version__
from partner_forecast.config import DEFAULT_CONFIG_TEXT, Settings
from partner_forecast.data.export import Export
from partner_forecast.data.schema import NOT_MODEL_INPUTS
from partner_forecast.errors import ConfigError, PartnerForecastError
from partner_forecast.models.diagnostics import Diagnostics, compute_diagnostics
from partner_forecast.models.effects import CENTRED_SUFFIX, OFFSET_SUFFIX, PARAMETRISATIONS
from partner_forecast.models.priors import parse_priors, prior_from_config
from partner_forecast.models.spec import ModelSpec

FORMAT_VERSION = 1
POSTERIOR_SUFFIX = ".zarr.zip"
SAMPLER_KEYS: tuple[str, ...] = ("draws", "tune", "chains", "target_accept", "random_seed",
                                 "nuts_sampler", "retries")
THRESHOLD_KEYS: tuple[str, ...] = ("max_rhat", "min_ess", "max_divergences")


class ModelMismatchError(PartnerForecastError):
    """A saved posterior does not belong to the model, code, config or data asked for."""


class ModelNotFittedError(PartnerForecastError):
    """A posterior was asked of a model that has not been fitted or loaded."""


class NotEnoughDataError(PartnerForecastError):
    """The export holds nothing for a model to learn from (e.g. no complete quarter)."""


DOWNSTREAM_MODULES: frozenset[str] = frozenset({"fitted.py", "inputs.py", "summaries.py",
                                                "testing.py"})
"""Modules of the package that only read posteriors: editing them does not invalidate fits."""


@functools.cache
def code_version() -> str:
    """Hash of the source of the ``partner_forecast.models`` package (16 hex digits).

    Any edit to a model, its aggregation, its priors, its diagnostics or its save format changes
    it, so a cached posterior from older code is never reused (the modules that only read
    posteriors, :data:`DOWNSTREAM_MODULES`, are left out).
    """
    h = hashlib.sha256()
    for p in sorted(Path(__file__).parent.glob("*.py")):
        if p.name in DOWNSTREAM_MODULES:
            continue
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def nutpie_available() -> bool:
    """Whether nutpie can be imported (else PyMC's own NUTS is used)."""
    return importlib.util.find_spec("nutpie") is not None


def _hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def export_fingerprint(export: Export) -> str:
    """Fingerprint of what a fit depends on in the data.

    :attr:`Export.fingerprint` (source files' bytes + as-of date) for an export read from
    disk; for one built in memory (no source files), a hash of its tables' content.
    """
    if export.source_fingerprint:
        return export.fingerprint
    h = hashlib.sha256(export.fingerprint.encode())
    for name, frame in export.tables().items():
        if name in NOT_MODEL_INPUTS:  # e.g. the team's calls: a new call leaves fits valid
            continue
        h.update(name.encode())
        if len(frame):
            h.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


@functools.cache
def default_settings_tables() -> dict[str, Any]:
    """The packaged ``default.toml`` as a dict (priors and sampler defaults come from here).

    Cached: treat it as read-only.
    """
    return tomllib.loads(DEFAULT_CONFIG_TEXT)


class PartnerModel(ABC):
    """Base class: spec -> PyMC model -> fit -> save/load, with diagnostics.

    Parameters
    ----------
    spec : ModelSpec
        Aggregated data (see :meth:`build_spec`).
    model_config : dict, optional
        Priors by short name (``Prior`` or config form), merged over
        :attr:`default_model_config`.
    sampler_config : dict, optional
        Keys of ``[sampler]`` (draws, tune, chains, target_accept, random_seed) and
        ``nuts_sampler`` (``"nutpie"`` or ``"pymc"``), merged over
        :attr:`default_sampler_config`.
    data_fingerprint : str
        Fingerprint of the export the spec was built from (stamped on the posterior).
    spec_options : dict, optional
        Settings the aggregation depended on (part of the config hash).
    parametrisation : {"auto", "centred", "non_centred"}
        How group effects are written (see :mod:`partner_forecast.models.effects`).
    """

    name: ClassVar[str] = ""
    prior_prefix: ClassVar[str] = ""
    PRIOR_NAMES: ClassVar[tuple[str, ...]] = ()
    PARAMETRISED: ClassVar[dict[str, str]] = {"partner": "partner_effect"}
    """Group effects whose form follows the parametrisation: short name -> effect name."""
    registry: ClassVar[dict[str, type[PartnerModel]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            PartnerModel.registry[cls.name] = cls

    def __init__(self, spec: ModelSpec, model_config: dict[str, Any] | None = None,
                 sampler_config: dict[str, Any] | None = None, data_fingerprint: str = "",
                 spec_options: dict[str, Any] | None = None, parametrisation: str = "auto"):
        if parametrisation not in PARAMETRISATIONS:
            raise ValueError(f"parametrisation must be one of {PARAMETRISATIONS}")
        self.spec = spec
        merged = self.default_model_config | dict(model_config or {})
        self.model_config: dict[str, Prior] = {k: prior_from_config(v) for k, v in merged.items()}
        missing = set(self.PRIOR_NAMES) - set(self.model_config)
        if missing:
            raise ValueError(f"{self.name}: priors missing for {sorted(missing)}")
        self.sampler_config: dict[str, Any] = self.default_sampler_config | dict(sampler_config or {})
        self.data_fingerprint = data_fingerprint
        self.spec_options = dict(spec_options or {})
        self.parametrisation = parametrisation
        self.idata: xr.DataTree | None = None
        self.diagnostics: Diagnostics | None = None
        self._samples: dict[str, np.ndarray] = {}
        self._compiled: dict[str, Any] = {}
        self._built: dict[str, pm.Model] = {}
        self.compile_log: list[str] = []
        """Parametrisations compiled by :meth:`fit`, in order (one per compile)."""
        self.sampling_bar: Callable[[str, int], Any] | None = None
        """Makes the live bar shown while nutpie samples: ``(label, total draws) -> callback``
        with a ``close()`` (default: :class:`~.progress.SamplingBar` where someone can watch
        it). A worker process fitting for a parent sets one that relays to the parent."""

    # -- configuration ------------------------------------------------------------------------
    @property
    def default_model_config(self) -> dict[str, Prior]:
        """The model's priors from the packaged ``default.toml`` ``[priors]`` table."""
        return _default_priors(self.prior_prefix)

    @property
    def default_sampler_config(self) -> dict[str, Any]:
        """``[sampler]`` defaults, with nutpie when installed (else PyMC's NUTS)."""
        s = default_settings_tables()["sampler"]
        out = {k: s[k] for k in SAMPLER_KEYS if k in s}
        out["nuts_sampler"] = "nutpie" if nutpie_available() else "pymc"
        return out

    @classmethod
    def spec_options_from(cls, settings: Settings) -> dict[str, Any]:
        """Settings :meth:`build_spec` depends on (override to add more)."""
        return {"fiscal_year_start_month": settings.calendar.fiscal_year_start_month}

    @classmethod
    def configs_from(cls, settings: Settings) -> dict[str, Any]:
        """Constructor keyword arguments (priors, sampler, spec options) from settings."""
        check_prior_keys(settings.priors, f"{settings.source} [priors]")
        priors = parse_priors(settings.priors, cls.prior_prefix, source=f"{settings.source} [priors]")
        sampler = {k: v for k, v in settings.sampler.model_dump().items() if k in SAMPLER_KEYS}
        return {"model_config": priors, "sampler_config": sampler,
                "spec_options": cls.spec_options_from(settings)}

    @classmethod
    def config_hash_from(cls, settings: Settings, parametrisation: str = "auto") -> str:
        """The config hash a model built from ``settings`` will have (no aggregation needed)."""
        kw = cls.configs_from(settings)
        model_config = _default_priors(cls.prior_prefix) | kw["model_config"]
        sampler = {k: v for k, v in default_settings_tables()["sampler"].items()
                   if k in SAMPLER_KEYS} | kw["sampler_config"]
        sampler.setdefault("nuts_sampler", "nutpie" if nutpie_available() else "pymc")
        return _config_hash(cls.name, model_config, sampler, kw["spec_options"], parametrisation)

    @property
    def config_hash(self) -> str:
        """Hash of priors, sampler settings, spec options and parametrisation."""
        return _config_hash(self.name, self.model_config, self.sampler_config, self.spec_options,
                            self.parametrisation)

    # -- construction from data -----------------------------------------------------------------
    @classmethod
    @abstractmethod
    def build_spec(cls, export: Export, settings: Settings) -> ModelSpec:
        """Aggregate the export into this model's sufficient statistics."""

    @classmethod
    def from_export(cls, export: Export, settings: Settings, data_fingerprint: str | None = None,
                    parametrisation: str = "auto") -> Self:
        """Build the spec from ``export`` and the model from ``settings``."""
        spec = cls.build_spec(export, settings)
        fp = export_fingerprint(export) if data_fingerprint is None else data_fingerprint
        return cls(spec, data_fingerprint=fp, parametrisation=parametrisation,
                   **cls.configs_from(settings))

    @abstractmethod
    def build_model(self) -> pm.Model:
        """The PyMC model of this spec (no sampling)."""

    data_description: ClassVar[str] = "data"
    """What the model learns from, for the message when there is none."""

    @property
    def cells(self) -> int:
        """Rows of aggregated data the likelihood is evaluated on."""
        return 0

    # -- fitting ------------------------------------------------------------------------------
    def chain_seeds(self) -> list[int]:
        """One seed per chain, derived from ``random_seed`` and the model name."""
        ss = np.random.SeedSequence([int(self.sampler_config["random_seed"]),
                                     zlib.crc32(self.name.encode())])
        return [int(x) for x in ss.generate_state(int(self.sampler_config["chains"]))]

    def fit(self, progress: Callable[[str], None] | None = None,
            thresholds: dict[str, Any] | None = None) -> xr.DataTree:
        """Sample the posterior (NUTS), retrying when diagnostics fail; keep the result.

        A fit that fails its thresholds is retried (up to ``[sampler] retries`` times) before
        it is reported: divergences raise ``target_accept`` (0.97, then 0.99) and double the
        tuning; R-hat or ESS alone keep the chains run so far and add as many new ones as the
        ESS target needs ("draws by need", :func:`draws_needed`). A retry with the same
        parametrisation reuses the compiled model (nutpie). The last retry after divergences
        or an R-hat failure restarts (R-hat: with the draws needed and 1.5x the tuning) and
        switches the parametrisation of the effects behind the worst variable
        (:func:`_other_parametrisation`; a model whose effects all have fixed forms restarts
        on its compiled model). The best attempt is kept (passing, else fewest
        failures) and its diagnostics say how many attempts were made and with what settings.

        Parameters
        ----------
        progress : callable, optional
            Called with a short message before each attempt.
        thresholds : dict, optional
            ``max_rhat``, ``min_ess``, ``max_divergences`` (default: ``[sampler]`` defaults).

        Returns
        -------
        xarray.DataTree
            The saved form of the fit (also ``self.idata``).
        """
        if self.cells == 0:
            raise NotEnoughDataError(
                f"nothing to fit the {self.name} model on: the export has no "
                f"{self.data_description} before the as-of date")
        limits = _thresholds(thresholds)
        cfg = dict(self.sampler_config)
        retries = int(cfg.get("retries", 2))
        parametrisation = self.parametrisation
        cfg["draws"] = first_draws(int(cfg["draws"]), self._scalars(parametrisation))
        best: tuple[tuple, xr.Dataset, xr.Dataset, Diagnostics] | None = None
        spent_compile = spent_sample = 0.0
        extend: tuple[xr.Dataset, xr.Dataset, int] | None = None
        for attempt in range(1 + retries):
            post, stats, diag = self._sample_once(cfg, parametrisation, limits, progress, attempt,
                                                  extend)
            spent_compile += diag.compile_seconds
            spent_sample += diag.sample_seconds
            note = (f"attempt {attempt + 1}: target_accept {float(cfg['target_accept']):g}, "
                    f"tune {int(cfg['tune'])}, {diag.chains} chains x {diag.draws} draws, "
                    f"{parametrisation}")
            diag = replace(diag, attempts=attempt + 1, settings_used=note)
            rank = (len(diag.failures), diag.divergences,
                    diag.max_rhat if not math.isnan(diag.max_rhat) else 0.0)
            if best is None or rank < best[0]:
                best = (rank, post, stats, diag)
            if diag.ok:
                break
            if attempt == retries:
                break
            if progress:
                progress(f"{self.name}: diagnostics failed ({'; '.join(diag.failures)}); retrying")
            extend = None
            rhat_failed = not math.isnan(diag.max_rhat) and diag.max_rhat > limits["max_rhat"]
            if diag.divergences > limits["max_divergences"]:
                cfg["target_accept"] = max(float(cfg["target_accept"]), 0.97 if attempt == 0 else 0.99)
                cfg["tune"] = int(cfg["tune"]) * 2
            elif attempt + 1 < retries or not rhat_failed:
                # Converged but short of ESS (or R-hat just above its bar before the last
                # retry): keep these chains and add as many new ones as the shortfall asks
                # for, run side by side on the compiled model (a restart would pay the tuning
                # again for the same draws; another parametrisation would compile again).
                extra = int(cfg["chains"]) * max(1, math.ceil(
                    draws_needed(int(cfg["draws"]), diag, limits["min_ess"]) / int(cfg["draws"]) - 1))
                extend = (post, stats, extra)
            else:
                cfg["draws"] = draws_needed(int(cfg["draws"]), diag, limits["min_ess"])
                cfg["tune"] = int(int(cfg["tune"]) * 1.5)
            if attempt + 1 == retries and extend is None:
                parametrisation = _other_parametrisation(parametrisation, diag,
                                                         self._centred_share(parametrisation))
        assert best is not None
        # compiled code is cached on disk; free its memory before the next model
        self._compiled.clear()
        self._built.clear()
        _, post, stats, diag = best
        self.diagnostics = replace(diag, attempts=attempt + 1,
                                   compile_seconds=spent_compile, sample_seconds=spent_sample)
        post = self.prune_posterior(post)
        stats = stats[["diverging"]]
        post.attrs, stats.attrs = {}, {}
        self.idata = xr.DataTree.from_dict({"posterior": post, "sample_stats": stats,
                                            "spec": self.spec.to_dataset()})
        self.idata.attrs.update(self.stamp())
        self._samples = {}
        return self.idata

    def _sample_once(self, cfg: dict[str, Any], parametrisation: str, limits: dict[str, Any],
                     progress: Callable[[str], None] | None, attempt: int,
                     extend: tuple[xr.Dataset, xr.Dataset, int] | None = None
                     ) -> tuple[xr.Dataset, xr.Dataset, Diagnostics]:
        """One NUTS run with the given sampler settings and parametrisation.

        With ``extend = (posterior, stats, n)``, ``n`` new chains are run and appended to
        the given ones (same model, settings and draws; new seeds), and the diagnostics are
        those of all chains together.
        """
        if extend is not None:
            cfg = dict(cfg, chains=extend[2])
        sampler = cfg.get("nuts_sampler", "nutpie")
        if sampler == "nutpie" and not nutpie_available():
            sampler = "pymc"
        seeds = self.chain_seeds()
        if attempt:
            seeds = [int(x) for x in np.random.SeedSequence([*seeds, attempt]).generate_state(
                int(cfg["chains"]))]
        if progress and extend is not None:
            progress(f"{self.name}: {extend[2]} more chains x {cfg['draws']} draws for the ESS "
                     f"target (retry {attempt})")
        elif progress:
            again = f" (retry {attempt})" if attempt else ""
            cached = sampler == "nutpie" and parametrisation in self._compiled
            progress(f"{self.name}: {'sampling' if cached else 'compiling and sampling'} on "
                     f"{self.cells:,} cells{again} ({cfg['chains']} chains x {cfg['draws']} draws, "
                     f"{sampler})")
        t0 = time.perf_counter()
        if sampler == "nutpie":
            idata, sample_s = self._sample_nutpie(cfg, parametrisation, seeds[0])
        else:
            idata, sample_s = self._sample_pymc(cfg, parametrisation, seeds)
        total = time.perf_counter() - t0
        post = drop_helpers(idata["posterior"].to_dataset())
        stats = idata["sample_stats"].to_dataset()
        stats = stats[[v for v in ("diverging", "n_steps") if v in stats.data_vars]]
        if extend is not None:
            prev_post, prev_stats, _ = extend
            shift = prev_post.sizes["chain"]
            post = xr.concat([prev_post, post.assign_coords(chain=post["chain"] + shift)],
                             dim="chain")
            stats = xr.concat([prev_stats, stats.assign_coords(chain=stats["chain"] + shift)],
                              dim="chain")
        diag = compute_diagnostics(
            xr.DataTree.from_dict({"posterior": post, "sample_stats": stats}), self.name,
            cells=self.cells, compile_seconds=total - sample_s, sample_seconds=sample_s,
            sampler=sampler, **limits)
        return post, stats, diag

    def _scalars(self, parametrisation: str) -> int:
        """Free scalar parameters of the model under ``parametrisation`` (built, not compiled)."""
        point = self._build(parametrisation).initial_point()
        return int(sum(np.size(v) for v in point.values()))

    def _centred_share(self, parametrisation: str) -> dict[str, float]:
        """Share of the members of each :attr:`PARAMETRISED` effect sampled centred.

        Read off the model built under ``parametrisation``: a group effect's centred and
        non-centred parts are the free variables ``<effect>__centred`` / ``<effect>__offset``;
        a zero-sum label effect is either the free variable ``<effect>`` (centred) or a
        deterministic over ``<effect>__offset``.
        """
        model = self._build(parametrisation)
        free = {rv.name: rv for rv in model.free_RVs}

        def members(name: str) -> int:
            rv = free.get(name)
            return 0 if rv is None else int(np.prod([n or 1 for n in rv.type.shape]))

        share = {}
        for short, effect in self.PARAMETRISED.items():
            centred = members(effect) + members(f"{effect}{CENTRED_SUFFIX}")
            total = centred + members(f"{effect}{OFFSET_SUFFIX}")
            if total:
                share[short] = centred / total
        return share

    def _build(self, parametrisation: str) -> pm.Model:
        """The PyMC model under ``parametrisation`` (the instance's own is left as it was).

        Built once per parametrisation during a fit: counting its scalars, compiling it and
        the PyMC fallback sampler share one graph.
        """
        if parametrisation not in self._built:
            requested, self.parametrisation = self.parametrisation, parametrisation
            try:
                self._built[parametrisation] = self.build_model()
            finally:
                self.parametrisation = requested
        return self._built[parametrisation]

    def _sample_nutpie(self, cfg: dict[str, Any], parametrisation: str, seed: int
                       ) -> tuple[xr.DataTree, float]:
        """Sample with nutpie, compiling the model once per parametrisation.

        A retry with other sampler settings (target_accept, tuning, draws) reuses the compiled
        logp and gradient: only a retry in the other parametrisation compiles again. Shows a
        live bar on stderr where someone can see it (:func:`~.progress.bars_wanted`).
        """
        import nutpie

        from partner_forecast.models.progress import SamplingBar, bars_wanted

        if parametrisation not in self._compiled:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=UserWarning)
                self._compiled[parametrisation] = nutpie.compile_pymc_model(
                    self._build(parametrisation))
            self.compile_log.append(parametrisation)
        chains, draws, tune = int(cfg["chains"]), int(cfg["draws"]), int(cfg["tune"])
        if self.sampling_bar is not None:
            bar = self.sampling_bar(self.name, chains * (draws + tune))
        else:
            bar = SamplingBar(self.name, chains * (draws + tune)) if bars_wanted() else None
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=RuntimeWarning)
                idata = nutpie.sample(
                    self._compiled[parametrisation], draws=draws, tune=tune, chains=chains,
                    cores=min(chains, os.cpu_count() or 1), seed=seed, save_warmup=False,
                    target_accept=float(cfg["target_accept"]), progress_bar=False,
                    progress_callback=bar)
        finally:
            if bar is not None:
                bar.close()
        return idata, time.perf_counter() - t0

    def _sample_pymc(self, cfg: dict[str, Any], parametrisation: str, seeds: list[int]
                     ) -> tuple[xr.DataTree, float]:
        """Sample with PyMC's own NUTS (the fallback when nutpie is not installed)."""
        with self._build(parametrisation), warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=UserWarning, module="pymc")
            warnings.filterwarnings("ignore", category=RuntimeWarning)
            idata = pm.sample(draws=int(cfg["draws"]), tune=int(cfg["tune"]),
                              chains=int(cfg["chains"]),
                              cores=min(int(cfg["chains"]), os.cpu_count() or 1),
                              target_accept=float(cfg["target_accept"]), random_seed=seeds,
                              nuts_sampler="pymc", progressbar=False, quiet=True,
                              compute_convergence_checks=False)
        return idata, float(idata["posterior"].attrs.get("sampling_time", np.nan))

    def prune_posterior(self, posterior: xr.Dataset) -> xr.Dataset:
        """Drop what need not be saved (override); diagnostics are computed before this."""
        return posterior

    def stamp(self) -> dict[str, str]:
        """Attributes that identify a fit: model, code, config, data, diagnostics."""
        return {
            "model": self.name, "format_version": str(FORMAT_VERSION),
            "code_version": code_version(), "config_hash": self.config_hash,
            "data_fingerprint": self.data_fingerprint, "spec_fingerprint": self.spec.fingerprint,
            "package_version": __version__, "pymc_version": pm.__version__,
            "model_config": json.dumps({k: v.to_dict() for k, v in self.model_config.items()},
                                       sort_keys=True, default=str),
            "sampler_config": json.dumps(self.sampler_config, sort_keys=True, default=str),
            "spec_options": json.dumps(self.spec_options, sort_keys=True, default=str),
            "parametrisation": self.parametrisation,
            "diagnostics": json.dumps(self.diagnostics.to_dict() if self.diagnostics else None),
        }

    # -- posterior access ---------------------------------------------------------------------
    @property
    def posterior(self) -> xr.Dataset:
        """The (pruned) posterior dataset."""
        if self.idata is None:
            raise ModelNotFittedError(f"the {self.name} model has not been fitted or loaded")
        return self.idata["posterior"].to_dataset()

    @property
    def n_samples(self) -> int:
        """Chains x draws."""
        post = self.posterior
        return int(post.sizes["chain"] * post.sizes["draw"])

    def samples(self, var: str) -> np.ndarray:
        """Draws of ``var`` with chain and draw stacked into the first axis."""
        if var not in self._samples:
            da = self.posterior[var]
            arr = np.asarray(da.values, dtype=float)
            self._samples[var] = arr.reshape((-1, *arr.shape[2:]))
        return self._samples[var]

    def recheck(self, thresholds: dict[str, Any]) -> Diagnostics | None:
        """Diagnostics re-judged against (possibly changed) thresholds."""
        if self.diagnostics is None:
            return None
        self.diagnostics = self.diagnostics.judged(**_thresholds(thresholds))
        return self.diagnostics

    # -- persistence --------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fit to ``path`` (zarr in a zip file) atomically: temp file + ``os.replace``."""
        if self.idata is None:
            raise ModelNotFittedError(f"the {self.name} model has not been fitted; nothing to save")
        return write_tree(self.idata, path)

    @classmethod
    def load(cls, path: str | Path, *, data_fingerprint: str | None = None,
             config_hash: str | None = None, check_code: bool = True) -> PartnerModel:
        """Read a saved fit, refusing one that does not match what is expected.

        Parameters
        ----------
        path : path
            A file written by :meth:`save`.
        data_fingerprint, config_hash : str, optional
            When given, the file's stamp must carry these values.
        check_code : bool
            Refuse a file written by a different version of the models' code.

        Raises
        ------
        ModelMismatchError
            Naming the field that differs, the expected and the found value.
        """
        path = Path(path)
        if not path.exists():
            raise ModelMismatchError(f"{path}: no saved posterior there")
        tree = read_tree(path)
        attrs = dict(tree.attrs)
        name = attrs.get("model", "")
        target = cls if cls.name else PartnerModel.registry.get(name)
        problems = []
        if target is None or name != target.name:
            problems.append(f"model is {name!r}, expected {cls.name or 'a known model'!r}")
        checks = [("code_version", code_version() if check_code else None),
                  ("config_hash", config_hash), ("data_fingerprint", data_fingerprint)]
        for key, expected in checks:
            if expected is not None and attrs.get(key) != expected:
                problems.append(f"{key} is {attrs.get(key)!r}, expected {expected!r}")
        if problems:
            raise ModelMismatchError(
                f"{path}: saved posterior does not match and will not be used: "
                + "; ".join(problems) + ". Refit (partner-forecast fit) to replace it.")
        assert target is not None
        model = target(ModelSpec.from_dataset(tree["spec"].to_dataset()),
                       model_config=json.loads(attrs["model_config"]),
                       sampler_config=json.loads(attrs["sampler_config"]),
                       data_fingerprint=attrs.get("data_fingerprint", ""),
                       spec_options=json.loads(attrs.get("spec_options", "{}")),
                       parametrisation=attrs.get("parametrisation", "auto"))
        model.idata = tree
        diag = json.loads(attrs.get("diagnostics", "null"))
        model.diagnostics = Diagnostics.from_dict(diag) if diag else None
        return model


DRAWS_GROWTH = (1.5, 3.0)
"""Least and most a retry multiplies the draws by (see :func:`draws_needed`)."""


MANY_SCALARS = 1000
"""A model with more free scalars than this starts at twice the configured draws."""


def first_draws(draws: int, scalars: int) -> int:
    """Draws per chain of a model's first attempt: twice ``draws`` above :data:`MANY_SCALARS`.

    The R-hat threshold is checked on the *largest* R-hat over every scalar, which grows with
    their number by chance alone: on ``data/sample`` the activation model (3,230 scalars, one
    per partner-quarter) ended at R-hat 1.012 after three attempts from 1,000 draws, and passed
    from 2,000; the models with a few hundred scalars pass from 1,000.
    """
    return draws * 2 if scalars > MANY_SCALARS else draws


def draws_needed(draws: int, diag: Diagnostics, min_ess: float) -> int:
    """Draws per chain for a retry whose ESS should reach ``min_ess`` ("draws by need").

    ESS grows about linearly with the draws of a chain that has converged, so the draws are
    scaled by ``min_ess / ESS reached`` with a 25% margin, between :data:`DRAWS_GROWTH`
    (1.5x: a near miss still gets a visible step; 3x: a fit far off its target is a geometry
    problem more draws will not cure), rounded up to a multiple of 100.
    """
    reached = min(diag.min_ess_bulk, diag.min_ess_tail)
    ratio = min_ess / reached * 1.25 if reached > 0 and not math.isnan(reached) else math.inf
    factor = min(max(ratio, DRAWS_GROWTH[0]), DRAWS_GROWTH[1])
    return int(math.ceil(draws * factor / 100.0) * 100)


def _other_parametrisation(current: str, diag: Diagnostics, centred_share: dict[str, float]
                           ) -> str:
    """The parametrisation of the last retry: a form the worst variable's effects lacked.

    Only group effects whose form follows the parametrisation (partners, conversion's quarter
    shocks: ``centred_share``, the share of each one's members centred under ``current``) can
    change; type, tier and stage effects have fixed-scale priors and look the same under any
    parametrisation. So:

    - a model without such effects (timing) keeps ``current``: its last retry restarts on the
      compiled model with more tuning and draws instead of compiling the same graph again;
    - a forced form is switched to the other one;
    - under ``auto``, the effect named by the worst variable (``partner_sigma`` ->
      ``partner``, ``shock_sigma`` -> ``shock``), else the partners (the one large group), is
      made non-centred: a failure with a learned spread is mostly the centred members'
      funnel when the spread is small (deal sizes on 17-40 partners: restarting *centred*
      gave R-hat 1.13 and an ESS of 12). Only when all its members were non-centred already
      is it made centred, the one form not yet tried.

    Parameters
    ----------
    current : {"auto", "centred", "non_centred"}
        Parametrisation of the attempts so far.
    diag : Diagnostics
        The last attempt's diagnostics (its worst R-hat and ESS variables).
    centred_share : dict
        Effect name (``"partner"``, ``"shock"``) -> share of its members centred.
    """
    if not centred_share:
        return current
    if current == "centred":
        return "non_centred"
    if current == "non_centred":
        return "centred"
    worst = f"{diag.worst_rhat} {diag.worst_ess}"
    group = next((g for g in centred_share if g in worst),
                 "partner" if "partner" in centred_share else next(iter(centred_share)))
    return "centred" if centred_share[group] == 0.0 else "non_centred"


RETIRED_PRIORS: dict[str, str] = {
    "conversion_jump_sigma": "conversion_jump_type",
    "timing_group_sigma": "timing_type_mu",
    "timing_sigma_spread": "timing_type_log_sigma",
}
"""Prior keys of earlier versions (learned spreads of few-member effects) -> what replaced them."""


def check_prior_keys(table: dict[str, Any], source: str) -> None:
    """Raise :class:`ConfigError` naming every ``[priors]`` key no model reads.

    A misspelt key would otherwise leave the default prior in force without a word; a retired
    key (a learned spread replaced by a fixed-scale prior) names its replacement.
    """
    known = {cls.prior_prefix + n for cls in PartnerModel.registry.values() for n in cls.PRIOR_NAMES}
    unknown = sorted(set(table) - known)
    if not unknown:
        return
    lines = []
    for key in unknown:
        if key in RETIRED_PRIORS:
            lines.append(f"{source} {key}: no longer used (few-member spreads became fixed-scale "
                         f"priors); set {RETIRED_PRIORS[key]} instead")
            continue
        close = difflib.get_close_matches(key, sorted(known), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        lines.append(f"{source} {key}: no model has this prior{hint}")
    raise ConfigError("unknown prior(s):\n" + "\n".join(lines)
                      + f"\nknown priors: {', '.join(sorted(known))}")


def drop_helpers(posterior: xr.Dataset) -> xr.Dataset:
    """The posterior without the centred/non-centred parts of group effects.

    The full effects are deterministics with the group's dims; the parts they are gathered
    from are implementation detail.
    """
    helpers = [v for v in posterior.data_vars if str(v).endswith((CENTRED_SUFFIX, OFFSET_SUFFIX))]
    return posterior.drop_vars(helpers)


def _thresholds(thresholds: dict[str, Any] | None) -> dict[str, Any]:
    s = default_settings_tables()["sampler"]
    out = {k: s[k] for k in THRESHOLD_KEYS}
    out.update({k: v for k, v in (thresholds or {}).items() if k in THRESHOLD_KEYS})
    return out


def _default_priors(prefix: str) -> dict[str, Prior]:
    return parse_priors(default_settings_tables()["priors"], prefix, source="default.toml [priors]")


def _config_hash(name: str, model_config: dict[str, Any], sampler: dict[str, Any],
                 spec_options: dict[str, Any], parametrisation: str) -> str:
    priors = {k: prior_from_config(v).to_dict() for k, v in model_config.items()}
    return _hash({"model": name, "priors": priors,
                  "sampler": {k: sampler.get(k) for k in SAMPLER_KEYS},
                  "spec_options": spec_options, "parametrisation": parametrisation})


def write_tree(tree: xr.DataTree, path: str | Path) -> Path:
    """Write a DataTree as zarr inside a zip file, atomically (temp file + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pf-zarr-", dir=path.parent) as tmp:
        store = Path(tmp) / "tree.zarr"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree.to_zarr(store, consolidated=False)
        fd, tmp_zip = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_STORED) as zf:
                for f in sorted(store.rglob("*")):
                    if f.is_file():
                        zf.write(f, f.relative_to(store).as_posix())
            os.replace(tmp_zip, path)
        except BaseException:
            Path(tmp_zip).unlink(missing_ok=True)
            raise
    return path


def read_tree(path: str | Path) -> xr.DataTree:
    """Read a DataTree written by :func:`write_tree` fully into memory."""
    from zarr.storage import ZipStore

    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with ZipStore(path, mode="r") as store:
                tree = xr.open_datatree(store, engine="zarr", consolidated=False)
                tree.load()
        except (zipfile.BadZipFile, FileNotFoundError, KeyError, ValueError) as exc:
            raise ModelMismatchError(f"{path}: not a readable saved posterior ({exc})") from None
    return tree


__all__ = ["PartnerModel", "ModelMismatchError", "ModelNotFittedError", "NotEnoughDataError",
           "code_version", "draws_needed", "first_draws",
           "export_fingerprint",
           "nutpie_available", "write_tree", "read_tree", "POSTERIOR_SUFFIX"]
