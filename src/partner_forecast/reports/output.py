"""Render result tables as text/CSV/JSON/XLSX and write files atomically.

Every output carries a metadata block (as-of date, data fingerprint, config fingerprint,
code version and anything else the command records) so that a number can be traced back to
what produced it.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

FORMATS = ("table", "csv", "json", "xlsx")


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [_jsonable(r) for r in value.to_dict(orient="records")]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return value


def to_json(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any]) -> str:
    """JSON document: ``{"meta": {...}, "<table>": [records...], ...}``."""
    doc = {"meta": _jsonable(dict(meta))}
    for name, frame in tables.items():
        doc[name] = _jsonable(frame)
    return json.dumps(doc, indent=2, default=str) + "\n"


def _format_cell(v: Any) -> str:
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, float | np.floating):
        av = abs(float(v))
        if av >= 1000:
            return f"{v:,.0f}"
        if av >= 1 or av == 0:
            return f"{v:.2f}".rstrip("0").rstrip(".") if av < 100 else f"{v:.1f}"
        return f"{v:.3f}"
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat()
    return str(v)


def to_text(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any]) -> str:
    """Aligned plain-text tables, one per section, with a short metadata footer.

    An ``alert`` in ``meta`` (e.g. models that failed their diagnostics) is printed first.
    """
    out = io.StringIO()
    if meta.get("alert"):
        out.write(f"!! {meta['alert']}\n\n")
    for name, frame in tables.items():
        out.write(f"== {name} ==\n")
        if frame.empty:
            out.write("(no rows)\n\n")
            continue
        cells = [[_format_cell(v) for v in row] for row in frame.itertuples(index=False)]
        header = [str(c) for c in frame.columns]
        widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
        numeric = [pd.api.types.is_numeric_dtype(frame[c]) for c in frame.columns]

        def line(values: list[str], widths: list[int] = widths,
                 numeric: list[bool] = numeric) -> str:
            return "  ".join(v.rjust(w) if num else v.ljust(w)
                             for v, w, num in zip(values, widths, numeric, strict=True)).rstrip()

        out.write(line(header) + "\n")
        out.write("  ".join("-" * w for w in widths) + "\n")
        for r in cells:
            out.write(line(r) + "\n")
        out.write("\n")
    if meta:
        shown = {k: v for k, v in meta.items() if not isinstance(v, Mapping | list)}
        out.write("; ".join(f"{k}: {_jsonable(v)}" for k, v in shown.items()) + "\n")
        for w in meta.get("warnings", []) or []:
            out.write(f"WARNING: {w}\n")
    return out.getvalue()


CSV_SPLIT_HINT = ("several tables follow, each after its '# table: NAME' line; "
                  "--output-dir DIR writes one CSV file per table instead")


def to_csv(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any]) -> str:
    """CSV of the table (or all tables, each preceded by a ``# table: NAME`` line).

    Lines starting with ``#`` carry the metadata and, with several tables, say how to split
    them (:data:`CSV_SPLIT_HINT`).
    """
    out = io.StringIO()
    for k, v in meta.items():
        if not isinstance(v, Mapping | list):
            out.write(f"# {k}: {_jsonable(v)}\n")
    many = len(tables) > 1
    if many:
        out.write(f"# tables: {', '.join(tables)} -- {CSV_SPLIT_HINT}\n")
    for name, frame in tables.items():
        if many:
            out.write(f"# table: {name}\n")
        frame.to_csv(out, index=False, lineterminator="\n")
    return out.getvalue()


def csv_files(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any]) -> dict[str, str]:
    """One plain CSV per table (``<table>.csv``) and ``meta.csv`` (key, value), by file name."""
    files = {f"{name}.csv": frame.to_csv(index=False, lineterminator="\n")
             for name, frame in tables.items()}
    rows = [(k, json.dumps(_jsonable(v), default=str) if isinstance(v, Mapping | list)
             else _jsonable(v)) for k, v in meta.items()]
    files["meta.csv"] = pd.DataFrame(rows, columns=["key", "value"]).to_csv(
        index=False, lineterminator="\n")
    return files


MONEY_FORMAT = '"$"#,##0'
PERCENT_FORMAT = "0.0%"
POINTS_FORMAT = '0.0"%"'
NUMBER_FORMAT = "#,##0.00"
_MONEY = re.compile(r"(^|_)(arr|target|deal_size|productivity|pipeline)(_|$)"
                    r"|^(attributed|gross|committed|upside|marketplace|expansion|baseline|delta"
                    r"|delta_draw)_(p\d+|mean)$|^(p\d+|mean|actual|expected_arr|won_arr)$")
_SHARE = re.compile(r"(^|_)(rate|share|ratio|asr)$|(^|_)growth(_|$)|^p_|^pct_|_pct$"
                    r"|^attribution$")
_POINTS = re.compile(r"^delta_.*_pct$")  # already x 100 (e.g. delta_mean_pct = 32.7 -> 32.7%)


def xlsx_number_format(column: str) -> str | None:
    """Excel number format of a float column, from its name (None: leave as is).

    ARR and targets (currency per year) as whole currency, shares (0-1: rates, probabilities,
    ``*_pct`` shares) as percentages, ``delta_*_pct`` (already in percent points) with a % sign,
    any other float with two decimals.
    """
    name = column.lower()
    if _POINTS.search(name):
        return POINTS_FORMAT
    if _SHARE.search(name):
        return PERCENT_FORMAT
    if _MONEY.search(name):
        return MONEY_FORMAT
    return NUMBER_FORMAT


def _format_sheet(sheet: Any, frame: pd.DataFrame) -> None:
    """Apply :func:`xlsx_number_format` to the float columns (and per-row KPI units)."""
    units = frame["unit"].astype(str).tolist() if {"unit", "value"} <= set(frame.columns) else None
    by_unit = {"share": PERCENT_FORMAT, "arr": MONEY_FORMAT}
    for j, column in enumerate(frame.columns, start=1):
        if not pd.api.types.is_float_dtype(frame[column]):
            continue
        fmt = xlsx_number_format(str(column))
        for i in range(len(frame)):
            cell_fmt = fmt
            if units is not None and column in ("value", "target", "numerator", "denominator"):
                cell_fmt = by_unit.get(units[i], NUMBER_FORMAT) if column in ("value", "target") \
                    else NUMBER_FORMAT
            sheet.cell(row=i + 2, column=j).number_format = cell_fmt


def to_xlsx(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any]) -> bytes:
    """Workbook with one sheet per table and a ``meta`` sheet (as-of, fingerprints, diagnostics).

    Float cells carry number formats (:func:`xlsx_number_format`): currency for ARR, percent
    for shares, two decimals otherwise; the stored values keep full precision.
    """
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for name, frame in tables.items():
            frame.to_excel(xl, sheet_name=name[:31], index=False)
            _format_sheet(xl.sheets[name[:31]], frame)
        rows = [(k, json.dumps(_jsonable(v), default=str) if isinstance(v, Mapping | list)
                 else _jsonable(v)) for k, v in meta.items()]
        pd.DataFrame(rows, columns=["key", "value"]).to_excel(xl, sheet_name="meta", index=False)
    return buf.getvalue()


def render(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any], fmt: str) -> str | bytes:
    """Render ``tables`` in ``fmt`` (one of :data:`FORMATS`)."""
    if fmt == "json":
        return to_json(tables, meta)
    if fmt == "csv":
        return to_csv(tables, meta)
    if fmt == "xlsx":
        return to_xlsx(tables, meta)
    return to_text(tables, meta)
