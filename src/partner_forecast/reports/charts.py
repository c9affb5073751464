"""The executive report's charts: plain inputs in, a matplotlib :class:`~matplotlib.figure.Figure` out.

Figures are built with the object-oriented API (no ``pyplot`` state, no display backend), so
they can be made in worker processes, tests and notebooks alike; :func:`png_bytes` renders one.
Every function takes the numbers it draws (tidy frames or arrays) and computes nothing that a
metric, forecast or evaluation function already gives. ARR axes are in currency per year.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from partner_forecast.reports.formatting import money, multiple, pct

INK = "#1f2933"
MUTED = "#7b8794"
ACTUAL = "#1f2933"
FORECAST = "#2f6fb3"
BAND = "#9cc3e6"
GOOD = "#2e8540"
BAD = "#c0392b"
WARN = "#d4880f"
SEED = "#7b8794"
PALETTE = ("#2f6fb3", "#e07b39", "#2e8540", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#d4ac0d")
WIDE = (8.0, 3.6)


def tex_safe(text: str) -> str:
    """Escape ``$`` so matplotlib never reads two amounts (``$1k-$2k``) as mathtext."""
    return text.replace("$", r"\$")


def new_figure(size: tuple[float, float] = WIDE, ncols: int = 1, nrows: int = 1,
               **kwargs: object) -> tuple[Figure, np.ndarray]:
    """A figure and its axes array (always 2-D), styled for the report."""
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kwargs)
    for ax in axes.flat:
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(colors=INK, labelsize=8)
        ax.grid(axis="y", color="#e4e7eb", linewidth=0.6)
        ax.set_axisbelow(True)
    return fig, axes


def money_axis(ax: Axes, axis: str = "y") -> None:
    """Format an axis as money (``$1.2M``)."""
    fmt = FuncFormatter(lambda v, _pos: tex_safe(money(v)) if v else "0")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(fmt)


def png_bytes(fig: Figure, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (no timestamps or software metadata: same figure, same bytes)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()


def message_figure(text: str, size: tuple[float, float] = (8.0, 1.2)) -> Figure:
    """A figure holding only a sentence (for a chart whose data is missing)."""
    fig = Figure(figsize=size)
    fig.text(0.5, 0.5, tex_safe(text), ha="center", va="center", color=MUTED, fontsize=10, wrap=True)
    return fig


# -- forecast -------------------------------------------------------------------------------------
def fan_chart(history: pd.DataFrame, forecast: pd.DataFrame,
              targets: pd.DataFrame | None = None, title: str = "", join: bool = True) -> Figure:
    """Quarterly partner ARR: actuals for history, P10-P90 band and P50 line for the horizon.

    Parameters
    ----------
    history : pandas.DataFrame
        quarter (label), actual: realised partner-attributed ARR of past quarters.
    forecast : pandas.DataFrame
        quarter, p10, p50, p90 of the forecast quarters (in order).
    targets : pandas.DataFrame, optional
        quarter, arr_target: drawn as ticks where given.
    title : str
        Axes title.
    join : bool
        Open the fan from the last actual (when the forecast starts the quarter after it).
    """
    fig, axes = new_figure()
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
    ax.set_xticks(range(len(labels)), labels, rotation=0 if len(labels) <= 10 else 45)
    ax.set_ylim(bottom=0)
    money_axis(ax)
    ax.set_ylabel("partner ARR won", fontsize=8, color=INK)
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    if title:
        ax.set_title(title, fontsize=10, color=INK, loc="left")
    return fig


def distribution_chart(draws: np.ndarray, quarter: str, target: float | None = None,
                       p_at_least: float | None = None, quantiles: Sequence[float] | None = None
                       ) -> Figure:
    """Histogram of one quarter's partner ARR draws, P10/P50/P90 marks and the target line.

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
    """
    fig, axes = new_figure()
    ax = axes[0, 0]
    d = np.asarray(draws, dtype=float)
    q = np.quantile(d, (0.1, 0.5, 0.9)) if quantiles is None else np.asarray(quantiles, dtype=float)
    bins = min(60, max(10, int(np.sqrt(len(d)))))
    ax.hist(d, bins=bins, color=BAND, edgecolor="white", linewidth=0.4)
    for value, name, style in zip(q, ("P10", "P50", "P90"), (":", "--", ":"), strict=True):
        ax.axvline(value, color=FORECAST, linestyle=style, linewidth=1.4)
        ax.annotate(tex_safe(f"{name} {money(value)}"), (value, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(3, -10), textcoords="offset points", fontsize=7, color=FORECAST)
    if target is not None and np.isfinite(target):
        ax.axvline(target, color=BAD, linewidth=2)
        text = f"target {money(target)}"
        if p_at_least is not None:
            text += f"\nP(>= target) {pct(p_at_least)}"
        ax.annotate(tex_safe(text), (target, 0.75), xycoords=("data", "axes fraction"), xytext=(4, 0),
                    textcoords="offset points", fontsize=8, color=BAD)
    money_axis(ax, "x")
    ax.set_yticks([])
    ax.set_xlabel(f"partner ARR won in {quarter} ({len(d):,} simulated draws)", fontsize=8, color=INK)
    return fig


def arr_by_type_chart(by_type: pd.DataFrame, marketplace: pd.Series | None = None) -> Figure:
    """Stacked bars of partner ARR by partner type per quarter, marketplace ARR as its own line.

    Parameters
    ----------
    by_type : pandas.DataFrame
        Index: quarter labels (in order); one column per partner type (partner-attributed ARR).
    marketplace : pandas.Series, optional
        Marketplace ARR per quarter (same index).
    """
    fig, axes = new_figure()
    ax = axes[0, 0]
    x = np.arange(len(by_type))
    bottom = np.zeros(len(by_type))
    for i, col in enumerate(by_type.columns):
        values = by_type[col].to_numpy(dtype=float)
        ax.bar(x, values, bottom=bottom, color=PALETTE[i % len(PALETTE)], width=0.7, label=str(col))
        bottom += values
    if marketplace is not None and len(marketplace):
        ax.plot(x, marketplace.to_numpy(dtype=float), color=INK, marker="s", markersize=4,
                linewidth=1.4, label="marketplace ARR")
    ax.set_xticks(x, list(by_type.index), rotation=0 if len(x) <= 10 else 45)
    money_axis(ax)
    ax.legend(fontsize=7, frameon=False, ncols=4, loc="upper left")
    ax.set_ylim(0, max(1.0, float(bottom.max()) if len(bottom) else 1.0) * 1.25)
    return fig


# -- pipeline -------------------------------------------------------------------------------------
def coverage_chart(coverage: pd.DataFrame) -> Figure:
    """Pipeline coverage of the ARR target by partner type, against the required multiple.

    Parameters
    ----------
    coverage : pandas.DataFrame
        partner_type, coverage (pipeline / target), required_coverage (the rows of
        :func:`partner_forecast.metrics.coverage.pipeline_coverage` that have a target).
    """
    fig, axes = new_figure()
    ax = axes[0, 0]
    x = np.arange(len(coverage))
    cov = coverage["coverage"].to_numpy(dtype=float)
    req = coverage["required_coverage"].to_numpy(dtype=float)
    # One partner type far above the rest would flatten every other bar: cap the axis.
    cap = max(3.0 * float(np.nanmax(req)) if len(req) else 1.0, 1.0)
    shown = np.minimum(cov, cap)
    colors = [GOOD if c >= r else BAD for c, r in zip(cov, req, strict=True)]
    ax.bar(x, shown, color=colors, width=0.6)
    ax.scatter(x, req, marker="_", s=600, color=INK, linewidths=2, zorder=5, label="required")
    for xi, c, h in zip(x, cov, shown, strict=True):
        ax.annotate(multiple(c) + (" (cut)" if c > cap else ""), (xi, h), xytext=(0, 2),
                    textcoords="offset points", ha="center", fontsize=8, color=INK)
    ax.set_ylim(0, cap * 1.12)
    ax.set_xticks(x, list(coverage["partner_type"]))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}x"))
    ax.set_ylabel("pipeline / target", fontsize=8, color=INK)
    ax.legend(fontsize=8, frameon=False)
    return fig


def pipeline_bars(pipeline: pd.DataFrame) -> Figure:
    """Open pipeline by partner type (when there is no target to measure coverage against).

    Parameters
    ----------
    pipeline : pandas.DataFrame
        partner_type, pipeline_arr.
    """
    fig, axes = new_figure()
    ax = axes[0, 0]
    ax.bar(np.arange(len(pipeline)), pipeline["pipeline_arr"], color=FORECAST, width=0.6)
    ax.set_xticks(np.arange(len(pipeline)), list(pipeline["partner_type"]))
    money_axis(ax)
    return fig


def pipeline_mix_chart(trend: pd.DataFrame) -> Figure:
    """Open pipeline per quarter split by partner role, with the QoQ growth printed.

    Parameters
    ----------
    trend : pandas.DataFrame
        :func:`partner_forecast.metrics.pipeline.pipeline_trend` rows: quarter,
        sourced_pipeline_arr, influenced_pipeline_arr, co_sell_pipeline_arr, pipeline_arr,
        pipeline_growth_qoq.
    """
    fig, axes = new_figure()
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
            ax.annotate(f"{100 * g:+.0f}% QoQ", (xi, t), xytext=(0, 2), textcoords="offset points",
                        ha="center", fontsize=7, color=GOOD if g > 0 else BAD)
    ax.set_xticks(x, list(trend["quarter"]))
    money_axis(ax)
    ax.set_ylim(0, max(1.0, float(top.max()) if len(top) else 1.0) * 1.2)
    ax.legend(fontsize=7, frameon=False, ncols=4, loc="upper left")
    return fig


# -- accuracy -------------------------------------------------------------------------------------
def waterfall_chart(start_label: str, start: float, steps: Sequence[tuple[str, float]],
                    end_label: str, end: float) -> Figure:
    """A variance waterfall: forecast mean, one bar per driver, actual.

    Parameters
    ----------
    start_label, start : str, float
        The first bar (e.g. the forecast mean).
    steps : sequence of (str, float)
        Driver contributions (positive raise, negative lower), in order.
    end_label, end : str, float
        The last bar (the actual); ``start + sum(steps)`` equals it when the lines sum exactly.
    """
    fig, axes = new_figure((8.0, 3.8))
    ax = axes[0, 0]
    labels = [start_label, *(s for s, _ in steps), end_label]
    level = float(start)
    ax.bar(0, start, color=FORECAST, width=0.6)
    for i, (_, value) in enumerate(steps, start=1):
        color = GOOD if value >= 0 else BAD
        ax.bar(i, value, bottom=level, color=color, width=0.6)
        label = tex_safe(money(value) if value < 0 else "+" + money(value))
        ax.annotate(label, (i, max(level, level + value)), xytext=(0, 2), textcoords="offset points",
                    ha="center", fontsize=7, color=INK)
        ax.plot([i - 0.7, i + 0.3], [level, level], color=MUTED, linewidth=0.6)
        level += value
    ax.bar(len(labels) - 1, end, color=ACTUAL, width=0.6)
    for i, v in ((0, start), (len(labels) - 1, end)):
        ax.annotate(tex_safe(money(v)), (i, v), xytext=(0, 2), textcoords="offset points", ha="center",
                    fontsize=8, color=INK)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=7)
    money_axis(ax)
    return fig


def backtest_chart(per_quarter: pd.DataFrame, pits: np.ndarray, coverage: pd.DataFrame,
                   coverage_target: float = 0.8) -> Figure:
    """Backtest calibration: forecast vs actual per fold, PIT histogram, P10-P90 coverage.

    Parameters
    ----------
    per_quarter : pandas.DataFrame
        The model's total rows: quarter, actual, p10, p50, p90.
    pits : numpy.ndarray
        PIT values in [0, 1] (flat is calibrated).
    coverage : pandas.DataFrame
        method, coverage, coverage_low, coverage_high (share of actuals inside P10-P90 and its
        Wilson interval).
    coverage_target : float
        The nominal coverage of the P10-P90 interval (0.8).
    """
    fig, axes = new_figure((9.0, 3.4), ncols=3, width_ratios=(2.2, 1.0, 1.4))
    ax = axes[0, 0]
    x = np.arange(len(per_quarter))
    p10, p50, p90 = (per_quarter[c].to_numpy(dtype=float) for c in ("p10", "p50", "p90"))
    ax.vlines(x, p10, p90, color=BAND, linewidth=8, label="P10-P90")
    ax.scatter(x, p50, color=FORECAST, marker="_", s=120, linewidths=2, label="P50", zorder=4)
    actual = per_quarter["actual"].to_numpy(dtype=float)
    inside = (actual >= p10) & (actual <= p90)
    ax.scatter(x, actual, c=[GOOD if i else BAD for i in inside], s=22, zorder=5, label="actual")
    ax.set_xticks(x, list(per_quarter["quarter"]), rotation=45 if len(x) > 6 else 0, fontsize=7)
    money_axis(ax)
    ax.set_title("forecast vs actual", fontsize=9, loc="left", color=INK)
    ax.legend(fontsize=7, frameon=False)

    ax = axes[0, 1]
    p = np.asarray(pits, dtype=float)
    p = p[np.isfinite(p)]
    bins = np.linspace(0, 1, 6 if len(p) < 20 else 11)
    ax.hist(p, bins=bins, color=BAND, edgecolor="white")
    if len(p):
        ax.axhline(len(p) / (len(bins) - 1), color=INK, linestyle="--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_title("PIT (flat = calibrated)", fontsize=9, loc="left", color=INK)

    ax = axes[0, 2]
    y = np.arange(len(coverage))
    cov = coverage["coverage"].to_numpy(dtype=float)
    low = coverage["coverage_low"].to_numpy(dtype=float)
    high = coverage["coverage_high"].to_numpy(dtype=float)
    ax.errorbar(cov, y, xerr=[cov - low, high - cov], fmt="o", color=FORECAST, ecolor=MUTED,
                capsize=3, markersize=4)
    ax.axvline(coverage_target, color=BAD, linestyle="--", linewidth=1)
    ax.set_yticks(y, list(coverage["method"]), fontsize=7)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_title("P10-P90 coverage", fontsize=9, loc="left", color=INK)
    ax.grid(axis="x", color="#e4e7eb", linewidth=0.6)
    return fig


def conversion_chart(curves: pd.DataFrame, stages: Sequence[str]) -> Figure:
    """P(won | stage) per partner type: learned (with interval when known) vs the seed table.

    Parameters
    ----------
    curves : pandas.DataFrame
        partner_type, stage, table_rate, learned_rate and optionally learned_low /
        learned_high (probabilities in [0, 1]).
    stages : sequence of str
        Open stages in funnel order (x axis).
    """
    types = list(dict.fromkeys(curves["partner_type"]))
    ncols = min(4, max(1, len(types)))
    nrows = int(np.ceil(len(types) / ncols)) if types else 1
    fig, axes = new_figure((2.2 * ncols + 0.6, 2.0 * nrows + 0.4), ncols=ncols, nrows=nrows,
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
                            linewidth=0)
        ax.plot(x, part["learned_rate"], color=FORECAST, marker="o", markersize=3, linewidth=1.6,
                label="learned")
        ax.set_title(str(ptype), fontsize=9, loc="left", color=INK)
        ax.set_xticks(x, [s[:4] for s in stages], fontsize=7)
        ax.set_ylim(0, 1)
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    axes.flat[0].legend(fontsize=7, frameon=False, loc="upper left")
    return fig


# -- productivity ---------------------------------------------------------------------------------
def asr_caterpillar(asr: pd.DataFrame, target: float | None = None, label_limit: int = 40) -> Figure:
    """Active Seller Rate per partner with its interval, sorted; paper partnerships marked.

    Parameters
    ----------
    asr : pandas.DataFrame
        partner_id, asr, lower, upper (0-1) and paper (bool); optionally observed (the raw ASR,
        drawn as crosses when ``asr`` is a posterior estimate).
    target : float, optional
        ASR target (horizontal line, e.g. 0.15).
    label_limit : int
        Partner ids are written on the axis when there are at most this many partners.
    """
    frame = asr.sort_values(["asr", "partner_id"], kind="stable").reset_index(drop=True)
    width = 8.0 if len(frame) <= 60 else 9.0
    fig, axes = new_figure((width, 3.8))
    ax = axes[0, 0]
    x = np.arange(len(frame))
    paper = frame["paper"].to_numpy(dtype=bool)
    mid = frame["asr"].to_numpy(dtype=float)
    lo = np.clip(mid - frame["lower"].to_numpy(dtype=float), 0, None)
    hi = np.clip(frame["upper"].to_numpy(dtype=float) - mid, 0, None)
    for mask, color, name in ((~paper, FORECAST, "partner"), (paper, BAD, "paper partnership")):
        if mask.any():
            ax.errorbar(x[mask], mid[mask], yerr=[lo[mask], hi[mask]], fmt="o", color=color,
                        ecolor=color, elinewidth=0.8 if len(x) > 60 else 1.2, alpha=0.85,
                        markersize=2.5 if len(x) > 60 else 4, capsize=0, label=name)
    if "observed" in frame:
        ax.scatter(x, frame["observed"].to_numpy(dtype=float), marker="x", s=10 if len(x) > 60 else 18,
                   color=MUTED, linewidths=0.8, label="observed", zorder=4)
    if target is not None:
        ax.axhline(target, color=GOOD, linestyle="--", linewidth=1.2, label=f"target {pct(target)}")
    if len(frame) <= label_limit:
        ax.set_xticks(x, list(frame["partner_id"]), rotation=90, fontsize=6)
    else:
        ax.set_xticks([])
        ax.set_xlabel(f"{len(frame):,} partners, sorted by ASR", fontsize=8, color=INK)
    seen = [frame[c].to_numpy(dtype=float) for c in ("upper", "observed") if c in frame]
    top = np.nanmax(np.concatenate([*seen, [target or 0.0, 0.05]]))
    ax.set_ylim(0, min(1.0, 1.15 * float(top) + 0.02))
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylabel("active seller rate", fontsize=8, color=INK)
    ax.legend(fontsize=7, frameon=False, loc="upper left")
    return fig


# -- scenarios and growth -------------------------------------------------------------------------
def scenario_chart(deltas: pd.DataFrame) -> Figure:
    """Scenario deltas from the baseline: P50 with the P10-P90 range of the draw-by-draw delta.

    Parameters
    ----------
    deltas : pandas.DataFrame
        scenario, delta_p10, delta_p50, delta_p90, and optionally quarter (one row per scenario
        and quarter, one segment): a row each, grouped by scenario.
    """
    fig, axes = new_figure((8.0, 0.8 + 0.32 * max(2, len(deltas))))
    ax = axes[0, 0]
    y = np.arange(len(deltas))[::-1]
    p10, p50, p90 = (deltas[c].to_numpy(dtype=float) for c in ("delta_p10", "delta_p50", "delta_p90"))
    ax.hlines(y, p10, p90, color=BAND, linewidth=7)
    ax.scatter(p50, y, color=[GOOD if v >= 0 else BAD for v in p50], zorder=5, s=26)
    ax.axvline(0, color=INK, linewidth=0.8)
    labels = (list(deltas["scenario"]) if "quarter" not in deltas else
              [f"{s}  {q}" for s, q in zip(deltas["scenario"], deltas["quarter"], strict=True)])
    ax.set_yticks(y, labels, fontsize=8)
    ax.margins(y=0.12)
    money_axis(ax, "x")
    ax.grid(axis="x", color="#e4e7eb", linewidth=0.6)
    ax.set_xlabel("change in partner ARR vs baseline (P10-P90 band, P50 dot)", fontsize=8, color=INK)
    return fig


def growth_chart(trend: pd.DataFrame) -> Figure:
    """Ecosystem growth per quarter in four small panels.

    Parameters
    ----------
    trend : pandas.DataFrame
        quarter, new_pipeline_partners, engaged_sellers, marketplace_arr, expansion_arr.
    """
    fig, axes = new_figure((9.0, 3.6), ncols=4)
    panels = (("new_pipeline_partners", "partners with first pipeline", False),
              ("engaged_sellers", "engaged sellers", False),
              ("marketplace_arr", "marketplace ARR", True),
              ("expansion_arr", "expansion ARR", True))
    x = np.arange(len(trend))
    for i, (ax, (col, title, is_money)) in enumerate(zip(axes.flat, panels, strict=True)):
        ax.bar(x, trend[col].to_numpy(dtype=float), color=PALETTE[i], width=0.6)
        ax.set_title(title, fontsize=9, loc="left", color=INK)
        ax.set_xticks(x, [str(q)[2:] for q in trend["quarter"]], fontsize=7, rotation=45)
        if is_money:
            money_axis(ax)
        else:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


__all__ = ["tex_safe", "arr_by_type_chart", "asr_caterpillar", "backtest_chart", "conversion_chart",
           "coverage_chart", "distribution_chart", "fan_chart", "growth_chart", "message_figure",
           "money_axis", "new_figure", "pipeline_bars", "pipeline_mix_chart", "png_bytes",
           "scenario_chart", "waterfall_chart"]
