"""Block 4's chart: Active Seller Rate per partner with its interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from partner_forecast.formatting import pct
from partner_forecast.reports.charts.style import (
    BAD,
    FORECAST,
    GOOD,
    MUTED,
    WIDE,
    Layout,
    axis_label,
    legend_above,
    new_figure,
    tex_safe,
)


def asr_caterpillar(asr: pd.DataFrame, target: float | None = None, label_limit: int | None = None,
                    layout: Layout = WIDE) -> Figure:
    """Active Seller Rate per partner with its interval, sorted; paper partnerships marked.

    Parameters
    ----------
    asr : pandas.DataFrame
        partner_id, asr, asr_p10, asr_p90 (0-1; its interval) and paper (bool); optionally
        observed (the raw ASR, drawn as crosses when ``asr`` is a posterior estimate).
    target : float, optional
        ASR target (horizontal line, e.g. 0.15).
    label_limit : int, optional
        Partner ids are written on the axis when there are at most this many partners
        (default 40 wide, 16 narrow).
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    limit = label_limit if label_limit is not None else (16 if layout.narrow else 40)
    frame = asr.sort_values(["asr", "partner_id"], kind="stable").reset_index(drop=True)
    labelled = len(frame) <= limit
    fig, axes = new_figure(layout, layout.size(3.8 if labelled else 3.2, 3.6 if labelled else 3.0))
    ax = axes[0, 0]
    x = np.arange(len(frame))
    paper = frame["paper"].to_numpy(dtype=bool)
    mid = frame["asr"].to_numpy(dtype=float)
    lo = np.clip(mid - frame["asr_p10"].to_numpy(dtype=float), 0, None)
    hi = np.clip(frame["asr_p90"].to_numpy(dtype=float) - mid, 0, None)
    dense = len(x) > (30 if layout.narrow else 60)
    for mask, color, name in ((~paper, FORECAST, "partner"), (paper, BAD, "paper partnership")):
        if mask.any():
            ax.errorbar(x[mask], mid[mask], yerr=[lo[mask], hi[mask]], fmt="o", color=color,
                        ecolor=color, elinewidth=0.8 if dense else 1.2, alpha=0.85,
                        markersize=2.5 if dense else 4, capsize=0, label=name)
    if "observed" in frame:
        ax.scatter(x, frame["observed"].to_numpy(dtype=float), marker="x", s=10 if dense else 18,
                   color=MUTED, linewidths=0.8, label="observed", zorder=4)
    if target is not None:
        ax.axhline(target, color=GOOD, linestyle="--", linewidth=1.2, label=f"target {pct(target)}")
    if labelled:
        ax.set_xticks(x, [tex_safe(p) for p in frame["partner_id"]], rotation=90)
    else:
        ax.set_xticks([])
        axis_label(ax, f"{len(frame):,} partners, sorted by ASR", layout, "x")
    seen = [frame[c].to_numpy(dtype=float) for c in ("asr_p90", "observed") if c in frame]
    top = np.nanmax(np.concatenate([*seen, [target or 0.0, 0.05]]))
    ax.set_ylim(0, min(1.0, 1.1 * float(top) + 0.02))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axis_label(ax, "active seller rate", layout)
    legend_above(fig, ax, layout, ncols=2 if layout.narrow else 4)
    return fig


__all__ = ["asr_caterpillar"]
