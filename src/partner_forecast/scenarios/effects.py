"""How each lever changes the simulation: one function per lever, in :data:`LEVER_EFFECTS`.

:func:`~partner_forecast.scenarios.apply.apply_scenario` resolves a change (its partners,
start quarter and amount) into a :class:`Step` and hands it, with the scenario's
:class:`LeverArrays`, to the lever's function, which changes the arrays in place. The arrays
become the changed ASR draws and pools and the engine's
:class:`~partner_forecast.simulate.levers.Levers` once every change is applied (see
:mod:`partner_forecast.scenarios.apply` for what each lever means). ``recruit`` is not here: it
adds partners before any lever acts, so it is applied by ``apply_scenario`` itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from partner_forecast.calendar import Quarter
from partner_forecast.data.schema import OPEN_STAGES
from partner_forecast.errors import ConfigError
from partner_forecast.scenarios.recruit import NewPartnerPredictive
from partner_forecast.scenarios.spec import Change, Scenario
from partner_forecast.simulate.inputs import SimulationInputs

#: Odds multiplier used to lose a sunset partner's open deals (log odds - 460).
DEAD_ODDS = 1e-200
_TOL = 1e-9
UNKNOWN_REGION = "unknown"


@dataclass(frozen=True)
class Start:
    """When a change starts, in simulated quarters.

    Attributes
    ----------
    h0 : int
        First simulated quarter index affected (may be >= H: after the horizon).
    share : float
        Share of quarter ``h0``'s simulated days on/after the start date (1 at starts).
    quarter : Quarter
        The start quarter.
    early : bool
        The start lies before the forecast: applied from its start instead.
    """

    h0: int
    share: float
    quarter: Quarter
    early: bool = False


@dataclass
class LeverArrays:
    """What the scenario's levers change, over every partner (recruits included).

    Attributes
    ----------
    base_mean : numpy.ndarray
        (P, H) posterior mean ASR before the scenario (probability per quarter).
    pool : numpy.ndarray
        (P, H) int baseline addressable sellers.
    asr_m, asr_a : numpy.ndarray
        (P, H) multiplier and addend of every ASR draw (clipped to [0, 1] afterwards).
    prod, size : numpy.ndarray
        (P, H) productivity and deal-size multipliers.
    pool_add : numpy.ndarray
        (P, H) int sellers added to (negative: removed from) the pool.
    gone : numpy.ndarray
        (P, H) bool: sunset, no sellers.
    exposure : numpy.ndarray
        (P, H) share of a quarter's simulated days a partner is in the program (recruited or
        sunset inside it); multiplies the ASR after every rate change, so rates stay rates.
    odds, time : numpy.ndarray
        (P, S, H) win-odds and time-in-stage multipliers per open stage.
    """

    base_mean: np.ndarray
    pool: np.ndarray
    asr_m: np.ndarray
    asr_a: np.ndarray
    prod: np.ndarray
    size: np.ndarray
    pool_add: np.ndarray
    gone: np.ndarray
    exposure: np.ndarray
    odds: np.ndarray
    time: np.ndarray

    @classmethod
    def neutral(cls, base_mean: np.ndarray, pool: np.ndarray, n_stages: int) -> LeverArrays:
        """Arrays that change nothing, for ``base_mean``'s (P, H) partners and quarters."""
        P, H = base_mean.shape
        return cls(base_mean=base_mean, pool=pool, asr_m=np.ones((P, H)), asr_a=np.zeros((P, H)),
                   prod=np.ones((P, H)), size=np.ones((P, H)),
                   pool_add=np.zeros((P, H), dtype=np.int64), gone=np.zeros((P, H), dtype=bool),
                   exposure=np.ones((P, H)), odds=np.ones((P, n_stages, H)),
                   time=np.ones((P, n_stages, H)))


