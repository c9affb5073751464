"""Block 5, ecosystem growth per quarter."""

from __future__ import annotations

from functools import partial

import pandas as pd

from partner_forecast.reports.charts.growth import growth_chart
from partner_forecast.reports.document import Block, Chart, Note, Table
from partner_forecast.reports.readings import growth_reading


def growth_block(frame: pd.DataFrame | None) -> Block:
    """Block 5 from the report service's growth frame (None: no complete quarter of history)."""
    block = Block("growth", "5. Ecosystem growth",
                  "New partners generating pipeline, seller engagement, marketplace and expansion ARR "
                  "(attributed) per quarter.")
    if frame is None:
        block.items.append(Note("No complete quarter of history before the as-of date."))
        return block
    block.items.append(Chart("growth", "Ecosystem growth per quarter (attributed ARR)",
                             growth_reading(frame), partial(growth_chart, frame),
                             "Marketplace and expansion: partner-attributed ARR of won deals; new "
                             "partners: first opportunity created in the quarter."))
    block.items.append(Table(
        "ecosystem", "Ecosystem growth (attributed ARR)", frame,
        {"new_pipeline_partners": "count", "engaged_sellers": "count", "active_sellers": "count",
         "asr": "pct", "marketplace_arr": "money", "expansion_arr": "money"},
        labels={"new_pipeline_partners": "Partners with first pipeline", "asr": "ASR",
                "marketplace_arr": "Marketplace ARR", "expansion_arr": "Expansion ARR"}))
    return block


__all__ = ["growth_block"]
