"""Block 2's data: coverage of the partner ARR target by partner type, the pipeline trend."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.report_service.inputs import TREND_QUARTERS, ReportInputs


@dataclass
class PipelineData:
    """Pipeline health.

    Attributes
    ----------
    quarter : Quarter
        The quarter whose target the pipeline covers (the first forecast quarter).
    coverage : pandas.DataFrame
        :func:`attributed_coverage` rows (``all`` first).
    snapshot : pandas.Timestamp
        The date the open pipeline is read at.
    trend : pandas.DataFrame
        :func:`~partner_forecast.metrics.pipeline.pipeline_trend` rows of the last
        :data:`~partner_forecast.report_service.inputs.TREND_QUARTERS` quarters (gross ARR).
    """

    quarter: Quarter
    coverage: pd.DataFrame
    snapshot: pd.Timestamp
    trend: pd.DataFrame


def attributed_coverage(cov: pd.DataFrame) -> pd.DataFrame:
    """Coverage rows on one ARR basis: partner-attributed open pipeline / partner ARR target.

    The targets are partner-attributed ARR (the forecast's P(>= target) compares attributed
    ARR with them), so the pipeline they are measured against is attributed too (DOMAIN.md
    section 5); the gross pipeline stays beside it in the table, labelled.

    Parameters
    ----------
    cov : pandas.DataFrame
        :func:`partner_forecast.metrics.coverage.pipeline_coverage` rows.

    Returns
    -------
    pandas.DataFrame
        partner_type, deals, pipeline_arr (attributed), gross_pipeline_arr, target_arr,
        coverage, required_coverage, pipeline_gap_arr (attributed pipeline still needed to reach
        the required multiple, >= 0).
    """
    target = cov["target_arr"].to_numpy(dtype=float)
    pipe = cov["pipeline_arr"].to_numpy(dtype=float)  # attributed, expected in the quarter
    required = cov["required_coverage"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(target > 0, pipe / target, np.nan)
    gap = np.where(np.isfinite(target), np.clip(required * target - pipe, 0, None), np.nan)
    return pd.DataFrame({"partner_type": cov["partner_type"].astype(str).to_numpy(),
                         "deals": cov["deals"].to_numpy(), "pipeline_arr": pipe,
                         "gross_pipeline_arr": cov["gross_pipeline_arr"].to_numpy(dtype=float),
                         "target_arr": target, "coverage": coverage, "required_coverage": required,
                         "pipeline_gap_arr": gap})


def pipeline_data(inp: ReportInputs, quarter: Quarter) -> PipelineData:
    """Coverage of ``quarter``'s target and the trend of the quarters up to the as-of date."""
    from partner_forecast.metrics.coverage import pipeline_coverage
    from partner_forecast.metrics.pipeline import pipeline_trend

    raw = pipeline_coverage(inp.export, inp.settings, quarter)
    last = Quarter.containing(inp.as_of - pd.Timedelta(days=1),
                              inp.settings.calendar.fiscal_year_start_month)
    trend = pipeline_trend(inp.export, inp.settings,
                           [last - i for i in range(TREND_QUARTERS - 1, -1, -1)])
    return PipelineData(quarter=quarter, coverage=attributed_coverage(raw),
                        snapshot=pd.Timestamp(raw["snapshot"].iloc[0]), trend=trend)


__all__ = ["PipelineData", "attributed_coverage", "pipeline_data"]
