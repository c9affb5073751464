"""The truth of a synthetic export: its parameters, settings, forms and realised totals."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from partner_forecast.data.sample.params import FORMS


@dataclass(frozen=True)
class Truth:
    """The true parameters of a synthetic export and what they realised.

    Attributes
    ----------
    settings
        Generator settings (partners, quarters, seed, start, format, export date, ...).
    parameters
        Every model parameter under its model name (``act_type``, ``conv_logit``, ...), arrays
        keyed by label or partner_id. Rates are per quarter, durations in days, ARR per year.
    mix
        Deal-mix shares used by the generator (roles, motions, routes, covariate rates).
    realised
        Realised totals per quarter (won ARR gross and partner-attributed, ASR, counts).
    forms
        The generative forms, in words and formulas.
    profiles
        The profiles switched on (``{name: parameters}``, see
        :mod:`partner_forecast.data.sample.profiles`) and what they drew (e.g. the hidden
        quality per partner); empty for the default process.
    calls
        How the team's calls were made (:mod:`partner_forecast.data.sample.calls`): each
        caller's planted bias, the points in the quarter with their noise, the best-case
        upside; empty when the export has no calls.

    """

    settings: dict[str, Any]
    parameters: dict[str, Any]
    mix: dict[str, Any]
    realised: dict[str, Any]
    forms: dict[str, str] = field(default_factory=lambda: dict(FORMS))
    profiles: dict[str, Any] = field(default_factory=dict)
    calls: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Any:
        """A parameter by name, e.g. ``truth["act_ramp"]``."""
        return self.parameters[name]

    def to_dict(self) -> dict[str, Any]:
        """JSON layout: parameters at the top level beside settings, forms, mix and realised.

        ``profiles`` follows ``settings`` only when a profile is on, so the default layout
        (and the bundled ``data/sample/truth.json``) is unchanged; ``calls`` comes last.
        """
        head: dict[str, Any] = {"settings": self.settings}
        if self.profiles:
            head["profiles"] = self.profiles
        tail = {"calls": self.calls} if self.calls else {}
        return {**head, "forms": self.forms, **self.parameters, "mix": self.mix,
                "realised": self.realised, **tail}

    def to_json(self) -> str:
        """The ``truth.json`` text (deterministic)."""
        return json.dumps(_jsonable(self.to_dict()), indent=1) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Truth:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        settings = data.pop("settings")
        forms = data.pop("forms", dict(FORMS))
        mix = data.pop("mix", {})
        realised = data.pop("realised", {})
        profiles = data.pop("profiles", {})
        calls = data.pop("calls", {})
        return cls(settings=settings, parameters=data, mix=mix, realised=realised, forms=forms,
                   profiles=profiles, calls=calls)

    @classmethod
    def load(cls, path: str | Path) -> Truth:
        """Read a ``truth.json`` file (or the one in a sample folder)."""
        p = Path(path)
        if p.is_dir():
            p = p / "truth.json"
        return cls.from_dict(json.loads(p.read_text("utf-8")))


def _jsonable(value: Any) -> Any:
    """Plain JSON values: floats rounded to 6 decimals, non-finite as null."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return round(value, 6) if math.isfinite(value) else None
    return value
