"""Block 3's charts: variance waterfall, forecast history, pacing, backtest, conversion curves."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator, PercentFormatter

from partner_forecast.formatting import money, pct
from partner_forecast.reports.charts.style import (
    ACTUAL,
    BAD,
    BAND,
    FORECAST,
    GOOD,
    GRID,
    INK,
    MUTED,
    SEED,
    WIDE,
    Layout,
    axis_label,
    bar_rows_figure,
    legend_above,
    money_axis,
    new_figure,
    quarter_labels,
    tex_safe,
    wrap,
)


def waterfall_chart(start_label: str, start: float, steps: Sequence[tuple[str, float]],
                    end_label: str, end: float, layout: Layout = WIDE) -> Figure:
    """A variance waterfall, top to bottom: forecast mean, one bar per driver, actual.

    Horizontal (driver names down the side, readable at any width).

    Parameters
    ----------
    start_label, start : str, float
        The first bar (e.g. the forecast mean).
    steps : sequence of (str, float)
        Driver contributions (positive raise, negative lower), in order.
    end_label, end : str, float
        The last bar (the actual); ``start + sum(steps)`` equals it when the lines sum exactly.
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    labels = [start_label, *(s for s, _ in steps), end_label]
    n = len(labels)
    fig, ax, y = bar_rows_figure(n, layout)
    level = float(start)
    ax.barh(y[0], start, color=FORECAST, height=0.6)
    lows, highs = [0.0, start, end], [start, end]
    for i, (_, value) in enumerate(steps, start=1):
        ax.barh(y[i], value, left=level, color=GOOD if value >= 0 else BAD, height=0.6)
        ax.plot([level, level], [y[i - 1] - 0.3, y[i] + 0.3], color=MUTED, linewidth=0.6)
        label = tex_safe(money(value) if value < 0 else "+" + money(value))
        ax.annotate(label, (max(level, level + value), y[i]), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=layout.text, color=INK)
        level += value
        lows.append(level)
        highs.append(level)
    ax.barh(y[-1], end, color=ACTUAL, height=0.6)
    for i, v in ((0, start), (n - 1, end)):
        ax.annotate(tex_safe(money(v)), (v, y[i]), xytext=(3, 0), textcoords="offset points",
                    va="center", fontsize=layout.text, color=INK)
    ax.set_yticks(y, [wrap(s, 22) if layout.narrow else tex_safe(s) for s in labels])
    ax.set_xlim(min(0.0, min(lows)), max(highs) * (1.3 if layout.narrow else 1.15) or 1.0)
    money_axis(ax, "x", layout)
    axis_label(ax, "attributed ARR", layout, "x")
    return fig


