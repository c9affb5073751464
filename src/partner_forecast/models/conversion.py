"""(3) Conversion: continuation-ratio model of stage exits (DESIGN.md section 3.3).

For each exit of an open stage observed before as-of, the deal either advanced or was lost::

    logit P(advance) = stage[s] + type_stage[type, s] + partner[p] + beta . x
                       + duration[s] * log(days_in_stage / 30) + shock[quarter of exit]
    type_stage ~ ZeroSumNormal(0.5) over types  (type x stage deviations, fixed-scale prior)
    partner ~ N(0, partner_sigma), shock ~ N(0, shock_sigma) iid by calendar quarter

``x = (technical_validation, executive_sponsor, engagement)``, each as known when the deal
entered the stage (a flag without a ``field_history`` is used only if the leakage audit of
:mod:`partner_forecast.data.flag_leakage` passes it, else left out: ``spec.meta``; see
:func:`~partner_forecast.models.aggregate.conversion_cells`). An advance
goes to the next stage, a later one or straight to won (CRMs skip stages and some record only a
few): ``P(destination | advanced from s)`` is a multinomial logit per type and stage, relative
to the next stage, pooled across types (``jump_probs``). ``adv_logit[t, s] = stage[s] +
type_stage[t, s]`` is what the simulation uses; advancing from negotiation is a win, so
``P(won | at s)`` is a product over later stages and monotone by construction. Open deals are
censored (no exit observed): they contribute nothing here but are right-censored stays in the
timing model. Exits are aggregated into binomial cells (see
:func:`~partner_forecast.models.aggregate.conversion_cells`).

Priors (``conversion_*``): stage, type_stage (deviations of a type's stage logits), group_sigma
(partner spread), beta, duration, shock_sigma, jump (skip logits), jump_type (their type
deviations). Type-level deviations have fixed-scale priors: a few types cannot pin a learned
spread (see :func:`~partner_forecast.models.effects.fixed_label_effect`).
"""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytensor.tensor as pt

from partner_forecast.config import Settings
from partner_forecast.data import views
from partner_forecast.data.export import Export
from partner_forecast.data.field_history import has_history
from partner_forecast.data.flag_leakage import usable_flags
from partner_forecast.data.schema import COVARIATES, OPEN_STAGES
from partner_forecast.models import aggregate
from partner_forecast.models.base import PartnerModel
from partner_forecast.models.effects import (
    OFFSET_SUFFIX,
    binomial_information,
    binomial_spread,
    fixed_label_effect,
    group_effect,
    label_effect,
    suggested_scale,
)
from partner_forecast.models.priors import prior_scale, with_dims
from partner_forecast.models.spec import ModelSpec

DESTINATIONS: tuple[str, ...] = ("next", "next+1", "next+2", "next+3")
"""Destination ``j`` of an advance from stage ``s``: stage ``s + 1 + j`` (``S`` = won)."""
SKIP_CELLS: tuple[tuple[int, int], ...] = tuple(
    (s, j) for s in range(len(OPEN_STAGES)) for j in range(1, len(OPEN_STAGES) - s))
"""(stage, destination) pairs of the skips: a later stage than the next one, or won."""
_STAGE_OR_WON = (*OPEN_STAGES, "won")
SKIPS: tuple[str, ...] = tuple(f"{OPEN_STAGES[s]}->{_STAGE_OR_WON[s + 1 + j]}" for s, j in SKIP_CELLS)
_IMPOSSIBLE = -1e4


def stage_means(cells) -> np.ndarray:
    """(S, K) exit-weighted mean of each covariate per open stage (0 where a stage has none).

    ``adv_logit + x_stage_mean[s] . beta`` is the stage's logit for a deal with the average
    covariates of deals leaving it: what the simulation gives new deals (see
    :func:`~partner_forecast.posterior.inputs.simulation_inputs`).
    """
    S, K = len(OPEN_STAGES), len(COVARIATES)
    w = cells["n"].to_numpy(dtype=float)
    stage = cells["stage_idx"].to_numpy(dtype=np.int64)
    x = cells[list(COVARIATES)].to_numpy(dtype=float).reshape(len(cells), K)
    total = np.bincount(stage, weights=w, minlength=S)
    sums = np.stack([np.bincount(stage, weights=w * x[:, k], minlength=S) for k in range(K)], axis=1)
    return sums / np.maximum(total, 1.0)[:, None]


