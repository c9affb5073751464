"""A model's configuration: packaged defaults, prior-key checks and the config hash.

Priors and sampler settings come from the packaged ``default.toml`` (``[priors]`` keys
``<prefix><name>``, ``[sampler]``); a user's config is merged over them. The config hash
(:func:`config_hash`) identifies everything in the configuration that changes a model's draws
(priors, the sampler settings that shape them, the settings its aggregation reads and the
parametrisation), not the diagnostics thresholds, which are re-judged on load.
"""

from __future__ import annotations

import difflib
import functools
import hashlib
import importlib.util
import json
import tomllib
from collections.abc import Iterable
from typing import Any

from pymc_extras.prior import Prior

from partner_forecast.config import DEFAULT_CONFIG_TEXT
from partner_forecast.errors import ConfigError
from partner_forecast.models.priors import parse_priors, prior_from_config

SAMPLER_KEYS: tuple[str, ...] = ("draws", "tune", "chains", "target_accept", "random_seed",
                                 "nuts_sampler", "retries")
"""``[sampler]`` keys that shape the draws (part of the config hash)."""
THRESHOLD_KEYS: tuple[str, ...] = ("max_rhat", "min_ess", "max_divergences")
"""``[sampler]`` keys that only judge the draws (re-judged on load, not hashed)."""


def nutpie_available() -> bool:
    """Whether nutpie can be imported (else PyMC's own NUTS is used)."""
    return importlib.util.find_spec("nutpie") is not None


@functools.cache
def default_settings_tables() -> dict[str, Any]:
    """The packaged ``default.toml`` as a dict (priors and sampler defaults come from here).

    Cached: treat it as read-only.
    """
    return tomllib.loads(DEFAULT_CONFIG_TEXT)


def default_priors(prefix: str) -> dict[str, Prior]:
    """The priors of the model with key prefix ``prefix`` from the packaged ``[priors]``."""
    return parse_priors(default_settings_tables()["priors"], prefix, source="default.toml [priors]")


def default_sampler_config() -> dict[str, Any]:
    """``[sampler]`` defaults of :data:`SAMPLER_KEYS`, with nutpie when installed (else PyMC)."""
    s = default_settings_tables()["sampler"]
    out = {k: s[k] for k in SAMPLER_KEYS if k in s}
    out["nuts_sampler"] = "nutpie" if nutpie_available() else "pymc"
    return out


def thresholds(overrides: dict[str, Any] | None) -> dict[str, Any]:
    """Diagnostics thresholds (:data:`THRESHOLD_KEYS`): ``[sampler]`` defaults, then overrides."""
    s = default_settings_tables()["sampler"]
    out = {k: s[k] for k in THRESHOLD_KEYS}
    out.update({k: v for k, v in (overrides or {}).items() if k in THRESHOLD_KEYS})
    return out


def stable_hash(payload: Any) -> str:
    """16 hex digits of SHA-256 over ``payload`` as sorted JSON (non-JSON values as ``str``)."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:16]


def config_hash(name: str, model_config: dict[str, Any], sampler: dict[str, Any],
                spec_options: dict[str, Any], parametrisation: str) -> str:
    """Hash of a model's priors, draw-shaping sampler settings, spec options and parametrisation."""
    priors = {k: prior_from_config(v).to_dict() for k, v in model_config.items()}
    return stable_hash({"model": name, "priors": priors,
                        "sampler": {k: sampler.get(k) for k in SAMPLER_KEYS},
                        "spec_options": spec_options, "parametrisation": parametrisation})


RETIRED_PRIORS: dict[str, str] = {
    "conversion_jump_sigma": "conversion_jump_type",
    "timing_group_sigma": "timing_type_mu",
    "timing_sigma_spread": "timing_type_log_sigma",
}
"""Prior keys of earlier versions (learned spreads of few-member effects) -> what replaced them."""


def check_prior_keys(table: dict[str, Any], source: str, known: Iterable[str]) -> None:
    """Raise :class:`ConfigError` naming every ``[priors]`` key no model reads.

    A misspelt key would otherwise leave the default prior in force without a word; a retired
    key (a learned spread replaced by a fixed-scale prior) names its replacement.

    Parameters
    ----------
    table : dict
        The ``[priors]`` table of a config.
    source : str
        Where it was read (named in the message).
    known : iterable of str
        Every prior key some model reads.
    """
    known = set(known)
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


__all__ = ["SAMPLER_KEYS", "THRESHOLD_KEYS", "RETIRED_PRIORS", "nutpie_available",
           "default_settings_tables", "default_priors", "default_sampler_config", "thresholds",
           "stable_hash", "config_hash", "check_prior_keys"]
