"""The executive report's charts as a PDF (matplotlib's PdfPages): a cover page, then one chart a page.

The PDF carries the headline, every chart with its title and reading, and the meta; tables stay
in the HTML report (and in the ``--format xlsx`` exports of the table commands).
"""

from __future__ import annotations

import io
import textwrap

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from partner_forecast.reports.charts.style import tex_safe
from partner_forecast.reports.document import ExecutiveReport

A4_LANDSCAPE = (11.69, 8.27)


def _cover(report: ExecutiveReport) -> Figure:
    fig = Figure(figsize=A4_LANDSCAPE)
    y = 0.92
    fig.text(0.06, y, tex_safe(report.title), fontsize=20, weight="bold", va="top")
    y -= 0.07
    for line in textwrap.wrap(report.headline, 110):
        fig.text(0.06, y, tex_safe(line), fontsize=12, va="top")
        y -= 0.035
    y -= 0.02
    for block in report.blocks:
        fig.text(0.06, y, tex_safe(block.title), fontsize=11, weight="bold", va="top")
        y -= 0.03
        for chart in block.charts():
            for line in textwrap.wrap(chart.reading, 130):
                fig.text(0.08, y, tex_safe(line), fontsize=8, va="top")
                y -= 0.022
    y -= 0.01
    meta = "; ".join(f"{k}: {v}" for k, v in report.meta.items() if not isinstance(v, list | dict))
    for line in textwrap.wrap(meta, 150)[:6]:
        fig.text(0.06, y, tex_safe(line), fontsize=7, color="#616e7c", va="top")
        y -= 0.02
    for w in report.warnings[:8]:
        fig.text(0.06, y, tex_safe(textwrap.shorten(f"WARNING: {w}", 160)), fontsize=7,
                 color="#c0392b", va="top")
        y -= 0.02
    return fig


def render_pdf(report: ExecutiveReport) -> bytes:
    """The report as PDF bytes: a cover page with the readings, then each chart on its own page."""
    buf = io.BytesIO()
    with PdfPages(buf, metadata={"Title": report.title, "Creator": "partner-forecast",
                                 "CreationDate": None}) as pdf:
        pdf.savefig(_cover(report))
        for chart in report.charts():
            fig = chart.figure
            fig.suptitle(tex_safe(f"{chart.title}\n{textwrap.fill(chart.reading, 120)}"), fontsize=9,
                         x=0.01, ha="left")
            pdf.savefig(fig)
            fig.suptitle("")
    return buf.getvalue()


__all__ = ["render_pdf"]
