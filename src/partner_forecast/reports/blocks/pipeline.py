"""Block 2, pipeline health: coverage of the target by partner type, pipeline mix and growth."""

from __future__ import annotations

from functools import partial

from partner_forecast.report_service.pipeline import PipelineData
from partner_forecast.reports.charts.pipeline import coverage_chart, pipeline_bars, pipeline_mix_chart
from partner_forecast.reports.document import Block, Chart, Table
from partner_forecast.reports.readings import coverage_reading, pipeline_reading


def pipeline_block(data: PipelineData) -> Block:
    """Block 2 from the report service's pipeline data."""
    quarter, cov, trend = data.quarter, data.coverage, data.trend
    block = Block("pipeline", "2. Pipeline health",
                  "Open partner pipeline against the quarter's partner ARR target by partner type "
                  "(attributed ARR), the sourced / co-sell / influenced split and quarter-on-quarter "
                  "growth (gross ARR: the deals' full ARR).")
    with_target = cov[cov["coverage"].notna()]  # "all" first, then the types with a target
    if len(with_target):
        draw = partial(coverage_chart, with_target)
    else:
        draw = partial(pipeline_bars, cov[cov["partner_type"] != "all"])
    block.items.append(Chart("coverage", f"{quarter}: pipeline coverage of the partner ARR target by "
                             "partner type (attributed ARR)", coverage_reading(cov, str(quarter)), draw,
                             "Coverage: partner-attributed open pipeline / partner ARR target." if
                             len(with_target) else "No targets: attributed open pipeline by type shown."))
    block.items.append(Chart("pipeline_mix", "Open partner pipeline by role and QoQ growth (gross ARR)",
                             pipeline_reading(trend), partial(pipeline_mix_chart, trend)))
    block.items.append(Table(
        "coverage_by_type", f"{quarter}: coverage by partner type (attributed ARR; pipeline at "
        f"{data.snapshot.date()}, gross beside it)", cov,
        {"deals": "count", "pipeline_arr": "money", "gross_pipeline_arr": "money",
         "target_arr": "money", "coverage": "multiple", "required_coverage": "multiple",
         "pipeline_gap_arr": "money"},
        labels={"deals": "Open deals", "pipeline_arr": "Pipeline (attributed)",
                "gross_pipeline_arr": "Pipeline (gross)", "target_arr": "Partner ARR target",
                "required_coverage": "Required", "pipeline_gap_arr": "Pipeline gap (attributed)"}))
    block.items.append(Table(
        "pipeline_trend", "Pipeline trend (gross ARR)",
        trend[["quarter", "pipeline_arr", "sourced_pipeline_arr", "co_sell_pipeline_arr",
               "influenced_pipeline_arr", "sourced_ratio", "influence_rate", "pipeline_growth_qoq"]],
        {"pipeline_arr": "money", "sourced_pipeline_arr": "money", "influenced_pipeline_arr": "money",
         "co_sell_pipeline_arr": "money", "sourced_ratio": "pct", "influence_rate": "pct",
         "pipeline_growth_qoq": "signed_pct"},
        labels={"pipeline_arr": "Open pipeline", "sourced_pipeline_arr": "Sourced",
                "co_sell_pipeline_arr": "Co-sell", "influenced_pipeline_arr": "Influenced",
                "sourced_ratio": "Sourced share", "influence_rate": "Influence rate",
                "pipeline_growth_qoq": "QoQ growth"}))
    return block


__all__ = ["pipeline_block"]
