"""Block 5's data (ecosystem growth per quarter) and the data-quality audit's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.audit import DataQualityAudit
from partner_forecast.data.export import Export
from partner_forecast.report_service.inputs import TREND_QUARTERS, ReportInputs
from partner_forecast.report_service.revenue import total


@dataclass
class QualityData:
    """The data-quality audit of recently closed partner deals.

    ``labels``: each audited field in words; ``table``: the audit's rows with label and
    completeness (0-1).
    """

    audit: DataQualityAudit
    labels: dict[str, str]
    table: pd.DataFrame


def growth_data(inp: ReportInputs) -> pd.DataFrame | None:
    """Ecosystem growth per quarter of the last :data:`TREND_QUARTERS` complete quarters.

    Returns
    -------
    pandas.DataFrame or None
        quarter, new_pipeline_partners, engaged_sellers, active_sellers, asr, marketplace_arr,
        expansion_arr (attributed); None without a complete quarter of history.
    """
    from partner_forecast.metrics.scorecard import activation_trend
    from partner_forecast.outcomes import realised

    quarters = inp.history[-TREND_QUARTERS:]
    if not quarters:
        return None
    trend = activation_trend(inp.export, inp.settings, quarters[-1], len(quarters)).set_index("quarter")
    won = {str(q): realised(inp.export, inp.settings, q) for q in quarters}
    return pd.DataFrame({
        "quarter": [str(q) for q in quarters],
        "new_pipeline_partners": first_pipeline_partners(inp.export, quarters),
        "engaged_sellers": [int(trend["engaged"].get(str(q), 0)) for q in quarters],
        "active_sellers": [int(trend["active"].get(str(q), 0)) for q in quarters],
        "asr": [float(trend["asr"].get(str(q), np.nan)) for q in quarters],
        "marketplace_arr": [total(won[str(q)], "marketplace_arr") for q in quarters],
        "expansion_arr": [total(won[str(q)], "expansion_arr") for q in quarters],
    })


def first_pipeline_partners(export: Export, quarters: Sequence[Quarter]) -> list[int]:
    """Partners whose first opportunity was created in each quarter (new partners generating pipeline).

    Not (yet) a function of :mod:`partner_forecast.metrics`: counted here from the export.
    """
    first = export.opportunities.groupby("partner_id")["created_on"].min()
    return [int(((first >= q.start) & (first < min(q.end, export.default_as_of))).sum())
            for q in quarters]


def quality_data(inp: ReportInputs) -> QualityData:
    """The audit of the required fields on partner deals closed in the audit window."""
    from partner_forecast.data.audit import FIELD_LABELS, audit_export

    a = inp.settings.audit
    audit = audit_export(inp.export, inp.as_of, a.window_days, a.required_fields)
    labels = {f: FIELD_LABELS.get(f, f.replace("_", " ")) for f in audit.table["field"]}
    table = audit.table.assign(label=audit.table["field"].map(labels),
                               completeness=audit.table["completeness_pct"] / 100.0)
    return QualityData(audit, labels, table)


__all__ = ["QualityData", "first_pipeline_partners", "growth_data", "quality_data"]
