"""The ``scorecard`` tables: the seller activation trend, top and bottom sellers, every seller."""

from __future__ import annotations

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics import scorecard as sc
from partner_forecast.metrics.cache import cached_metrics
from partner_forecast.metrics.periods import TREND_QUARTERS
from partner_forecast.metrics.segment_frames import label_rows, per_segment
from partner_forecast.metrics.sellers import seller_quarter_activity
from partner_forecast.metrics.tables import MetricTables, metric_meta


def scorecard_tables(export: Export, settings: Settings, quarter: Quarter, by: str | None = None,
                     top_n: int = 3) -> MetricTables:
    """The quarterly seller scorecard of ``quarter`` (the CLI's ``scorecard``).

    Tables: trend (pool, active, ASR, newly active and lapsed sellers over the last
    :data:`TREND_QUARTERS` quarters), top_bottom (the ``top_n`` top and bottom partner sellers,
    per segment with ``by``) and sellers (every seller's selling actions, change, status and
    trend).
    """
    with cached_metrics():
        # per-seller tables computed once, labelled with the seller's partner segment
        sellers = label_rows(export, by, sc.seller_scorecard(export, settings, quarter, TREND_QUARTERS))
        quarters = sc.trend_quarters_to(quarter, TREND_QUARTERS)
        fym = settings.calendar.fiscal_year_start_month
        activity = label_rows(export, by, seller_quarter_activity(export, quarters, fym))
        tables = {
            "trend": per_segment(by, {"sq": activity}, lambda sq: sc.trend_from_activity(sq, quarters)),
            "top_bottom": per_segment(by, {"scorecard": sellers},
                                      lambda scorecard: sc.top_bottom(scorecard, top_n)),
            "sellers": sellers,
        }
        return MetricTables(tables, metric_meta(export, "scorecard", quarter, by, top=top_n))


__all__ = ["scorecard_tables"]
