"""Render an :class:`~partner_forecast.reports.document.ExecutiveReport` as one self-contained HTML file.

Built with the standard library (:class:`string.Template` and :func:`html.escape`): the page is a
fixed skeleton around escaped text, so a template engine would add a dependency and little else.
Charts are embedded as base64 PNG (``data:`` URIs), CSS is inline, there is no JavaScript and
no external reference of any kind: the file opens offline, in a mail client or an archive.
"""

from __future__ import annotations

import base64
import html
import json
import math
from collections.abc import Mapping
from numbers import Real
from string import Template
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.formatting import count, money, multiple, pct, signed_money, signed_pct
from partner_forecast.reports.charts.style import CSS_PX_PER_INCH, NARROW, WIDE, Layout, png_bytes
from partner_forecast.reports.document import Block, Chart, ExecutiveReport, Note, Table
from partner_forecast.reports.labels import DIAGNOSTICS_FORMATS, column_label, infer_kind

BREAKPOINT_PX = 720
"""Screens at most this wide (CSS px) get the narrow (phone) charts and the compact page."""

CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f7f8fa; --accent:#2f6fb3; --bad:#c0392b; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin:0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color:var(--ink); background:var(--bg); overflow-wrap: break-word; }
header, main, footer { max-width: 1080px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; }
h1 { font-size: 24px; margin: 0 0 4px; }
.sub { color: var(--muted); margin: 0 0 14px; }
.headline { font-size: 17px; background:#fff; border-left: 4px solid var(--accent); padding: 12px 16px;
            margin: 0 0 12px; }
nav { margin: 6px 0 18px; font-size: 13px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; display: inline-block; }
section { background:#fff; border:1px solid var(--line); border-radius:6px; padding: 16px 20px;
          margin: 0 0 18px; }
