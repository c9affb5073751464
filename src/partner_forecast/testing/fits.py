"""A model source for tests: a closed-form posterior, no MCMC, through the real pipeline.

:class:`DegenerateModels` is a :class:`~partner_forecast.model_source.ModelSource`: every entry
point that forecasts takes it as ``models=`` (and the CLI as ``obj={"models": ...}`` of its click
context), so tests of the forecast glue, the backtest, the variance review, scenarios and the
report run the code users run, on DOMAIN.md's 100-seller example
(:func:`~partner_forecast.testing.posteriors.degenerate_inputs`), without swapping a module.

For tests that need the real posterior variables instead (summaries, the workspace cache), use
:func:`partner_forecast.testing.fake_fit.fake_fit`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.data.schema import OPEN_STAGES
from partner_forecast.simulate.inputs import SimulationInputs
from partner_forecast.testing.posteriors import TIERS, degenerate_inputs, open_deals_frame


class FakeFits:
    """Fitted models that passed their diagnostics (one row, model ``fake``)."""

    def diagnostics_table(self) -> pd.DataFrame:
        """The diagnostics of a fit that passed: no divergences, R-hat 1."""
        return pd.DataFrame([{"model": "fake", "divergences": 0, "max_rhat": 1.0}])


class BrokenModelsError(RuntimeError):
    """Raised by :class:`DegenerateModels` with ``broken=True`` (a fold that errors)."""


@dataclass(frozen=True)
class DegenerateModels:
    """Degenerate fitted models: the same posterior point in every draw.

    Parameters
    ----------
    open_deals : bool
        The as-of view's open deals (stage, ARR, attribution) are the open pipeline, so a
        forecast depends on what its view contains; else there is no open pipeline.
    own_partners : bool
        The export's own partners (ids, types, tiers, sorted by id), so scenario selectors and
        per-partner tables find them; else the example's single partner.
    pool : "sellers", "sellers_per_partner" or None
        Addressable sellers per partner: every seller of the view, the view's sellers divided
        by its partners, or the example's 100.
    opp_per_active, duration_days, time_sigma : float, optional
        Passed to :func:`degenerate_inputs` when given (its defaults otherwise).
    broken : bool
        ``simulation_inputs`` raises :class:`BrokenModelsError`.
    activation, curves : DataFrame, optional
        What ``posterior_activation`` and ``conversion_curves`` return (None: the models offer
        none, and reports fall back to raw rates).
    on_fit : callable, optional
        Called with ``(export, workspace)`` by ``fit_all`` (tests count fits with it).
    """

    open_deals: bool = False
    own_partners: bool = False
    pool: Literal["sellers", "sellers_per_partner"] | None = None
    opp_per_active: float | None = None
    duration_days: float | None = None
    time_sigma: float | None = None
    broken: bool = False
    activation: pd.DataFrame | None = field(default=None, compare=False)
    curves: pd.DataFrame | None = field(default=None, compare=False)
    on_fit: Callable[[Export, Path | str | None], None] | None = field(default=None, compare=False)

    def fit_all(self, export: Export, settings: Settings, workspace: Path | str | None,
                progress: bool | Callable[[str], None] = True) -> FakeFits:
        """Passing fake fits (no sampling)."""
        if self.on_fit is not None:
            self.on_fit(export, workspace)
        return FakeFits()

    def simulation_inputs(self, fits: Any, export: Export, settings: Settings,
                          quarters: Sequence[Quarter | str], n_draws: int, seed: int
                          ) -> SimulationInputs:
        """The degenerate posterior over ``export``'s as-of view."""
        if self.broken:
            raise BrokenModelsError("boom")
        partners = export.partners.sort_values("partner_id").reset_index(drop=True)
        kwargs: dict[str, Any] = {}
        if self.own_partners:
            kwargs["n_partners"] = len(partners)
        if self.pool == "sellers":
            kwargs["pool"] = max(1, len(export.sellers))
        elif self.pool == "sellers_per_partner":
            kwargs["pool"] = max(1, len(export.sellers) // max(1, len(partners)))
        for name in ("opp_per_active", "duration_days", "time_sigma"):
            if getattr(self, name) is not None:
                kwargs[name] = getattr(self, name)
        if self.open_deals:
            kwargs["open_deals"] = self._open_deals(export, settings, partners)
        inputs = degenerate_inputs(n_draws=n_draws, quarters=[str(q) for q in quarters],
                                   as_of=str(export.default_as_of.date()), **kwargs)
        if not self.own_partners:
            return inputs
        return inputs.replace(
            partner_ids=partners["partner_id"].to_numpy(dtype=str),
            partner_type=np.array([inputs.types.index(t) for t in partners["partner_type"]]),
            partner_tier=np.array([TIERS.index(t) for t in partners["tier"]])).check()

    def _open_deals(self, export: Export, settings: Settings, partners: pd.DataFrame
                    ) -> pd.DataFrame | None:
        from partner_forecast.metrics.attribution import attribution_weight

        opps = export.opportunities
        pipe = opps[opps["stage"].isin(OPEN_STAGES)]
        if not len(pipe):
            return None
        weight = attribution_weight(pipe["partner_role"], pipe["influence_pct"], settings.attribution)
        extra: dict[str, Any] = {}
        if self.own_partners:
            index = {p: i for i, p in enumerate(partners["partner_id"])}
            extra["partner"] = pipe["partner_id"].map(index).to_numpy(dtype=np.int64)
        return open_deals_frame(stage=list(pipe["stage"]), arr=pipe["arr"].to_numpy(float),
                                attribution=weight.to_numpy(float),
                                opportunity_id=list(pipe["opportunity_id"]), n=len(pipe), **extra)

    def posterior_activation(self, fits: Any, export: Export) -> pd.DataFrame | None:
        """The ``activation`` frame given at construction (None: not offered)."""
        return self.activation

    def conversion_curves(self, fits: Any, export: Export, settings: Settings
                          ) -> pd.DataFrame | None:
        """The ``curves`` frame given at construction (None: not offered)."""
        return self.curves


__all__ = ["BrokenModelsError", "DegenerateModels", "FakeFits"]
