"""Content hashes of an export or as-of view: what a backtest fold saw, comparable across runs.

A fold records :func:`view_digest` of the view it was given; the leak check
(:mod:`partner_forecast.evaluate.leakage`) compares :func:`view_digests` table by table.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from partner_forecast.data.convert import ROW_COLUMN
from partner_forecast.data.export import Export
from partner_forecast.data.schema import TABLES


def table_digest(frame: pd.DataFrame) -> str:
    """Order-independent content hash of a frame (columns by name, rows as a multiset).

    The source line column (``_row``) is left out: line numbers say nothing about the data.
    """
    cols = sorted(c for c in frame.columns if c != ROW_COLUMN)
    digest = hashlib.sha256(",".join(cols).encode())
    if len(frame) and cols:
        norm = frame[cols].astype(object).where(frame[cols].notna(), None)
        rows = np.sort(pd.util.hash_pandas_object(norm, index=False).to_numpy())
        digest.update(rows.tobytes())
    return digest.hexdigest()[:16]


def view_digests(export: Export) -> dict[str, str]:
    """:func:`table_digest` of every contract table, plus the as-of date."""
    out = {name: table_digest(getattr(export, name)) for name in TABLES}
    out["as_of_date"] = "" if export.as_of_date is None else export.as_of_date.date().isoformat()
    return out


def view_digest(export: Export) -> str:
    """One content hash of an export (or as-of view): tables and as-of date, not its source."""
    parts = view_digests(export)
    return hashlib.sha256("|".join(f"{k}={v}" for k, v in sorted(parts.items())).encode()).hexdigest()[:16]


__all__ = ["table_digest", "view_digest", "view_digests"]