def history_band_chart(runs: pd.DataFrame, actual: float | None = None,
                       target: float | None = None, layout: Layout = WIDE) -> Figure:
    """One quarter's forecasts over their run dates: the P10-P90 band and P50, with the actual.

    Parameters
    ----------
    runs : pandas.DataFrame
        as_of (ISO date), p10, p50, p90 of total attributed ARR, one row per ledger run, in
        as-of order (:attr:`partner_forecast.evaluate.history.HistoryResult.runs`).
    actual : float, optional
        The quarter's actual attributed ARR (a horizontal line), once it is closed.
    target : float, optional
        The quarter's ARR target (a dotted line).
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    fig, axes = new_figure(layout, layout.size(3.2, 3.0))
    ax = axes[0, 0]
    x = pd.to_datetime(runs["as_of"]).to_numpy()
    p10, p50, p90 = (runs[c].to_numpy(dtype=float) for c in ("p10", "p50", "p90"))
    if len(x) > 1:
        ax.fill_between(x, p10, p90, color=BAND, alpha=0.5, linewidth=0, label="P10-P90")
    # Each run's own P10-P90 as a whisker at its date (the band only joins them).
    ax.vlines(x, p10, p90, color=FORECAST, linewidth=1.2,
              label=None if len(x) > 1 else "P10-P90")
    ax.plot(x, p50, color=FORECAST, linewidth=1.8, linestyle="--", marker="o", markersize=4,
            label="P50 of each run")
    if actual is not None and np.isfinite(actual):
        ax.axhline(actual, color=ACTUAL, linewidth=1.6, label=f"actual {tex_safe(money(actual))}")
    if target is not None and np.isfinite(target):
        ax.axhline(target, color=BAD, linewidth=1.2, linestyle=":", label="target")
    locator = AutoDateLocator(minticks=2, maxticks=4 if layout.narrow else 8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    if len(x) == 1:  # one run: a little room either side of its date
        day = np.timedelta64(7, "D")
        ax.set_xlim(x[0] - day, x[0] + day)
    ax.set_ylim(bottom=0)
    money_axis(ax, layout=layout)
    axis_label(ax, "run date (as-of)", layout, "x")
    axis_label(ax, "attributed ARR", layout)
    legend_above(fig, ax, layout, ncols=2 if layout.narrow else 4)
    return fig


def pacing_chart(daily: pd.DataFrame, as_of_day: int, target: float | None = None,
                 layout: Layout = WIDE) -> Figure:
    """In-quarter pacing: ARR won so far against the expected path and its P10-P90 band.

    Parameters
    ----------
    daily : pandas.DataFrame
        One row per day boundary of the quarter: date (ISO), won_to_date (NaN after the pacing
        date), p10, p50, p90 of the expected cumulative attributed ARR
        (:attr:`partner_forecast.evaluate.pacing.PacingResult.daily`).
    as_of_day : int
        The pacing date's row (a vertical line).
    target : float, optional
        The quarter's ARR target (a dotted line).
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    fig, axes = new_figure(layout, layout.size(3.2, 3.0))
    ax = axes[0, 0]
    x = pd.to_datetime(daily["date"]).to_numpy()
    p10, p50, p90 = (daily[c].to_numpy(dtype=float) for c in ("p10", "p50", "p90"))
    ax.fill_between(x, p10, p90, color=BAND, alpha=0.5, linewidth=0,
                    label="expected P10-P90")
    ax.plot(x, p50, color=FORECAST, linewidth=1.6, linestyle="--", label="expected P50")
    won = daily["won_to_date"].to_numpy(dtype=float)
    seen = np.isfinite(won)
    ax.step(x[seen], won[seen], where="post", color=ACTUAL, linewidth=2.0,
            label="won to date")
    ax.axvline(x[as_of_day], color=MUTED, linewidth=1.0, linestyle="-",
               label=f"as of {tex_safe(daily['date'].iloc[as_of_day])}")
    if target is not None and np.isfinite(target):
        ax.axhline(target, color=BAD, linewidth=1.2, linestyle=":", label="target")
    locator = AutoDateLocator(minticks=2, maxticks=4 if layout.narrow else 7)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(bottom=0)
    money_axis(ax, layout=layout)
    axis_label(ax, "date in the quarter", layout, "x")
    axis_label(ax, "attributed ARR won (cumulative)", layout)
    legend_above(fig, ax, layout, ncols=2 if layout.narrow else 5)
    return fig


