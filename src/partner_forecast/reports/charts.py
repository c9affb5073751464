r"""The executive report's charts: plain inputs in, a matplotlib :class:`~matplotlib.figure.Figure` out.

Figures are built with the object-oriented API (no ``pyplot`` state, no display backend), so
they can be made in worker processes, tests and notebooks alike; :func:`png_bytes` renders one.
Every function takes the numbers it draws (tidy frames or arrays) and computes nothing that a
metric, forecast or evaluation function already gives. ARR axes are in currency per year.

Each chart is drawn for a :class:`Layout`: :data:`WIDE` for a desktop page and :data:`NARROW`
for a phone (a 400 px wide screen). The HTML page shows the figure at ``layout.width`` inches x
96 CSS px, so a text of ``s`` points is ``s * 96 / 72`` CSS px tall there: the narrow layout keeps
every text at 7.5 pt or more (10 CSS px), stacks side-by-side panels, turns long category axes
horizontal and moves legends out of the plot.

Every string that comes from the data (partner ids and types, scenario names, field names) goes
through :func:`tex_safe`: matplotlib reads text between two ``$`` as mathtext, which mangles
``$1k-$2k`` and raises on an id such as ``P$\x$2``.
"""

from __future__ import annotations

import io
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from partner_forecast.formatting import money, multiple, pct

