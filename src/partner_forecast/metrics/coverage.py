"""Pipeline coverage against ARR targets (DOMAIN.md section 5).

Pipeline coverage = partner pipeline / partner ARR target for the quarter. The pipeline is the
open partner pipeline (raw ARR, currency per year) on the snapshot date: the quarter's start
for a quarter already over at as-of, else the as-of date. Targets come from the targets file
(a blank partner_type is the overall target). The required coverage comes from the
``[coverage]`` config table: ``overall_minimum`` (3x) overall, the type's value per type
(reseller 3x, msp 2.5x, gsi/si 4x, tech_alliance 2x, marketplace 2x, ...).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics.pipeline import open_pipeline
from partner_forecast.metrics.stage_forecast import table_rate

ALL = "all"


def coverage_ratio(pipeline: npt.ArrayLike, target: npt.ArrayLike) -> np.ndarray:
    """Pipeline / target (NaN where the target is missing or not positive).

    Parameters
    ----------
    pipeline : array_like
        Open pipeline ARR (currency per year).
    target : array_like
        ARR target for the quarter (currency per year).

    Returns
    -------
    numpy.ndarray
        Coverage multiple (e.g. 3.0 = "3x").

    """
    p = np.asarray(pipeline, dtype=float)
    t = np.asarray(target, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isfinite(t) & (t > 0), p / np.where(t > 0, t, 1.0), np.nan)


def required_coverage(settings: Settings, partner_type: str | None) -> float:
    """Required coverage multiple for a partner type (``None`` or "all": the overall minimum)."""
    cov = settings.coverage
    if partner_type is None or partner_type == ALL:
        return float(cov.get("overall_minimum", 3.0))
    return float(cov.get(partner_type, cov.get("overall_minimum", 3.0)))


def snapshot_date(export: Export, quarter: Quarter) -> pd.Timestamp:
    """Coverage snapshot: the quarter's start if the quarter is over at as-of, else as-of."""
    as_of = export.default_as_of
    return quarter.start if quarter.end <= as_of else as_of


def quarter_targets(export: Export, quarter: Quarter) -> dict[str, float]:
    """ARR targets for ``quarter``: ``{"all": overall, "<type>": ...}`` (only those given)."""
    t = export.targets
    if t.empty:
        return {}
    rows = t[t["quarter"] == str(quarter)]
    out: dict[str, float] = {}
    for ptype, value in zip(rows["partner_type"], rows["arr_target"], strict=True):
        key = ALL if ptype is None or (isinstance(ptype, float) and np.isnan(ptype)) else str(ptype)
        out[key] = out.get(key, 0.0) + float(value)
    return out


def pipeline_coverage(export: Export, settings: Settings, quarter: Quarter) -> pd.DataFrame:
    """Coverage of the quarter's ARR targets, overall and per partner type.

    Returns
    -------
    pandas.DataFrame
        See :func:`coverage_table`; the pipeline is the open pipeline on :func:`snapshot_date`.

    """
    date = snapshot_date(export, quarter)
    pipe = open_pipeline(export, settings, date)
    return coverage_table(pipe, quarter_targets(export, quarter), settings, date)


def coverage_table(pipe: pd.DataFrame, targets: dict[str, float], settings: Settings,
                   date: pd.Timestamp) -> pd.DataFrame:
    """Coverage rows of an open pipeline against targets (``{"all": ..., "<type>": ...}``).

    Returns
    -------
    pandas.DataFrame
        First row ``partner_type == "all"``, then one per partner type with pipeline or a
        target: partner_type, snapshot (date), deals, pipeline_arr, attributed_pipeline_arr,
        weighted_pipeline_arr (seed-table stage-weighted), target_arr (NaN when the targets
        file has none), coverage (pipeline / target), required_coverage, required_pipeline_arr
        (target x required), pipeline_gap_arr (required - pipeline, >= 0) and meets_target
        (bool, <NA> without a target). ARR in currency per year.

    """
    rates = [table_rate(settings, t, s) for t, s in zip(pipe["partner_type"], pipe["stage"], strict=True)]
    pipe = pipe.assign(weighted=pipe["arr"].to_numpy(dtype=float) * np.asarray(rates, dtype=float))
    types = sorted(set(pipe["partner_type"].dropna()) | (set(targets) - {ALL}))
    rows = []
    for ptype in [ALL, *types]:
        part = pipe if ptype == ALL else pipe[pipe["partner_type"] == ptype]
        rows.append({"partner_type": ptype, "snapshot": date, "deals": len(part),
                     "pipeline_arr": float(part["arr"].sum()),
                     "attributed_pipeline_arr": float(part["attributed_arr"].sum()),
                     "weighted_pipeline_arr": float(part["weighted"].sum()),
                     "target_arr": targets.get(ptype, np.nan),
                     "required_coverage": required_coverage(settings, ptype)})
    out = pd.DataFrame(rows)
    out["coverage"] = coverage_ratio(out["pipeline_arr"], out["target_arr"])
    out["required_pipeline_arr"] = out["target_arr"] * out["required_coverage"]
    out["pipeline_gap_arr"] = (out["required_pipeline_arr"] - out["pipeline_arr"]).clip(lower=0)
    meets = out["coverage"] >= out["required_coverage"]
    out["meets_target"] = pd.array(meets.where(out["coverage"].notna(), None), dtype="boolean")
    cols = ["partner_type", "snapshot", "deals", "pipeline_arr", "attributed_pipeline_arr",
            "weighted_pipeline_arr", "target_arr", "coverage", "required_coverage",
            "required_pipeline_arr", "pipeline_gap_arr", "meets_target"]
    return out[cols]


__all__ = ["coverage_ratio", "required_coverage", "snapshot_date", "quarter_targets",
           "pipeline_coverage", "coverage_table"]
