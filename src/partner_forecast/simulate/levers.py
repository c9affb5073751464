"""Scenario levers applied inside the Monte Carlo engine.

A :class:`Levers` object holds multiplicative and additive adjustments to the posterior draws.
Every field defaults to "no change"; scalars broadcast to every partner / stage / quarter.
Because the engine uses counter-based common random numbers (see :mod:`._rng`), a scenario run
with the same seed as its baseline consumes exactly the same random numbers, decision by
decision, so the difference between the two is the effect of the lever and not noise:

- no-op levers reproduce the baseline draw for draw (bit for bit);
- ``asr_multiplier`` / ``asr_add`` / ``pool_add`` can only add active sellers (sellers are
  placed by fixed geometric gaps), ``productivity_multiplier`` can only add opportunities (a
  fixed Poisson arrival sequence is cut at a higher mean), and ``win_odds_multiplier`` can only
  turn a lost decision into an advance (the same uniform is compared with a higher threshold):
  each of them never lowers won ARR in any draw, quarter or segment, hence never lowers any
  quantile;
- ``deal_size_multiplier`` scales the ARR of new deals (open deals keep their quoted ARR);
- ``time_in_stage_multiplier`` scales durations (log-normal location + log m). It shifts wins
  between quarters, so it is *not* monotone per quarter, and with ``adv_duration != 0`` it
  also changes win probabilities.

Every lever may also vary by forecast quarter (a last axis of length H, the quarters of
``inputs.quarters``), which is how a scenario that starts in a later quarter is expressed:
activation, productivity and pool changes apply to the quarter in which sellers are counted;
win odds to the quarter in which the stage decision falls; time in stage to the quarter in
which the stage is entered; deal size to the quarter in which the new deal is won. Calendar
quarters before the first forecast quarter (when ``as_of`` lies before it) use the first
forecast quarter's value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Scalar = float | int
ArrayOrScalar = Scalar | npt.ArrayLike


@dataclass(frozen=True)
class Levers:
    """Adjustments applied inside :func:`~partner_forecast.simulate.simulate`.

    Parameters
    ----------
    asr_multiplier : float or array (P,) or (P, H)
        Multiplies each partner's activation probability (ASR); the result is clipped to [0, 1].
    asr_add : float or array (P,) or (P, H)
        Added to the activation probability after the multiplier (probability points).
    productivity_multiplier : float or array (P,) or (P, H)
        Multiplies opportunities per active seller per quarter.
    win_odds_multiplier : float or array (S,), (P, S) or (P, S, H)
        Multiplies the odds of advancing from each open stage (discovery ... negotiation;
        advancing from negotiation is the win); shape (P, 1) gives one multiplier per
        partner. Applies to open and new deals.
    deal_size_multiplier : float or array (P,) or (P, H)
        Multiplies the ARR (currency per year) of new deals.
    time_in_stage_multiplier : float or array (S,), (P, S) or (P, S, H)
        Multiplies the days spent in each stage (open and new deals).
    pool_add : int or array (P,) or (P, H)
        Sellers added to (or, negative, removed from) each partner's addressable pool; the pool
        never goes below 0.
    """

    asr_multiplier: ArrayOrScalar = 1.0
    asr_add: ArrayOrScalar = 0.0
    productivity_multiplier: ArrayOrScalar = 1.0
    win_odds_multiplier: ArrayOrScalar = 1.0
    deal_size_multiplier: ArrayOrScalar = 1.0
    time_in_stage_multiplier: ArrayOrScalar = 1.0
    pool_add: ArrayOrScalar = 0

    def resolve(self, n_partners: int, n_stages: int, pool: np.ndarray) -> ResolvedLevers:
        """Broadcast every field to full arrays for the kernel.

        Parameters
        ----------
        n_partners, n_stages : int
            P and S.
        pool : numpy.ndarray
            (P, H) addressable sellers, to clip ``pool_add`` so the pool stays >= 0.

        Returns
        -------
        ResolvedLevers
            Float64 / int64 arrays (log scale for odds and durations).
        """
        P, S = n_partners, n_stages
        H = int(np.shape(pool)[1]) if np.ndim(pool) == 2 else 1

        def per_partner(name: str, value: ArrayOrScalar) -> np.ndarray:
            arr = np.asarray(value, dtype=np.float64)
            if arr.ndim == 1:
                arr = arr[:, None]
            try:
                arr = np.broadcast_to(arr, (P, H)).copy()
            except ValueError:
                raise ValueError(f"Levers.{name} has shape {np.shape(value)}, expected a "
                                 f"scalar, ({P},) or ({P}, {H})") from None
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"Levers.{name} must be finite")
            return arr

        def per_stage(name: str, value: ArrayOrScalar) -> np.ndarray:
            arr = np.asarray(value, dtype=np.float64)
            try:
                if arr.ndim <= 2:  # scalar, (S,) or (P, S): the same in every quarter
                    arr = np.broadcast_to(arr, (P, S))[:, :, None]
                arr = np.broadcast_to(arr, (P, S, H)).copy()
            except ValueError:
                raise ValueError(f"Levers.{name} has shape {np.shape(value)}, expected a "
                                 f"scalar, ({S},), ({P}, {S}) or ({P}, {S}, {H})") from None
            if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
                raise ValueError(f"Levers.{name} must be finite and > 0")
            return arr

        asr_mult = per_partner("asr_multiplier", self.asr_multiplier)
        asr_add = per_partner("asr_add", self.asr_add)
        prod = per_partner("productivity_multiplier", self.productivity_multiplier)
        size = per_partner("deal_size_multiplier", self.deal_size_multiplier)
        for name, arr in (("asr_multiplier", asr_mult), ("productivity_multiplier", prod),
                          ("deal_size_multiplier", size)):
            if np.any(arr < 0):
                raise ValueError(f"Levers.{name} must be >= 0")
        odds = per_stage("win_odds_multiplier", self.win_odds_multiplier)
        time = per_stage("time_in_stage_multiplier", self.time_in_stage_multiplier)
        pool = np.asarray(pool, dtype=np.int64)
        add = np.asarray(self.pool_add)
        if not np.issubdtype(add.dtype, np.integer) and not np.all(add == np.round(add)):
            raise ValueError("Levers.pool_add must be whole sellers")
        add = add.astype(np.int64)
        if add.ndim == 1:
            add = add[:, None]
        try:
            add = np.broadcast_to(add, pool.shape).copy()
        except ValueError:
            raise ValueError(f"Levers.pool_add has shape {np.shape(self.pool_add)}, expected a "
                             f"scalar, ({P},) or {pool.shape}") from None
        add = np.maximum(add, -pool)
        return ResolvedLevers(asr_mult, asr_add, prod, np.log(odds), np.log(time), size, add)

    @property
    def is_noop(self) -> bool:
        """True when every lever is at its "no change" value."""
        ones = (self.asr_multiplier, self.productivity_multiplier, self.win_odds_multiplier,
                self.deal_size_multiplier, self.time_in_stage_multiplier)
        zeros = (self.asr_add, self.pool_add)
        return bool(all(np.all(np.asarray(v) == 1) for v in ones)
                    and all(np.all(np.asarray(v) == 0) for v in zeros))


@dataclass(frozen=True)
class ResolvedLevers:
    """Levers as full arrays over forecast quarters.

    (P, H) multipliers, additions and pool additions; (P, S, H) log odds and log durations.
    """

    asr_multiplier: np.ndarray
    asr_add: np.ndarray
    productivity_multiplier: np.ndarray
    log_win_odds: np.ndarray
    log_time_in_stage: np.ndarray
    deal_size_multiplier: np.ndarray
    pool_add: np.ndarray


__all__ = ["Levers", "ResolvedLevers"]
