"""Block 1, partner revenue contribution: fan chart, distribution, calls, committed vs upside, ARR by type."""

from __future__ import annotations

from functools import partial

from partner_forecast.report_service.revenue import RevenueData
from partner_forecast.reports.blocks.calls import call_items
from partner_forecast.reports.charts.revenue import (
    arr_by_type_chart,
    distribution_chart,
    fan_chart,
    outcome_split_chart,
)
from partner_forecast.reports.document import Block, Chart, Note, Table
from partner_forecast.reports.readings import (
    arr_by_type_reading,
    distribution_reading,
    fan_reading,
    split_reading,
)

COMMITTED_NOTE = (
    "Committed: won ARR of today's open deals counted by the commit rule (confidence score "
    "above 70 in full, 40-70 at 75%, below 40 not at all; DOMAIN.md section 6); upside: the "
    "rest of their won ARR; new pipeline: deals created after the as-of date. Whisker: "
    "P10-P90 of the quarter's total.")


def revenue_block(data: RevenueData) -> Block:
    """Block 1 from the report service's revenue data."""
    block = Block("revenue", "1. Partner revenue contribution",
                  "Partner-attributed ARR won per quarter and its forecast, committed vs upside, the "
                  "share of company ARR from partners, ARR by partner type with marketplace ARR as its "
                  "own line. Attributed ARR: each deal's ARR times its partner role's weight.")
    if data.fan is not None and data.distribution is not None and data.split is not None:
        fan, d = data.fan, data.distribution
        block.items.append(Chart("fan", "Quarterly partner ARR (attributed): actuals and forecast",
                                 fan_reading(data.history, fan.forecast),
                                 partial(fan_chart, data.history, fan.forecast, fan.targets,
                                         fan.join)))
        block.items.append(Chart(
            "distribution", f"{d.quarter}: distribution of partner ARR (attributed)",
            distribution_reading(d.p10, d.p50, d.p90, d.target, d.p_at_least, d.quarter),
            partial(distribution_chart, d.draws, d.quarter, d.target, d.p_at_least,
                    (d.p10, d.p50, d.p90))))
        block.items += call_items(data.calls)
        block.items.append(Chart(
            "committed", "Committed vs upside by forecast quarter (attributed ARR, means)",
            split_reading(data.split), partial(outcome_split_chart, data.split), COMMITTED_NOTE))
    else:
        block.items.append(Note("No forecast in this report (see the footer): the fan chart and "
                                "next quarter's distribution need the fitted models."))
    if data.contribution is None or data.by_type is None or data.marketplace is None:
        block.items.append(Note("No complete quarter of history before the as-of date."))
        return block
    block.items.append(Chart("arr_by_type", "Partner ARR by partner type, marketplace line "
                             "(attributed ARR)",
                             arr_by_type_reading(data.contribution, data.by_type, data.marketplace),
                             partial(arr_by_type_chart, data.by_type, data.marketplace)))
    block.items.append(Table(
        "contribution", "Partner ARR contribution by quarter (attributed ARR; company ARR as "
        "reported)", data.contribution,
        {"partner_arr": "money", "qoq": "signed_pct", "yoy": "signed_pct", "total_arr": "money",
         "contribution_pct": "pct", "sourced_arr": "money", "co_sell_arr": "money",
         "influenced_arr": "money", "marketplace_arr": "money", "expansion_arr": "money"},
        labels={"partner_arr": "Partner ARR", "total_arr": "Company ARR",
                "contribution_pct": "Share of company ARR", "sourced_arr": "Sourced",
                "co_sell_arr": "Co-sell", "influenced_arr": "Influenced",
                "marketplace_arr": "Marketplace", "expansion_arr": "Expansion"}))
    return block


__all__ = ["COMMITTED_NOTE", "revenue_block"]
