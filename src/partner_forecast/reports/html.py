"""Render an :class:`~partner_forecast.reports.executive.ExecutiveReport` as one self-contained HTML file.

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

import pandas as pd

from partner_forecast.reports.charts import png_bytes
from partner_forecast.reports.executive import Block, Chart, ExecutiveReport, Note, Table
from partner_forecast.reports.formatting import count, money, multiple, pct, signed_money, signed_pct

CSS = """
:root { --ink:#1f2933; --muted:#616e7c; --line:#e4e7eb; --bg:#f7f8fa; --accent:#2f6fb3; --bad:#c0392b; }
* { box-sizing: border-box; }
body { margin:0; font: 14px/1.45 -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       color:var(--ink); background:var(--bg); }
header, main, footer { max-width: 1080px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; }
h1 { font-size: 24px; margin: 0 0 4px; }
.sub { color: var(--muted); margin: 0 0 14px; }
.headline { font-size: 17px; background:#fff; border-left: 4px solid var(--accent); padding: 12px 16px;
            margin: 0 0 12px; }
nav { margin: 6px 0 18px; font-size: 13px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; }
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
.table { margin: 8px 0 16px; overflow-x: auto; }
table { border-collapse: collapse; font-size: 12px; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { text-align: left; background: var(--bg); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
footer { font-size: 12px; color: var(--muted); padding-bottom: 32px; }
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; }
footer dt { font-weight: 600; } footer dd { margin: 0; word-break: break-all; }
.warn { color: var(--bad); }
@media print { body { background:#fff; } section { break-inside: avoid-page; } }
"""

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

    ``kind`` is one of money, signed_money, pct, signed_pct, signed_points (a percentage already
    multiplied by 100), multiple, count, number.
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Real):
        v = float(value)
        if math.isnan(v):
            return ""
        if kind == "money":
            return money(v)
        if kind == "signed_money":
            return signed_money(v)
        if kind == "pct":
            return pct(v, 1 if abs(v) < 0.1 else 0)
        if kind == "signed_pct":
            return signed_pct(v)
        if kind == "signed_points":
            return f"{v:+.1f}%"
        if kind == "multiple":
            return multiple(v)
        if kind == "count":
            return count(v)
        if float(v).is_integer() and abs(v) < 1e15:
            return f"{int(v):,}"
        return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}"
    return str(value)


def table_html(frame: pd.DataFrame, formats: Mapping[str, str] | None = None) -> str:
    """An HTML table of ``frame`` with formatted, escaped cells (numbers right-aligned)."""
    formats = formats or {}
    if frame.empty:
        return '<p class="note">(no rows)</p>'
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    numeric = [pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
               for c in frame.columns]
    rows = []
    for row in frame.itertuples(index=False):
        cells = []
        for value, col, num in zip(row, frame.columns, numeric, strict=True):
            cls = ' class="num"' if num else ""
            cells.append(f"<td{cls}>{_e(format_value(value, formats.get(str(col))))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def chart_html(chart: Chart) -> str:
    """A ``<figure>`` with the chart as an embedded PNG, its reading and method note."""
    data = base64.b64encode(png_bytes(chart.figure)).decode("ascii")
    note = f'<span class="method">{_e(chart.note)}</span>' if chart.note else ""
    return (f'<figure id="chart-{_e(chart.key)}"><h3>{_e(chart.title)}</h3>'
            f'<img src="data:image/png;base64,{data}" alt="{_e(chart.reading)}">'
            f'<figcaption><span class="reading">{_e(chart.reading)}</span>{note}</figcaption></figure>')


def _item_html(item: Chart | Table | Note) -> str:
    if isinstance(item, Chart):
        return chart_html(item)
    if isinstance(item, Table):
        reading = f'<p class="reading">{_e(item.reading)}</p>' if item.reading else ""
        return (f'<div class="table" id="table-{_e(item.key)}"><h3>{_e(item.title)}</h3>{reading}'
                f"{table_html(item.frame, item.formats)}</div>")
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
    meta = "".join(f"<dt>{_e(k)}</dt><dd>{_e(_meta_value(v))}</dd>" for k, v in report.meta.items())
    parts = [f"<dl>{meta}</dl>"]
    parts.append("<h3>Model diagnostics</h3>")
    parts.append(table_html(report.diagnostics) if not report.diagnostics.empty
                 else '<p class="note">No model fit in this report.</p>')
    if report.warnings:
        items = "".join(f"<li>{_e(w)}</li>" for w in report.warnings)
        parts.append(f'<h3 class="warn">Warnings</h3><ul class="warn">{items}</ul>')
    else:
        parts.append("<h3>Warnings</h3><p>None.</p>")
    if report.degraded:
        items = "".join(f"<li>{_e(d)}</li>" for d in report.degraded)
        parts.append(f"<h3>Left out</h3><ul>{items}</ul>")
    parts.append("<p>ARR is annual recurring revenue, partner-attributed (sourced 100%, co-sell 50%, "
                 "influenced 25% or its influence %, fulfillment 0%) unless marked gross; P10/P50/P90 "
                 "are the 10th/50th/90th percentiles of the simulated draws.</p>")
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


__all__ = ["CSS", "block_html", "chart_html", "footer_html", "format_value", "render_html", "table_html"]