INK = "#1f2933"
MUTED = "#7b8794"
ACTUAL = "#1f2933"
FORECAST = "#2f6fb3"
BAND = "#9cc3e6"
GOOD = "#2e8540"
BAD = "#c0392b"
WARN = "#d4880f"
SEED = "#7b8794"
GRID = "#e4e7eb"
PALETTE = ("#2f6fb3", "#e07b39", "#2e8540", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#d4ac0d")
CSS_PX_PER_INCH = 96
"""CSS pixels per inch: the page shows a figure ``width`` inches wide at ``96 * width`` px."""


@dataclass(frozen=True)
class Layout:
    """Geometry and type sizes of the figures for one display width.

    Attributes
    ----------
    name : str
        ``"wide"`` or ``"narrow"``.
    width : float
        Figure width in inches (shown at ``width * 96`` CSS px).
    text : float
        Size in points of every tick label, axis label, legend and annotation: the smallest
        text of a figure.
    title : float
        Size in points of panel titles.
    panels : int
        Panels side by side at most.
    dpi : int
        Rendering resolution (1.25x the CSS pixels for desktops, 1.67x for phones).
    """

    name: str
    width: float
    text: float
    title: float
    panels: int
    dpi: int

    @property
    def narrow(self) -> bool:
        """True for the phone layout."""
        return self.name == "narrow"

    def size(self, wide_height: float, narrow_height: float | None = None) -> tuple[float, float]:
        """``(width, height)`` in inches: this layout's width, the height given for it."""
        return (self.width, wide_height if not self.narrow or narrow_height is None else narrow_height)


WIDE = Layout("wide", width=8.8, text=9.0, title=10.0, panels=4, dpi=120)
NARROW = Layout("narrow", width=3.6, text=7.5, title=8.5, panels=2, dpi=160)
LAYOUTS = (WIDE, NARROW)


def tex_safe(text: object) -> str:
    """``text`` as a string with ``$`` escaped, so matplotlib never reads it as mathtext."""
    return str(text).replace("$", r"\$")


def quarter_labels(labels: Sequence[object], layout: Layout) -> list[str]:
    """Quarter labels for an axis: ``2025Q3`` shortened to ``25Q3`` on the narrow layout."""
    out = [str(q) for q in labels]
    if layout.narrow:
        out = [q[2:] if re.fullmatch(r"\d{4}Q\d", q) else q for q in out]
    return [tex_safe(q) for q in out]


def wrap(text: object, width: int) -> str:
    """``text`` (escaped) wrapped at ``width`` characters."""
    return "\n".join(textwrap.wrap(tex_safe(text), width)) or tex_safe(text)


def new_figure(layout: Layout, size: tuple[float, float], ncols: int = 1, nrows: int = 1,
               **kwargs: object) -> tuple[Figure, np.ndarray]:
    """A figure and its axes array (always 2-D), styled for the report and ``layout``."""
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    for ax in axes.flat:
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(colors=INK, labelsize=layout.text)
        ax.grid(axis="y", color=GRID, linewidth=0.6)
        ax.set_axisbelow(True)
    return fig, axes


def money_axis(ax: Axes, axis: str = "y", layout: Layout = WIDE) -> None:
    """Format an axis as money (``$1.2M``), with fewer ticks on the narrow layout."""
    fmt = FuncFormatter(lambda v, _pos: tex_safe(money(v)) if v else "0")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(fmt)
    target.set_major_locator(MaxNLocator(nbins=4 if layout.narrow else 6))


def legend_above(fig: Figure, ax: Axes, layout: Layout, ncols: int | None = None) -> None:
    """The axes' legend above the plot area, outside the data (never over bars or lines)."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    n = ncols or (2 if layout.narrow else min(len(handles), 5))
    fig.legend(handles, labels, loc="outside upper left", ncols=n, fontsize=layout.text,
               frameon=False, handlelength=1.5, columnspacing=1.0)


def axis_label(ax: Axes, text: str, layout: Layout, axis: str = "y") -> None:
    """An axis label in the report's style (wrapped on the narrow layout)."""
    label = wrap(text, 34 if axis == "x" else 28) if layout.narrow else tex_safe(text)
    (ax.set_ylabel if axis == "y" else ax.set_xlabel)(label, fontsize=layout.text, color=INK)


def png_bytes(fig: Figure, dpi: int = WIDE.dpi) -> bytes:
    """The figure as PNG bytes (no timestamps or software metadata: same figure, same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def message_figure(text: str, layout: Layout = WIDE) -> Figure:
    """A figure holding only a sentence (for a chart whose data is missing)."""
    fig = Figure(figsize=layout.size(1.2, 1.6))
    fig.text(0.5, 0.5, wrap(text, 48 if layout.narrow else 110), ha="center", va="center",
             color=MUTED, fontsize=layout.text)
    return fig


# -- forecast -------------------------------------------------------------------------------------
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


# -- pipeline -------------------------------------------------------------------------------------
def _category_height(n: int, layout: Layout) -> float:
    """Height of a horizontal bar chart of ``n`` categories."""
    return 0.9 + (0.3 if layout.narrow else 0.32) * max(n, 2)


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
    fig, axes = new_figure(layout, layout.size(_category_height(n, layout),
                                               _category_height(n, layout)))
    ax = axes[0, 0]
    ax.grid(False)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    y = np.arange(n)[::-1]
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
    fig, axes = new_figure(layout, layout.size(_category_height(n, layout),
                                               _category_height(n, layout)))
    ax = axes[0, 0]
    ax.grid(False)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    y = np.arange(n)[::-1]
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


# -- accuracy -------------------------------------------------------------------------------------
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
    fig, axes = new_figure(layout, layout.size(_category_height(n, layout),
                                               _category_height(n, layout)))
    ax = axes[0, 0]
    ax.grid(False)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    y = np.arange(n)[::-1]
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
        partner_type, stage, table_rate, learned_rate and optionally learned_low /
        learned_high (probabilities in [0, 1]).
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
        if "learned_low" in part and part["learned_low"].notna().any():
            ax.fill_between(x, part["learned_low"], part["learned_high"], color=BAND, alpha=0.6,
                            linewidth=0, label="learned P10-P90")
        ax.plot(x, part["learned_rate"], color=FORECAST, marker="o", markersize=3, linewidth=1.6,
                label="learned")
        ax.set_title(tex_safe(ptype), fontsize=layout.title, loc="left", color=INK)
        ax.set_xticks(x, [tex_safe(s[:4]) for s in stages])
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.yaxis.set_major_locator(MaxNLocator(nbins=3 if layout.narrow else 5))
    legend_above(fig, axes.flat[0], layout, ncols=3)
    return fig


# -- productivity ---------------------------------------------------------------------------------
def asr_caterpillar(asr: pd.DataFrame, target: float | None = None, label_limit: int | None = None,
                    layout: Layout = WIDE) -> Figure:
    """Active Seller Rate per partner with its interval, sorted; paper partnerships marked.

    Parameters
    ----------
    asr : pandas.DataFrame
        partner_id, asr, lower, upper (0-1) and paper (bool); optionally observed (the raw ASR,
        drawn as crosses when ``asr`` is a posterior estimate).
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
    lo = np.clip(mid - frame["lower"].to_numpy(dtype=float), 0, None)
    hi = np.clip(frame["upper"].to_numpy(dtype=float) - mid, 0, None)
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
    seen = [frame[c].to_numpy(dtype=float) for c in ("upper", "observed") if c in frame]
    top = np.nanmax(np.concatenate([*seen, [target or 0.0, 0.05]]))
    ax.set_ylim(0, min(1.0, 1.1 * float(top) + 0.02))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axis_label(ax, "active seller rate", layout)
    legend_above(fig, ax, layout, ncols=2 if layout.narrow else 4)
    return fig


# -- scenarios and growth -------------------------------------------------------------------------
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


# -- data quality ---------------------------------------------------------------------------------
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
    fig, axes = new_figure(layout, layout.size(_category_height(n, layout),
                                               _category_height(n, layout)))
    ax = axes[0, 0]
    ax.grid(False)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    y = np.arange(n)[::-1]
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


__all__ = ["CSS_PX_PER_INCH", "LAYOUTS", "Layout", "NARROW", "WIDE", "arr_by_type_chart",
           "asr_caterpillar", "backtest_chart", "completeness_chart", "conversion_chart",
           "coverage_chart", "distribution_chart", "fan_chart", "growth_chart", "message_figure",
           "money_axis", "new_figure", "outcome_split_chart", "pipeline_bars", "pipeline_mix_chart",
           "png_bytes", "quarter_labels", "scenario_chart", "tex_safe", "waterfall_chart", "wrap"]
