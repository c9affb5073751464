"""(2) Productivity: opportunities created by active sellers (DESIGN.md section 3.2).

::

    opportunities[p, q] ~ NegativeBinomial(mean = active[p, q] * rate[p], alpha)
    log rate[p] = intercept + type[type(p)] + partner[p]
    type ~ ZeroSumNormal(0.5) (fixed scale), partner ~ N(0, partner_sigma)

``rate`` is opportunities per active seller per quarter; the variance is
``mean + mean**2 / alpha``. Cells: partner x complete window quarter with at least one active
seller. Priors (``productivity_*``): intercept, type,
group_sigma (partner spread), alpha.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt

from partner_forecast.config import Settings
from partner_forecast.data import views
from partner_forecast.data.export import Export
from partner_forecast.models import aggregate
from partner_forecast.models.base import PartnerModel
from partner_forecast.models.effects import count_information, fixed_label_effect, group_effect
from partner_forecast.models.priors import prior_scale
from partner_forecast.models.spec import ModelSpec


class ProductivityModel(PartnerModel):
    """Hierarchical negative-binomial model of opportunities per active seller."""

    name = "productivity"
    version = 1  # bump when the graph, its statistics or its saved variables change (PartnerModel.version)
    prior_prefix = "productivity_"
    data_description = "complete quarter with active sellers"
    PRIOR_NAMES = ("intercept", "type", "group_sigma", "alpha")

    @classmethod
    def build_spec(cls, export: Export, settings: Settings) -> ModelSpec:
        """Cells of :func:`~partner_forecast.models.aggregate.productivity_cells`."""
        pf = views.partner_frame(export)
        cells = aggregate.productivity_cells(export, settings.calendar.fiscal_year_start_month)
        pidx = pd.Series(np.arange(len(pf)), index=pf["partner_id"])
        return ModelSpec(
            coords={"partner": tuple(pf["partner_id"]),
                    "partner_type": views.present_types(export)},
            data={"partner_type_idx": pf["type_idx"].to_numpy(dtype=np.int64),
                  "cell_partner": cells["partner_id"].map(pidx).to_numpy(dtype=np.int64),
                  "active": cells["active"].to_numpy(dtype=np.int64),
                  "opportunities": cells["opportunities"].to_numpy(dtype=np.int64)},
            dims={"partner_type_idx": ("partner",), "cell_partner": ("cell",),
                  "active": ("cell",), "opportunities": ("cell",)})

    @property
    def cells(self) -> int:
        """Partner-quarter cells with active sellers."""
        return self.spec.size("cell")

    def build_model(self) -> pm.Model:
        """The PyMC graph (see module docstring)."""
        s, d, cfg = self.spec, self.spec.data, self.model_config
        P = s.size("partner")
        part = d["cell_partner"]
        alpha0 = prior_scale(cfg["alpha"])
        info_p = count_information(d["opportunities"], part, P, alpha0)
        scale = prior_scale(cfg["group_sigma"])
        with pm.Model(coords={k: list(v) for k, v in s.coords.items()}) as model:
            intercept = cfg["intercept"].create_variable("intercept")
            partner_sigma = cfg["group_sigma"].create_variable("partner_sigma")
            type_eff = fixed_label_effect(cfg["type"], "type_effect", "partner_type")
            log_rate = group_effect("partner_effect", partner_sigma, info_p, scale, "partner",
                                    self.parametrisation,
                                    mu=intercept + type_eff[d["partner_type_idx"]])
            alpha = cfg["alpha"].create_variable("alpha")
            mu = d["active"] * pt.exp(log_rate[part])
            pm.NegativeBinomial("opportunities", mu=mu, alpha=alpha, observed=d["opportunities"])
        return model

    def opp_rate(self) -> np.ndarray:
        """(samples, P) opportunities per active seller per quarter."""
        d = self.spec.data
        return np.exp(self.samples("intercept")[:, None]
                      + self.samples("type_effect")[:, d["partner_type_idx"]]
                      + self.samples("partner_effect"))


__all__ = ["ProductivityModel"]
