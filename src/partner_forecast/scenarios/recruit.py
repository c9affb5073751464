"""Newly recruited partners: posterior-predictive draws of their parameters.

A recruited partner has no history, so its parameters come from the models' *population*
predictive: for each posterior draw, a fresh partner effect from the partner-level spread of
its type and tier, plus (activation) the onboarding ramp by quarters since onboarding, the
trend and fresh partner-quarter noise. :class:`NewPartnerPredictive` is the interface the
scenario engine asks; :func:`predictive_for` picks the implementation:

- :class:`ModelPredictive` (the answer): reads the real fitted models
  (:class:`~partner_forecast.models.fitted.FittedModels`). Activation: the population
  predictive from the activation posterior (``intercept``, ``type_effect``, ``tier_effect``,
  ``partner_sigma``, ``ramp``, ``trend``, ``noise_sigma``) with
  :func:`partner_forecast.models.activation.ramp_term`. Productivity and deal size use
  ``intercept + type_effect + Normal(0, partner_sigma)`` of their fits, the conversion partner
  effect ``Normal(0, partner_sigma)``.
- :class:`InputsPredictive` (an approximation, used only when the model source offers no
  posterior, e.g. fabricated inputs or the test doubles of :mod:`partner_forecast.testing`):
  per draw, the mean and spread across existing partners of the same type (and tier where
  there are two or more) of each parameter in
  :class:`~partner_forecast.simulate.inputs.SimulationInputs`, with *no onboarding ramp*.
  Every plan built with it carries a warning.

Posterior draw alignment: draw ``d`` of the simulation inputs is posterior sample
``draws[d]`` of each model; :func:`sample_indices` reproduces the per-model indices
:func:`partner_forecast.posterior.inputs.simulation_inputs` draws from the same seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from partner_forecast.calendar import Quarter
from partner_forecast.simulate.inputs import SimulationInputs

if TYPE_CHECKING:
    from partner_forecast.models.activation import ActivationModel
    from partner_forecast.models.base import PartnerModel
    from partner_forecast.models.fitted import FittedModels


@dataclass(frozen=True)
class NewPartnerDraws:
    """Posterior-predictive draws for one new partner.

    Attributes
    ----------
    asr : numpy.ndarray
        (D, H) activation probability per draw and simulated quarter (0 before onboarding).
    opp_rate : numpy.ndarray
        (D,) opportunities per active seller per quarter.
    adv_partner : numpy.ndarray
        (D,) partner effect on the logit of advancing a stage.
    size_mu : numpy.ndarray
        (D,) location of log deal ARR (currency per year).
    notes : tuple of str
        How the draws were made where it is an approximation.
    """

    asr: np.ndarray
    opp_rate: np.ndarray
    adv_partner: np.ndarray
    size_mu: np.ndarray
    notes: tuple[str, ...] = ()


@runtime_checkable
class NewPartnerPredictive(Protocol):
    """What the scenario engine needs to add a partner that has no history."""

    source: str

    def draw(self, inputs: SimulationInputs, partner_type: str, tier: str, onboarded: Quarter,
             rng: np.random.Generator) -> NewPartnerDraws:
        """Draws for one new partner of ``partner_type`` / ``tier`` onboarded in ``onboarded``.

        Parameters
        ----------
        inputs : SimulationInputs
            The simulation inputs the partner joins (D draws, quarters).
        partner_type, tier : str
            Canonical labels (present in ``inputs.types`` / ``inputs.tiers``).
        onboarded : Quarter
            Onboarding quarter (tenure 0); ASR is 0 in earlier quarters.
        rng : numpy.random.Generator
            Draws the fresh partner effects and noise.
        """
        ...


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1.0 - 1e-9)
    return np.log(p) - np.log1p(-p)


def _tenure(quarters: Sequence[Quarter], onboarded: Quarter) -> np.ndarray:
    return np.array([q.index - onboarded.index for q in quarters], dtype=np.int64)


# -- the approximation from the simulation inputs -----------------------------------------------
def _reference(inputs: SimulationInputs, partner_type: str, tier: str,
               exclude: int | None = None) -> np.ndarray:
    """Indices of the partners a new one is compared with.

    Same type and tier when >= 2 exist, else same type, else all (within the first ``exclude``
    partners: the original ones).
    """
    n = len(inputs.partner_ids) if exclude is None else exclude
    ptype = np.asarray(inputs.partner_type)[:n]
    ptier = np.asarray(inputs.partner_tier)[:n]
    t = inputs.types.index(partner_type)
    r = inputs.tiers.index(tier)
    for mask in ((ptype == t) & (ptier == r), ptype == t):
        if mask.sum() >= 2:
            return np.flatnonzero(mask)
    if (ptype == t).sum() == 1:
        return np.flatnonzero(ptype == t)
    return np.arange(n)


def _spread_draw(values: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Per draw: mean + sd * z over the reference partners (axis 1)."""
    mean = values.mean(axis=1)
    sd = values.std(axis=1) if values.shape[1] > 1 else np.zeros(values.shape[0])
    return mean + sd * z


