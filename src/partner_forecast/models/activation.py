"""(1) Activation: active sellers per partner x complete quarter (DESIGN.md section 3.1).

::

    active[p, q] ~ Binomial(pool[p, q], theta[p, q])
    logit theta[p, q] = eta[p, q] + noise[p, q],   noise ~ N(0, noise_sigma)
    eta[p, q] = intercept + type[type(p)] + tier[tier(p)] + partner[p]
                + ramp * exp(-tenure_q / 2) + trend * (q_index - q_center)
    type ~ ZeroSumNormal(0.5), tier ~ ZeroSumNormal(0.5)     (fixed-scale priors)
    partner ~ N(0, partner_sigma)

``tenure_q`` = whole quarters since the onboarding quarter (0 in it); ``q_index`` = 0 for the
first quarter of the activity window and ``q_center = (window quarters - 1) / 2``. The partner-
quarter noise gives next quarter's ASR its honest width: future quarters get *fresh* noise. It
is integrated out of the fit: ``theta`` is taken as Beta with the logit-normal's mean ``m =
expit(eta)`` and variance ``(m (1 - m) noise_sigma)**2`` (delta method), so ``active`` is Beta-
Binomial with ``kappa = 1 / (m (1 - m) noise_sigma**2) - 1``. One latent per partner-quarter
(3,230 on the sample) and the funnel between them and ``noise_sigma`` (ESS 60-130 on 40-partner
exports) are gone; the last quarter's ``theta`` is drawn afterwards from its conjugate Beta
posterior (:meth:`ActivationModel.last_quarter_asr`). A few types or tiers cannot pin a learned
spread, so their effects have fixed-scale priors
(:func:`~partner_forecast.models.effects.fixed_label_effect`); partners keep theirs.

Priors (``[priors]`` keys ``activation_*``): intercept, type, tier, group_sigma (partner spread),
ramp, trend, noise_sigma.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymc as pm
import pytensor.tensor as pt
from scipy.special import expit

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data import views
from partner_forecast.data.export import Export
from partner_forecast.models import aggregate
from partner_forecast.models.base import PartnerModel
from partner_forecast.models.effects import (
    binomial_information,
    binomial_spread,
    fixed_label_effect,
    group_effect,
    suggested_scale,
)
from partner_forecast.models.priors import prior_scale
from partner_forecast.models.spec import ModelSpec

RAMP_QUARTERS = 2.0  # the ramp decays as exp(-tenure_q / RAMP_QUARTERS)


def ramp_term(tenure_q: np.ndarray) -> np.ndarray:
    """``exp(-tenure_q / 2)``: 1 in the onboarding quarter, fading over the first year."""
    return np.exp(-np.asarray(tenure_q, dtype=float) / RAMP_QUARTERS)


KAPPA_BOUNDS = (1e-3, 1e6)
"""Beta concentration kept in range: above 1e6 the Beta-Binomial is the Binomial to 1e-6, and
its log-likelihood (differences of log-gamma values) would lose precision."""


def beta_shapes(m, noise_sigma):
    """Beta ``(alpha, beta)`` with mean ``m`` and the variance of ``expit(logit m + N(0, s))``.

    Works on numpy arrays and PyTensor tensors alike: ``kappa = 1 / (m (1 - m) s**2) - 1``,
    clipped to :data:`KAPPA_BOUNDS`; ``alpha = m kappa``, ``beta = (1 - m) kappa``.
    """
    lib = pt if isinstance(m, pt.TensorVariable) or isinstance(noise_sigma, pt.TensorVariable) else np
    kappa = lib.clip(1.0 / (m * (1.0 - m) * noise_sigma**2 + 1e-300) - 1.0, *KAPPA_BOUNDS)
    return m * kappa, (1.0 - m) * kappa


def draw_asr(eta: np.ndarray, noise_sigma: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fresh partner-quarter ASR around ``expit(eta)``: ``Beta(beta_shapes(...))`` draws.

    The same distribution the fit's Beta-Binomial likelihood assumed (``noise_sigma``
    broadcast against ``eta``), so predictions and fit agree on the mean ``expit(eta)``;
    ``noise_sigma`` 0 gives ``expit(eta)`` itself.
    """
    m = expit(np.asarray(eta, dtype=float))
    sigma = np.asarray(noise_sigma, dtype=float)
    alpha, beta = beta_shapes(m, sigma)
    return np.where(sigma > 0, rng.beta(alpha, beta), m)  # no noise: exactly expit(eta)


