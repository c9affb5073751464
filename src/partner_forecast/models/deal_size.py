"""(5) Deal size: heavy-tailed log ARR of won deals (DESIGN.md section 3.5).

::

    log arr ~ StudentT(nu, intercept + type[type(p)] + partner[p] + role[r], sigma)
    type ~ ZeroSumNormal(0.5) (fixed scale), partner ~ N(0, partner_sigma), role ~ ZeroSumNormal

``size_mu[p] = intercept + type[type(p)] + partner[p]`` and ``size_role[r]`` are what the
simulation uses. Fitted per row on the won deals closed before as-of (a Student-t has no
sufficient statistics; won deals are thousands, not the whole pipeline). Won rather than all
deals: only won ARR becomes revenue, so if deal size and winning are related this is the
size that matters. Deals with zero ARR are left out (no log).

Priors (``deal_size_*``): intercept, type, group_sigma (partner spread), role, sigma, nu.
"""

from __future__ import annotations

import numpy as np
import pymc as pm

from partner_forecast.config import Settings
from partner_forecast.data import views
from partner_forecast.data.export import Export
from partner_forecast.data.schema import ROLES
from partner_forecast.models import aggregate
from partner_forecast.models.base import PartnerModel
from partner_forecast.models.effects import fixed_label_effect, group_effect, normal_information
from partner_forecast.models.priors import prior_scale, with_dims
from partner_forecast.models.spec import ModelSpec


class DealSizeModel(PartnerModel):
    """Hierarchical Student-t model of log ARR of won deals."""

    name = "deal_size"
    version = 1  # bump when the graph, its statistics or its saved variables change (PartnerModel.version)
    prior_prefix = "deal_size_"
    data_description = "won deal with ARR"
    PRIOR_NAMES = ("intercept", "type", "group_sigma", "role", "sigma", "nu")

    @classmethod
    def build_spec(cls, export: Export, settings: Settings) -> ModelSpec:
        """One row per won deal: partner, role, log ARR."""
        pf = views.partner_frame(export)
        won = aggregate.won_deals(export)
        return ModelSpec(
            coords={"partner": tuple(pf["partner_id"]),
                    "partner_type": views.present_types(export), "role": ROLES},
            data={"partner_type_idx": pf["type_idx"].to_numpy(dtype=np.int64),
                  "deal_partner": won["partner_idx"].to_numpy(dtype=np.int64),
                  "deal_role": won["role_idx"].to_numpy(dtype=np.int64),
                  "log_arr": won["log_arr"].to_numpy(dtype=float)},
            dims={"partner_type_idx": ("partner",), "deal_partner": ("deal",),
                  "deal_role": ("deal",), "log_arr": ("deal",)})

    @property
    def cells(self) -> int:
        """Won deals (rows)."""
        return self.spec.size("deal")

    def build_model(self) -> pm.Model:
        """The PyMC graph (see module docstring)."""
        s, d, cfg = self.spec, self.spec.data, self.model_config
        P = s.size("partner")
        part = d["deal_partner"]
        sd = float(np.std(d["log_arr"])) if len(d["log_arr"]) > 1 else 1.0
        sd = max(sd, 0.1)
        info_p = normal_information(part, P, sd)
        scale = prior_scale(cfg["group_sigma"])
        with pm.Model(coords={k: list(v) for k, v in s.coords.items()}) as model:
            intercept = cfg["intercept"].create_variable("intercept")
            partner_sigma = cfg["group_sigma"].create_variable("partner_sigma")
            type_eff = fixed_label_effect(cfg["type"], "type_effect", "partner_type")
            partner_level = group_effect("partner_effect", partner_sigma, info_p, scale, "partner",
                                         self.parametrisation,
                                         mu=intercept + type_eff[d["partner_type_idx"]])
            role = with_dims(cfg["role"], "role").create_variable("role_effect")
            sigma = cfg["sigma"].create_variable("sigma")
            nu = cfg["nu"].create_variable("nu")
            mu = partner_level[part] + role[d["deal_role"]]
            pm.StudentT("log_arr", nu=nu, mu=mu, sigma=sigma, observed=d["log_arr"])
        return model

    def size_mu(self) -> np.ndarray:
        """(samples, P) location of log ARR per partner (role effect excluded)."""
        d = self.spec.data
        return (self.samples("intercept")[:, None] + self.samples("type_effect")[:, d["partner_type_idx"]]
                + self.samples("partner_effect"))


__all__ = ["DealSizeModel"]
