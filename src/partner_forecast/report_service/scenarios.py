"""The scenario block's data: each scenario against the baseline, draw by draw."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from partner_forecast.errors import PartnerForecastError
from partner_forecast.forecast import ForecastContext
from partner_forecast.report_service.inputs import LeftOut, ReportInputs
from partner_forecast.scenarios import Scenario, compare_scenarios, load_scenario_files


@dataclass
class ScenarioData:
    """Scenario deltas from the baseline (attributed ARR).

    ``table``: the comparison's table (every segment, the baseline's rows too);
    ``deltas``: its ``total`` rows of the scenarios, grouped by scenario in file order, quarters
    in order.
    """

    table: pd.DataFrame
    deltas: pd.DataFrame


def read_scenarios(files: Sequence[str | Path]) -> list[Scenario]:
    """The scenarios of ``files``, read and checked (a bad file fails here, before any fit)."""
    if not files:
        return []
    return list(load_scenario_files([Path(f) for f in files]))


def scenario_data(inp: ReportInputs, context: ForecastContext | None, scenarios: list[Scenario]
                  ) -> ScenarioData | LeftOut:
    """Each scenario simulated with the baseline's draws and seed (not recorded in the ledger)."""
    if context is None:
        text = "Scenario deltas are left out: they need the forecast, which is not available."
        inp.degraded.append(text)
        return LeftOut(text)
    try:
        comparison = compare_scenarios(context, scenarios, record=False, progress=inp.progress)
    except PartnerForecastError as exc:
        return inp.leave_out("Scenario deltas are", exc)
    inp.warnings += [f"scenario: {n}" for n in comparison.notes]
    table = comparison.table
    rows = table[(table["segment"] == "total") & (table["scenario"] != "baseline")]
    order = {name: i for i, name in enumerate(dict.fromkeys(rows["scenario"]))}
    deltas = (rows.assign(_o=rows["scenario"].map(order)).sort_values(["_o", "quarter"], kind="stable")
              .drop(columns="_o").reset_index(drop=True))
    return ScenarioData(table, deltas)


__all__ = ["ScenarioData", "read_scenarios", "scenario_data"]
