"""The scenario block's chart: each scenario's change from the baseline."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from partner_forecast.reports.charts.style import (
    BAD,
    BAND,
    GOOD,
    GRID,
    INK,
    WIDE,
    Layout,
    axis_label,
    money_axis,
    new_figure,
    quarter_labels,
    tex_safe,
    wrap,
)


def scenario_chart(deltas: pd.DataFrame, layout: Layout = WIDE) -> Figure:
    """Scenario deltas from the baseline: P50 with the P10-P90 range of the draw-by-draw delta.

    Parameters
    ----------
    deltas : pandas.DataFrame
        scenario, delta_p10, delta_p50, delta_p90, and optionally quarter (one row per scenario
        and quarter, one segment): a row each, grouped by scenario.
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    n = len(deltas)
    fig, axes = new_figure(layout, layout.size(0.9 + 0.34 * max(2, n), 1.1 + 0.36 * max(2, n)))
    ax = axes[0, 0]
    ax.grid(False)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    y = np.arange(n)[::-1]
    p10, p50, p90 = (deltas[c].to_numpy(dtype=float) for c in ("delta_p10", "delta_p50", "delta_p90"))
    ax.hlines(y, p10, p90, color=BAND, linewidth=7)
    ax.scatter(p50, y, color=[GOOD if v >= 0 else BAD for v in p50], zorder=5, s=26)
    ax.axvline(0, color=INK, linewidth=0.8)
    names = [wrap(s, 16) if layout.narrow else tex_safe(s) for s in deltas["scenario"]]
    labels = (names if "quarter" not in deltas else
              [f"{s} {q}" for s, q in zip(names, quarter_labels(deltas["quarter"], layout), strict=True)])
    ax.set_yticks(y, labels)
    ax.margins(y=0.12)
    money_axis(ax, "x", layout)
    axis_label(ax, "change in attributed ARR vs baseline (P10-P90 band, P50 dot)", layout, "x")
    return fig


__all__ = ["scenario_chart"]
