"""The scenario block: each scenario's change in partner ARR from the baseline, by quarter."""

from __future__ import annotations

from functools import partial

from partner_forecast.report_service.inputs import LeftOut
from partner_forecast.report_service.scenarios import ScenarioData
from partner_forecast.reports.charts.scenarios import scenario_chart
from partner_forecast.reports.document import Block, Chart, Note, Table
from partner_forecast.reports.readings import scenario_reading

TABLE_COLUMNS = ("quarter", "scenario", "p10", "p50", "p90", "delta_p50", "delta_mean_pct",
                 "p_above_baseline", "arr_target", "p_at_least_target")
"""Columns of the scenario table, when the comparison has them (and any value in them)."""


def scenario_block(data: ScenarioData | LeftOut) -> Block:
    """The scenario block from the report service's comparison (or the note why it is missing)."""
    block = Block("scenarios", "What-if scenarios",
                  "Each scenario simulated with the baseline's posterior draws and seed (common "
                  "random numbers): the change in partner ARR, draw by draw.")
    if isinstance(data, LeftOut):
        block.items.append(Note(data.text))
        return block
    table = data.table
    block.items.append(Chart("scenarios", "Scenario deltas from the baseline, by quarter "
                             "(attributed ARR)", scenario_reading(data.deltas),
                             partial(scenario_chart, data.deltas)))
    cols = [c for c in TABLE_COLUMNS if c in table and not table[c].isna().all()]
    block.items.append(Table(
        "scenarios", "Scenarios by quarter (total partner ARR, attributed)",
        table[table["segment"] == "total"][cols],
        {"p10": "money", "p50": "money", "p90": "money", "delta_p50": "signed_money",
         "delta_mean_pct": "signed_points", "p_above_baseline": "pct", "arr_target": "money",
         "p_at_least_target": "pct"},
        labels={"delta_p50": "Change in P50", "delta_mean_pct": "Change in mean",
                "p_above_baseline": "P(above baseline)", "arr_target": "ARR target",
                "p_at_least_target": "P(>= target)"}))
    return block


__all__ = ["TABLE_COLUMNS", "scenario_block"]