@dataclass(frozen=True)
class Step:
    """One change resolved against the simulation: whom, from when, by how much.

    Attributes
    ----------
    scenario, change : Scenario, Change
        The change (and its scenario, to locate errors).
    idx : numpy.ndarray
        Indices of the selected partners.
    start : Start
        When it starts (``start.h0`` < H).
    amount : float
        The change's value (0 when it has none).
    partner_ids : numpy.ndarray
        (P,) ids of every partner, for error messages.
    quarters : tuple of Quarter
        The H simulated quarters, for error messages.
    strict : bool
        Raise on a mean ASR outside [0, 1] or a pool below 0 (else clip).
    notes : list of str
        The plan's notes; a lever may append to it.
    """

    scenario: Scenario
    change: Change
    idx: np.ndarray
    start: Start
    amount: float
    partner_ids: np.ndarray
    quarters: tuple[Quarter, ...]
    strict: bool
    notes: list[str]

    def cells(self, arrays: LeverArrays) -> tuple[np.ndarray, ...]:
        """(partner, quarter) cells of the selected partners from ``h0`` on."""
        return np.ix_(self.idx, np.arange(self.start.h0, arrays.pool.shape[1]))

    def stage_cells(self, arrays: LeverArrays) -> tuple[np.ndarray, ...]:
        """(partner, stage, quarter) cells of the change's stages (default: all open ones)."""
        stages = np.array([OPEN_STAGES.index(s) for s in (self.change.stages or OPEN_STAGES)])
        return np.ix_(self.idx, stages, np.arange(self.start.h0, arrays.pool.shape[1]))

    def error(self, message: str, key: str | None) -> ConfigError:
        """A ConfigError naming the file, scenario, change and ``key``."""
        return self.scenario.error(message, self.change, key)


def recruit(scenario: Scenario, change: Change, start: Start, inputs: SimulationInputs,
            predictive: NewPartnerPredictive, rng: np.random.Generator, notes: list[str]
            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """New partners of a ``recruit`` change, drawn from ``predictive`` with ``rng``.

    Returns the partners to append (dicts of id, type, tier, pool (H,), asr (D, H), opp_rate,
    adv_partner, size_mu (D,), region, h0, share) and their rows of the plan's ``recruited``
    table; the predictive's notes are added to ``notes`` (once each).
    """
    new: list[dict[str, Any]] = []
    recruited: list[dict[str, Any]] = []
    for k in range(change.count):
        try:
            draws = predictive.draw(inputs, change.partner_type, change.tier, start.quarter, rng)
        except (KeyError, ValueError, IndexError) as exc:
            raise scenario.error(f"cannot draw a new {change.partner_type}/{change.tier} "
                                 f"partner from the models: {exc}", change, "partner_type") from None
        asr = np.array(draws.asr, dtype=np.float64, copy=True)
        asr[:, :start.h0] = 0.0
        pool = np.zeros(inputs.horizon, dtype=np.int64)
        pool[start.h0:] = change.sellers
        pid = f"new_{change.partner_type}_{change.tier}_{change.position}_{k + 1}"
        new.append({"id": pid, "type": inputs.types.index(change.partner_type),
                    "tier": inputs.tiers.index(change.tier), "pool": pool, "asr": asr,
                    "opp_rate": np.asarray(draws.opp_rate, dtype=np.float64),
                    "adv_partner": np.asarray(draws.adv_partner, dtype=np.float64),
                    "size_mu": np.asarray(draws.size_mu, dtype=np.float64),
                    "region": change.region or UNKNOWN_REGION, "h0": start.h0,
                    "share": start.share})
        recruited.append({"partner_id": pid, "partner_type": change.partner_type,
                          "tier": change.tier, "region": change.region or UNKNOWN_REGION,
                          "sellers": change.sellers, "from_quarter": str(start.quarter),
                          "asr_first_mean": float(asr[:, start.h0].mean()),
                          "asr_last_mean": float(asr[:, -1].mean()),
                          "source": getattr(predictive, "source", type(predictive).__name__)})
        for note in draws.notes:
            if note not in notes:
                notes.append(note)
    return new, recruited


def _round_half_away(x: np.ndarray) -> np.ndarray:
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)


