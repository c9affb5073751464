"""The contract between the fitted models and the Monte Carlo engine.

:class:`SimulationInputs` holds everything the engine needs as numpy arrays over posterior
draws ``D``, partners ``P``, partner types ``T``, open stages ``S`` (discovery, qualified,
proposal, negotiation), partner roles ``R``, deal covariates ``K`` and forecast quarters ``H``.
The fits produce it (:func:`partner_forecast.posterior.inputs.simulation_inputs`); tests build
it by hand (``partner_forecast.testing``), e.g. as a degenerate posterior with a closed-form answer.

Deal path (semi-Markov, DESIGN.md section 4): a deal sits in open stage ``s`` for ``d`` days,
``log d ~ Normal(time_mu[t, s], time_sigma[t, s])`` (conditional on ``d`` exceeding the days it
has already spent there); when it leaves, it advances with probability
``sigmoid(adv_logit[t, s] + adv_partner[p] + covariates @ adv_beta + adv_duration[s] *
log(d / 30) + shock[quarter of exit])`` and is otherwise lost. An advancing deal goes to
destination ``j`` (the next open stage, a later one, or won) with probability
``jump_probs[t, s, j]``; advancing from negotiation is a win. New deals start in stage ``s``
with probability ``entry_probs[t, s]``. ``shock ~ Normal(0, shock_sigma)`` is drawn once per
draw and calendar quarter and shared by every deal (deals in a quarter are not independent).
Units: days; ARR in currency per year; rates per quarter.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.schema import COVARIATES, OPEN_DEAL_COLUMNS, OPEN_STAGES, ROLES


@dataclass(frozen=True)
class SimulationInputs:
    """Posterior draws and current state needed to simulate partner ARR (see module docs)."""

    # -- coordinates --------------------------------------------------------------------------
    partner_ids: np.ndarray  # (P,) str
    partner_type: np.ndarray  # (P,) int index into `types`
    partner_tier: np.ndarray  # (P,) int index into `tiers`
    types: tuple[str, ...]  # (T,)
    tiers: tuple[str, ...]
    quarters: tuple[Quarter, ...]  # (H,) forecast quarters, consecutive
    as_of: pd.Timestamp  # first day not yet known; the simulation starts here
    # -- (1) activation: ASR per draw, partner and future quarter, probability scale ----------
    asr: np.ndarray  # (D, P, H) includes fresh partner-quarter noise for future quarters
    pool: np.ndarray  # (P, H) int addressable sellers (carried forward by default)
    # -- (2) productivity: opportunities per active seller per quarter ----------------------
    opp_rate: np.ndarray  # (D, P)
    opp_dispersion: np.ndarray  # (D,) negative-binomial alpha (var = mu + mu^2 / alpha)
    # -- (3) conversion: logit P(advance | leave stage) ---------------------------------------
    adv_logit: np.ndarray  # (D, T, S)
    adv_partner: np.ndarray  # (D, P)
    adv_beta: np.ndarray  # (D, K) effects of COVARIATES
    adv_duration: np.ndarray  # (D, S) slope on log(days_in_stage / 30)
    shock_sigma: np.ndarray  # (D,)
    # -- (4) timing: log days in stage ~ Normal(time_mu, time_sigma) --------------------------
    time_mu: np.ndarray  # (D, T, S)
    time_sigma: np.ndarray  # (D, T, S)
    # -- (5) deal size: log ARR ~ StudentT(size_nu, size_mu[p] + size_role[r], size_sigma) ---
    size_mu: np.ndarray  # (D, P)
    size_role: np.ndarray  # (D, R)
    size_sigma: np.ndarray  # (D,)
    size_nu: np.ndarray  # (D,)
    # -- mix of new deals per partner type (empirical shares from history) ------------------
    role_probs: np.ndarray  # (T, R) rows sum to 1
    new_covariates: np.ndarray  # (T, K) mean covariate value of new deals
    marketplace_rate: np.ndarray  # (T,) share of new deals that are marketplace deals
    expansion_rate: np.ndarray  # (T,) share of new deals that are expansions
    influence_share: np.ndarray  # (T,) mean attribution of influenced deals (influence_pct)
    # -- open pipeline at as-of: one row per open deal, columns OPEN_DEAL_COLUMNS -------------
    open_deals: pd.DataFrame
    # -- stage skips: where an advancing deal goes, and where new deals start ----------------
    # jump_probs[d, t, s, j]: P(destination s + 1 + j | advanced from s), j = 0 .. S - 1 - s,
    # the last destination being won; entries beyond it are 0. None = always the next stage.
    jump_probs: np.ndarray | None = None  # (D, T, S, S)
    # entry_probs[t, s]: P(a new deal is created in open stage s). None = always discovery.
    entry_probs: np.ndarray | None = None  # (T, S)
    # -- bookkeeping ---------------------------------------------------------------------------
    warnings: tuple[str, ...] = field(default_factory=tuple)
    notes: tuple[str, ...] = field(default_factory=tuple)  # what the fits chose from the data

    @property
    def n_draws(self) -> int:
        """Number of posterior draws D."""
        return int(self.asr.shape[0])

    def stage_jumps(self) -> np.ndarray:
        """(D, T, S, S) destination probabilities of an advance (``jump_probs`` or next stage)."""
        if self.jump_probs is not None:
            return np.asarray(self.jump_probs, dtype=np.float64)
        D, T, S = self.n_draws, len(self.types), len(OPEN_STAGES)
        out = np.zeros((D, T, S, S))
        out[..., 0] = 1.0
        return out

    def stage_entry(self) -> np.ndarray:
        """(T, S) probabilities of a new deal's first stage (``entry_probs`` or discovery)."""
        if self.entry_probs is not None:
            return np.asarray(self.entry_probs, dtype=np.float64)
        out = np.zeros((len(self.types), len(OPEN_STAGES)))
        out[:, 0] = 1.0
        return out

    @property
    def horizon(self) -> int:
        """Number of forecast quarters H."""
        return len(self.quarters)

    def check(self) -> SimulationInputs:
        """Raise ``ValueError`` if any array has the wrong shape or an impossible value."""
        D, P, T, S, R, K, H = (self.n_draws, len(self.partner_ids), len(self.types),
                               len(OPEN_STAGES), len(ROLES), len(COVARIATES), self.horizon)
        expected = {
            "asr": (D, P, H), "pool": (P, H), "opp_rate": (D, P), "opp_dispersion": (D,),
            "adv_logit": (D, T, S), "adv_partner": (D, P), "adv_beta": (D, K),
            "adv_duration": (D, S), "shock_sigma": (D,), "time_mu": (D, T, S),
            "time_sigma": (D, T, S), "size_mu": (D, P), "size_role": (D, R), "size_sigma": (D,),
            "size_nu": (D,), "role_probs": (T, R), "new_covariates": (T, K),
            "marketplace_rate": (T,), "expansion_rate": (T,), "influence_share": (T,),
            "partner_type": (P,), "partner_tier": (P,),
        }
        for name, shape in expected.items():
            got = np.shape(getattr(self, name))
            if got != shape:
                raise ValueError(f"SimulationInputs.{name} has shape {got}, expected {shape}")
        if np.any((self.asr < 0) | (self.asr > 1)):
            raise ValueError("SimulationInputs.asr must lie in [0, 1]")
        if np.any(self.pool < 0) or np.any(self.opp_rate < 0):
            raise ValueError("pool and opp_rate must be non-negative")
        if not np.allclose(self.role_probs.sum(axis=1), 1.0):
            raise ValueError("role_probs rows must sum to 1")
        jumps, entry = self.stage_jumps(), self.stage_entry()
        if jumps.shape != (D, T, S, S) or entry.shape != (T, S):
            raise ValueError(f"jump_probs / entry_probs have shapes {jumps.shape} / {entry.shape}, "
                             f"expected {(D, T, S, S)} / {(T, S)}")
        beyond = np.arange(S)[None, :] > (S - 1 - np.arange(S))[:, None]  # (s, j) impossible
        if (np.any(jumps < 0) or np.any(jumps[..., beyond] > 0)
                or not np.allclose(jumps.sum(axis=-1), 1.0)):
            raise ValueError("jump_probs must be >= 0, sum to 1 over destinations and be 0 "
                             "beyond 'won' (j > S - 1 - s)")
        if np.any(entry < 0) or not np.allclose(entry.sum(axis=-1), 1.0):
            raise ValueError("entry_probs rows must be >= 0 and sum to 1")
        missing = set(OPEN_DEAL_COLUMNS) - set(self.open_deals.columns)
        if missing:
            raise ValueError(f"open_deals lacks columns {sorted(missing)}")
        return self

    def replace(self, **changes: object) -> SimulationInputs:
        """A copy with some fields changed (scenarios use this)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return SimulationInputs(**values)
