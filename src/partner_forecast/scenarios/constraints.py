"""Which activation driver most likely binds, per partner type (DOMAIN.md section 7).

Seed 000 names three drivers of seller activation: *confidence* (the seller can explain the
solution), *motivation* (pitching helps their own deals) and *access* (fast answers, lead
response under three days). The export speaks to each through a share of sellers or leads
stuck at that step, over the last ``window_quarters`` quarters before the as-of date:

- confidence gap = enabled sellers (training, certification or an enablement session, ever)
  who took no qualified selling action in the window / enabled sellers in the pool;
- motivation gap = active sellers (>= 1 selling action in the window) who did not convert: no
  ``lead_converted`` or ``deal_closed`` action and no won deal referred by them closed in the
  window / active sellers;
- access gap = partner leads submitted in the window whose first vendor contact came more than
  ``lead_response_target_days`` (3) days later / leads with a recorded first contact. Leads
  with no recorded contact after that long are counted apart (``uncontacted_leads``): in an
  export they are as often an unfilled field as a lead nobody called back.

The driver with the largest gap is read as most likely binding (each needs at least
:data:`MIN_EVIDENCE` sellers or leads behind it; a lead of less than :data:`CLOSE_MARGIN` is
reported as close). The median tenure of the type's partners is shown beside it with the
driver DOMAIN.md expects at that maturity (new programs: confidence; mid-maturity: motivation;
mature: access), as a cross-check, not as evidence.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.data.schema import SELLING_ACTIVITIES

ENABLEMENT_ACTIVITIES: tuple[str, ...] = ("training", "certification", "enablement_session")
CONVERTING_ACTIVITIES: tuple[str, ...] = ("lead_converted", "deal_closed")
DRIVERS: tuple[str, ...] = ("confidence", "motivation", "access")
MIN_EVIDENCE = 5
CLOSE_MARGIN = 0.05
WINDOW_QUARTERS = 4
#: Median partner tenure (quarters) from which DOMAIN.md's maturity stages start.
MATURITY_QUARTERS: tuple[tuple[float, str], ...] = ((0.0, "confidence"), (4.0, "motivation"),
                                                    (8.0, "access"))


def _share(num: int, den: int) -> float:
    return num / den if den else np.nan


def _pct(x: float) -> str:
    return "n/a" if x != x else f"{100 * x:.0f}%"


def maturity_hint(median_tenure_quarters: float) -> str:
    """The driver DOMAIN.md expects to bind at this program maturity."""
    if median_tenure_quarters != median_tenure_quarters:
        return ""
    hint = MATURITY_QUARTERS[0][1]
    for start, driver in MATURITY_QUARTERS:
        if median_tenure_quarters >= start:
            hint = driver
    return hint


def binding_constraints(export: Export, settings: Settings, *,
                        window_quarters: int = WINDOW_QUARTERS) -> pd.DataFrame:
    """The confidence / motivation / access reading per partner type (module docstring).

    Parameters
    ----------
    export : Export
        The export (its as-of view: nothing on or after the as-of date is used).
    settings : Settings
        For ``lead_response_target_days`` and the fiscal calendar.
    window_quarters : int
        Quarters of history read (ending with the as-of quarter).

    Returns
    -------
    pandas.DataFrame
        One row per partner type with partners: partner_type, partners, enabled_sellers,
        enabled_not_active, confidence_gap, active_sellers, active_not_converting,
        motivation_gap, leads (with a recorded first contact), slow_leads, uncontacted_leads,
        median_response_days, access_gap (gaps are shares 0-1), median_tenure_quarters,
        maturity_hint, binding (a driver, ``"a or b (close)"`` or ``"insufficient data"``) and
        reading (one sentence with the evidence).
    """
    fym = settings.calendar.fiscal_year_start_month
    as_of = export.default_as_of
    last = Quarter.containing(as_of - pd.Timedelta(days=1), fym)
    start = (last - (window_quarters - 1)).start
    days = float(settings.activation.lead_response_target_days)
    window = f"{last - (window_quarters - 1)}-{last}"

    partners = export.partners[["partner_id", "partner_type", "onboarded_on"]]
    sellers = export.sellers
    in_pool = sellers[(sellers["joined_on"] < as_of)
                      & (sellers["left_on"].isna() | (sellers["left_on"] >= start))]
    seller_type = in_pool.merge(partners, on="partner_id", how="left")
    seller_type = pd.Series(seller_type["partner_type"].to_numpy(dtype=object),
                            index=seller_type["seller_id"].to_numpy(dtype=object))

    acts = export.activities[export.activities["occurred_on"] < as_of]
    enabled = set(acts.loc[acts["activity_type"].isin(ENABLEMENT_ACTIVITIES), "seller_id"])
    recent = acts[acts["occurred_on"] >= start]
    active = set(recent.loc[recent["activity_type"].isin(SELLING_ACTIVITIES), "seller_id"])
    converting = set(recent.loc[recent["activity_type"].isin(CONVERTING_ACTIVITIES), "seller_id"])
    opps = export.opportunities
    won = opps[(opps["stage"] == "won") & (opps["closed_on"] >= start) & (opps["closed_on"] < as_of)]
    converting |= set(won["referring_seller_id"].dropna())

    leads = opps[opps["lead_submitted_on"].notna() & (opps["lead_submitted_on"] >= start)
                 & (opps["lead_submitted_on"] < as_of)]
    leads = leads.merge(partners, on="partner_id", how="left")
    response = (leads["first_contact_on"] - leads["lead_submitted_on"]).dt.days.astype(float)
    waited = (as_of - leads["lead_submitted_on"]).dt.days.astype(float)
    contacted = response.notna().to_numpy()
    slow = (response > days).to_numpy() & contacted
    uncontacted = ~contacted & (waited > days).to_numpy()

    tenure = partners.assign(tenure=[(last.index - Quarter.containing(d, fym).index)
                                     for d in partners["onboarded_on"]])
    rows = []
    for ptype, group in partners.groupby("partner_type", sort=True):
        ids = set(seller_type.index[seller_type.to_numpy() == ptype])
        en = ids & enabled
        act = ids & active
        mask = (leads["partner_type"] == ptype).to_numpy()
        n_leads = int((mask & contacted).sum())
        resp = response[mask].dropna()
        gaps = {
            "confidence": (len(en - active), len(en)),
            "motivation": (len(act - converting), len(act)),
            "access": (int(slow[mask].sum()), n_leads),
        }
        med_tenure = float(np.median(tenure.loc[group.index, "tenure"])) if len(group) else np.nan
        hint = maturity_hint(med_tenure)
        binding, reading = _read(str(ptype), gaps, window, days, med_tenure, hint)
        n_uncontacted = int(uncontacted[mask].sum())
        if n_uncontacted:
            reading += (f" {n_uncontacted} more lead(s) have no recorded first contact after "
                        f"{days:g} days (not counted: often an unfilled field).")
        rows.append({
            "partner_type": str(ptype), "partners": len(group),
            "enabled_sellers": len(en), "enabled_not_active": len(en - active),
            "confidence_gap": _share(*gaps["confidence"]),
            "active_sellers": len(act), "active_not_converting": len(act - converting),
            "motivation_gap": _share(*gaps["motivation"]),
            "leads": n_leads, "slow_leads": int(slow[mask].sum()),
            "uncontacted_leads": int(uncontacted[mask].sum()),
            "median_response_days": float(resp.median()) if len(resp) else np.nan,
            "access_gap": _share(*gaps["access"]),
            "median_tenure_quarters": med_tenure, "maturity_hint": hint,
            "binding": binding, "reading": reading,
        })
    out = pd.DataFrame(rows)
    for col in ("partner_type", "maturity_hint", "binding", "reading"):
        if col in out:
            out[col] = out[col].astype("str")
    return out


_EVIDENCE = {
    "confidence": "enabled sellers took no selling action",
    "motivation": "active sellers converted nothing (no lead converted, no deal closed or won)",
    "access": "contacted leads waited more than {days:g} days for first vendor contact",
}


def _read(ptype: str, gaps: dict[str, tuple[int, int]], window: str, days: float,
          tenure: float, hint: str) -> tuple[str, str]:
    """(binding, sentence) from the gaps (numerator, denominator) of one partner type."""
    shares = {k: _share(*v) for k, v in gaps.items()}
    usable = {k: s for k, s in shares.items() if gaps[k][1] >= MIN_EVIDENCE}
    evidence = "; ".join(f"{k}: {_pct(shares[k])} of {gaps[k][1]} "
                         f"{_EVIDENCE[k].format(days=days)}" for k in DRIVERS)
    maturity = ("" if not hint else f" Its partners' median tenure is {tenure:g} quarters, a stage "
                f"where DOMAIN.md expects {hint} to bind.")
    if not usable:
        return ("insufficient data",
                f"{ptype}: too little evidence to read a binding driver (each needs >= "
                f"{MIN_EVIDENCE} sellers or leads) in {window}: {evidence}.{maturity}")
    ranked = sorted(usable, key=lambda k: usable[k], reverse=True)
    top = ranked[0]
    binding = top
    if len(ranked) > 1 and usable[top] - usable[ranked[1]] < CLOSE_MARGIN:
        binding = f"{top} or {ranked[1]} (close)"
    agree = ""
    if hint:
        agree = " (agrees with its maturity)" if hint == top else f" (maturity suggests {hint})"
    sentence = (f"{ptype}: {binding} most likely binding{agree}: {evidence}. Read as the step "
                f"where the largest share of sellers or leads is stuck, {window}.{maturity}")
    return binding, sentence


def constraint_meta(window_quarters: int = WINDOW_QUARTERS) -> dict[str, Any]:
    """How the reading was made, for output metadata."""
    return {"constraints_window_quarters": window_quarters,
            "constraints_rule": "largest share stuck: enabled-not-active (confidence), "
                                "active-not-converting (motivation), slow lead response (access)"}


__all__ = ["CLOSE_MARGIN", "DRIVERS", "MIN_EVIDENCE", "binding_constraints", "constraint_meta",
           "maturity_hint"]
