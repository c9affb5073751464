"""A simulated deal pipeline with deal flags of known kinds, as a text export.

For tests of the flag leakage audit and of ``field_history``: deals are created uniformly over
``[start, as_of)`` in discovery and walk discovery -> qualified -> proposal -> negotiation ->
won, each stage lasting 1 + an exponential number of days (mean ``mean_days``) and ending in
an advance or a loss. Each flag is of one kind:

- ``"creation"``: set when the deal is created (probability ``rate``), no effect on outcomes;
- ``"creation_effect"``: set at creation, and raises the log-odds of advancing from every
  stage by ``effect`` (a real, legitimate covariate);
- ``"progress"``: set when the deal enters proposal (probability ``rate``), never before: the
  export's latest value is set on deals that got that far and unset on early losses.

The export holds each flag's latest value as of ``as_of`` (deals whose next move falls on or
after it are open). With ``with_history``, a ``field_history`` table records every change of a
progress flag (true on the proposal entry date), as Salesforce's OpportunityFieldHistory would;
flags set at creation have no change rows.

Write the tables with :func:`~partner_forecast.testing.exports.write_tiny_export`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from partner_forecast.data.schema import OPEN_STAGES

__all__ = ["FLAG_KINDS", "flag_pipeline_tables"]

FLAG_KINDS = ("creation", "creation_effect", "progress")
#: Log-odds of advancing from each open stage (negotiation: of winning), without flag effects.
ADVANCE_LOGIT = {"discovery": 0.2, "qualified": 0.4, "proposal": 0.6, "negotiation": 0.8}

_OPP_COLUMNS = [
    "opportunity_id", "partner_id", "referring_seller_id", "partner_role", "created_on", "stage",
    "closed_on", "arr", "technical_validation", "executive_sponsor",
]


def _day(ts: pd.Timestamp) -> str:
    return ts.date().isoformat()


def flag_pipeline_tables(n_deals: int = 1500, seed: int = 0, *,
                         flags: Mapping[str, str] | None = None, rate: float = 0.4,
                         effect: float = 1.5, mean_days: float = 30.0,
                         start: str = "2024-01-01", as_of: str = "2026-01-01",
                         with_history: bool = False) -> dict[str, pd.DataFrame]:
    """Text tables of a simulated export (see the module docstring).

    Parameters
    ----------
    n_deals
        Deals created over ``[start, as_of)``.
    seed
        Random seed (same seed, same tables).
    flags
        Flag column -> kind (:data:`FLAG_KINDS`); default ``technical_validation`` filled in
        on reaching proposal and ``executive_sponsor`` set at creation with a real effect.
        Columns must be boolean opportunity columns.
    rate
        Probability that a flag is set (at creation, or on entering proposal).
    effect
        Log-odds added to every advance by a ``"creation_effect"`` flag.
    mean_days
        Mean of the exponential part of the days spent in a stage.
    start, as_of
        The creation period; nothing on or after ``as_of`` is recorded.
    with_history
        Also return a ``field_history`` table of the progress flags' changes.

    Returns
    -------
    dict of str to DataFrame
        Text frames (every cell a string) by contract table name.

    """
    flags = dict(flags or {"technical_validation": "progress",
                           "executive_sponsor": "creation_effect"})
    for name, kind in flags.items():
        if kind not in FLAG_KINDS:
            raise ValueError(f"flag {name}: kind must be one of {FLAG_KINDS}, got {kind!r}")
    rng = np.random.default_rng(seed)
    t0, cut = pd.Timestamp(start), pd.Timestamp(as_of)
    span = int((cut - t0).days)
    opps, history, changes = [], [], []
    for i in range(n_deals):
        oid = f"D{i:05d}"
        created = t0 + pd.Timedelta(days=int(rng.integers(0, span)))
        at_creation = {n: bool(rng.random() < rate) for n, k in flags.items() if k != "progress"}
        progress_draw = {n: bool(rng.random() < rate) for n, k in flags.items() if k == "progress"}
        logit_shift = sum(effect for n, k in flags.items()
                          if k == "creation_effect" and at_creation[n])
        value = dict(at_creation) | {n: False for n in progress_draw}
        day, stage, closed_on = created, OPEN_STAGES[0], None
        history.append((oid, stage, _day(day)))
        while True:
            leave = day + pd.Timedelta(days=1 + int(rng.exponential(mean_days)))
            if leave >= cut:
                break
            advance = rng.random() < 1.0 / (1.0 + np.exp(-(ADVANCE_LOGIT[stage] + logit_shift)))
            day = leave
            if not advance:
                stage, closed_on = "lost", day
            elif stage == OPEN_STAGES[-1]:
                stage, closed_on = "won", day
            else:
                stage = OPEN_STAGES[OPEN_STAGES.index(stage) + 1]
            history.append((oid, stage, _day(day)))
            if stage == "proposal":
                for n, drawn in progress_draw.items():
                    if drawn:
                        value[n] = True
                        changes.append((oid, n, "true", _day(day)))
            if closed_on is not None:
                break
        row = {"opportunity_id": oid, "partner_id": f"P{1 + i % 3}",
               "referring_seller_id": f"S{1 + i % 3}", "partner_role": "sourced",
               "created_on": _day(created), "stage": stage,
               "closed_on": "" if closed_on is None else _day(closed_on),
               "arr": str(int(rng.integers(10, 100)) * 1000),
               "technical_validation": "", "executive_sponsor": ""}
        row.update({n: "true" if v else "false" for n, v in value.items()})
        opps.append(row)
    onboarded = _day(t0 - pd.Timedelta(days=30))
    tables = {
        "partners": pd.DataFrame({"partner_id": ["P1", "P2", "P3"],
                                  "partner_type": ["reseller", "msp", "gsi"],
                                  "tier": ["strategic", "growth", "transactional"],
                                  "onboarded_on": [onboarded] * 3}),
        "sellers": pd.DataFrame({"seller_id": ["S1", "S2", "S3"], "partner_id": ["P1", "P2", "P3"],
                                 "joined_on": [onboarded] * 3}),
        "activities": pd.DataFrame({"activity_id": ["A1", "A2", "A3"],
                                    "seller_id": ["S1", "S2", "S3"],
                                    "occurred_on": [onboarded] * 3,
                                    "activity_type": ["training"] * 3}),
        "opportunities": pd.DataFrame(opps, columns=_OPP_COLUMNS
                                      + [n for n in flags if n not in _OPP_COLUMNS]),
        "stage_history": pd.DataFrame(history, columns=["opportunity_id", "stage", "entered_on"]),
    }
    if with_history:
        tables["field_history"] = pd.DataFrame(
            changes, columns=["opportunity_id", "field", "value", "changed_on"])
    return {name: frame.astype(str) for name, frame in tables.items()}
