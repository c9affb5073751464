"""Block 5's chart: ecosystem growth per quarter."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from partner_forecast.reports.charts.style import (
    INK,
    PALETTE,
    WIDE,
    Layout,
    money_axis,
    new_figure,
    quarter_labels,
    wrap,
)


def growth_chart(trend: pd.DataFrame, layout: Layout = WIDE) -> Figure:
    """Ecosystem growth per quarter in four small panels (a row wide, two by two narrow).

    Parameters
    ----------
    trend : pandas.DataFrame
        quarter, new_pipeline_partners, engaged_sellers, marketplace_arr, expansion_arr
        (partner-attributed ARR).
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    ncols = min(4, layout.panels)
    nrows = 4 // ncols
    fig, axes = new_figure(layout, (layout.width, 3.0 * nrows if layout.narrow else 3.2),
                           ncols=ncols, nrows=nrows)
    panels = (("new_pipeline_partners", "partners with first pipeline", False),
              ("engaged_sellers", "engaged sellers", False),
              ("marketplace_arr", "marketplace ARR", True),
              ("expansion_arr", "expansion ARR", True))
    x = np.arange(len(trend))
    for i, (ax, (col, title, is_money)) in enumerate(zip(axes.flat, panels, strict=True)):
        ax.bar(x, trend[col].to_numpy(dtype=float), color=PALETTE[i], width=0.6)
        ax.set_title(wrap(title, 18) if layout.narrow else title, fontsize=layout.title, loc="left",
                     color=INK)
        ax.set_xticks(x, quarter_labels([str(q)[2:] for q in trend["quarter"]], layout), rotation=45)
        if is_money:
            money_axis(ax, layout=layout)
            ax.yaxis.set_major_locator(MaxNLocator(nbins=3 if layout.narrow else 5))
        else:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=3 if layout.narrow else 5))
    return fig


__all__ = ["growth_chart"]
