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
``[sampler]`` (:mod:`.model_config`). Fitting, with its retries, is :mod:`.sampling`; the saved
file and its stamp are :mod:`.saved`. Each model class declares a :attr:`PartnerModel.version`:
a saved fit (or a workspace cache entry) of another version is never used.
"""

from __future__ import annotations

import json
import zlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import pymc as pm
import xarray as xr
from pymc_extras.prior import Prior

from partner_forecast import __version__
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.models import model_config as mc
from partner_forecast.models.diagnostics import Diagnostics
from partner_forecast.models.effects import CENTRED_SUFFIX, OFFSET_SUFFIX, PARAMETRISATIONS
from partner_forecast.models.errors import ModelMismatchError, ModelNotFittedError
from partner_forecast.models.priors import parse_priors, prior_from_config
from partner_forecast.models.sampling import fit_with_retries
from partner_forecast.models.saved import (
    FORMAT_VERSION,
    check_stamp,
    export_fingerprint,
    read_tree,
    write_tree,
)
from partner_forecast.models.spec import ModelSpec


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
    version: ClassVar[int] = 0
    """The model's version, stamped on its saved fits and part of its workspace cache key: a fit
    of another version is never used (it is refitted). Declared by each model class; bump it by
    hand whenever a change would make an old posterior wrong for the new code: the PyMC graph
    (variables, priors' forms, parametrisation rules), the sufficient statistics its spec is
    built from (:mod:`.aggregate`, :mod:`partner_forecast.data.views`), the variables it saves
    (:meth:`prune_posterior`) or how it is sampled (:mod:`.sampling`); a change to code the
    models share bumps each model it touches. Code that only reads posteriors
    (:mod:`partner_forecast.posterior`) needs no bump; a change of the saved file's layout bumps
    :data:`~.saved.FORMAT_VERSION` instead."""
    registry: ClassVar[dict[str, type[PartnerModel]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            if "version" not in cls.__dict__:
                raise TypeError(f"model class {cls.__name__} must declare its own `version` "
                                "(see PartnerModel.version)")
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
        return mc.default_priors(self.prior_prefix)

    @property
    def default_sampler_config(self) -> dict[str, Any]:
        """``[sampler]`` defaults, with nutpie when installed (else PyMC's NUTS)."""
        return mc.default_sampler_config()

    @classmethod
    def spec_options_from(cls, settings: Settings) -> dict[str, Any]:
        """Settings :meth:`build_spec` depends on (override to add more)."""
        return {"fiscal_year_start_month": settings.calendar.fiscal_year_start_month}

    @classmethod
    def configs_from(cls, settings: Settings) -> dict[str, Any]:
        """Constructor keyword arguments (priors, sampler, spec options) from settings."""
        known = {m.prior_prefix + n for m in PartnerModel.registry.values() for n in m.PRIOR_NAMES}
        mc.check_prior_keys(settings.priors, f"{settings.source} [priors]", known)
        priors = parse_priors(settings.priors, cls.prior_prefix, source=f"{settings.source} [priors]")
        sampler = {k: v for k, v in settings.sampler.model_dump().items() if k in mc.SAMPLER_KEYS}
        return {"model_config": priors, "sampler_config": sampler,
                "spec_options": cls.spec_options_from(settings)}

    @classmethod
    def config_hash_from(cls, settings: Settings, parametrisation: str = "auto") -> str:
        """The config hash a model built from ``settings`` will have (no aggregation needed)."""
        kw = cls.configs_from(settings)
        model_config = mc.default_priors(cls.prior_prefix) | kw["model_config"]
        sampler = {k: v for k, v in mc.default_settings_tables()["sampler"].items()
                   if k in mc.SAMPLER_KEYS} | kw["sampler_config"]
        sampler.setdefault("nuts_sampler", "nutpie" if mc.nutpie_available() else "pymc")
        return mc.config_hash(cls.name, model_config, sampler, kw["spec_options"], parametrisation)

    @property
    def config_hash(self) -> str:
        """Hash of priors, sampler settings, spec options and parametrisation."""
        return mc.config_hash(self.name, self.model_config, self.sampler_config, self.spec_options,
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
        ESS target needs ("draws by need", :func:`~.sampling.draws_needed`). A retry with the same
        parametrisation reuses the compiled model (nutpie). The last retry after divergences
        or an R-hat failure restarts (R-hat: with the draws needed and 1.5x the tuning) and
        switches the parametrisation of the effects behind the worst variable
        (:func:`~.sampling.other_parametrisation`; a model whose effects all have fixed forms restarts
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
        return fit_with_retries(self, progress, thresholds)

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

    def prune_posterior(self, posterior: xr.Dataset) -> xr.Dataset:
        """Drop what need not be saved (override); diagnostics are computed before this."""
        return posterior

    def stamp(self) -> dict[str, str]:
        """Attributes that identify a fit: model, format and model version, config, data, diagnostics."""
        return {
            "model": self.name, "format_version": str(FORMAT_VERSION),
            "model_version": str(self.version), "config_hash": self.config_hash,
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
        self.diagnostics = self.diagnostics.judged(**mc.thresholds(thresholds))
        return self.diagnostics

    # -- persistence --------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the fit to ``path`` (zarr in a zip file) atomically: temp file + ``os.replace``."""
        if self.idata is None:
            raise ModelNotFittedError(f"the {self.name} model has not been fitted; nothing to save")
        return write_tree(self.idata, path)

    @classmethod
    def load(cls, path: str | Path, *, data_fingerprint: str | None = None,
             config_hash: str | None = None, check_version: bool = True) -> PartnerModel:
        """Read a saved fit, refusing one that does not match what is expected.

        A file of another :data:`~.saved.FORMAT_VERSION` is always refused.

        Parameters
        ----------
        path : path
            A file written by :meth:`save`.
        data_fingerprint, config_hash : str, optional
            When given, the file's stamp must carry these values.
        check_version : bool
            Refuse a file stamped with another :attr:`version` of its model.

        Raises
        ------
        ModelMismatchError
            Naming the field that differs, the expected and the found value.
        """
        path = Path(path)
        if not path.exists():
            raise ModelMismatchError(f"{path}: no saved posterior there")
        tree = read_tree(path)
        attrs = {str(k): v for k, v in tree.attrs.items()}
        name = attrs.get("model", "")
        target = cls if cls.name else PartnerModel.registry.get(name)
        problems = []
        if target is None or name != target.name:
            problems.append(f"model is {name!r}, expected {cls.name or 'a known model'!r}")
        check_stamp(path, attrs, {
            "format_version": str(FORMAT_VERSION),
            "model_version": str(target.version) if check_version and target is not None else None,
            "config_hash": config_hash, "data_fingerprint": data_fingerprint}, problems)
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


__all__ = ["PartnerModel"]