class ActivationModel(PartnerModel):
    """Hierarchical binomial model of the Active Seller Rate (see module docstring)."""

    name = "activation"
    version = 1  # bump when the graph, its statistics or its saved variables change (PartnerModel.version)
    prior_prefix = "activation_"
    data_description = "complete quarter with sellers and recorded activities"
    PRIOR_NAMES = ("intercept", "type", "tier", "group_sigma", "ramp", "trend", "noise_sigma")

    @classmethod
    def build_spec(cls, export: Export, settings: Settings) -> ModelSpec:
        """Cells of :func:`~partner_forecast.models.aggregate.activation_cells`."""
        fy = settings.calendar.fiscal_year_start_month
        pf = views.partner_frame(export)
        cells = aggregate.activation_cells(export, fy)
        window = aggregate.window_quarters(export, fy)
        pidx = pd.Series(np.arange(len(pf)), index=pf["partner_id"])
        onboard_q = [Quarter.containing(d, fy).index for d in pf["onboarded_on"]]
        return ModelSpec(
            coords={"partner": tuple(pf["partner_id"]),
                    "partner_type": views.present_types(export),
                    "tier": views.present_tiers(export),
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
        P = s.size("partner")
        part = d["cell_partner"]
        info_p = binomial_information(d["pool"], d["active"], part, P)
        gscale = prior_scale(cfg["group_sigma"])
        # Parametrise partners by the spread the data suggest (between the prior's typical
        # value and an eighth of it), not the prior's alone: a small spread with rich partners
        # is the centred funnel.
        labels = d["partner_type_idx"] * s.size("tier") + d["partner_tier_idx"]
        pscale = suggested_scale(binomial_spread(d["pool"], d["active"], part, P, labels), gscale)
        mode = self.parametrisation
        coords = {k: list(v) for k, v in s.coords.items()}
        # The ramp regressor enters centred (at its mean over cells) so that the intercept does
        # not trade off against the ramp; ``intercept`` (deterministic) is the model's own.
        ramp_x = ramp_term(d["tenure_q"])
        ramp_mean = float(ramp_x.mean()) if len(ramp_x) else 0.0
        with pm.Model(coords=coords) as model:
            centred_intercept = cfg["intercept"].create_variable("intercept_at_mean_tenure")
            partner_sigma = cfg["group_sigma"].create_variable("partner_sigma")
            noise_sigma = cfg["noise_sigma"].create_variable("noise_sigma")
            type_eff = fixed_label_effect(cfg["type"], "type_effect", "partner_type")
            tier_eff = fixed_label_effect(cfg["tier"], "tier_effect", "tier")
            partner_level = group_effect(
                "partner_effect", partner_sigma, info_p, pscale, "partner", mode,
                mu=centred_intercept + type_eff[d["partner_type_idx"]]
                + tier_eff[d["partner_tier_idx"]])
            ramp = cfg["ramp"].create_variable("ramp")
            trend = cfg["trend"].create_variable("trend")
            pm.Deterministic("intercept", centred_intercept - ramp * ramp_mean)
            q_centred = d["cell_q_index"] - float(s.meta["q_center"])
            expected = partner_level[part] + ramp * (ramp_x - ramp_mean) + trend * q_centred
            alpha, beta = beta_shapes(pm.math.sigmoid(expected), noise_sigma)
            pm.BetaBinomial("active", alpha=alpha, beta=beta, n=d["pool"], observed=d["active"],
                            dims="cell")
        return model

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
            out[:, :, h] = draw_asr(base + terms, sigma[:, None], rng)
        return out

    def last_quarter_asr(self) -> np.ndarray:
        """(samples, P) posterior ASR in the last complete quarter (NaN where no cell).

        Per posterior sample, ``theta`` of a last-quarter cell is drawn from its conjugate
        posterior ``Beta(alpha + active, beta + pool - active)`` (:func:`beta_shapes` of the
        sample's mean and noise_sigma), seeded from the sampler seed: the same fit gives the
        same draws.
        """
        last = self.spec.meta.get("last_quarter")
        P = self.spec.size("partner")
        out = np.full((self.n_samples, P), np.nan)
        if last is None:
            return out
        d = self.spec.data
        keep = np.flatnonzero([str(c).endswith(f"|{last}") for c in self.spec.coords["cell"]])
        if not keep.size:
            return out
        q = Quarter.parse(last, self.spec.meta.get("fiscal_year_start_month", 1))
        cols = d["cell_partner"][keep]
        eta = self._base_logit()[:, cols] + self._time_terms(q, self.tenure(q)[cols])
        alpha, beta = beta_shapes(expit(eta), self.samples("noise_sigma")[:, None])
        rng = np.random.default_rng([int(self.sampler_config.get("random_seed", 0)), 1])
        active, pool = d["active"][keep], d["pool"][keep]
        out[:, cols] = rng.beta(alpha + active, beta + pool - active)
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
               + self._time_terms(quarter, np.zeros(1))[:, 0])
        return draw_asr(eta, self.samples("noise_sigma"), rng)


__all__ = ["ActivationModel", "ramp_term"]
