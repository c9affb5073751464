"""The revenue block's call chart: each caller's commit and best case beside the model's band."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from partner_forecast.reports.charts.style import (
    BAND,
    FORECAST,
    GRID,
    MUTED,
    WIDE,
    Layout,
    axis_label,
    legend_above,
    money_axis,
    new_figure,
    tex_safe,
)

CALLER_COLOURS = ("#e07b39", "#8e44ad", "#16a085", "#c0392b", "#7f8c8d")
"""Marker colours of the callers, in table order (the forecast's blue is kept for the model)."""


def call_chart(beside: pd.DataFrame, quarter: str, layout: Layout = WIDE) -> Figure:
    """One row per call: the model's P10-P90 band and P50 behind each caller's commit and best case.

    Parameters
    ----------
    beside : pandas.DataFrame
        :func:`~partner_forecast.evaluate.calls.beside_model` rows (one segment's calls share
        its band; rows of several segments each get their own).
    quarter : str
        The quarter's label.
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    n = len(beside)
    fig, axes = new_figure(layout, layout.size(0.9 + 0.45 * n, 1.2 + 0.6 * n))
    ax = axes[0, 0]
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    ys = np.arange(n)[::-1]
    names = []
    for i, (y, r) in enumerate(zip(ys, beside.itertuples(index=False), strict=True)):
        colour = CALLER_COLOURS[i % len(CALLER_COLOURS)]
        ax.barh(y, r.p90 - r.p10, left=r.p10, height=0.6, color=BAND, zorder=1,
                label="model P10-P90" if i == 0 else None)
        ax.plot([r.p50, r.p50], [y - 0.3, y + 0.3], color=FORECAST, linewidth=2, zorder=2,
                label="model P50" if i == 0 else None)
        if np.isfinite(r.best_case):
            ax.plot([r.commit, r.best_case], [y, y], color=colour, linewidth=1.6, zorder=3)
            ax.plot(r.best_case, y, marker="|", markersize=12, markeredgewidth=2, color=colour,
                    zorder=3)
        ax.plot(r.commit, y, marker="o", markersize=7, color=colour, zorder=4)
        who = r.made_by or "team"
        seg = "" if r.segment == "total" else f" ({r.segment})"
        date = pd.Timestamp(r.made_on)
        names.append(f"{who}{seg}\n{date.strftime('%b')} {date.day}" if layout.narrow
                     else f"{who}{seg}, {date.date().isoformat()}")
    ax.set_yticks(ys, [tex_safe(t) for t in names], fontsize=layout.text)
    ax.set_ylim(-0.7, n - 0.3)
    ax.plot([], [], marker="o", color=MUTED, linestyle="none", label="commit")
    ax.plot([], [], marker="|", markersize=10, markeredgewidth=2, color=MUTED,
            linestyle="-", label="best case")
    money_axis(ax, "x", layout)
    axis_label(ax, f"attributed ARR in {quarter}", layout, "x")
    legend_above(fig, ax, layout)
    return fig


__all__ = ["CALLER_COLOURS", "call_chart"]
