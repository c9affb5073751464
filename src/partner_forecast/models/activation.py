"""(1) Activation: active sellers per partner x complete quarter (DESIGN.md section 3.1).

::

    active[p, q] ~ Binomial(pool[p, q], theta[p, q])
    logit theta[p, q] = intercept + type[type(p)] + tier[tier(p)] + partner[p]
                        + ramp * exp(-tenure_q / 2) + trend * (q_index - q_center) + noise[p, q]
    type ~ N(0, type_sigma), tier ~ N(0, tier_sigma), partner ~ N(0, partner_sigma),
    noise ~ N(0, noise_sigma)

``tenure_q`` = whole quarters since the onboarding quarter (0 in it); ``q_index`` = 0 for the
first quarter of the activity window and ``q_center = (window quarters - 1) / 2``. The
partner-quarter noise gives next quarter's ASR its honest width: future quarters get *fresh*
noise. Group sigmas share the ``activation_group_sigma`` prior.

Priors (``[priors]`` keys ``activation_*``): intercept, group_sigma, ramp, trend, noise_sigma.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import xarray as xr
from scipy.special import expit

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.models import aggregate
from partner_forecast.models.base import PartnerModel
from partner_forecast.models.effects import (
    binomial_information,
    group_effect,
    label_effect,
    label_information,
)
from partner_forecast.models.priors import prior_scale
from partner_forecast.models.spec import ModelSpec

RAMP_QUARTERS = 2.0  # the ramp decays as exp(-tenure_q / RAMP_QUARTERS)


def ramp_term(tenure_q: np.ndarray) -> np.ndarray:
    """``exp(-tenure_q / 2)``: 1 in the onboarding quarter, fading over the first year."""
    return np.exp(-np.asarray(tenure_q, dtype=float) / RAMP_QUARTERS)


class ActivationModel(PartnerModel):
    """Hierarchical binomial model of the Active Seller Rate (see module docstring)."""

    name = "activation"
    prior_prefix = "activation_"
    data_description = "complete quarter with sellers and recorded activities"
    PRIOR_NAMES = ("intercept", "group_sigma", "ramp", "trend", "noise_sigma")

    @classmethod
    def build_spec(cls, export: Export, settings: Settings) -> ModelSpec:
        """Cells of :func:`~partner_forecast.models.aggregate.activation_cells`."""
        fy = settings.calendar.fiscal_year_start_month
        pf = aggregate.partner_frame(export)
        cells = aggregate.activation_cells(export, fy)
        window = aggregate.window_quarters(export, fy)
        pidx = pd.Series(np.arange(len(pf)), index=pf["partner_id"])
        onboard_q = [Quarter.containing(d, fy).index for d in pf["onboarded_on"]]
        return ModelSpec(
            coords={"partner": tuple(pf["partner_id"]),
                    "partner_type": aggregate.present_types(export),
                    "tier": aggregate.present_tiers(export),
                    "cell": tuple(f"{p}|{q}" for p, q in zip(cells["partner_id"], cells["quarter"],
                                                             strict=True))},
            data={"partner_type_idx": pf["type_idx"].to_numpy(dtype=np.int64),
                  "partner_tier_idx": pf["tier_idx"].to_numpy(dtype=np.int64),
                  "onboard_quarter_index": np.asarray(onboard_q, dtype=np.int64),
                  "cell_partner": cells["partner_id"].map(pidx).to_numpy(dtype=np.int64),
                  "cell_q_index": cells["q_index"].to_numpy(dtype=np.int64),
                  "tenure_q": cells["tenure_q"].to_numpy(dtype=np.int64),
                  "pool": cells["pool"].to_numpy(dtype=np.int64),
                  "active": cells["active"].to_numpy(dtype=np.int64)},
            dims={"partner_type_idx": ("partner",), "partner_tier_idx": ("partner",),
                  "onboard_quarter_index": ("partner",), "cell_partner": ("cell",),
                  "cell_q_index": ("cell",), "tenure_q": ("cell",), "pool": ("cell",),
                  "active": ("cell",)},
            meta={"first_quarter_index": window[0].index if window else None,
                  "last_quarter": str(window[-1]) if window else None,
                  "q_center": (len(window) - 1) / 2.0 if window else 0.0,
                  "fiscal_year_start_month": fy})

    @property
    def cells(self) -> int:
        """Partner-quarter cells."""
        return self.spec.size("cell")

    def build_model(self) -> pm.Model:
        """The PyMC graph (see module docstring)."""
        s, d, cfg = self.spec, self.spec.data, self.model_config
        P, T, R = s.size("partner"), s.size("partner_type"), s.size("tier")
        part = d["cell_partner"]
        info_p = binomial_information(d["pool"], d["active"], part, P)
        info_c = binomial_information(d["pool"], d["active"], np.arange(len(part)), len(part))
        gscale, nscale = prior_scale(cfg["group_sigma"]), prior_scale(cfg["noise_sigma"])
        mode = self.parametrisation
        coords = {k: list(v) for k, v in s.coords.items()}
        # The ramp regressor enters centred (at its mean over cells) so that the intercept does
        # not trade off against the ramp; ``intercept`` (deterministic) is the model's own.
        ramp_x = ramp_term(d["tenure_q"])
        ramp_mean = float(ramp_x.mean()) if len(ramp_x) else 0.0
        with pm.Model(coords=coords) as model:
            centred_intercept = cfg["intercept"].create_variable("intercept_at_mean_tenure")
            type_sigma = cfg["group_sigma"].create_variable("type_sigma")
            tier_sigma = cfg["group_sigma"].create_variable("tier_sigma")
            partner_sigma = cfg["group_sigma"].create_variable("partner_sigma")
            noise_sigma = cfg["noise_sigma"].create_variable("noise_sigma")
            type_eff = label_effect("type_effect", type_sigma, "partner_type", T, mode,
                                    label_information(d["partner_type_idx"], info_p, gscale, T),
                                    gscale)
            tier_eff = label_effect("tier_effect", tier_sigma, "tier", R, mode,
                                    label_information(d["partner_tier_idx"], info_p, gscale, R),
                                    gscale)
            partner_level = group_effect(
                "partner_effect", partner_sigma, info_p, gscale, "partner", mode,
                mu=centred_intercept + type_eff[d["partner_type_idx"]]
                + tier_eff[d["partner_tier_idx"]])
            ramp = cfg["ramp"].create_variable("ramp")
            trend = cfg["trend"].create_variable("trend")
            pm.Deterministic("intercept", centred_intercept - ramp * ramp_mean)
            q_centred = d["cell_q_index"] - float(s.meta["q_center"])
            expected = partner_level[part] + ramp * (ramp_x - ramp_mean) + trend * q_centred
            eta = group_effect("noise", noise_sigma, info_c, nscale, "cell", mode, mu=expected)
            pm.Binomial("active", n=d["pool"], logit_p=eta, observed=d["active"], dims="cell")
        return model

    def prune_posterior(self, posterior: xr.Dataset) -> xr.Dataset:
        """Keep the partner-quarter noise of the last complete quarter only (the rest is large)."""
        posterior = super().prune_posterior(posterior)
        if "noise" not in posterior:
            return posterior
        last = self.spec.meta.get("last_quarter")
        keep = [c for c in posterior.coords["cell"].values if str(c).endswith(f"|{last}")]
        return posterior.sel(cell=keep)

    # -- predictions --------------------------------------------------------------------------
    def _base_logit(self) -> np.ndarray:
        """(samples, P) intercept + type + tier + partner."""
        d = self.spec.data
        return (self.samples("intercept")[:, None] + self.samples("type_effect")[:, d["partner_type_idx"]]
                + self.samples("tier_effect")[:, d["partner_tier_idx"]] + self.samples("partner_effect"))

    def _time_terms(self, quarter: Quarter, tenure: np.ndarray) -> np.ndarray:
        """(samples, n) ramp and trend terms for ``quarter`` at the given tenures."""
        first = self.spec.meta["first_quarter_index"]
        q_c = (quarter.index - (first if first is not None else quarter.index)
               - float(self.spec.meta["q_center"]))
        return (self.samples("ramp")[:, None] * ramp_term(tenure)[None, :]
                + self.samples("trend")[:, None] * q_c)

    def tenure(self, quarter: Quarter) -> np.ndarray:
        """(P,) whole quarters from each partner's onboarding quarter to ``quarter`` (>= 0)."""
        return np.maximum(quarter.index - self.spec.data["onboard_quarter_index"], 0)

    def predict_asr(self, quarters: list[Quarter], rng: np.random.Generator,
                    draws: np.ndarray | None = None) -> np.ndarray:
        """ASR per posterior sample, partner and future quarter, with fresh noise.

        Parameters
        ----------
        quarters : list of Quarter
            Quarters to predict (after the fitted window).
        rng : numpy.random.Generator
            Draws the fresh partner-quarter noise.
        draws : numpy.ndarray, optional
            Indices of the posterior samples to use (default all).

        Returns
        -------
        numpy.ndarray
            Shape (draws, P, H), probabilities.
        """
        base = self._base_logit()
        sigma = self.samples("noise_sigma")
        if draws is not None:
            base, sigma = base[draws], sigma[draws]
        out = np.empty((base.shape[0], base.shape[1], len(quarters)))
        for h, q in enumerate(quarters):
            terms = self._time_terms(q, self.tenure(q))
            if draws is not None:
                terms = terms[draws]
            noise = rng.standard_normal(base.shape) * sigma[:, None]
            out[:, :, h] = expit(base + terms + noise)
        return out

    def last_quarter_asr(self) -> np.ndarray:
        """(samples, P) posterior ASR in the last complete quarter (NaN where no cell)."""
        last = self.spec.meta.get("last_quarter")
        P = self.spec.size("partner")
        out = np.full((self.n_samples, P), np.nan)
        if last is None:
            return out
        q = Quarter.parse(last, self.spec.meta.get("fiscal_year_start_month", 1))
        noise = self.posterior["noise"]
        pid = {p: i for i, p in enumerate(self.spec.coords["partner"])}
        cols = [pid[str(c).split("|")[0]] for c in noise.coords["cell"].values]
        eta = self._base_logit()[:, cols] + self._time_terms(q, self.tenure(q)[cols])
        eta = eta + self.samples("noise")
        out[:, cols] = expit(eta)
        return out

    def new_partner_asr(self, partner_type: str, tier: str, quarter: Quarter,
                        rng: np.random.Generator) -> np.ndarray:
        """(samples,) predictive ASR of a newly recruited partner (tenure 0) in ``quarter``."""
        t = self.spec.coords["partner_type"].index(partner_type)
        r = self.spec.coords["tier"].index(tier)
        n = self.n_samples
        eta = (self.samples("intercept") + self.samples("type_effect")[:, t]
               + self.samples("tier_effect")[:, r]
               + rng.standard_normal(n) * self.samples("partner_sigma")
               + self._time_terms(quarter, np.zeros(1))[:, 0]
               + rng.standard_normal(n) * self.samples("noise_sigma"))
        return expit(eta)


__all__ = ["ActivationModel", "ramp_term"]
