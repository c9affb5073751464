"""(4) Time in stage: log-normal stays with right-censoring (DESIGN.md section 3.4).

::

    log days[type, s] ~ Normal(time_mu[type, s], time_sigma[type, s])
    time_mu[t, s]    = stage_mu[s] + type_mu[t, s],         type_mu ~ N(0, type_mu_sigma)
    time_sigma[t, s] = stage_sigma[s] * exp(type_log_sigma[t, s]),  type_log_sigma ~ N(0, spread)

Type effects are pooled toward the stage's value. Completed stays enter through their
sufficient statistics per (type, stage) -- ``n``, ``sum y``, ``sum y**2`` with ``y = log
days`` -- which is exact for the normal model; stays still open at as-of are right-censored
at their current age (``log P(D > age)``, grouped by identical ages). With the conversion
model's duration slope this is a semi-Markov model of a deal's path: a deal that has lingered
is both likelier to leave soon and less likely to advance when it does.

Priors (``timing_*``): mu (stage_mu), sigma (stage_sigma), group_sigma (type_mu_sigma),
sigma_spread (spread of the type deviations of log sigma).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.dist_math import normal_lccdf

from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.data.schema import OPEN_STAGES
from partner_forecast.models import aggregate
from partner_forecast.models.base import PartnerModel
from partner_forecast.models.effects import few_members_scale, group_effect
from partner_forecast.models.priors import prior_scale, with_dims
from partner_forecast.models.spec import ModelSpec


class TimingModel(PartnerModel):
    """Log-normal time in stage by type x stage, right-censored for open deals."""

    name = "timing"
    prior_prefix = "timing_"
    data_description = "stage history"
    PRIOR_NAMES = ("mu", "sigma", "group_sigma", "sigma_spread")

    @classmethod
    def build_spec(cls, export: Export, settings: Settings) -> ModelSpec:
        """Sufficient statistics of completed stays and the censored open stays."""
        completed, censored = aggregate.timing_stats(export)
        return ModelSpec(
            coords={"partner_type": aggregate.present_types(export), "stage": OPEN_STAGES},
            data={"done_type": completed["type_idx"].to_numpy(dtype=np.int64),
                  "done_stage": completed["stage_idx"].to_numpy(dtype=np.int64),
                  "done_n": completed["n"].to_numpy(dtype=float),
                  "done_sum_y": completed["sum_y"].to_numpy(dtype=float),
                  "done_sum_y2": completed["sum_y2"].to_numpy(dtype=float),
                  "open_type": censored["type_idx"].to_numpy(dtype=np.int64),
                  "open_stage": censored["stage_idx"].to_numpy(dtype=np.int64),
                  "open_y": censored["y"].to_numpy(dtype=float),
                  "open_w": censored["w"].to_numpy(dtype=float)},
            dims={"done_type": ("done",), "done_stage": ("done",), "done_n": ("done",),
                  "done_sum_y": ("done",), "done_sum_y2": ("done",), "open_type": ("open",),
                  "open_stage": ("open",), "open_y": ("open",), "open_w": ("open",)})

    @property
    def cells(self) -> int:
        """(type, stage) cells of completed stays plus groups of censored stays."""
        return self.spec.size("done") + self.spec.size("open")

    def _pooled_sd(self) -> float:
        d = self.spec.data
        n = d["done_n"].sum()
        if n < 2:
            return 1.0
        mean = d["done_sum_y"].sum() / n
        return float(np.sqrt(max(d["done_sum_y2"].sum() / n - mean**2, 1e-4)))

    def build_model(self) -> pm.Model:
        """The PyMC graph (see module docstring)."""
        s, d, cfg = self.spec, self.spec.data, self.model_config
        T, S = s.size("partner_type"), s.size("stage")
        n_ts = np.zeros((T, S))
        np.add.at(n_ts, (d["done_type"], d["done_stage"]), d["done_n"])
        info_mu = n_ts / self._pooled_sd() ** 2
        info_sig = 2.0 * n_ts  # information about log sigma
        mode = self.parametrisation
        with pm.Model(coords={k: list(v) for k, v in s.coords.items()}) as model:
            stage_mu = with_dims(cfg["mu"], "stage").create_variable("stage_mu")
            stage_sigma = with_dims(cfg["sigma"], "stage").create_variable("stage_sigma")
            mu_sigma = cfg["group_sigma"].create_variable("type_mu_sigma")
            spread = cfg["sigma_spread"].create_variable("type_log_sigma_sd")
            dims = ("partner_type", "stage")
            time_mu = pm.Deterministic("time_mu", group_effect(
                "type_mu", mu_sigma, info_mu, few_members_scale(prior_scale(cfg["group_sigma"])),
                dims, mode,
                mu=stage_mu[None, :]), dims=dims)
            log_sigma = group_effect("type_log_sigma", spread, info_sig,
                                     few_members_scale(prior_scale(cfg["sigma_spread"])), dims, mode,
                                     mu=pt.log(stage_sigma)[None, :])
            time_sigma = pm.Deterministic("time_sigma", pt.exp(log_sigma), dims=dims)
            mu_d = time_mu[d["done_type"], d["done_stage"]]
            sg_d = time_sigma[d["done_type"], d["done_stage"]]
            # Normal log-likelihood of all stays of a cell from (n, sum y, sum y^2), no constant.
            sq = d["done_sum_y2"] - 2.0 * mu_d * d["done_sum_y"] + d["done_n"] * mu_d**2
            pm.Potential("completed", pt.sum(-d["done_n"] * pt.log(sg_d) - sq / (2.0 * sg_d**2)))
            if len(d["open_y"]):
                mu_o = time_mu[d["open_type"], d["open_stage"]]
                sg_o = time_sigma[d["open_type"], d["open_stage"]]
                pm.Potential("censored", pt.sum(d["open_w"] * normal_lccdf(mu_o, sg_o, d["open_y"])))
        return model

    def time_mu(self) -> np.ndarray:
        """(samples, T, S) mean log days in stage."""
        return self.samples("time_mu")

    def time_sigma(self) -> np.ndarray:
        """(samples, T, S) standard deviation of log days in stage."""
        return self.samples("time_sigma")


__all__ = ["TimingModel"]
