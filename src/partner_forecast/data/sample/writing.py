"""Writing a generated sample: one file per table (CSV or Parquet) and ``truth.json``.

Every file is first written beside its target under a temporary name and then moved into
place, so an interrupted run never leaves a half-written file; files of the other format (or
an old ``field_history``) with a table's name are removed, so the folder holds one export.
"""

from __future__ import annotations

import dataclasses
import io
import os
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from partner_forecast.data.sample.generate import generate_tables
from partner_forecast.data.sample.truth import Truth

PARQUET_OVER_MB = 25.0  # CSV exports above this write their biggest table(s) as Parquet
OPTIONAL_OUTPUTS = ("field_history",)  # removed when a run does not write them
_SUFFIXES = (".csv", ".parquet", ".pq")


def csv_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Text form of a typed frame: ISO dates, lower-case booleans, '' for missing."""
    out = pd.DataFrame(index=df.index)
    for c in df.columns:
        col = df[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            out[c] = col.dt.strftime("%Y-%m-%d").fillna("")
        elif isinstance(col.dtype, pd.BooleanDtype):
            out[c] = col.map({True: "true", False: "false"}, na_action="ignore").fillna("")
        else:
            out[c] = col.astype(object).where(col.notna(), "").astype(str)
    return out


def table_bytes(df: pd.DataFrame, fmt: str) -> bytes:
    """The file content of a table in ``fmt`` (``"csv"`` or ``"parquet"``, zstd)."""
    if fmt == "parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False, engine="pyarrow", compression="zstd")
        return buf.getvalue()
    return csv_frame(df).to_csv(index=False, lineterminator="\n").encode("utf-8")


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _remove_table_files(folder: Path, name: str, keep: Path | None = None) -> None:
    for suffix in _SUFFIXES:
        p = folder / f"{name}{suffix}"
        if p != keep:
            p.unlink(missing_ok=True)


def generate_sample(out_dir: str | Path, partners: int = 300, quarters: int = 12,
                    seed: int = 2026, start: str | pd.Timestamp = "2024-01-01",
                    fmt: str = "csv", parquet_over_mb: float | None = PARQUET_OVER_MB,
                    progress: Callable[[str], None] | None = None,
                    profiles: str | Iterable[str] | None = None,
                    field_history: bool = False) -> Truth:
    """Write a synthetic CRM export (every contract file) and its ``truth.json`` to ``out_dir``.

    Parameters
    ----------
    out_dir
        Folder to write into (created if missing). Contract files of the other format with the
        same name are removed so the folder holds one version of each table.
    partners, quarters, seed, start
        See :func:`generate_tables`; the export date is ``start + quarters`` quarters.
    fmt
        ``"csv"`` or ``"parquet"``.
    parquet_over_mb
        With ``fmt="csv"``: when the CSV files total more than this many MB, the activities
        table (the biggest) is written as Parquet instead. ``None`` never switches.
    progress
        Called with a short message at each step.
    profiles
        Profiles to switch on (``"a,b"`` or names), see :mod:`.profiles`; none: the default.
    field_history
        Also write ``field_history`` (opportunity_id, field, value, changed_on): the flags'
        value at creation and every later change.

    Returns
    -------
    Truth
        The true parameters and realised totals (also written to ``truth.json``).

    Raises
    ------
    ValueError
        A bad format, size or start, or unknown / conflicting profiles (nothing is written).

    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"format must be 'csv' or 'parquet', got {fmt!r}")
    say = progress or (lambda msg: None)
    tables, truth = generate_tables(partners, quarters, seed, start, progress,
                                    profiles=profiles, field_history=field_history)
    content = {name: (fmt, table_bytes(df, fmt)) for name, df in tables.items()}
    total = sum(len(data) for _, data in content.values())
    if fmt == "csv" and parquet_over_mb is not None and total > parquet_over_mb * 1e6:
        content["activities"] = ("parquet", table_bytes(tables["activities"], "parquet"))
        say(f"CSV total above {parquet_over_mb:g} MB: activities written as Parquet")
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, int] = {}
    for name, (table_fmt, data) in content.items():
        path = folder / f"{name}.{table_fmt}"
        write_atomic(path, data)
        _remove_table_files(folder, name, keep=path)
        sizes[name] = len(data)
    for name in OPTIONAL_OUTPUTS:
        if name not in content:
            _remove_table_files(folder, name)
    settings = dict(truth.settings, format=fmt,
                    files={name: table_fmt for name, (table_fmt, _) in content.items()})
    truth = dataclasses.replace(truth, settings=settings)
    write_atomic(folder / "truth.json", truth.to_json().encode("utf-8"))
    say(f"wrote {folder} ({sum(sizes.values()) / 1e6:.1f} MB: "
        + ", ".join(f"{k} {v / 1e6:.1f}" for k, v in sizes.items()) + ")")
    return truth