@dataclass
class InputsPredictive:
    """Approximate new-partner draws from the existing partners in the simulation inputs.

    No onboarding ramp: a recruit activates like an established partner of its type from its
    first quarter (optimistic). Used only without an activation posterior.
    """

    n_original: int | None = None
    source: str = "approximation from existing partners (no activation posterior; no ramp)"

    def draw(self, inputs: SimulationInputs, partner_type: str, tier: str, onboarded: Quarter,
             rng: np.random.Generator) -> NewPartnerDraws:
        """See :meth:`NewPartnerPredictive.draw`."""
        ref = _reference(inputs, partner_type, tier, self.n_original)
        D = inputs.n_draws
        z = rng.standard_normal(4)
        pooled = np.asarray(inputs.pool)[ref] > 0
        asr = np.zeros((D, inputs.horizon))
        tenure = _tenure(inputs.quarters, onboarded)
        for h in range(inputs.horizon):
            if tenure[h] < 0:
                continue
            cols = ref[pooled[:, h]] if pooled[:, h].any() else ref
            asr[:, h] = _sigmoid(_spread_draw(_logit(inputs.asr[:, cols, h]), z[0]))
        return NewPartnerDraws(
            asr=asr,
            opp_rate=np.exp(_spread_draw(np.log(np.maximum(inputs.opp_rate[:, ref], 1e-300)), z[1])),
            adv_partner=_spread_draw(inputs.adv_partner[:, ref], z[2]),
            size_mu=_spread_draw(inputs.size_mu[:, ref], z[3]),
            notes=(f"new {partner_type}/{tier} partner: {self.source}",))


# -- from the fitted models -----------------------------------------------------------------------
def fitted_models(fits: object) -> FittedModels | None:
    """The real fitted models behind ``fits``; None for a model source without a posterior.

    The context of a forecast holds what its :class:`~partner_forecast.model_source.ModelSource`
    fitted: the five PyMC models for the real source, a stand-in (e.g.
    :class:`partner_forecast.testing.fits.FakeFits`) for one that simulates from fabricated
    inputs, whose recruits then come from :class:`InputsPredictive`.
    """
    from partner_forecast.models.fitted import FittedModels

    return fits if isinstance(fits, FittedModels) else None


def sample_indices(fits: FittedModels, n_draws: int, seed: int) -> dict[str, np.ndarray]:
    """Posterior samples behind each simulation draw, per model name.

    Exactly the indices :func:`partner_forecast.posterior.inputs.simulation_inputs` draws: one
    ``numpy.random.default_rng(seed)`` passed through
    :func:`partner_forecast.posterior.inputs.draw_indices` model by model in fitting order, so
    draw ``d`` of a recruit reads the same posterior sample as draw ``d`` of every partner.
    """
    from partner_forecast.posterior.inputs import draw_indices

    rng = np.random.default_rng(seed)
    return {m.name: draw_indices(int(m.n_samples), n_draws, rng).astype(np.int64) for m in fits}


