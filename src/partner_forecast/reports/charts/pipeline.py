"""Block 2's charts: coverage of the target by partner type, pipeline by type, pipeline mix."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from partner_forecast.formatting import multiple
from partner_forecast.reports.charts.style import (
    BAD,
    FORECAST,
    GOOD,
    INK,
    PALETTE,
    WIDE,
    Layout,
    axis_label,
    bar_rows_figure,
    legend_above,
    money_axis,
    new_figure,
    quarter_labels,
    tex_safe,
)


def coverage_chart(coverage: pd.DataFrame, layout: Layout = WIDE) -> Figure:
    """Pipeline coverage of the ARR target by partner type, against the required multiple.

    Horizontal bars (partner types down the side, readable at any width).

    Parameters
    ----------
    coverage : pandas.DataFrame
        partner_type, coverage (pipeline / target, one ARR basis), required_coverage.
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    n = len(coverage)
    fig, ax, y = bar_rows_figure(n, layout)
    cov = coverage["coverage"].to_numpy(dtype=float)
    req = coverage["required_coverage"].to_numpy(dtype=float)
    # One partner type far above the rest would flatten every other bar: cap the axis.
    cap = max(3.0 * float(np.nanmax(req)) if n else 1.0, 1.0)
    shown = np.minimum(np.nan_to_num(cov), cap)
    colors = [GOOD if c >= r else BAD for c, r in zip(cov, req, strict=True)]
    ax.barh(y, shown, color=colors, height=0.6)
    ax.scatter(req, y, marker="|", s=260, color=INK, linewidths=2, zorder=5, label="required")
    for yi, c, w in zip(y, cov, shown, strict=True):
        cut = c > cap
        ax.annotate(multiple(c) + (" (cut)" if cut else ""), (w, yi), xytext=(-3 if cut else 3, 0),
                    textcoords="offset points", ha="right" if cut else "left", va="center",
                    fontsize=layout.text, color="white" if cut else INK)
    ax.set_xlim(0, cap * 1.15)
    ax.set_yticks(y, [tex_safe(t) for t in coverage["partner_type"]])
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}x"))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4 if layout.narrow else 8))
    axis_label(ax, "open pipeline / ARR target", layout, "x")
    legend_above(fig, ax, layout)
    return fig


def pipeline_bars(pipeline: pd.DataFrame, layout: Layout = WIDE) -> Figure:
    """Open pipeline by partner type (when there is no target to measure coverage against).

    Parameters
    ----------
    pipeline : pandas.DataFrame
        partner_type, pipeline_arr (one ARR basis).
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    n = len(pipeline)
    fig, ax, y = bar_rows_figure(n, layout)
    ax.barh(y, pipeline["pipeline_arr"].to_numpy(dtype=float), color=FORECAST, height=0.6)
    ax.set_yticks(y, [tex_safe(t) for t in pipeline["partner_type"]])
    money_axis(ax, "x", layout)
    return fig


def pipeline_mix_chart(trend: pd.DataFrame, layout: Layout = WIDE) -> Figure:
    """Open pipeline (gross ARR) per quarter split by partner role, with the QoQ growth printed.

    Parameters
    ----------
    trend : pandas.DataFrame
        :func:`partner_forecast.metrics.pipeline.pipeline_trend` rows: quarter,
        sourced_pipeline_arr, influenced_pipeline_arr, co_sell_pipeline_arr, pipeline_arr,
        pipeline_growth_qoq.
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    fig, axes = new_figure(layout, layout.size(3.6, 3.4))
    ax = axes[0, 0]
    x = np.arange(len(trend))
    bottom = np.zeros(len(trend))
    parts = [("sourced", "sourced_pipeline_arr"), ("co-sell", "co_sell_pipeline_arr"),
             ("influenced", "influenced_pipeline_arr")]
    for i, (name, col) in enumerate(parts):
        values = trend[col].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, width=0.6, color=PALETTE[i], label=name)
        bottom += values
    other = trend["pipeline_arr"].to_numpy(dtype=float) - bottom
    if np.any(other > 0):
        ax.bar(x, np.clip(other, 0, None), bottom=bottom, width=0.6, color=PALETTE[6],
               label="fulfillment")
    top = trend["pipeline_arr"].to_numpy(dtype=float)
    for xi, t, g in zip(x, top, trend["pipeline_growth_qoq"].to_numpy(dtype=float), strict=True):
        if np.isfinite(g):
            ax.annotate(f"{100 * g:+.0f}%", (xi, t), xytext=(0, 2), textcoords="offset points",
                        ha="center", fontsize=layout.text, color=GOOD if g > 0 else BAD)
    ax.set_xticks(x, quarter_labels(trend["quarter"], layout))
    money_axis(ax, layout=layout)
    ax.set_ylim(0, max(1.0, float(top.max()) if len(top) else 1.0) * 1.15)
    axis_label(ax, "open pipeline, gross ARR (labels: QoQ)", layout)
    legend_above(fig, ax, layout, ncols=4)
    return fig


__all__ = ["coverage_chart", "pipeline_bars", "pipeline_mix_chart"]
