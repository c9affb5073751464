"""What a metric command computes: its tables and the metadata that travels with them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.export import Export
from partner_forecast.metrics.segments import DEAL_SEGMENTS


@dataclass
class MetricTables:
    """Named tables (in the order they are shown) and their metadata.

    Attributes
    ----------
    tables : dict of str to pandas.DataFrame
        The tables, as the CLI prints them.
    meta : dict
        command, quarter, by, what the command adds (e.g. the coverage snapshot date) and,
        when any, ``warnings`` (the export's, and what a deal-level ``by`` does not split).
    """

    tables: dict[str, pd.DataFrame]
    meta: dict[str, Any] = field(default_factory=dict)


def metric_meta(export: Export, command: str, quarter: Quarter, by: str | None,
                **extra: Any) -> dict[str, Any]:
    """The metadata of a metric command's tables (see :class:`MetricTables`)."""
    notes = []
    if by in DEAL_SEGMENTS:
        notes.append(f"--by {by} splits deals only: seller- and partner-level figures are not split "
                     "by it")
    meta: dict[str, Any] = {"command": command, "quarter": str(quarter), "by": by, **extra}
    warnings = [*(str(w) for w in export.warnings), *notes]
    if warnings:
        meta["warnings"] = warnings
    return meta


__all__ = ["MetricTables", "metric_meta"]
