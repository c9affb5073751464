"""Read an export folder into typed tables, collecting every cell-level problem.

Each file is read as text first (so that a bad cell is reported with its row and value rather
than silently coerced), then converted column by column following :mod:`.schema`. Rows are
numbered as in the file: the header is row 1, the first record row 2.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.schema import (
    BOOL_FALSE,
    BOOL_TRUE,
    LABEL_ALIASES,
    LABEL_SETS,
    TABLES,
    Column,
    Table,
    normalise_label,
)
from partner_forecast.errors import Problem

ROW_COLUMN = "_row"  # line number in the source file, kept on every typed table


@dataclass
class RawTable:
    """A file read as text: its path, the text frame and the file row of each record."""

    table: Table
    path: Path
    frame: pd.DataFrame


def find_file(folder: Path, name: str) -> Path | None:
    """The file holding table ``name`` in ``folder`` (``name.csv`` or ``name.parquet``)."""
    for suffix in (".csv", ".parquet", ".pq", ".CSV"):
        p = folder / f"{name}{suffix}"
        if p.exists():
            return p
    return None


def _read_text_frame(path: Path, problems: list[Problem]) -> pd.DataFrame | None:
    """Read a CSV/Parquet file with every cell as a string ('' for missing)."""
    fname = path.name
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many types for corrupt files
            problems.append(Problem(fname, None, None, None, f"cannot read Parquet file: {exc}"))
            return None
        out = pd.DataFrame(index=df.index)
        for c in df.columns:
            col = df[c]
            if pd.api.types.is_datetime64_any_dtype(col):
                s = col.dt.strftime("%Y-%m-%d")
            else:
                s = col.astype(object).map(lambda v: "" if v is None or v is pd.NA else str(v))
            out[str(c)] = s.fillna("").astype(str).replace({"nan": "", "NaT": "", "None": ""})
        return out.reset_index(drop=True)
    raw = path.read_bytes()
    if not raw.strip():
        problems.append(Problem(fname, None, None, None, "file is empty (no header row)"))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(Problem(fname, line, None, None,
                                f"file is not UTF-8 encoded (byte 0x{raw[exc.start]:02x}); "
                                "re-export it as UTF-8"))
        return None
    from io import StringIO

    try:
        df = pd.read_csv(StringIO(text), dtype=str, keep_default_na=False, na_filter=False,
                         skipinitialspace=True)
    except pd.errors.ParserError as exc:
        problems.append(Problem(fname, None, None, None, f"malformed CSV: {exc}"))
        return None
    except pd.errors.EmptyDataError:
        problems.append(Problem(fname, None, None, None, "file is empty (no header row)"))
        return None
    df.columns = [str(c).strip().lower() for c in df.columns]
    return df


def read_raw(folder: str | Path, problems: list[Problem]) -> dict[str, RawTable]:
    """Read every contract file in ``folder`` as text, appending file-level problems."""
    folder = Path(folder)
    if not folder.is_dir():
        problems.append(Problem(str(folder), None, None, None, "export folder not found"))
        return {}
    out: dict[str, RawTable] = {}
    for table in TABLES.values():
        path = find_file(folder, table.name)
        if path is None:
            if not table.optional:
                problems.append(Problem(f"{table.name}.csv", None, None, None,
                                        "required file is missing (expected "
                                        f"{table.name}.csv or {table.name}.parquet)"))
            continue
        frame = _read_text_frame(path, problems)
        if frame is None:
            continue
        missing = [c for c in table.required_columns if c not in frame.columns]
        if missing and len(frame.columns) == 1:
            header = frame.columns[0]
            for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes")):
                if sep in header:
                    problems.append(Problem(path.name, 1, None, header,
                                            f"file looks delimited by {name}; use commas"))
                    break
            else:
                for c in missing:
                    problems.append(Problem(path.name, 1, c, None, "required column is missing"))
            continue
        for c in missing:
            problems.append(Problem(path.name, 1, c, None, "required column is missing"))
        if missing:
            continue
        if frame.empty and table.name in ("partners", "opportunities", "sellers"):
            problems.append(Problem(path.name, None, None, None, "file has a header but no rows"))
        out[table.name] = RawTable(table, path, frame)
    return out


def _closest(value: str, choices: tuple[str, ...]) -> str:
    match = difflib.get_close_matches(value, choices, n=1, cutoff=0.0)
    return match[0] if match else choices[0]


def _convert_column(raw: RawTable, col: Column, problems: list[Problem]) -> pd.Series:
    """Convert one text column to its typed form, appending a problem per bad cell."""
    fname = raw.path.name
    text = raw.frame[col.name].astype(str).str.strip()
    empty = text.eq("")
    rows = raw.frame.index.to_numpy() + 2

    def report(mask: pd.Series | np.ndarray, message: str, with_hint=None) -> None:
        for i in np.flatnonzero(np.asarray(mask)):
            value = text.iloc[i]
            msg = message if with_hint is None else with_hint(value)
            problems.append(Problem(fname, int(rows[i]), col.name, value, msg))

    if col.required:
        report(empty, "required value is empty")

    if col.kind in ("id", "text"):
        return text.where(~empty, None).astype(object)
    if col.kind == "label":
        assert col.labels is not None
        choices = LABEL_SETS[col.labels]
        aliases = LABEL_ALIASES.get(col.labels, {})
        norm = text.map(normalise_label).map(lambda v: aliases.get(v, v))
        bad = ~empty & ~norm.isin(choices)
        report(bad, "", lambda v: f"unknown {col.labels.replace('_', ' ')} label; closest valid "
                                  f"is '{_closest(normalise_label(v), choices)}' "
                                  f"(valid: {', '.join(choices)})")
        return norm.where(~empty & ~bad, None).astype(object)
    if col.kind == "date":
        parsed = pd.to_datetime(text.where(~empty, None), format="ISO8601", errors="coerce")
        bad = ~empty & parsed.isna()
        report(bad, "not an ISO date (expected YYYY-MM-DD)")
        return parsed.dt.normalize().astype("datetime64[ns]")
    if col.kind == "number":
        parsed = pd.to_numeric(text.where(~empty, None).str.replace(",", "", regex=False),
                               errors="coerce")
        bad = ~empty & parsed.isna()
        report(bad, "not a number")
        if col.min_value is not None:
            below = parsed < col.min_value
            label = "negative" if col.min_value == 0 else f"below {col.min_value:g}"
            report(below, f"{label} value is not allowed")
        if col.max_value is not None:
            report(parsed > col.max_value, f"value above {col.max_value:g} is not allowed")
        return parsed.astype(float)
    if col.kind == "bool":
        low = text.str.lower()
        bad = ~empty & ~low.isin(BOOL_TRUE | BOOL_FALSE)
        report(bad, "not a boolean (expected true/false)")
        return low.map(lambda v: True if v in BOOL_TRUE else (False if v in BOOL_FALSE else pd.NA)
                       ).astype("boolean")
    if col.kind == "quarter":
        def parse(v: str) -> str | None:
            try:
                return str(Quarter.parse(v))
            except ValueError:
                return None
        parsed = text.map(lambda v: parse(v) if v else None)
        report(~empty & parsed.isna(), "not a quarter label (expected like 2026Q4)")
        return parsed.astype(object)
    raise AssertionError(f"unknown column kind {col.kind}")  # pragma: no cover


def convert(raw: RawTable, problems: list[Problem]) -> pd.DataFrame:
    """Typed frame of a raw table: contract columns converted, others dropped, file rows kept."""
    out = pd.DataFrame(index=raw.frame.index)
    for col in raw.table.columns:
        if col.name in raw.frame.columns:
            out[col.name] = _convert_column(raw, col, problems)
        else:
            out[col.name] = _empty_like(col, len(raw.frame))
    out[ROW_COLUMN] = raw.frame.index.to_numpy() + 2
    return out.reset_index(drop=True)


def _empty_like(col: Column, n: int) -> pd.Series:
    if col.kind == "date":
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    if col.kind == "number":
        return pd.Series(np.nan, index=range(n), dtype=float)
    if col.kind == "bool":
        return pd.Series(pd.NA, index=range(n), dtype="boolean")
    return pd.Series(None, index=range(n), dtype=object)


def empty_table(table: Table) -> pd.DataFrame:
    """A typed, empty frame with the columns of ``table``."""
    out = pd.DataFrame({c.name: _empty_like(c, 0) for c in table.columns})
    out[ROW_COLUMN] = pd.Series([], dtype="int64")
    return out
