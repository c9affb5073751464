"""The ``activation`` tables: activation scores and bands, first deals, paper partnerships."""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics import activation as act
from partner_forecast.metrics import activation_score as ascore
from partner_forecast.metrics.cache import cached_metrics
from partner_forecast.metrics.periods import quarter_cut
from partner_forecast.metrics.segment_frames import label_rows, per_segment
from partner_forecast.metrics.tables import MetricTables, metric_meta


def activation_summary_table(first_deals: pd.DataFrame, paper: pd.DataFrame, scores: pd.DataFrame,
                             quarter: Quarter) -> pd.DataFrame:
    """One row: activated partners, on-time activation, paper partnerships, mean activation score.

    Built from the per-partner tables of :func:`activation.partner_activation`,
    :func:`activation.paper_partnerships` and :func:`activation_score.activation_scores`.
    """
    summary = act.activation_summary(first_deals)
    summary.insert(0, "quarter", str(quarter))
    summary["partners_with_sellers"] = len(paper)
    summary["paper_partnerships"] = int(paper["paper_partnership"].sum())
    summary["mean_activation_score"] = float(scores["activation_score"].mean()) if len(scores) else np.nan
    return summary


def activation_tables(export: Export, settings: Settings, quarter: Quarter, by: str | None = None
                      ) -> MetricTables:
    """Partner activation in ``quarter`` (the CLI's ``activation``).

    Tables: summary (:func:`activation_summary_table`, per segment with ``by``), bands (fully
    enabled / partially ready / needs support), scores (the 0-100 activation score per
    partner with its parts and trend), first_deals (time to first deal, activation within 90
    days of onboarding) and paper_partnerships (sellers in the pool, nobody active for 2+
    consecutive quarters).
    """
    with cached_metrics():
        # every table is per partner: computed once, labelled with the partner's segment, and the
        # segment summaries aggregated from those rows
        first_deals = label_rows(export, by, act.partner_activation(export, settings,
                                                                    quarter_cut(export, quarter)))
        paper = label_rows(export, by, act.paper_partnerships(export, settings, quarter))
        scores = label_rows(export, by, ascore.activation_scores(export, settings, quarter))
        tables = {
            "summary": per_segment(by, {"first_deals": first_deals, "paper": paper, "scores": scores},
                                   lambda **f: activation_summary_table(**f, quarter=quarter)),
            "bands": per_segment(by, {"scores": scores}, ascore.band_summary),
            "scores": scores,
            "first_deals": first_deals,
            "paper_partnerships": paper[paper["paper_partnership"]].reset_index(drop=True),
        }
        return MetricTables(tables, metric_meta(export, "activation", quarter, by))


__all__ = ["activation_summary_table", "activation_tables"]