def activation_rate(step: Step, a: LeverArrays) -> None:
    """Scale (``set``, ``multiply``) or shift (``add_pp``) the ASR draws; check the mean rate."""
    cells, amount, operation = step.cells(a), step.amount, step.change.operation
    if operation == "set":
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(a.base_mean > 0, amount / a.base_mean, 1.0)
        a.asr_m[cells] = scale[cells]
        a.asr_a[cells] = np.where(a.base_mean[cells] > 0, 0.0, amount)
    elif operation == "add_pp":
        a.asr_a[cells] += amount / 100.0
    else:
        a.asr_m[cells] *= amount
        a.asr_a[cells] *= amount
    after = a.base_mean * a.asr_m + a.asr_a
    bad = ((after < -_TOL) | (after > 1 + _TOL)) & (a.pool + a.pool_add > 0) & ~a.gone
    if step.strict and bad.any():
        p, h = np.argwhere(bad)[0]
        raise step.error(
            f"pushes the mean activation rate of partner {step.partner_ids[p]} in "
            f"{step.quarters[h]} to {after[p, h]:.3f}, outside [0, 1] (posterior mean "
            f"{a.base_mean[p, h]:.3f} before the scenario)", operation)


def productivity(step: Step, a: LeverArrays) -> None:
    """Multiply opportunities per active seller."""
    a.prod[step.cells(a)] *= step.amount


def deal_size(step: Step, a: LeverArrays) -> None:
    """Multiply deal sizes."""
    a.size[step.cells(a)] *= step.amount


def win_rate(step: Step, a: LeverArrays) -> None:
    """Multiply the odds of advancing at the change's stages."""
    a.odds[step.stage_cells(a)] *= step.amount


def sales_cycle(step: Step, a: LeverArrays) -> None:
    """Multiply the time spent in the change's stages."""
    a.time[step.stage_cells(a)] *= step.amount


def sellers(step: Step, a: LeverArrays) -> None:
    """Add sellers (``add``) or a percentage of the pool (``add_pct``); no pool below 0."""
    cells = step.cells(a)
    if step.change.operation == "add":
        a.pool_add[cells] += int(step.amount)
    else:
        a.pool_add[cells] += _round_half_away(a.pool[cells] * step.amount / 100.0)
    below = (a.pool + a.pool_add < 0) & ~a.gone
    if below.any():
        if step.strict:
            p, h = np.argwhere(below)[0]
            raise step.error(
                f"leaves partner {step.partner_ids[p]} with {a.pool[p, h] + a.pool_add[p, h]} "
                f"sellers in {step.quarters[h]} (it has {a.pool[p, h]})", step.change.operation)
        a.pool_add = np.maximum(a.pool_add, -a.pool)


def sunset(step: Step, a: LeverArrays) -> None:
    """No sellers from the start (a date inside a quarter keeps its share of that quarter).

    ``drop_open_deals`` sets the stage-advance odds to ~0 from the start quarter.
    """
    H, h0, share = a.pool.shape[1], step.start.h0, step.start.share
    first_gone = h0
    if share < 1.0:  # inside a quarter: its sellers work until the date
        a.exposure[step.idx, h0] *= 1.0 - share
        first_gone = h0 + 1
    a.gone[np.ix_(step.idx, np.arange(first_gone, H))] = True
    if step.change.drop_open_deals:
        a.odds[np.ix_(step.idx, np.arange(a.odds.shape[1]), np.arange(h0, H))] = DEAD_ODDS
        if share < 1.0:
            step.notes.append(f"{step.scenario.name}: change {step.change.position} (sunset) "
                              f"loses open deals from the start of {step.start.quarter}")


@dataclass(frozen=True)
class LeverEffect:
    """How a lever changes the :class:`LeverArrays`.

    Attributes
    ----------
    apply : callable
        ``apply(step, arrays)``, changing ``arrays`` in place.
    whole_quarters : bool
        Acts by whole quarters: a start date inside a quarter applies from its start (noted).
        False for a lever that honours the date itself (``sunset``).
    """

    apply: Callable[[Step, LeverArrays], None]
    whole_quarters: bool = True


LEVER_EFFECTS: dict[str, LeverEffect] = {
    "activation_rate": LeverEffect(activation_rate),
    "productivity": LeverEffect(productivity),
    "win_rate": LeverEffect(win_rate),
    "deal_size": LeverEffect(deal_size),
    "sales_cycle": LeverEffect(sales_cycle),
    "sellers": LeverEffect(sellers),
    "sunset": LeverEffect(sunset, whole_quarters=False),
}
"""Every lever but ``recruit``, by name (the names of
:data:`~partner_forecast.scenarios.levers.LEVER_TABLE`)."""

__all__ = ["DEAD_ODDS", "LEVER_EFFECTS", "UNKNOWN_REGION", "LeverArrays", "LeverEffect", "Start",
           "Step", "recruit"]