h2 { font-size: 18px; margin: 0 0 4px; }
.summary { color: var(--muted); margin: 0 0 12px; }
figure { margin: 10px 0 18px; }
figure h3, .table h3 { font-size: 14px; margin: 0 0 6px; }
figure img { max-width: 100%; height: auto; display:block; }
figcaption { margin-top: 4px; }
.reading { font-weight: 600; }
.method { color: var(--muted); font-size: 12px; display:block; }
.note { color: var(--muted); font-style: italic; }
.table { margin: 8px 0 16px; max-width: 100%; overflow-x: auto; }
table { border-collapse: collapse; font-size: 12px; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); }
th { text-align: left; background: var(--bg); vertical-align: bottom; font-weight: 600; }
td { white-space: nowrap; }
td.text { white-space: normal; min-width: 8em; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
footer { font-size: 12px; color: var(--muted); padding-bottom: 32px; }
footer dl { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: 2px 12px; }
footer dt { font-weight: 600; } footer dd { margin: 0; word-break: break-all; }
.warn { color: var(--bad); }
@media (max-width: BREAKPOINTpx) {
  header, main, footer { padding-left: 10px; padding-right: 10px; }
  header { padding-top: 16px; }
  h1 { font-size: 20px; }
  .headline { font-size: 15px; padding: 10px 12px; }
  section { padding: 12px; }
  footer dl { grid-template-columns: minmax(0, 1fr); }
  footer dd { margin-bottom: 4px; }
}
@media print { body { background:#fff; } section { break-inside: avoid-page; } }
""".replace("BREAKPOINT", str(BREAKPOINT_PX))

PAGE = Template("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="partner-forecast $version">
<title>$title</title>
<style>$css</style>
</head>
<body>
<header>
<h1>$title</h1>
<p class="sub">$subtitle</p>
<p class="headline">$headline</p>
<nav>$nav</nav>
</header>
<main>
$blocks
</main>
<footer>
<h2>About this report</h2>
$footer
</footer>
</body>
</html>
""")


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def format_value(value: Any, kind: str | None = None) -> str:
    """A table cell as text, by ``kind`` or a sensible default for the value's type.

    ``kind`` is one of money ($1.8M, $18.2k), signed_money, pct (a share in [0, 1] as a
    percentage), signed_pct, signed_points (a percentage already multiplied by 100), multiple
    (3.0x), ratio (1.05x), count (12,345), decimal, rhat (1.004), seconds (12.3 s). Numbers
    never come out in scientific notation.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, Real):
        v = float(value)
        if math.isnan(v):
            return ""
        if math.isinf(v):
            return "n/a"
        if kind == "money":
            return money(v)
        if kind == "signed_money":
            return signed_money(v)
        if kind == "pct":
            return pct(v, 1 if 0 < abs(v) < 0.1 else 0)
        if kind == "signed_pct":
            return signed_pct(v)
        if kind == "signed_points":
            return f"{v:+.1f}%"
        if kind == "multiple":
            return multiple(v)
        if kind == "ratio":
            return f"{v:.2f}x"
        if kind == "count":
            return count(v)
        if kind == "rhat":
            return f"{v:.3f}"
        if kind == "seconds":
            return f"{v:,.1f} s"
        if kind is None and float(v).is_integer():
            return count(v)
        return _decimal(v)
    return str(value)


def _decimal(v: float) -> str:
    """A plain number with as many decimals as its size needs (never ``1.821e+04``)."""
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def table_html(frame: pd.DataFrame, formats: Mapping[str, str] | None = None,
               labels: Mapping[str, str] | None = None) -> str:
    """An HTML table of ``frame``: headers in words, formatted and escaped cells.

    Parameters
    ----------
    frame : pandas.DataFrame
        The rows.
    formats : mapping, optional
        Column -> kind of :func:`format_value`; other numeric columns get
        :func:`~partner_forecast.reports.labels.infer_kind`'s.
    labels : mapping, optional
        Column -> header; other columns get :func:`~partner_forecast.reports.labels.column_label`.
    """
    formats = dict(formats or {})
    labels = labels or {}
    if frame.empty:
        return '<p class="note">(no rows)</p>'
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    kinds = [formats.get(str(c)) or infer_kind(c, frame[c]) for c in frame.columns]
    head = "".join(f"<th{' class=\"num\"' if num else ''}>{_e(labels.get(str(c)) or column_label(c))}</th>"
                   for c, num in zip(frame.columns, numeric, strict=True))
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for value, kind, num in zip(row, kinds, numeric, strict=True):
            text = format_value(value, kind)
            cls = ' class="num"' if num else (' class="text"' if len(text) > 24 else "")
            cells.append(f"<td{cls}>{_e(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _png(chart: Chart, layout: Layout) -> tuple[str, int, int]:
    """The chart drawn for ``layout`` as a data URI, and its CSS width and height in px."""
    fig = chart.figure_for(layout)
    data = base64.b64encode(png_bytes(fig, layout.dpi)).decode("ascii")
    width, height = fig.get_size_inches()
    return (f"data:image/png;base64,{data}", round(width * CSS_PX_PER_INCH),
            round(height * CSS_PX_PER_INCH))


def chart_html(chart: Chart) -> str:
    """A ``<figure>``: the chart as embedded PNGs (wide, and narrow for phones), reading and note.

    A ``<picture>`` picks the narrow drawing on screens up to :data:`BREAKPOINT_PX` wide;
    each image is shown at its drawing's size in CSS px (96 per inch) or narrower, never wider.
    """
    wide, ww, wh = _png(chart, WIDE)
    narrow, nw, nh = _png(chart, NARROW)
    note = f'<span class="method">{_e(chart.note)}</span>' if chart.note else ""
    return (f'<figure id="chart-{_e(chart.key)}"><h3>{_e(chart.title)}</h3><picture>'
            f'<source media="(max-width: {BREAKPOINT_PX}px)" srcset="{narrow}" width="{nw}" '
            f'height="{nh}"><img src="{wide}" width="{ww}" height="{wh}" alt="{_e(chart.reading)}">'
            f'</picture><figcaption><span class="reading">{_e(chart.reading)}</span>{note}'
            f"</figcaption></figure>")


def _item_html(item: Chart | Table | Note) -> str:
    if isinstance(item, Chart):
        return chart_html(item)
    if isinstance(item, Table):
        reading = f'<p class="reading">{_e(item.reading)}</p>' if item.reading else ""
        return (f'<div class="table" id="table-{_e(item.key)}"><h3>{_e(item.title)}</h3>{reading}'
                f"{table_html(item.frame, item.formats, item.labels)}</div>")
    return f'<p class="note">{_e(item.text)}</p>'


def block_html(block: Block) -> str:
    """One dashboard block as a ``<section>``."""
    items = "\n".join(_item_html(i) for i in block.items)
    return (f'<section id="{_e(block.key)}"><h2>{_e(block.title)}</h2>'
            f'<p class="summary">{_e(block.summary)}</p>\n{items}</section>')


def _meta_value(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, Mapping):
        return json.dumps(value, default=str)
    return str(value)


def footer_html(report: ExecutiveReport) -> str:
    """The meta (as-of, fingerprints, config, run), diagnostics, warnings and left-out parts."""
    meta = "".join(f'<dt title="{_e(k)}">{_e(column_label(k))}</dt><dd>{_e(_meta_value(v))}</dd>'
                   for k, v in report.meta.items())
    parts = [f"<dl>{meta}</dl>"]
    parts.append("<h3>Model diagnostics</h3>")
    parts.append(f'<div class="table" id="table-diagnostics">'
                 f"{table_html(report.diagnostics, DIAGNOSTICS_FORMATS)}</div>"
                 if not report.diagnostics.empty
                 else '<p class="note">No model fit in this report.</p>')
    if report.warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in report.warnings)
        parts.append(f'<h3 class="warn">Warnings</h3><ul class="warn">{items}</ul>')
    else:
        parts.append("<h3>Warnings</h3><p>None.</p>")
    if report.degraded:
        items = "".join(f"<li>{_e(d)}</li>" for d in report.degraded)
        parts.append(f"<h3>Left out</h3><ul>{items}</ul>")
    parts.append("<p>ARR is annual recurring revenue in currency per year. Each chart and table names "
                 "its basis: attributed ARR is a deal's ARR times its partner role's weight (sourced "
                 "100%, co-sell 50%, influenced 25% or its influence %, fulfillment 0%), gross ARR "
                 "the deal's full ARR. P10/P50/P90 are the 10th/50th/90th percentiles of the "
                 "simulated draws.</p>")
    return "\n".join(parts)


def render_html(report: ExecutiveReport) -> str:
    """The whole report as one self-contained HTML document."""
    nav = "".join(f'<a href="#{_e(b.key)}">{_e(b.title)}</a>' for b in report.blocks)
    quarters = report.meta.get("quarters") or []
    subtitle = (f"As of {report.meta.get('as_of')}"
                + (f" | forecast {quarters[0]}-{quarters[-1]}" if len(quarters) > 1
                   else f" | forecast {quarters[0]}" if quarters else "")
                + f" | data {report.meta.get('data', '')}")
    return PAGE.substitute(
        version=_e(report.meta.get("version", "")), title=_e(report.title), css=CSS,
        subtitle=_e(subtitle), headline=_e(report.headline), nav=nav,
        blocks="\n".join(block_html(b) for b in report.blocks), footer=footer_html(report))


__all__ = ["BREAKPOINT_PX", "CSS", "block_html", "chart_html", "footer_html", "format_value",
           "render_html", "table_html"]