class ConversionModel(PartnerModel):
    """Hierarchical continuation-ratio (advance vs lost) model on binomial cells."""

    name = "conversion"
    version = 1  # bump when the graph, its statistics or its saved variables change (PartnerModel.version)
    prior_prefix = "conversion_"
    data_description = "deal that left a stage"
    PRIOR_NAMES = ("stage", "type_stage", "group_sigma", "beta", "duration", "shock_sigma",
                   "jump", "jump_type")
    PARAMETRISED = {"partner": "partner_effect", "shock": "shock"}

    @classmethod
    def spec_options_from(cls, settings: Settings) -> dict:
        """The engagement scale and the fiscal calendar shape the cells."""
        return super().spec_options_from(settings) | {
            "engagement_full_at": settings.confidence.engagement_full_at}

    @classmethod
    def build_spec(cls, export: Export, settings: Settings) -> ModelSpec:
        """Binomial cells of completed stage stays."""
        pf = views.partner_frame(export)
        usable = usable_flags(export)
        cells, quarters = aggregate.conversion_cells(
            export, settings.confidence.engagement_full_at, settings.calendar.fiscal_year_start_month,
            usable)
        flags_used = [f for f in aggregate.FLAG_COVARIATES
                      if f in usable or has_history(export, f)]
        return ModelSpec(
            coords={"partner": tuple(pf["partner_id"]),
                    "partner_type": views.present_types(export),
                    "stage": OPEN_STAGES, "quarter": quarters, "covariate": COVARIATES,
                    "destination": DESTINATIONS, "skip": SKIPS},
            data={"partner_type_idx": pf["type_idx"].to_numpy(dtype=np.int64),
                  "cell_partner": cells["partner_idx"].to_numpy(dtype=np.int64),
                  "cell_stage": cells["stage_idx"].to_numpy(dtype=np.int64),
                  "cell_quarter": cells["quarter_idx"].to_numpy(dtype=np.int64),
                  "x": cells[list(COVARIATES)].to_numpy(dtype=float),
                  "log_duration": cells["log_duration"].to_numpy(dtype=float),
                  "n": cells["n"].to_numpy(dtype=np.int64),
                  "k": cells["k"].to_numpy(dtype=np.int64),
                  "jumps": aggregate.jump_counts(export),
                  "x_stage_mean": stage_means(cells)},
            dims={"partner_type_idx": ("partner",), "cell_partner": ("cell",),
                  "cell_stage": ("cell",), "cell_quarter": ("cell",), "x": ("cell", "covariate"),
                  "log_duration": ("cell",), "n": ("cell",), "k": ("cell",),
                  "jumps": ("partner_type", "stage", "destination"),
                  "x_stage_mean": ("stage", "covariate")},
            meta={"engagement_full_at": settings.confidence.engagement_full_at,
                  "flags_used": ",".join(flags_used),
                  "flags_left_out": ",".join(f for f in aggregate.FLAG_COVARIATES
                                             if f not in flags_used)})

    @property
    def cells(self) -> int:
        """Binomial cells of stage exits."""
        return self.spec.size("cell")

    def build_model(self) -> pm.Model:
        """The PyMC graph (see module docstring)."""
        s, d, cfg = self.spec, self.spec.data, self.model_config
        P, S, Q = s.size("partner"), s.size("stage"), s.size("quarter")
        part, stage = d["cell_partner"], d["cell_stage"]
        ts_idx = d["partner_type_idx"][part] * S + stage
        info_p = binomial_information(d["n"], d["k"], part, P)
        gscale = prior_scale(cfg["group_sigma"])
        # Partners parametrised by the spread the data suggest (see the activation model).
        pscale = suggested_scale(binomial_spread(d["n"], d["k"], part, P, d["partner_type_idx"],
                                                 cell_groups=stage), gscale)
        mode = self.parametrisation
        # Covariates and log-durations enter centred at their exit-weighted means per stage, so
        # that the stage logits do not trade off against their slopes; the contract's adv_logit
        # (raw covariates) is recovered as a deterministic.
        w = d["n"].astype(float)
        x_mean = d["x_stage_mean"]  # (S, K)
        z_mean = np.bincount(stage, weights=w * d["log_duration"], minlength=S) / np.maximum(
            np.bincount(stage, weights=w, minlength=S), 1.0)
        with pm.Model(coords={k: list(v) for k, v in s.coords.items()}) as model:
            stage_eff = with_dims(cfg["stage"], "stage").create_variable("stage_effect")
            # Type x stage deviations: a fixed-scale prior, not a learned spread (a handful of
            # types cannot pin one; its funnel diverged on 40-60-partner exports).
            type_stage = fixed_label_effect(cfg["type_stage"], "type_stage",
                                            ("partner_type", "stage"))
            adv_centred = stage_eff[None, :] + type_stage
            # Partners are centred on their type's level (the mean over stages of its logits):
            # a partner with many exits then pins its own level directly instead of trading
            # off against its type's logits (hierarchical centring; see effects.py).
            type_level = adv_centred.mean(axis=1)
            partner_sigma = cfg["group_sigma"].create_variable("partner_sigma")
            partner_level = group_effect("partner_effect", partner_sigma, info_p, pscale, "partner",
                                         mode, mu=type_level[d["partner_type_idx"]])
            stage_shape = (adv_centred - type_level[:, None]).flatten()
            beta = with_dims(cfg["beta"], "covariate").create_variable("beta")
            duration = with_dims(cfg["duration"], "stage").create_variable("duration")
            shock_sigma = cfg["shock_sigma"].create_variable("shock_sigma")
            # iid N(0, shock_sigma) shocks = their mean + zero-sum deviations. Only the
            # deviations enter the likelihood: the mean cannot be told apart from the stage
            # logits (every exit has both), so it is drawn from its prior N(0, sigma / sqrt(Q))
            # and taken out of adv_logit, which keeps its honest uncertainty without a ridge.
            info_q = binomial_information(d["n"], d["k"], d["cell_quarter"], Q)
            shock = label_effect("shock", shock_sigma, "quarter", Q, mode, info_q,
                                 prior_scale(cfg["shock_sigma"]))
            # Non-centred: drawn from its prior alone, a centred N(0, shock_sigma / sqrt(Q)) is
            # Neal's funnel as shock_sigma nears 0 (R-hat 1.03 and tens of divergences on a
            # 40-partner export).
            shock_mean = pm.Deterministic(
                "shock_mean", shock_sigma / np.sqrt(max(Q, 1))
                * pm.Normal(f"shock_mean{OFFSET_SUFFIX}", 0.0, 1.0))
            pm.Deterministic("adv_logit", adv_centred - pt.dot(x_mean, beta)[None, :] - shock_mean
                             - (duration * z_mean)[None, :], dims=("partner_type", "stage"))
            eta = (stage_shape[ts_idx] + partner_level[part]
                   + pt.dot(d["x"] - x_mean[stage], beta)
                   + duration[stage] * (d["log_duration"] - z_mean[stage]) + shock[d["cell_quarter"]])
            # Binomial log-likelihood without its constant: k * eta - n * log(1 + exp(eta)).
            pm.Potential("advanced", pt.sum(d["k"] * eta - d["n"] * pt.softplus(eta)))
            self._add_jumps(d["jumps"], cfg)
        return model

    def _add_jumps(self, counts: np.ndarray, cfg: dict) -> None:
        """Where advances go: a multinomial over destinations per type and stage.

        Logits relative to the next stage (0): ``skip[t, k] = jump[k] + type deviation`` for
        each skip ``k`` (a later stage or won, :data:`SKIPS`), the type deviations under the
        fixed-scale ``jump_type`` prior. ``jump_probs[t, s, j]`` (the simulation's destination probabilities,
        zero beyond won) is kept as a deterministic.
        """
        T, S = counts.shape[0], counts.shape[1]
        n_skip = len(SKIPS)
        jump_mu = with_dims(cfg["jump"], "skip").create_variable("jump_mean")
        skip = jump_mu[None, :] + fixed_label_effect(cfg["jump_type"], "jump_type",
                                                     ("partner_type", "skip"))
        # Each skip's logit goes to its (stage, destination) slot by one product with a constant
        # 0/1 placement matrix (one small graph node, where a set_subtensor per skip made the
        # compiled gradient several times larger); "next" is 0 and the slots beyond won are
        # _IMPOSSIBLE (exp() underflows to exactly 0).
        place = np.zeros((n_skip, S * S))
        base = np.full((S, S), _IMPOSSIBLE)
        base[:, 0] = 0.0
        for k, (s, j) in enumerate(SKIP_CELLS):
            place[k, s * S + j] = 1.0
            base[s, j] = 0.0
        logits = (pt.dot(skip, place) + base.ravel()[None, :]).reshape((T, S, S))
        logp = logits - pt.logsumexp(logits, axis=2, keepdims=True)
        pm.Potential("destinations", pt.sum(counts * logp))  # counts are 0 beyond won
        pm.Deterministic("jump_probs", pt.exp(logp), dims=("partner_type", "stage", "destination"))

    def adv_logit(self) -> np.ndarray:
        """(samples, T, S) logit of advancing by type and stage (covariates and effects 0)."""
        return self.samples("adv_logit")


__all__ = ["ConversionModel"]
