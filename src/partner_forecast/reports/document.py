"""The executive report as a document: blocks of charts, tables and notes, and its footer's meta.

:func:`partner_forecast.reports.executive.build_report` assembles an :class:`ExecutiveReport`;
:mod:`partner_forecast.reports.html` and :mod:`partner_forecast.reports.pdf` render it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from partner_forecast.reports.charts.style import WIDE, Layout


@dataclass
class Chart:
    """A chart, its one-line reading (computed from its numbers) and an optional method note.

    ``draw(layout=...)`` makes the figure for a :class:`~partner_forecast.reports.charts.style.Layout`
    (the wide desktop one or the narrow phone one); each is drawn once, on first use.
    """

    key: str
    title: str
    reading: str
    draw: Callable[..., Figure]
    note: str = ""
    _figures: dict[str, Figure] = field(default_factory=dict, repr=False)

    def figure_for(self, layout: Layout) -> Figure:
        """The figure drawn for ``layout`` (cached)."""
        if layout.name not in self._figures:
            self._figures[layout.name] = self.draw(layout=layout)
        return self._figures[layout.name]

    @property
    def figure(self) -> Figure:
        """The wide (desktop, PDF) figure."""
        return self.figure_for(WIDE)

    def close(self) -> None:
        """Release the figures drawn so far."""
        for fig in self._figures.values():
            fig.clear()
        self._figures.clear()


@dataclass
class Table:
    """A table shown under a block.

    ``formats`` maps columns to a kind of :func:`partner_forecast.reports.html.format_value`
    (money, pct, multiple, count, ...; the rest is inferred from the column's name);
    ``labels`` maps columns to their header in words (the rest come from
    :func:`partner_forecast.reports.labels.column_label`).
    """

    key: str
    title: str
    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    reading: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Note:
    """A sentence in place of a missing part (why it is missing, how to get it)."""

    text: str


Item = Chart | Table | Note


@dataclass
class Block:
    """One dashboard block: a title, what it shows, and its charts, tables and notes."""

    key: str
    title: str
    summary: str
    items: list[Item] = field(default_factory=list)

    def charts(self) -> list[Chart]:
        """The block's charts, in order."""
        return [i for i in self.items if isinstance(i, Chart)]


@dataclass
class ExecutiveReport:
    """The assembled report, ready for :func:`partner_forecast.reports.html.render_html`.

    Attributes
    ----------
    title : str
        Report title.
    headline : str
        The one sentence an executive reads first (next quarter's P50 and chance of target).
    blocks : list of Block
        The five dashboard blocks, then scenarios when given.
    meta : dict
        as-of, quarters, data and config (path and fingerprint), version, seed, draws, run id.
    diagnostics : pandas.DataFrame
        Model fit diagnostics (one row per model; empty without a forecast).
    warnings : list of str
        Fit, data-quality and review warnings.
    degraded : list of str
        Parts left out and why.
    """

    title: str
    headline: str
    blocks: list[Block]
    meta: dict[str, Any]
    diagnostics: pd.DataFrame
    warnings: list[str]
    degraded: list[str]

    def charts(self) -> list[Chart]:
        """Every chart, block by block."""
        return [c for b in self.blocks for c in b.charts()]

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by key (e.g. to write them as a workbook)."""
        return {i.key: i.frame for b in self.blocks for i in b.items if isinstance(i, Table)}

    def readings(self) -> dict[str, str]:
        """Each chart's reading by chart key."""
        return {c.key: c.reading for c in self.charts()}

    def close(self) -> None:
        """Release the charts' figures."""
        for c in self.charts():
            c.close()


__all__ = ["Block", "Chart", "ExecutiveReport", "Item", "Note", "Table"]
