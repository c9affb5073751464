"""Apply a scenario to simulation inputs: a :class:`ScenarioPlan` (inputs + engine levers).

How each lever reaches the engine (:func:`~partner_forecast.simulate.simulate`), always so that
a run with the baseline's seed consumes the baseline's random numbers decision by decision
(common random numbers, see :mod:`partner_forecast.simulate.levers`):

- ``activation_rate`` changes the ASR draws themselves (``inputs.asr``, probability scale, per
  draw, partner and quarter): ``multiply`` and ``add_pp`` act on every draw, ``set`` rescales a
  partner's draws in a quarter so that their mean is the rate (so the spread of the posterior
  carries through); results are clipped to [0, 1] draw by draw. The *mean* rate after the change
  must lie in [0, 1] for every selected partner and quarter that has sellers.
- ``sellers`` and ``sunset`` change the addressable pool (``inputs.pool``); a sunset partner's
  pool is 0 from its start (a start date inside a quarter keeps that quarter's sellers with
  their ASR scaled by the share of the quarter before the date). ``drop_open_deals`` sets
  the partner's stage-advance odds to ~0 from the start quarter, so its open deals are lost
  at their next stage decision.
- ``recruit`` appends new partners (after the existing ones, so existing partners keep their
  random-number streams) with draws from a
  :class:`~partner_forecast.scenarios.recruit.NewPartnerPredictive`; a start date inside a
  quarter scales that quarter's ASR by the share of the quarter left (after any rate change:
  a rate set for the partners stays the rate of a full quarter).
- ``productivity``, ``win_rate``, ``deal_size``, ``sales_cycle`` become
  :class:`~partner_forecast.simulate.levers.Levers` (per partner, per stage and per forecast
  quarter where needed).

Changes apply in file order (recruits first, so later changes may select the new partners);
levers starting after the last simulated quarter have no effect and are noted. Each lever's
change is one function of :mod:`partner_forecast.scenarios.effects`, found by the lever's name
in its table :data:`~partner_forecast.scenarios.effects.LEVER_EFFECTS` (``recruit``:
:func:`~partner_forecast.scenarios.effects.recruit`); this module resolves what is common to
every change (selected partners, start, random numbers, notes, checks) and dispatches.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.schema import OPEN_STAGES, normalise_label
from partner_forecast.errors import ConfigError
from partner_forecast.scenarios.effects import (
    LEVER_EFFECTS,
    UNKNOWN_REGION,
    LeverArrays,
    Start,
    Step,
    recruit,
)
from partner_forecast.scenarios.recruit import InputsPredictive, NewPartnerPredictive
from partner_forecast.scenarios.spec import SELECTOR_KEYS, Change, Scenario, Selector
from partner_forecast.simulate.inputs import SimulationInputs
from partner_forecast.simulate.levers import Levers


@dataclass(frozen=True)
class PartnerAttributes:
    """What selectors match on, one entry per partner of the simulation inputs.

    Attributes
    ----------
    partner_id, partner_type, tier : numpy.ndarray
        (P,) str; type and tier are canonical labels.
    region : numpy.ndarray
        (P,) str region label as written in the export (``"unknown"`` when missing).
    """

    partner_id: np.ndarray
    partner_type: np.ndarray
    tier: np.ndarray
    region: np.ndarray

    @classmethod
    def from_inputs(cls, inputs: SimulationInputs, partners: pd.DataFrame | None = None
                    ) -> PartnerAttributes:
        """Attributes of ``inputs``' partners; regions from an export's ``partners`` table."""
        ids = np.asarray(inputs.partner_ids).astype(str)
        region = np.full(len(ids), UNKNOWN_REGION, dtype=object)
        if partners is not None and len(partners) and "region" in partners:
            lookup = dict(zip(partners["partner_id"].astype(str), partners["region"], strict=False))
            region = np.array([lookup.get(p) if isinstance(lookup.get(p), str) and lookup.get(p)
                               else UNKNOWN_REGION for p in ids], dtype=object)
        return cls(partner_id=ids,
                   partner_type=np.array([inputs.types[i] for i in inputs.partner_type], dtype=object),
                   tier=np.array([inputs.tiers[i] for i in inputs.partner_tier], dtype=object),
                   region=region)

    def __len__(self) -> int:
        return len(self.partner_id)

    def column(self, key: str) -> np.ndarray:
        """Values compared with selector ``key`` (regions normalised)."""
        values = getattr(self, key)
        if key == "region":
            return np.array([normalise_label(v) for v in values], dtype=object)
        return np.asarray(values, dtype=object)

    def mask(self, selector: Selector) -> np.ndarray:
        """(P,) bool: the partners ``selector`` picks."""
        out = np.ones(len(self), dtype=bool)
        for key in SELECTOR_KEYS:
            wanted = getattr(selector, key)
            if wanted:
                out &= np.isin(self.column(key), list(wanted))
        return out

    def why_empty(self, selector: Selector) -> tuple[str, str]:
        """(key, message) explaining why ``selector`` matches no partner."""
        for key in SELECTOR_KEYS:
            wanted = getattr(selector, key)
            if wanted and not np.isin(self.column(key), list(wanted)).any():
                present = sorted(set(getattr(self, key)))
                shown = ", ".join(map(str, present[:12])) + (" ..." if len(present) > 12 else "")
                return (f"select.{key}", f"matches no partner: no {key} {', '.join(wanted)} "
                        f"among the forecast's partners (present: {shown})")
        return ("select", f"matches no partner: no partner has {selector.describe()}")

    def extended(self, ids: list[str], types: list[str], tiers: list[str],
                 regions: list[str]) -> PartnerAttributes:
        """A copy with new partners appended."""
        return PartnerAttributes(
            partner_id=np.concatenate([self.partner_id, np.array(ids, dtype=str)]),
            partner_type=np.concatenate([self.partner_type, np.array(types, dtype=object)]),
            tier=np.concatenate([self.tier, np.array(tiers, dtype=object)]),
            region=np.concatenate([self.region, np.array(regions, dtype=object)]))


@dataclass(frozen=True)
class ScenarioPlan:
    """A scenario applied to simulation inputs, ready for the engine.

    Attributes
    ----------
    scenario : Scenario
        What was applied.
    inputs : SimulationInputs
        The baseline inputs with changed ASR draws and pools, and recruited partners appended.
    levers : Levers
        Productivity, win-rate, deal-size and sales-cycle adjustments for the engine.
    partners : PartnerAttributes
        Attributes of every partner of ``inputs`` (recruits included).
    n_original : int
        Partners of the baseline (recruits are the ones after).
    changes : pandas.DataFrame
        One row per change: scenario, position, lever, change (text), partners (number
        affected), from_quarter.
    recruited : pandas.DataFrame
        One row per recruited partner: partner_id, partner_type, tier, region, sellers,
        from_quarter, asr_first_mean, asr_last_mean (mean predictive ASR in its first and the
        last simulated quarter, a full quarter's rate), source.
    notes : tuple of str
        Approximations and no-effect changes to show the user.
    """

    scenario: Scenario
    inputs: SimulationInputs
    levers: Levers
    partners: PartnerAttributes
    n_original: int
    changes: pd.DataFrame
    recruited: pd.DataFrame
    notes: tuple[str, ...] = field(default_factory=tuple)


def _resolve_start(change: Change, inputs: SimulationInputs, fym: int) -> Start:
    first = inputs.quarters[0]
    if change.start is None:
        return Start(0, 1.0, first)
    try:
        quarter = Quarter.parse(change.start, fym)
        date = None
    except ValueError:
        date = pd.Timestamp(change.start)
        quarter = Quarter.containing(date, fym)
    # Before the first simulated quarter, or (a date) before as-of inside it: already history.
    if quarter < first or (date is not None and date < inputs.as_of):
        return Start(0, 1.0, first, early=True)
    date = quarter.start if date is None else date
    sim_start = max(quarter.start, inputs.as_of)
    share = 1.0
    if date > sim_start:
        share = float((quarter.end - date) / (quarter.end - sim_start))
    return Start(int(quarter.index - first.index), share, quarter)


def _early_start_notes(scenario: Scenario, starts: dict[int, Start],
                       inputs: SimulationInputs) -> list[str]:
    """One warning per change whose ``start`` lies before the forecast (it is moved there)."""
    return [f"{scenario.where(change, 'start')}: {change.start} is before the forecast starts "
            f"(as-of {pd.Timestamp(inputs.as_of).date().isoformat()}, first simulated quarter "
            f"{inputs.quarters[0]}): the change applies from the start of the forecast"
            for change in scenario.changes if starts[change.position].early]


def _change_rng(seed: int, change: Change, occurrence: int) -> np.random.Generator:
    payload = json.dumps(change.to_dict(), sort_keys=True, default=str) + f"#{occurrence}"
    digest = int(hashlib.sha256(payload.encode()).hexdigest()[:15], 16)
    return np.random.default_rng([int(seed) & (2**63 - 1), digest])


def _extend_inputs(inputs: SimulationInputs, new: list[dict[str, Any]]) -> SimulationInputs:
    """Append new partners.

    Each is a dict of id, type, tier, pool (H,), asr (D, H), opp_rate, adv_partner, size_mu (D,).
    """
    if not new:
        return inputs
    return inputs.replace(
        partner_ids=np.concatenate([np.asarray(inputs.partner_ids).astype(str),
                                    np.array([n["id"] for n in new], dtype=str)]),
        partner_type=np.concatenate([np.asarray(inputs.partner_type, dtype=np.int64),
                                     np.array([n["type"] for n in new], dtype=np.int64)]),
        partner_tier=np.concatenate([np.asarray(inputs.partner_tier, dtype=np.int64),
                                     np.array([n["tier"] for n in new], dtype=np.int64)]),
        asr=np.concatenate([inputs.asr, np.stack([n["asr"] for n in new], axis=1)], axis=1),
        pool=np.concatenate([np.asarray(inputs.pool, dtype=np.int64),
                             np.stack([n["pool"] for n in new]).astype(np.int64)]),
        opp_rate=np.concatenate([inputs.opp_rate, np.stack([n["opp_rate"] for n in new], 1)], axis=1),
        adv_partner=np.concatenate([inputs.adv_partner, np.stack([n["adv_partner"] for n in new], 1)],
                                   axis=1),
        size_mu=np.concatenate([inputs.size_mu, np.stack([n["size_mu"] for n in new], 1)], axis=1),
    ).check()


def apply_scenario(scenario: Scenario, inputs: SimulationInputs, *,
                   partners: pd.DataFrame | None = None,
                   predictive: NewPartnerPredictive | None = None, seed: int = 0,
                   fiscal_year_start_month: int = 1, strict: bool = True) -> ScenarioPlan:
    """Apply ``scenario`` to ``inputs`` (see the module docstring).

    Parameters
    ----------
    scenario : Scenario
        Parsed scenario.
    inputs : SimulationInputs
        Baseline inputs (not modified).
    partners : pandas.DataFrame, optional
        The export's ``partners`` table (partner_id, region) for ``region`` selectors.
    predictive : NewPartnerPredictive, optional
        Source of recruited partners' draws (default :class:`InputsPredictive`, an
        approximation: see :mod:`partner_forecast.scenarios.recruit`).
    seed : int
        Seeds the recruits' fresh partner effects (with each recruit change's content), so a
        scenario gives the same draws run after run.
    fiscal_year_start_month : int
        For quarter labels in ``start``.
    strict : bool
        Raise when a change pushes a mean ASR outside [0, 1] or a pool below 0 (True, for
        scenario files); when False, clip silently (lever sweeps).

    Returns
    -------
    ScenarioPlan

    Raises
    ------
    ConfigError
        Selector matching no partner, recruit of a type or tier the models do not know, ASR
        outside [0, 1], pools below 0, or a lever shape the engine cannot run; the message
        names the file, scenario, change and key.
    """
    fym = fiscal_year_start_month
    P0, H, S = len(inputs.partner_ids), inputs.horizon, len(OPEN_STAGES)
    attrs = PartnerAttributes.from_inputs(inputs, partners)
    predictive = predictive if predictive is not None else InputsPredictive(P0)
    notes: list[str] = []
    rows: list[dict[str, Any]] = []
    starts = {c.position: _resolve_start(c, inputs, fym) for c in scenario.changes}
    notes += _early_start_notes(scenario, starts, inputs)

    def no_effect(change: Change, start: Start) -> bool:
        if start.h0 < H:
            return False
        notes.append(f"{scenario.name}: change {change.position} ({change.lever}) starts in "
                     f"{start.quarter}, after the last simulated quarter {inputs.quarters[-1]}: "
                     f"no effect")
        return True

    # -- 1. recruits: new partners appended --------------------------------------------------
    new: list[dict[str, Any]] = []
    recruited: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for change in scenario.changes:
        if change.lever != "recruit":
            continue
        start = starts[change.position]
        for key, value, known in (("partner_type", change.partner_type, inputs.types),
                                  ("tier", change.tier, inputs.tiers)):
            if value not in known:
                raise scenario.error(f"the models know no {key} {value!r} (they know "
                                     f"{', '.join(known)}): a recruit needs partners of its "
                                     f"kind in the history", change, key)
        rows.append({"position": change.position, "lever": change.lever,
                     "change": change.describe(), "partners": change.count,
                     "from_quarter": str(start.quarter)})
        if no_effect(change, start):
            continue
        payload = json.dumps(change.to_dict(), sort_keys=True)
        seen[payload] = seen.get(payload, 0) + 1
        rng = _change_rng(seed, change, seen[payload])
        added, rows_added = recruit(scenario, change, start, inputs, predictive, rng, notes)
        new += added
        recruited += rows_added
    ext = _extend_inputs(inputs, new)
    if new:
        attrs = attrs.extended([n["id"] for n in new], [inputs.types[n["type"]] for n in new],
                               [inputs.tiers[n["tier"]] for n in new], [n["region"] for n in new])

    # -- 2. levers over the extended partner set, each by its entry of LEVER_EFFECTS -----------
    a = LeverArrays.neutral(ext.asr.mean(axis=0), np.asarray(ext.pool, dtype=np.int64), S)
    for k, n in enumerate(new):
        a.exposure[P0 + k, n["h0"]] = n["share"]
    for change in scenario.changes:
        if change.lever == "recruit":
            continue
        effect = LEVER_EFFECTS[change.lever]
        start = starts[change.position]
        sel = attrs.mask(change.select)
        if not sel.any():
            key, message = attrs.why_empty(change.select)
            raise scenario.error(message, change, key)
        rows.append({"position": change.position, "lever": change.lever,
                     "change": change.describe(), "partners": int(sel.sum()),
                     "from_quarter": str(start.quarter)})
        if no_effect(change, start):
            continue
        if change.start is not None and start.share < 1.0 and effect.whole_quarters:
            notes.append(f"{scenario.name}: change {change.position} ({change.lever}) applies from "
                         f"the start of {start.quarter} (levers change by whole quarters)")
        amount = float(change.value) if change.value is not None else 0.0
        effect.apply(Step(scenario=scenario, change=change, idx=np.flatnonzero(sel), start=start,
                          amount=amount, partner_ids=attrs.partner_id, quarters=ext.quarters,
                          strict=strict, notes=notes), a)

    # -- 3. new inputs and engine levers -------------------------------------------------------
    changes_asr = not (np.all(a.asr_m == 1.0) and np.all(a.asr_a == 0.0)
                       and np.all(a.exposure == 1.0))
    asr = ext.asr
    if changes_asr:
        asr = np.clip(ext.asr * a.asr_m[None] + a.asr_a[None], 0.0, 1.0) * a.exposure[None]
    new_pool = np.where(a.gone, 0, np.maximum(a.pool + a.pool_add, 0))
    changed = changes_asr or a.pool_add.any() or a.gone.any()
    final = ext.replace(asr=asr, pool=new_pool) if changed else ext
    levers = _levers(a.prod, a.size, a.odds, a.time)
    _check_engine(levers, final, scenario)
    changes = pd.DataFrame(rows, columns=["position", "lever", "change", "partners", "from_quarter"])
    changes = changes.sort_values("position", kind="stable").reset_index(drop=True)
    changes.insert(0, "scenario", scenario.name)
    recruited_frame = pd.DataFrame(recruited, columns=[
        "partner_id", "partner_type", "tier", "region", "sellers", "from_quarter", "asr_first_mean",
        "asr_last_mean", "source"])
    return ScenarioPlan(scenario=scenario, inputs=final.check(), levers=levers, partners=attrs,
                        n_original=P0, changes=changes, recruited=recruited_frame,
                        notes=tuple(notes))


def _levers(prod: np.ndarray, size: np.ndarray, odds: np.ndarray, time: np.ndarray) -> Levers:
    """Engine levers in their most compact shape (per partner unless a change starts later)."""
    kwargs: dict[str, Any] = {}
    for name, arr in (("productivity_multiplier", prod), ("deal_size_multiplier", size)):
        if np.all(arr == 1.0):
            continue
        kwargs[name] = arr[:, 0].copy() if np.all(arr == arr[:, :1]) else arr
    if not np.all(odds == 1.0):
        kwargs["win_odds_multiplier"] = odds[:, :, 0].copy() if np.all(odds == odds[:, :, :1]) else odds
    if not np.all(time == 1.0):
        if np.all(time == time[:1, :, :1]):
            kwargs["time_in_stage_multiplier"] = time[0, :, 0].copy()
        elif np.all(time == time[:, :, :1]):
            kwargs["time_in_stage_multiplier"] = time[:, :, 0].copy()
        else:
            kwargs["time_in_stage_multiplier"] = time
    return Levers(**kwargs)


def _check_engine(levers: Levers, inputs: SimulationInputs, scenario: Scenario) -> None:
    """Raise a located ConfigError when the engine cannot take these lever shapes."""
    try:
        levers.resolve(len(inputs.partner_ids), len(OPEN_STAGES), np.asarray(inputs.pool))
    except ValueError as exc:
        raise ConfigError(
            f"{scenario.where()}: this engine cannot run the scenario's levers ({exc}): "
            f"productivity, deal size, win rate or sales cycle changes that start after the first "
            f"simulated quarter (or a sales cycle change on some partners only) need per-quarter "
            f"engine levers") from None


__all__ = ["PartnerAttributes", "ScenarioPlan", "apply_scenario"]