def backtest_chart(per_quarter: pd.DataFrame, pits: np.ndarray, coverage: pd.DataFrame,
                   coverage_target: float = 0.8, layout: Layout = WIDE) -> Figure:
    """Backtest calibration: forecast vs actual per fold, PIT histogram, P10-P90 coverage.

    Three panels side by side (wide) or stacked (narrow).

    Parameters
    ----------
    per_quarter : pandas.DataFrame
        The model's total rows: quarter, actual, p10, p50, p90 (partner-attributed ARR).
    pits : numpy.ndarray
        PIT values in [0, 1] (flat is calibrated).
    coverage : pandas.DataFrame
        method, coverage, coverage_low, coverage_high (share of actuals inside P10-P90 and its
        Wilson interval).
    coverage_target : float
        The nominal coverage of the P10-P90 interval (0.8).
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    if layout.narrow:
        fig, axes = new_figure(layout, layout.size(3.4, 7.0), nrows=3, height_ratios=(1.6, 1.0, 0.9))
        panels = axes[:, 0]
    else:
        fig, axes = new_figure(layout, layout.size(3.4), ncols=3, width_ratios=(2.2, 1.0, 1.4))
        panels = axes[0, :]
    ax = panels[0]
    x = np.arange(len(per_quarter))
    p10, p50, p90 = (per_quarter[c].to_numpy(dtype=float) for c in ("p10", "p50", "p90"))
    ax.vlines(x, p10, p90, color=BAND, linewidth=8, label="P10-P90")
    ax.scatter(x, p50, color=FORECAST, marker="_", s=120, linewidths=2, label="P50", zorder=4)
    actual = per_quarter["actual"].to_numpy(dtype=float)
    inside = (actual >= p10) & (actual <= p90)
    ax.scatter(x, actual, c=[GOOD if i else BAD for i in inside], s=22, zorder=5, label="actual")
    ax.set_xticks(x, quarter_labels(per_quarter["quarter"], layout),
                  rotation=45 if len(x) > 6 else 0)
    ax.set_xlim(-0.6, len(x) - 0.4)
    money_axis(ax, layout=layout)
    ax.set_title("attributed ARR: forecast vs actual", fontsize=layout.title, loc="left", color=INK)
    ax.legend(fontsize=layout.text, frameon=False, ncols=3 if layout.narrow else 1)

    ax = panels[1]
    p = np.asarray(pits, dtype=float)
    p = p[np.isfinite(p)]
    bins = np.linspace(0, 1, 6 if len(p) < 20 else 11)
    ax.hist(p, bins=bins, color=BAND, edgecolor="white")
    if len(p):
        ax.axhline(len(p) / (len(bins) - 1), color=INK, linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    ax.set_title("PIT (flat = calibrated)", fontsize=layout.title, loc="left", color=INK)

    ax = panels[2]
    y = np.arange(len(coverage))
    cov = coverage["coverage"].to_numpy(dtype=float)
    low = coverage["coverage_low"].to_numpy(dtype=float)
    high = coverage["coverage_high"].to_numpy(dtype=float)
    ax.errorbar(cov, y, xerr=[cov - low, high - cov], fmt="o", color=FORECAST, ecolor=MUTED,
                capsize=3, markersize=4)
    ax.axvline(coverage_target, color=BAD, linestyle="--", linewidth=1)
    ax.set_yticks(y, [tex_safe(m) for m in coverage["method"]])
    ax.set_ylim(-0.8, len(y) - 0.2)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    ax.set_title(f"P10-P90 coverage (target {pct(coverage_target)})", fontsize=layout.title,
                 loc="left", color=INK)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    return fig


def conversion_chart(curves: pd.DataFrame, stages: Sequence[str], layout: Layout = WIDE) -> Figure:
    """P(won | stage) per partner type: learned (with interval when known) vs the seed table.

    Parameters
    ----------
    curves : pandas.DataFrame
        partner_type, stage, table_rate, learned_rate and optionally learned_rate_p10 /
        learned_rate_p90 (probabilities in [0, 1]).
    stages : sequence of str
        Open stages in funnel order (x axis).
    layout : Layout
        Wide (desktop) or narrow (phone).
    """
    types = list(dict.fromkeys(curves["partner_type"]))
    ncols = min(layout.panels, max(1, len(types)))
    nrows = int(np.ceil(len(types) / ncols)) if types else 1
    row = 1.7 if layout.narrow else 2.0
    fig, axes = new_figure(layout, (layout.width, row * nrows + 0.5), ncols=ncols, nrows=nrows,
                           sharey=True)
    x = np.arange(len(stages))
    for ax in axes.flat[len(types):]:
        ax.set_visible(False)
    for ax, ptype in zip(axes.flat, types, strict=False):
        part = curves[curves["partner_type"] == ptype].set_index("stage").reindex(list(stages))
        ax.plot(x, part["table_rate"], color=SEED, linestyle="--", marker="s", markersize=3,
                linewidth=1.2, label="seed table")
        if "learned_rate_p10" in part and part["learned_rate_p10"].notna().any():
            ax.fill_between(x, part["learned_rate_p10"], part["learned_rate_p90"], color=BAND,
                            alpha=0.6, linewidth=0, label="learned P10-P90")
        ax.plot(x, part["learned_rate"], color=FORECAST, marker="o", markersize=3, linewidth=1.6,
                label="learned")
        ax.set_title(tex_safe(ptype), fontsize=layout.title, loc="left", color=INK)
        ax.set_xticks(x, [tex_safe(s[:4]) for s in stages])
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3 if layout.narrow else 5))
    legend_above(fig, axes.flat[0], layout, ncols=3)
    return fig


__all__ = ["backtest_chart", "conversion_chart", "history_band_chart", "pacing_chart", "waterfall_chart"]
