"""Block 1's charts: the fan chart, next quarter's distribution, committed vs upside, ARR by type."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from partner_forecast.formatting import money, pct
from partner_forecast.reports.charts.style import (
    ACTUAL,
    BAD,
    BAND,
    FORECAST,
    GOOD,
    INK,
    PALETTE,
    WARN,
    WIDE,
    Layout,
    axis_label,
    legend_above,
    money_axis,
    new_figure,
    quarter_labels,
    tex_safe,
)


def fan_chart(history: pd.DataFrame, forecast: pd.DataFrame,
              targets: pd.DataFrame | None = None, join: bool = True, layout: Layout = WIDE
              ) -> Figure:
    """Quarterly partner-attributed ARR: actuals, then the forecast's P10-P90 band and P50 line.

    Parameters
    ----------
    history : pandas.DataFrame
        quarter (label), actual: realised partner-attributed ARR of past quarters.
    forecast : pandas.DataFrame
        quarter, p10, p50, p90 of the forecast quarters (in order).
    targets : pandas.DataFrame, optional
        quarter, arr_target: drawn as ticks where given.
    join : bool
        Open the fan from the last actual (when the forecast starts the quarter after it).
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    fig, axes = new_figure(layout, layout.size(3.8, 3.2))
    ax = axes[0, 0]
    labels = list(history["quarter"]) + [q for q in forecast["quarter"] if q not in set(history["quarter"])]
    x = {q: i for i, q in enumerate(labels)}
    if len(history):
        ax.plot([x[q] for q in history["quarter"]], history["actual"], color=ACTUAL, marker="o",
                markersize=4, linewidth=1.6, label="actual")
    if len(forecast):
        fx = np.array([x[q] for q in forecast["quarter"]], dtype=float)
        p10, p50, p90 = (forecast[c].to_numpy(dtype=float) for c in ("p10", "p50", "p90"))
        if join and len(history):  # the fan opens from the last actual
            last = float(history["actual"].iloc[-1])
            fx = np.concatenate([[x[history["quarter"].iloc[-1]]], fx])
            p10, p50, p90 = ([last, *v] for v in (p10, p50, p90))
        ax.fill_between(fx, p10, p90, color=BAND, alpha=0.6, linewidth=0, label="P10-P90")
        ax.plot(fx, p50, color=FORECAST, linewidth=2, linestyle="--", marker="o", markersize=3,
                label="P50")
    if targets is not None and len(targets):
        t = targets[targets["quarter"].isin(x)]
        ax.scatter([x[q] for q in t["quarter"]], t["arr_target"], marker="_", s=300, color=BAD,
                   linewidths=2, label="target", zorder=5)
    many = len(labels) > (6 if layout.narrow else 10)
    ax.set_xticks(range(len(labels)), quarter_labels(labels, layout), rotation=45 if many else 0)
    ax.set_ylim(bottom=0)
    money_axis(ax, layout=layout)
    axis_label(ax, "attributed ARR won", layout)
    legend_above(fig, ax, layout, ncols=4)
    return fig


