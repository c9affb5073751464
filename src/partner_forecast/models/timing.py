"""(4) Time in stage: log-normal stays with right-censoring (DESIGN.md section 3.4).

::

    log days[type, s] ~ Normal(time_mu[type, s], time_sigma[type, s])
    time_mu[t, s]    = stage_mu[s] + type_mu[t, s],         type_mu ~ ZSN(0.5)
    time_sigma[t, s] = stage_sigma[s] * exp(type_log_sigma[t, s]),  type_log_sigma ~ ZSN(0.2)

Type effects are shrunk toward the stage's value by fixed-scale priors summing to zero over
types (ZSN: ZeroSumNormal) (a few types cannot pin a learned spread; see
:func:`~partner_forecast.models.effects.fixed_label_effect`). Completed stays enter through
their sufficient statistics per (type, stage) -- ``n``, ``sum y``, ``sum y**2`` with ``y = log
days`` -- which is exact for the normal model; stays still open at as-of are right-censored at
their current age (``log P(D > age)``, grouped by identical ages). Where closes are bunched at
quarter end (``[timing] quarter_end``, :mod:`partner_forecast.data.quarter_end`), a close dated in
the last weeks of its quarter is interval-censored (``log P(lo < D < hi)``, grouped by identical
bounds): its recorded length is where the calendar put it, not how long the deal took. With
the conversion model's duration slope this is a semi-Markov model of a deal's path: a deal that
has lingered is both likelier to leave soon and less likely to advance when it does.

Priors (``timing_*``): mu (stage_mu), sigma (stage_sigma), type_mu (type deviations of the
mean), type_log_sigma (type deviations of log sigma).
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pymc as pm
import pytensor.tensor as pt
from pymc.distributions.dist_math import normal_lccdf, normal_lcdf

from partner_forecast.config import Settings
from partner_forecast.data import views
from partner_forecast.data.export import Export
from partner_forecast.data.quarter_end import quarter_end_reading
from partner_forecast.data.schema import OPEN_STAGES
from partner_forecast.models import aggregate
from partner_forecast.models.base import PartnerModel
from partner_forecast.models.effects import fixed_label_effect
from partner_forecast.models.priors import with_dims
from partner_forecast.models.spec import ModelSpec


class TimingModel(PartnerModel):
    """Log-normal time in stage by type x stage, right-censored for open deals."""

    name = "timing"
    version = 1  # bump when the graph, its statistics or its saved variables change (PartnerModel.version)
    prior_prefix = "timing_"
    data_description = "stage history"
    PRIOR_NAMES = ("mu", "sigma", "type_mu", "type_log_sigma")
    PARAMETRISED: ClassVar[dict[str, str]] = {}  # every effect has a fixed form

    @classmethod
    def spec_options_from(cls, settings: Settings) -> dict:
        """The quarter-end reading of closes shapes the statistics."""
        return super().spec_options_from(settings) | settings.timing.model_dump()

    @classmethod
    def build_spec(cls, export: Export, settings: Settings) -> ModelSpec:
        """Sufficient statistics of completed stays and the censored open and windowed ones."""
        quarter_end, reading = quarter_end_reading(
            export, settings.timing, settings.calendar.fiscal_year_start_month)
        completed, censored, windowed = aggregate.timing_stats(
            export, quarter_end, settings.calendar.fiscal_year_start_month)
        return ModelSpec(
            coords={"partner_type": views.present_types(export), "stage": OPEN_STAGES},
            data={"done_type": completed["type_idx"].to_numpy(dtype=np.int64),
                  "done_stage": completed["stage_idx"].to_numpy(dtype=np.int64),
                  "done_n": completed["n"].to_numpy(dtype=float),
                  "done_sum_y": completed["sum_y"].to_numpy(dtype=float),
                  "done_sum_y2": completed["sum_y2"].to_numpy(dtype=float),
                  "open_type": censored["type_idx"].to_numpy(dtype=np.int64),
                  "open_stage": censored["stage_idx"].to_numpy(dtype=np.int64),
                  "open_y": censored["y"].to_numpy(dtype=float),
                  "open_w": censored["w"].to_numpy(dtype=float),
                  "win_type": windowed["type_idx"].to_numpy(dtype=np.int64),
                  "win_stage": windowed["stage_idx"].to_numpy(dtype=np.int64),
                  "win_lo": windowed["lo"].to_numpy(dtype=float),
                  "win_hi": windowed["hi"].to_numpy(dtype=float),
                  "win_w": windowed["w"].to_numpy(dtype=float)},
            dims={"done_type": ("done",), "done_stage": ("done",), "done_n": ("done",),
                  "done_sum_y": ("done",), "done_sum_y2": ("done",), "open_type": ("open",),
                  "open_stage": ("open",), "open_y": ("open",), "open_w": ("open",),
                  "win_type": ("windowed",), "win_stage": ("windowed",), "win_lo": ("windowed",),
                  "win_hi": ("windowed",), "win_w": ("windowed",)},
            meta={"quarter_end": reading, "quarter_end_censored": quarter_end is not None})

    @property
    def cells(self) -> int:
        """(type, stage) cells of completed stays plus groups of censored stays."""
        return self.spec.size("done") + self.spec.size("open") + self.spec.size("windowed")

    def build_model(self) -> pm.Model:
        """The PyMC graph (see module docstring)."""
        s, d, cfg = self.spec, self.spec.data, self.model_config
        with pm.Model(coords={k: list(v) for k, v in s.coords.items()}) as model:
            stage_mu = with_dims(cfg["mu"], "stage").create_variable("stage_mu")
            stage_sigma = with_dims(cfg["sigma"], "stage").create_variable("stage_sigma")
            dims = ("partner_type", "stage")
            time_mu = pm.Deterministic(
                "time_mu", stage_mu[None, :] + fixed_label_effect(cfg["type_mu"], "type_mu", dims),
                dims=dims)
            log_sigma = pt.log(stage_sigma)[None, :] + fixed_label_effect(
                cfg["type_log_sigma"], "type_log_sigma", dims)
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
            if len(d["win_w"]):
                mu_w = time_mu[d["win_type"], d["win_stage"]]
                sg_w = time_sigma[d["win_type"], d["win_stage"]]
                pm.Potential("quarter_end", pt.sum(
                    d["win_w"] * log_interval_probability(mu_w, sg_w, d["win_lo"], d["win_hi"])))
        return model

    @property
    def quarter_end_reading(self) -> str | None:
        """How closes at quarter end were read, when they were interval-censored (else None)."""
        meta = self.spec.meta
        return str(meta["quarter_end"]) if meta.get("quarter_end_censored") else None

    def time_mu(self) -> np.ndarray:
        """(samples, T, S) mean log days in stage."""
        return self.samples("time_mu")

    def time_sigma(self) -> np.ndarray:
        """(samples, T, S) standard deviation of log days in stage."""
        return self.samples("time_sigma")


def log_interval_probability(mu, sigma, lo, hi):
    """``log P(lo < Y < hi)`` for ``Y ~ Normal(mu, sigma)``, accurate in either tail.

    Below the mean it is ``log F(hi) + log(1 - F(lo) / F(hi))``; above it the same with the
    survival function (``log S(lo) + log(1 - S(hi) / S(lo))``), where ``F`` near 1 would lose
    the digits the difference needs. Both branches stay finite (a tiny floor on the ratio's
    log), so the gradient of the unused one cannot turn into NaN.
    """
    below = normal_lcdf(mu, sigma, hi)
    below = below + pt.log1mexp(pt.minimum(normal_lcdf(mu, sigma, lo) - below, -1e-12))
    above = normal_lccdf(mu, sigma, lo)
    above = above + pt.log1mexp(pt.minimum(normal_lccdf(mu, sigma, hi) - above, -1e-12))
    return pt.switch(pt.gt(0.5 * (lo + hi), mu), above, below)


__all__ = ["TimingModel", "log_interval_probability"]
