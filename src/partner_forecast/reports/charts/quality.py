"""The data-quality block's chart: completeness of the required fields."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from partner_forecast.formatting import pct
from partner_forecast.reports.charts.style import (
    BAD,
    GOOD,
    INK,
    WIDE,
    Layout,
    axis_label,
    bar_rows_figure,
    tex_safe,
)


def completeness_chart(audit: pd.DataFrame, layout: Layout = WIDE) -> Figure:
    """Completeness of each required field on recently closed partner deals (0-100%).

    Parameters
    ----------
    audit : pandas.DataFrame
        label (the field in words), completeness (0-1; NaN when no deal was audited for it).
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    n = len(audit)
    fig, ax, y = bar_rows_figure(n, layout)
    share = audit["completeness"].to_numpy(dtype=float)
    ax.barh(y, np.nan_to_num(share), color=[GOOD if s >= 1 else BAD for s in np.nan_to_num(share)],
            height=0.6)
    for yi, s in zip(y, share, strict=True):
        text = "n/a" if not np.isfinite(s) else pct(s, 1 if 0.99 <= s < 1 else 0)
        inside = np.isfinite(s) and s > 0.75
        ax.annotate(text, (0 if not np.isfinite(s) else s, yi), xytext=(-3 if inside else 3, 0),
                    textcoords="offset points", ha="right" if inside else "left", va="center",
                    fontsize=layout.text, color="white" if inside else INK)
    ax.axvline(1.0, color=INK, linewidth=0.8)
    ax.set_xlim(0, 1.02)
    ax.set_yticks(y, [tex_safe(s) for s in audit["label"]])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4 if layout.narrow else 6))
    axis_label(ax, "deals with the field filled", layout, "x")
    return fig


__all__ = ["completeness_chart"]
