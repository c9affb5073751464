"""Open partner pipeline on a date, and its quarterly ratios (DOMAIN.md section 5).

- pipeline on a date: deals created before the date whose stage then (rebuilt from the stage
  history) was open; ARR in currency per year, raw and attributed (section 4);
- partner sourced ratio = partner-sourced pipeline / total pipeline, where the total is the
  company's ``total_pipeline`` for the quarter when the company file gives it, else the
  partner pipeline (``total_pipeline_basis`` says which);
- partner influence rate = influenced deals closed in the quarter / partner deals closed in it;
- partner pipeline growth = pipeline at the quarter's cut / pipeline at the previous one - 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export, current_stage
from partner_forecast.data.schema import OPEN_STAGES
from partner_forecast.metrics.attribution import attribute_deals, category_mask
from partner_forecast.metrics.cache import memoized
from partner_forecast.metrics.periods import in_quarter, quarter_cut


def stage_on(export: Export, date: pd.Timestamp | str) -> pd.Series:
    """Each opportunity's stage at the start of ``date`` (only deals created before it)."""
    cut = pd.Timestamp(date)
    history = export.stage_history[export.stage_history["entered_on"] < cut]
    return current_stage(history)


@memoized
def open_pipeline(export: Export, settings: Settings, date: pd.Timestamp | str | None = None
                  ) -> pd.DataFrame:
    """Partner deals open at the start of ``date`` (default: the export's as-of date).

    Returns
    -------
    pandas.DataFrame
        The opportunities open then, with ``stage`` as it was on the date and the columns of
        :func:`attribution.attribute_deals` (attribution, attributed_arr, resell, ...), plus
        partner_type and tier of the deal's partner.

    """
    cut = export.default_as_of if date is None else min(pd.Timestamp(date), export.default_as_of)
    stage = stage_on(export, cut)
    opps = export.opportunities[export.opportunities["created_on"] < cut].copy()
    opps["stage"] = opps["opportunity_id"].map(stage).astype(object)
    opps = opps[opps["stage"].isin(OPEN_STAGES)]
    partners = export.partners.set_index("partner_id")
    opps["partner_type"] = opps["partner_id"].map(partners["partner_type"]).astype(object)
    opps["tier"] = opps["partner_id"].map(partners["tier"]).astype(object)
    return attribute_deals(opps, settings.attribution).reset_index(drop=True)


def closed_in(export: Export, quarter: Quarter, won_only: bool = False) -> pd.DataFrame:
    """Deals closed (won or lost; only won with ``won_only``) inside ``quarter`` before as-of."""
    opps = export.opportunities
    mask = in_quarter(opps["closed_on"], export, quarter) & opps["stage"].isin(("won", "lost"))
    if won_only:
        mask &= opps["stage"].eq("won")
    return opps[mask]


def company_figure(export: Export, quarter: Quarter, column: str) -> float:
    """A company-file figure for ``quarter`` (NaN when missing)."""
    company = export.company
    if company.empty or column not in company:
        return float("nan")
    rows = company[company["quarter"] == str(quarter)]
    if rows.empty or rows[column].isna().all():
        return float("nan")
    return float(rows[column].dropna().iloc[0])


def _sum_by(frame: pd.DataFrame, labels: pd.Series, columns: dict[str, pd.Series | float],
            index: list[str]) -> pd.DataFrame:
    """Sums of ``columns`` (Series aligned with ``frame``) per label, on ``index`` (0 when absent)."""
    data = pd.DataFrame({k: v for k, v in columns.items()}, index=frame.index)
    data["_label"] = labels.to_numpy(dtype=object)
    return data.groupby("_label").sum().reindex(index, fill_value=0)


def pipeline_trend(export: Export, settings: Settings, quarters: list[Quarter],
                   by: str | None = None) -> pd.DataFrame:
    """Pipeline, sourced ratio, influence rate and QoQ growth per quarter (and segment).

    Parameters
    ----------
    export : Export
        The export (or its as-of view).
    settings : Settings
        Uses the ``[attribution]`` table.
    quarters : list of Quarter
        Consecutive quarters; growth of the first one is measured against its predecessor.
    by : str, optional
        A segment (see :mod:`.segments`): one row per quarter and segment value, deals labelled
        by their partner's (or their own) segment. The company total pipeline is company-wide.

    Returns
    -------
    pandas.DataFrame
        One row per quarter (per segment with ``by``, the segment in a first column ``by``):
        quarter, cut (snapshot date), pipeline_deals, pipeline_arr, attributed_pipeline_arr,
        sourced/influenced/co_sell/resell_pipeline_arr, total_pipeline, total_pipeline_basis
        ("company" or "partner"), sourced_ratio, closed_deals, influenced_closed_deals,
        influence_rate, previous_pipeline_arr, pipeline_growth_qoq. ARR in currency per year.

    """
    from partner_forecast.metrics.segments import label_deals, segment_values

    values = ["all"] if by is None else segment_values(export, by)

    def labels(deals: pd.DataFrame) -> pd.Series:
        if by is None:
            return pd.Series("all", index=deals.index, dtype=object)
        return label_deals(export, by, deals)

    frames = []
    for q in quarters:
        cut = quarter_cut(export, q)
        pipe = open_pipeline(export, settings, cut)
        prev = open_pipeline(export, settings, quarter_cut(export, q - 1))
        closed = closed_in(export, q)
        cols: dict[str, pd.Series | float] = {"pipeline_deals": 1, "pipeline_arr": pipe["arr"],
                                              "attributed_pipeline_arr": pipe["attributed_arr"]}
        for cat in ("sourced", "influenced", "co_sell", "resell"):
            cols[f"{cat}_pipeline_arr"] = pipe["arr"].where(category_mask(pipe, cat), 0.0)
        out = _sum_by(pipe, labels(pipe), cols, values)
        company_total = company_figure(export, q, "total_pipeline")
        basis = "company" if np.isfinite(company_total) else "partner"
        out["total_pipeline"] = company_total if basis == "company" else out["pipeline_arr"]
        out["total_pipeline_basis"] = basis
        out["sourced_ratio"] = (out["sourced_pipeline_arr"] / out["total_pipeline"].where(
            out["total_pipeline"] > 0)).astype(float)
        c = _sum_by(closed, labels(closed), {"closed_deals": 1,
                                             "influenced_closed_deals": closed["partner_role"].eq(
                                                 "influenced").astype(int)}, values)
        out[["closed_deals", "influenced_closed_deals"]] = c.astype(np.int64)
        out["influence_rate"] = (out["influenced_closed_deals"] / out["closed_deals"].where(
            out["closed_deals"] > 0)).astype(float)
        out["previous_pipeline_arr"] = _sum_by(prev, labels(prev), {"arr": prev["arr"]}, values)["arr"]
        out["pipeline_growth_qoq"] = (out["pipeline_arr"] / out["previous_pipeline_arr"].where(
            out["previous_pipeline_arr"] > 0) - 1.0).astype(float)
        out["pipeline_deals"] = out["pipeline_deals"].astype(np.int64)
        out.insert(0, "quarter", str(q))
        out.insert(1, "cut", cut)
        frames.append(out.rename_axis(by or "_segment").reset_index())
    result = pd.concat(frames, ignore_index=True)
    if by is None:
        return result.drop(columns="_segment")
    return result.sort_values([by, "quarter"], kind="stable").reset_index(drop=True)


__all__ = ["stage_on", "open_pipeline", "closed_in", "company_figure", "pipeline_trend"]
