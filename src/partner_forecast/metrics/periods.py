"""Which quarter a metric is measured over, and which days of it are known.

Backward-looking metrics (KPIs, scorecard, activation) default to the last quarter with data
(the one containing the day before as-of); forward-looking ones (coverage) default to the quarter
containing as-of. A quarter's *cut* is the first day not counted: its end, or the as-of date
when the quarter is still running.
"""

from __future__ import annotations

import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.export import Export


def last_data_quarter(export: Export, fiscal_year_start_month: int = 1) -> Quarter:
    """The quarter containing the last known day (the day before the export's as-of date)."""
    return Quarter.containing(export.default_as_of - pd.Timedelta(days=1), fiscal_year_start_month)


def resolve_quarter(export: Export, quarter: str | Quarter | None, fiscal_year_start_month: int = 1,
                    *, forward: bool = False) -> Quarter:
    """The quarter to measure: ``quarter`` when given, else the default described above.

    Parameters
    ----------
    export : Export
        The export (its as-of date sets the default).
    quarter : str, Quarter or None
        A label like ``"2026Q2"``, a :class:`Quarter`, or None for the default.
    fiscal_year_start_month : int
        First month of the fiscal year.
    forward : bool
        Default to the quarter containing as-of (True) instead of the last quarter with data.

    Returns
    -------
    Quarter
        The resolved quarter.

    """
    if isinstance(quarter, Quarter):
        return quarter
    if quarter is not None:
        return Quarter.parse(quarter, fiscal_year_start_month)
    if forward:
        return Quarter.containing(export.default_as_of, fiscal_year_start_month)
    return last_data_quarter(export, fiscal_year_start_month)


def quarter_cut(export: Export, quarter: Quarter) -> pd.Timestamp:
    """First day not counted in ``quarter``: its end, or as-of if earlier."""
    return min(quarter.end, export.default_as_of)


def in_quarter(dates: pd.Series, export: Export, quarter: Quarter) -> pd.Series:
    """Boolean mask: date inside ``quarter`` and before the export's as-of date (NaT -> False)."""
    return dates.notna() & (dates >= quarter.start) & (dates < quarter_cut(export, quarter))


TREND_QUARTERS = 4
"""Quarters of the trend tables (coverage's pipeline trend, the scorecard's seller trend)."""

__all__ = ["TREND_QUARTERS", "last_data_quarter", "resolve_quarter", "quarter_cut", "in_quarter"]