def activation_path(fit: ActivationModel, partner_type: str, tier: str, onboarded: Quarter,
                    quarters: Sequence[Quarter], rng: np.random.Generator,
                    draws: np.ndarray | None = None) -> np.ndarray:
    """Population-predictive ASR of one new partner over ``quarters`` from the activation fit.

    ``logit theta[q] = intercept + type[t] + tier[r] + partner + ramp * ramp_term(tenure_q)
    + trend * (q - q_center) + noise[q]`` with one fresh ``partner ~ N(0, partner_sigma)`` for
    the partner and a fresh partner-quarter ASR per quarter
    (:func:`~partner_forecast.models.activation.draw_asr`, ActivationModel's likelihood);
    ``tenure_q`` counts quarters since ``onboarded``; 0 before it.

    Returns
    -------
    numpy.ndarray
        (len(draws) or samples, len(quarters)) probabilities.
    """
    from partner_forecast.models.activation import draw_asr, ramp_term

    spec = fit.spec
    t = list(spec.coords["partner_type"]).index(partner_type)
    r = list(spec.coords["tier"]).index(tier)

    def s(name: str) -> np.ndarray:
        arr = np.asarray(fit.samples(name), dtype=float)
        return arr if draws is None else arr[draws]

    base = s("intercept") + s("type_effect")[:, t] + s("tier_effect")[:, r]
    n = base.shape[0]
    base = base + rng.standard_normal(n) * s("partner_sigma")
    first = spec.meta.get("first_quarter_index")
    center = float(spec.meta.get("q_center", 0.0))
    out = np.zeros((n, len(quarters)))
    for h, q in enumerate(quarters):
        tenure = q.index - onboarded.index
        if tenure < 0:
            continue
        q_c = q.index - (first if first is not None else q.index) - center
        eta = base + s("ramp") * float(ramp_term(np.array([tenure]))[0]) + s("trend") * q_c
        out[:, h] = draw_asr(eta, s("noise_sigma"), rng)
    return out


def _level_draw(fit: PartnerModel, partner_type: str, draws: np.ndarray, rng: np.random.Generator,
                with_intercept: bool) -> np.ndarray:
    """``[intercept + type_effect[t]] + Normal(0, partner_sigma)`` per posterior sample."""
    sigma = np.asarray(fit.samples("partner_sigma"), dtype=float)[draws]
    value = rng.standard_normal(sigma.shape[0]) * sigma
    if with_intercept:
        t = list(fit.spec.coords["partner_type"]).index(partner_type)
        value = (value + np.asarray(fit.samples("intercept"), dtype=float)[draws]
                 + np.asarray(fit.samples("type_effect"), dtype=float)[draws, t])
    return value


#: Standard normals drawn (and unused) before a recruit's level draws: the approximation's
#: four once filled gaps here, and keeping them keeps every recruit's draws as they were.
_RESERVED_NORMALS = 4


@dataclass
class ModelPredictive:
    """New-partner draws from the fitted models' population predictive (see module docs)."""

    fits: FittedModels
    n_draws: int
    seed: int
    n_original: int | None = None
    source: str = "activation model population predictive with onboarding ramp"

    def draw(self, inputs: SimulationInputs, partner_type: str, tier: str, onboarded: Quarter,
             rng: np.random.Generator) -> NewPartnerDraws:
        """See :meth:`NewPartnerPredictive.draw`."""
        indices = sample_indices(self.fits, inputs.n_draws, self.seed)
        asr = activation_path(self.fits.activation, partner_type, tier, onboarded,
                              inputs.quarters, rng, indices["activation"])
        rng.standard_normal(_RESERVED_NORMALS)
        opp_rate = np.exp(_level_draw(self.fits.productivity, partner_type,
                                      indices["productivity"], rng, with_intercept=True))
        adv_partner = _level_draw(self.fits.conversion, partner_type, indices["conversion"], rng,
                                  with_intercept=False)
        size_mu = _level_draw(self.fits.deal_size, partner_type, indices["deal_size"], rng,
                              with_intercept=True)
        return NewPartnerDraws(asr=asr, opp_rate=opp_rate, adv_partner=adv_partner,
                               size_mu=size_mu)


def predictive_for(fits: FittedModels | None, n_draws: int, seed: int,
                   n_original: int | None = None) -> NewPartnerPredictive:
    """The new-partner predictive for ``fits`` (:func:`fitted_models` of a forecast's fits).

    :class:`ModelPredictive` for the real fitted models, :class:`InputsPredictive` (an
    approximation whose use every plan reports) when there are none.
    """
    if fits is None:
        return InputsPredictive(n_original)
    return ModelPredictive(fits, n_draws, seed, n_original)


__all__ = ["InputsPredictive", "ModelPredictive", "NewPartnerDraws", "NewPartnerPredictive",
           "activation_path", "fitted_models", "predictive_for", "sample_indices"]
