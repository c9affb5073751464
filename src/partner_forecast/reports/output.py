"""Render result tables as text/CSV/JSON/XLSX and write files atomically.

Every output carries a metadata block (as-of date, data fingerprint, config fingerprint,
code version and anything else the command records) so that a number can be traced back to
what produced it.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

FORMATS = ("table", "csv", "json", "xlsx")


def atomic_write(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` via a temporary file and rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode("utf-8") if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


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
    """Aligned plain-text tables, one per section, with a short metadata footer."""
    out = io.StringIO()
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


def to_csv(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any]) -> str:
    """CSV of the first table (or all tables, each preceded by a ``# table`` line)."""
    out = io.StringIO()
    for k, v in meta.items():
        if not isinstance(v, Mapping | list):
            out.write(f"# {k}: {_jsonable(v)}\n")
    many = len(tables) > 1
    for name, frame in tables.items():
        if many:
            out.write(f"# table: {name}\n")
        frame.to_csv(out, index=False, lineterminator="\n")
    return out.getvalue()


def to_xlsx(tables: Mapping[str, pd.DataFrame], meta: Mapping[str, Any]) -> bytes:
    """Workbook with one sheet per table and a ``meta`` sheet (as-of, fingerprints, diagnostics)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        for name, frame in tables.items():
            frame.to_excel(xl, sheet_name=name[:31], index=False)
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