def distribution_chart(draws: np.ndarray, quarter: str, target: float | None = None,
                       p_at_least: float | None = None, quantiles: Sequence[float] | None = None,
                       layout: Layout = WIDE) -> Figure:
    """Histogram of one quarter's partner-attributed ARR draws, P10/P50/P90 and the target.

    Parameters
    ----------
    draws : numpy.ndarray
        (D,) partner-attributed ARR per draw.
    quarter : str
        The quarter's label.
    target : float, optional
        ARR target (vertical line).
    p_at_least : float, optional
        P(ARR >= target), printed by the line.
    quantiles : sequence of float, optional
        P10, P50, P90 to mark (default: computed from ``draws``).
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    fig, axes = new_figure(layout, layout.size(3.6, 3.2))
    ax = axes[0, 0]
    d = np.asarray(draws, dtype=float)
    q = np.quantile(d, (0.1, 0.5, 0.9)) if quantiles is None else np.asarray(quantiles, dtype=float)
    bins = min(60 if not layout.narrow else 30, max(10, int(np.sqrt(len(d)))))
    ax.hist(d, bins=bins, color=BAND, edgecolor="white", linewidth=0.4)
    ax.margins(y=0.35)  # room above the bars for the labels
    for i, (value, name, style) in enumerate(zip(q, ("P10", "P50", "P90"), (":", "--", ":"),
                                                 strict=True)):
        ax.axvline(value, color=FORECAST, linestyle=style, linewidth=1.4)
        # Staggered heights: the three labels never overlap, however close the quantiles.
        ax.annotate(tex_safe(f"{name} {money(value)}"), (value, 1.0 - 0.09 * i),
                    xycoords=("data", "axes fraction"), xytext=(3, -2), textcoords="offset points",
                    fontsize=layout.text, color=FORECAST, va="top")
    if target is not None and np.isfinite(target):
        ax.axvline(target, color=BAD, linewidth=2)
        text = f"target {money(target)}"
        if p_at_least is not None:
            text += f"\nP(>= target) {pct(p_at_least)}"
        lo, hi = ax.get_xlim()
        right = target > lo + 0.6 * (hi - lo)  # label on the side with room
        ax.annotate(tex_safe(text), (target, 0.62), xycoords=("data", "axes fraction"),
                    xytext=(-4 if right else 4, 0), textcoords="offset points",
                    ha="right" if right else "left", fontsize=layout.text, color=BAD,
                    bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.8, "pad": 1})
    money_axis(ax, "x", layout)
    ax.set_yticks([])
    axis_label(ax, f"attributed ARR won in {quarter} ({len(d):,} simulated draws)", layout, "x")
    return fig


def outcome_split_chart(split: pd.DataFrame, layout: Layout = WIDE) -> Figure:
    """Where each forecast quarter's partner-attributed ARR comes from: committed vs upside.

    Stacked means per quarter (won to date, committed and upside of today's open pipeline,
    deals from pipeline not yet created) summing to the forecast mean; a whisker marks the
    P10-P90 of the total.

    Parameters
    ----------
    split : pandas.DataFrame
        quarter, won_to_date, committed, upside, new_pipeline (means), p10, p90 (of the total).
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    fig, axes = new_figure(layout, layout.size(3.6, 3.4))
    ax = axes[0, 0]
    x = np.arange(len(split))
    bottom = np.zeros(len(split))
    parts = (("won_to_date", "won to date", ACTUAL), ("committed", "committed (open)", GOOD),
             ("upside", "upside (open)", WARN), ("new_pipeline", "new pipeline", BAND))
    for col, name, color in parts:
        values = split[col].to_numpy(dtype=float)
        if not np.any(values > 0):
            continue
        ax.bar(x, values, bottom=bottom, width=0.6, color=color, label=name)
        bottom += values
    p10, p90 = split["p10"].to_numpy(dtype=float), split["p90"].to_numpy(dtype=float)
    ax.errorbar(x, bottom, yerr=[np.clip(bottom - p10, 0, None), np.clip(p90 - bottom, 0, None)],
                fmt="none", ecolor=INK, elinewidth=1.0, capsize=4, label="P10-P90 of the total")
    ax.set_xticks(x, quarter_labels(split["quarter"], layout))
    ax.set_ylim(0, max(1.0, float(np.nanmax(np.concatenate([p90, bottom]))) * 1.08))
    money_axis(ax, layout=layout)
    axis_label(ax, "attributed ARR won (mean)", layout)
    legend_above(fig, ax, layout, ncols=2 if layout.narrow else 5)
    return fig


def arr_by_type_chart(by_type: pd.DataFrame, marketplace: pd.Series | None = None,
                      layout: Layout = WIDE) -> Figure:
    """Stacked bars of partner-attributed ARR by partner type per quarter, marketplace as a line.

    Parameters
    ----------
    by_type : pandas.DataFrame
        Index: quarter labels (in order); one column per partner type (partner-attributed ARR).
    marketplace : pandas.Series, optional
        Partner-attributed marketplace ARR per quarter (same index).
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    fig, axes = new_figure(layout, layout.size(3.8, 3.8))
    ax = axes[0, 0]
    x = np.arange(len(by_type))
    bottom = np.zeros(len(by_type))
    for i, col in enumerate(by_type.columns):
        values = by_type[col].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, color=PALETTE[i % len(PALETTE)], width=0.7, label=tex_safe(col))
        bottom += values
    if marketplace is not None and len(marketplace):
        ax.plot(x, marketplace.to_numpy(dtype=float), color=INK, marker="s", markersize=4,
                linewidth=1.4, label="marketplace")
    many = len(x) > (6 if layout.narrow else 10)
    ax.set_xticks(x, quarter_labels(by_type.index, layout), rotation=45 if many else 0)
    money_axis(ax, layout=layout)
    ax.set_ylim(0, max(1.0, float(bottom.max()) if len(bottom) else 1.0) * 1.08)
    axis_label(ax, "attributed ARR won", layout)
    legend_above(fig, ax, layout, ncols=3 if layout.narrow else 5)
    return fig


__all__ = ["arr_by_type_chart", "distribution_chart", "fan_chart", "outcome_split_chart"]
