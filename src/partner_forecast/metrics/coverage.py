"""Pipeline coverage of a quarter's ARR targets (DOMAIN.md section 5).

Pipeline coverage = partner pipeline / partner ARR target for the quarter, both on one ARR
basis. The pipeline of a quarter is the open partner pipeline on the snapshot date (the
quarter's start for a quarter already over at as-of, else the as-of date) *expected to close in
that quarter* (:mod:`partner_forecast.metrics.close_dates`: the deal's ``expected_close_on``, or
an estimate from the stage durations of won deals), as CRM forecasting tools count it: a deal
expected next year does not cover this quarter's target.

Targets are partner-attributed ARR (the forecast's P(attributed ARR >= target) reads them so),
so ``coverage`` divides the *attributed* pipeline (DOMAIN.md section 4's weights) by the
target; ``gross_coverage`` beside it divides the same deals' gross ARR by the same target.
Targets come from the targets file (a blank partner_type is the overall target). The required
coverage comes from the ``[coverage]`` config table: ``overall_minimum`` (3x) overall, the
type's value per type (reseller 3x, msp 2.5x, gsi/si 4x, tech_alliance 2x, marketplace 2x, ...).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics.close_dates import expected_close_dates
from partner_forecast.metrics.pipeline import open_pipeline
from partner_forecast.metrics.stage_forecast import table_rate

ALL = "all"
IN_QUARTER, OTHER_QUARTER, UNDATED = "in_quarter", "other_quarter", "undated"
COVERAGE_BASIS = ("pipeline_arr, coverage, weighted_pipeline_arr and pipeline_gap_arr: "
                  "partner-attributed ARR of the open deals expected to close in the quarter, "
                  "against the (attributed) ARR target; gross_pipeline_arr and gross_coverage: "
                  "the same deals at gross ARR against the same target")


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


def segment_targets(export: Export, quarter: Quarter | str,
                    segment_by: str | None = None) -> dict[str, float]:
    """ARR targets of ``quarter`` by forecast segment: ``total`` and, by partner type, each.

    ``total`` sums the rows without a partner type (the overall target); with ``segment_by``
    ``"partner_type"`` each type's rows are summed too. The segments of a forecast table
    (``total`` / type), where :func:`quarter_targets` keys the coverage table's (``all``).
    """
    t = export.targets
    if t.empty:
        return {}
    t = t[t["quarter"] == str(quarter)]
    out: dict[str, float] = {}
    overall = t[t["partner_type"].isna()]
    if len(overall):
        out["total"] = float(overall["arr_target"].sum())
    if segment_by == "partner_type":
        for ptype, rows in t[t["partner_type"].notna()].groupby("partner_type"):
            out[str(ptype)] = float(rows["arr_target"].sum())
    return out


def quarter_pipeline(export: Export, settings: Settings, quarter: Quarter,
                     date: pd.Timestamp | None = None) -> pd.DataFrame:
    """The open pipeline on the snapshot date with each deal's expected close and quarter.

    Returns
    -------
    pandas.DataFrame
        :func:`~partner_forecast.metrics.pipeline.open_pipeline`'s rows plus expected_close,
        close_date_source (see :mod:`~partner_forecast.metrics.close_dates`) and closes
        (``in_quarter``, ``other_quarter`` or ``undated``).
    """
    date = snapshot_date(export, quarter) if date is None else pd.Timestamp(date)
    pipe = open_pipeline(export, settings, date)
    close = expected_close_dates(export, pipe, date)
    when = close["expected_close"]
    closes = np.where(when.isna(), UNDATED,
                      np.where((when >= quarter.start) & (when < quarter.end), IN_QUARTER,
                               OTHER_QUARTER))
    return pipe.assign(expected_close=when.to_numpy(), close_date_source=close["close_date_source"]
                       .to_numpy(dtype=object), closes=closes.astype(object))


def pipeline_coverage(export: Export, settings: Settings, quarter: Quarter) -> pd.DataFrame:
    """Coverage of the quarter's ARR targets, overall and per partner type.

    Returns
    -------
    pandas.DataFrame
        See :func:`coverage_table`; the pipeline is :func:`quarter_pipeline`.

    """
    date = snapshot_date(export, quarter)
    pipe = quarter_pipeline(export, settings, quarter, date)
    return coverage_table(pipe, quarter_targets(export, quarter), settings, date)


def coverage_table(pipe: pd.DataFrame, targets: dict[str, float], settings: Settings,
                   date: pd.Timestamp) -> pd.DataFrame:
    """Coverage rows of a quarter's pipeline against targets (``{"all": ..., "<type>": ...}``).

    Parameters
    ----------
    pipe : pandas.DataFrame
        :func:`quarter_pipeline`'s rows (``closes`` says which deals count).
    targets : dict
        Attributed ARR targets of the quarter.
    settings : Settings
        Seed conversion table and required coverage multiples.
    date : Timestamp
        The snapshot date (reported).

    Returns
    -------
    pandas.DataFrame
        First row ``partner_type == "all"``, then one per partner type with pipeline or a
        target: partner_type, snapshot (date), deals (expected to close in the quarter),
        estimated_close_deals (of those, how many by the history estimate), pipeline_arr
        (attributed), gross_pipeline_arr, weighted_pipeline_arr (attributed x seed-table
        P(won | stage)), target_arr (NaN when the targets file has none), coverage
        (pipeline_arr / target), gross_coverage (gross_pipeline_arr / target),
        required_coverage, required_pipeline_arr (target x required), pipeline_gap_arr
        (required - pipeline_arr, >= 0), meets_target (bool, <NA> without a target), then the
        attributed ARR left out: other_quarters_pipeline_arr (expected to close in another
        quarter) and undated_pipeline_arr (no close date estimate). ARR in currency per year;
        :data:`COVERAGE_BASIS` says the same.

    """
    rates = [table_rate(settings, t, s) for t, s in zip(pipe["partner_type"], pipe["stage"], strict=True)]
    pipe = pipe.assign(weighted=pipe["attributed_arr"].to_numpy(dtype=float)
                       * np.asarray(rates, dtype=float))
    types = sorted(set(pipe["partner_type"].dropna()) | (set(targets) - {ALL}))
    rows = []
    for ptype in [ALL, *types]:
        part = pipe if ptype == ALL else pipe[pipe["partner_type"] == ptype]
        now = part[part["closes"] == IN_QUARTER]
        rows.append({"partner_type": ptype, "snapshot": date, "deals": len(now),
                     "estimated_close_deals": int(now["close_date_source"].str.startswith(
                         "history").sum()),
                     "pipeline_arr": float(now["attributed_arr"].sum()),
                     "gross_pipeline_arr": float(now["arr"].sum()),
                     "weighted_pipeline_arr": float(now["weighted"].sum()),
                     "target_arr": targets.get(ptype, np.nan),
                     "required_coverage": required_coverage(settings, ptype),
                     "other_quarters_pipeline_arr": float(
                         part.loc[part["closes"] == OTHER_QUARTER, "attributed_arr"].sum()),
                     "undated_pipeline_arr": float(
                         part.loc[part["closes"] == UNDATED, "attributed_arr"].sum())})
    out = pd.DataFrame(rows)
    out["coverage"] = coverage_ratio(out["pipeline_arr"], out["target_arr"])
    out["gross_coverage"] = coverage_ratio(out["gross_pipeline_arr"], out["target_arr"])
    out["required_pipeline_arr"] = out["target_arr"] * out["required_coverage"]
    out["pipeline_gap_arr"] = (out["required_pipeline_arr"] - out["pipeline_arr"]).clip(lower=0)
    meets = out["coverage"] >= out["required_coverage"]
    out["meets_target"] = pd.array(meets.where(out["coverage"].notna(), None), dtype="boolean")
    cols = ["partner_type", "snapshot", "deals", "estimated_close_deals", "pipeline_arr",
            "gross_pipeline_arr", "weighted_pipeline_arr", "target_arr", "coverage",
            "gross_coverage", "required_coverage", "required_pipeline_arr", "pipeline_gap_arr",
            "meets_target", "other_quarters_pipeline_arr", "undated_pipeline_arr"]
    return out[cols]


__all__ = ["ALL", "COVERAGE_BASIS", "IN_QUARTER", "OTHER_QUARTER", "UNDATED", "coverage_ratio",
           "required_coverage", "snapshot_date", "quarter_targets", "quarter_pipeline",
           "pipeline_coverage", "coverage_table"]
