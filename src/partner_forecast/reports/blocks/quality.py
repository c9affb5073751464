"""The data-quality block: completeness of the fields a partner forecast needs."""

from __future__ import annotations

from functools import partial

import pandas as pd

from partner_forecast.report_service.growth import QualityData
from partner_forecast.reports.charts.quality import completeness_chart
from partner_forecast.reports.document import Block, Chart, Note, Table
from partner_forecast.reports.readings import audit_reading


def quality_block(data: QualityData) -> Block:
    """The audit of recently closed partner deals as a chart (or a note) and a table."""
    audit, table = data.audit, data.table
    block = Block("quality", "6. Data quality",
                  f"Completeness of the fields a partner forecast needs on the partner deals closed in "
                  f"the {audit.window_days} days before the as-of date (DOMAIN.md section 8); "
                  "`partner-forecast validate` lists the rows lacking each.")
    reading = audit_reading(audit, data.labels)
    if audit.deals:
        block.items.append(Chart("quality", "Required fields filled on recently closed partner deals",
                                 reading, partial(completeness_chart, table)))
    else:
        block.items.append(Note(reading))
    block.items.append(Table(
        "data_quality", f"Data-quality audit: partner deals closed {audit.window_start.date()} to "
        f"{(audit.as_of - pd.Timedelta(days=1)).date()}",
        table[["label", "field", "filled", "total", "completeness"]],
        {"filled": "count", "total": "count", "completeness": "pct"},
        labels={"label": "Field", "field": "Column", "filled": "Deals with it",
                "total": "Deals audited", "completeness": "Complete"}))
    return block


__all__ = ["quality_block"]
