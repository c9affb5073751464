"""Declarative priors: the ``[priors]`` config table as :class:`pymc_extras.prior.Prior` objects.

A prior is written in TOML as a flat inline table, ``{ dist = "Normal", mu = 0.0, sigma = 1.0 }``
(the distribution's parameters beside ``dist``), or in ``Prior.to_dict`` form,
``{ dist = "Normal", kwargs = { mu = 0.0, sigma = 1.0 } }``. A parameter may itself be a prior
(an inline table with a ``dist`` key). Keys are ``<model>_<name>``, e.g. ``activation_ramp``;
every model reads the keys with its own prefix (see ``PRIOR_NAMES`` on each model class).

All entries are validated at once: :func:`parse_priors` raises one :class:`ConfigError` listing
every bad key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pymc_extras.prior import Prior

from partner_forecast.errors import ConfigError

_META_KEYS = ("dist", "kwargs", "centered", "dims", "transform")


def prior_from_config(spec: Mapping[str, Any] | Prior) -> Prior:
    """One prior from its config form (flat or ``Prior.to_dict`` form).

    Parameters
    ----------
    spec : mapping or Prior
        ``{"dist": name, <parameter>: value, ...}`` or ``{"dist": name, "kwargs": {...}}``;
        a parameter value that is itself a mapping with ``dist`` becomes a nested prior.

    Returns
    -------
    Prior

    Raises
    ------
    ValueError
        Unknown distribution or parameters (the message names them).
    """
    if isinstance(spec, Prior):
        return spec
    if not isinstance(spec, Mapping) or "dist" not in spec:
        raise ValueError("a prior must be a table with a 'dist' key, e.g. "
                         '{ dist = "Normal", mu = 0, sigma = 1 }')
    kwargs = dict(spec.get("kwargs", {}))
    kwargs.update({k: v for k, v in spec.items() if k not in _META_KEYS})
    kwargs = {k: prior_from_config(v) if isinstance(v, Mapping) else v for k, v in kwargs.items()}
    dims = spec.get("dims")
    return Prior(str(spec["dist"]), dims=tuple(dims) if isinstance(dims, list) else dims,
                 centered=bool(spec.get("centered", True)), transform=spec.get("transform"),
                 **kwargs)


def parse_priors(table: Mapping[str, Any], prefix: str = "", source: str = "[priors]"
                 ) -> dict[str, Prior]:
    """Every entry of a ``[priors]`` table whose key starts with ``prefix``, as priors.

    Parameters
    ----------
    table : mapping
        The ``[priors]`` table (key -> config form).
    prefix : str
        Keep only keys starting with it and strip it (``"activation_"`` -> ``"ramp"``).
    source : str
        Where the table came from, for error messages.

    Returns
    -------
    dict of str to Prior

    Raises
    ------
    ConfigError
        Listing every entry that is not a valid prior.
    """
    out: dict[str, Prior] = {}
    problems: list[str] = []
    for key, spec in table.items():
        if not key.startswith(prefix):
            continue
        try:
            out[key[len(prefix):]] = prior_from_config(spec)
        except Exception as exc:  # pymc_extras raises several types for a bad spec
            problems.append(f"{source} {key}: {exc}")
    if problems:
        raise ConfigError("invalid prior(s):\n" + "\n".join(problems))
    return out


def prior_scale(prior: Prior) -> float:
    """A typical magnitude of a draw from a scale prior (used to choose a parametrisation).

    HalfNormal(sigma) -> its mean sigma * sqrt(2 / pi); HalfCauchy/Exponential/Gamma ->
    beta, 1 / lam, alpha / beta; anything else with a ``sigma`` -> sigma; otherwise 1.
    """
    p = prior.parameters

    def num(name: str) -> float | None:
        v = p.get(name)
        return float(v) if isinstance(v, int | float) else None

    dist = prior.distribution
    sigma, lam, alpha, beta = num("sigma"), num("lam"), num("alpha"), num("beta")
    if dist == "HalfNormal" and sigma is not None:
        return sigma * math.sqrt(2.0 / math.pi)
    if dist == "Exponential" and lam is not None:
        return 1.0 / lam
    if dist == "Gamma" and alpha is not None and beta is not None:
        return alpha / beta
    for value in (sigma, beta):
        if value is not None:
            return value
    return 1.0


def with_dims(prior: Prior, dims: str | tuple[str, ...]) -> Prior:
    """A copy of ``prior`` over ``dims`` (one independent draw per coordinate value)."""
    out = prior.deepcopy()
    out.dims = dims
    return out


__all__ = ["parse_priors", "prior_from_config", "prior_scale", "with_dims"]
