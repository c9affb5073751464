"""What actually happened: won ARR per quarter and segment, from the export.

Used three ways: the forecast adds ARR already won in the as-of quarter before the as-of date
(the simulation covers only the rest of the quarter); backtests and variance reviews compare a
forecast with the ARR that actually closed. Segments follow the same labels as the simulation's
``SegmentSpec`` (``total``, or the partner type / tier / partner id / role / revenue motion).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics.attribution import attribution_weight

SEGMENT_COLUMNS = {"partner_type": "partner_type", "tier": "tier", "partner": "partner_id",
                   "partner_role": "partner_role", "revenue_motion": "revenue_motion",
                   "region": "region"}


def won_deals(export: Export, settings: Settings, start: pd.Timestamp,
              end: pd.Timestamp) -> pd.DataFrame:
    """Deals won with ``start <= closed_on < end``, with attributed ARR and segment columns."""
    opps = export.opportunities
    won = opps[(opps["stage"] == "won") & (opps["closed_on"] >= start) & (opps["closed_on"] < end)]
    won = won.merge(export.partners[["partner_id", "partner_type", "tier", "region"]],
                    on="partner_id", how="left")
    won["attribution"] = attribution_weight(won["partner_role"], won["influence_pct"],
                                            settings.attribution).to_numpy()
    won["attributed_arr"] = won["arr"] * won["attribution"]
    return won


def segment_labels(frame: pd.DataFrame, by: str | None) -> pd.Series:
    """The segment label of each row (``total`` when not split)."""
    if by is None:
        return pd.Series("total", index=frame.index)
    return frame[SEGMENT_COLUMNS[by]].astype(object).fillna("unknown").astype(str)


def realised(export: Export, settings: Settings, quarter: Quarter, by: str | None = None,
             until: pd.Timestamp | None = None) -> pd.DataFrame:
    """Won ARR in ``quarter`` (up to ``until`` if given) per segment, plus a ``total`` row.

    Columns: segment, attributed_arr, gross_arr, marketplace_arr, expansion_arr, deals_won.
    ARR is currency per year; attributed ARR uses DOMAIN.md section 4's weights.
    """
    end = quarter.end if until is None else min(quarter.end, until)
    won = won_deals(export, settings, quarter.start, end)
    won = won.assign(
        segment=segment_labels(won, by),
        gross_arr=won["arr"],
        marketplace_arr=np.where(won["marketplace"].fillna(False).astype(bool),
                                 won["attributed_arr"], 0.0),
        expansion_arr=np.where(won["is_expansion"].fillna(False).astype(bool),
                               won["attributed_arr"], 0.0),
    )
    cols = ["attributed_arr", "gross_arr", "marketplace_arr", "expansion_arr"]
    by_segment = won.groupby("segment")[cols].sum()
    by_segment["deals_won"] = won.groupby("segment").size()
    total = pd.DataFrame({**{c: [float(won[c].sum())] for c in cols}, "deals_won": [len(won)]},
                         index=pd.Index(["total"], name="segment"))
    out = total if by is None else pd.concat([by_segment, total])
    out = out.reset_index().rename(columns={"index": "segment"})
    out["deals_won"] = out["deals_won"].astype(int)
    return out
