r"""Layouts, colours and the shared helpers of every chart; PNG rendering.

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
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from partner_forecast.formatting import money

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
               **kwargs: Any) -> tuple[Figure, np.ndarray]:
    """A figure and its axes array (always 2-D), styled for the report and ``layout``.

    ``kwargs`` go to :meth:`matplotlib.figure.Figure.subplots` (sharey, width_ratios, ...).
    """
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


def category_height(n: int, layout: Layout) -> float:
    """Height of a horizontal bar chart of ``n`` categories."""
    return 0.9 + (0.3 if layout.narrow else 0.32) * max(n, 2)


def bar_rows_figure(n: int, layout: Layout) -> tuple[Figure, Axes, np.ndarray]:
    """A horizontal bar chart of ``n`` rows: figure, axes (x grid only), y positions (top first)."""
    fig, axes = new_figure(layout, layout.size(category_height(n, layout),
                                               category_height(n, layout)))
    ax = axes[0, 0]
    ax.grid(False)
    ax.grid(axis="x", color=GRID, linewidth=0.6)
    return fig, ax, np.arange(n)[::-1]


__all__ = ["ACTUAL", "BAD", "BAND", "CSS_PX_PER_INCH", "FORECAST", "GOOD", "GRID", "INK", "LAYOUTS",
           "Layout", "MUTED", "NARROW", "PALETTE", "SEED", "WARN", "WIDE", "axis_label",
           "bar_rows_figure", "category_height", "legend_above", "money_axis", "new_figure", "png_bytes",
           "quarter_labels", "tex_safe", "wrap"]
