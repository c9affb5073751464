"""Read an export folder's files as text frames, collecting every file-level problem.

Each file is read as text (so that a bad cell is reported later, by :mod:`.convert`, with its
row and value rather than silently coerced). Rows are numbered as in the file: the header is
row 1, the first record row 2, and blank lines count (a record spanning several lines is
numbered by its first line). Parquet files have no header line; their records are numbered the
same way (first record = row 2) for consistency.

Leniency, so that ordinary exports load without hand editing: header names are matched like
labels ("Partner ID" -> ``partner_id``), unknown columns are ignored with a warning, and a CSV
file may be gzip-compressed (``partners.csv.gz``).

Strictness, so that a broken file gives one clear answer rather than a flood of follow-on
errors: two files holding the same table (``partners.csv`` beside ``partners.parquet``), a
UTF-16 file, and a quote character that is never closed (or a quoted value spanning lines and
longer than :data:`MAX_SPANNING_CHARS`) are errors; a file that cannot be parsed is reported
once and left out, so that the rows depending on it are not reported again as orphans.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import gzip
import io
import math
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from partner_forecast.data.schema import TABLES, Table, normalise_label
from partner_forecast.errors import Problem

_DELIMITERS = ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes"))

#: File name endings a contract table may use, e.g. ``partners.csv.gz``.
SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
#: A quoted CSV value spanning lines and longer than this (Python's ``csv`` field limit) is
#: taken for a quote character that was never closed and swallowed the rows after it.
MAX_SPANNING_CHARS = 131_072


@dataclass
class RawTable:
    """A file read as text: its table spec, path, text frame and the file row of each record.

    ``frame`` has one ``str`` column per header name (canonical snake_case), ``''`` for empty
    cells; ``rows`` holds each record's line number in the file (header = 1).
    """

    table: Table
    path: Path
    frame: pd.DataFrame
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        if len(self.rows) != len(self.frame):
            self.rows = np.arange(len(self.frame), dtype=np.int64) + 2


def table_files(folder: Path, name: str) -> list[Path]:
    """Every file in ``folder`` that could hold table ``name`` (one of :data:`SUFFIXES`).

    File names are matched case-insensitively (``Partners.CSV`` is accepted). More than one
    file is an error of the export (see :func:`read_raw`).
    """
    wanted = {f"{name}{suffix}" for suffix in SUFFIXES}
    return [p for p in sorted(folder.iterdir()) if p.name.lower() in wanted and p.is_file()]


def find_file(folder: Path, name: str) -> Path | None:
    """The file holding table ``name`` in ``folder`` (``name.csv``, ``.csv.gz`` or ``.parquet``).

    Preference when several exist (which :func:`read_raw` reports as an error): the order of
    :data:`SUFFIXES`.
    """
    by_name = {p.name.lower(): p for p in table_files(folder, name)}
    return next((by_name[f"{name}{s}"] for s in SUFFIXES if f"{name}{s}" in by_name), None)


# -- text frames -------------------------------------------------------------------------------
def _cell_text(value: object) -> str:
    """Text of one Parquet cell ('' for missing; integral floats without '.0')."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    if hasattr(value, "isoformat"):  # datetime.date / datetime.datetime
        return value.isoformat()[:10]
    return str(value)


def _read_parquet(path: Path, problems: list[Problem]) -> tuple[list[str], pd.DataFrame] | None:
    try:
        df = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many exception types for corrupt files
        problems.append(Problem(path.name, None, None, None,
                                f"cannot read Parquet file: {type(exc).__name__}: {exc}"))
        return None
    out: dict[int, pd.Series] = {}
    for i, c in enumerate(df.columns):
        col = df[c]
        if pd.api.types.is_datetime64_any_dtype(col):
            text = col.dt.strftime("%Y-%m-%d").fillna("")
        else:
            text = pd.Series([_cell_text(v) for v in col.astype(object)], index=df.index,
                             dtype=object)
        out[i] = text.astype(str)
    frame = pd.DataFrame(out, index=range(len(df)))
    return [str(c) for c in df.columns], frame


@contextlib.contextmanager
def _field_limit(limit: int) -> Iterator[None]:
    """Raise the ``csv`` module's (process-wide) field size limit for a block."""
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, limit))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _runaway_quote(records: list[list[str]], starts: list[int], end: int, unclosed: bool
                   ) -> tuple[int, str] | None:
    """(row, message) of a quoted value that swallowed the rows after it, if any.

    ``unclosed``: the file ends inside a quoted value (the last record holds it). Otherwise a
    value spanning lines and longer than :data:`MAX_SPANNING_CHARS` is taken for one.
    """
    if unclosed and records:
        return starts[-1], (f"a quoted value starting on this row is never closed (an unmatched "
                            f'\'"\'): rows {starts[-1]} to {end} cannot be read; fix the quoting')
    for rec, row, nxt in zip(records, starts, [*starts[1:], end + 1], strict=True):
        for value in rec:
            if len(value) > MAX_SPANNING_CHARS and "\n" in value:
                return row, (f"a quoted value starting on this row runs over {nxt - row} lines "
                             f"and {len(value):,} characters (the limit is "
                             f"{MAX_SPANNING_CHARS:,}): a quote character (\'\"\') that is not "
                             "closed where it should be swallows the rows after it; fix the "
                             "quoting")
    return None


def _csv_fallback(text: str, fname: str, problems: list[Problem], unclosed: bool = False
                  ) -> tuple[list[str], pd.DataFrame, np.ndarray] | None:
    """Slow, exact path: the csv module, for ragged rows and records spanning lines.

    A file the module cannot parse, or holding a runaway quoted value (see
    :func:`_runaway_quote`), gets one problem and is left out (``None``): reading the rows
    that survived would only add follow-on errors (orphans of the rows lost).
    """
    reader = csv.reader(io.StringIO(text, newline=""), skipinitialspace=True)
    records: list[list[str]] = []
    starts: list[int] = []
    prev = 0
    with _field_limit(len(text) + 1):
        try:
            for rec in reader:
                records.append(rec)
                starts.append(prev + 1)
                prev = reader.line_num
        except csv.Error as exc:
            problems.append(Problem(fname, prev + 1, None, None,
                                    f"malformed CSV: {exc}; the file cannot be read"))
            return None
    runaway = _runaway_quote(records, starts, prev, unclosed)
    if runaway is not None:
        problems.append(Problem(fname, runaway[0], None, None, runaway[1]))
        return None
    if not records:
        return [], pd.DataFrame(), np.zeros(0, dtype=np.int64)
    header, body, body_rows = records[0], [], []
    for rec, line in zip(records[1:], starts[1:], strict=True):
        if len(rec) > len(header):
            problems.append(Problem(fname, line, None, None,
                                    f"row has {len(rec)} fields but the header has {len(header)} "
                                    "(an unquoted comma in a value?); row skipped"))
            continue
        body.append((rec + [""] * len(header))[: len(header)])
        body_rows.append(line)
    frame = pd.DataFrame(body, columns=range(len(header)), dtype=str) if body else \
        pd.DataFrame({i: pd.Series([], dtype=str) for i in range(len(header))})
    return header, frame, np.asarray(body_rows, dtype=np.int64)


def _utf16_problem(raw: bytes, fname: str) -> Problem | None:
    """A problem for a UTF-16/32 file (byte-order mark, or NUL bytes in every other byte)."""
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        what = "UTF-32 (it starts with a UTF-32 byte-order mark)"
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        what = "UTF-16 (it starts with a UTF-16 byte-order mark)"
    elif len(head := raw[:2000]) >= 4 and head.count(0) >= len(head) // 3:
        what = "UTF-16 (every other byte is a NUL)"
    else:
        return None
    return Problem(fname, None, None, None,
                   f"file is encoded as {what}: save it as UTF-8 (in Excel: Save As, "
                   "'CSV UTF-8 (Comma delimited)')")


def _read_bytes(path: Path, problems: list[Problem]) -> bytes | None:
    """The file's bytes, decompressed when it is gzipped (``.gz``)."""
    raw = path.read_bytes()
    if not path.name.lower().endswith(".gz"):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        problems.append(Problem(path.name, None, None, None,
                                f"cannot decompress gzip file: {exc}"))
        return None


def _read_csv(path: Path, problems: list[Problem]
              ) -> tuple[list[str], pd.DataFrame, np.ndarray] | None:
    fname = path.name
    raw = _read_bytes(path, problems)
    if raw is None:
        return None
    if (wide := _utf16_problem(raw, fname)) is not None:
        problems.append(wide)
        return None
    if not raw.strip():
        problems.append(Problem(fname, None, None, None, "file is empty (no header row)"))
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        hint = ""
        try:
            sample = raw.decode("cp1252").splitlines()[line - 1]
            hint = f" near {sample[:60]!r}; it looks like Latin-1/Windows-1252"
        except (UnicodeDecodeError, IndexError):
            pass
        problems.append(Problem(fname, line, None, None,
                                f"file is not UTF-8 encoded (byte 0x{raw[exc.start]:02x}{hint}); "
                                "re-export it as UTF-8"))
        return None
    first_line = text.split("\n", 1)[0].rstrip("\r")
    if "," not in first_line:
        for sep, name in _DELIMITERS:
            if sep in first_line:
                problems.append(Problem(fname, 1, None, first_line[:80],
                                        f"file looks delimited by {name}; the contract expects "
                                        "comma-separated values"))
                return None
    n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, header=None, keep_default_na=False,
                         na_filter=False, skip_blank_lines=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        problems.append(Problem(fname, None, None, None, "file is empty (no header row)"))
        return None
    except pd.errors.ParserError as exc:
        return _csv_fallback(text, fname, problems, unclosed="EOF inside string" in str(exc))
    if len(df) != n_lines:  # a quoted value spans lines: row numbers need the exact reader
        return _csv_fallback(text, fname, problems)
    header = [str(v) for v in df.iloc[0]]
    body = df.iloc[1:].reset_index(drop=True)
    rows = np.arange(len(body), dtype=np.int64) + 2
    return header, body, rows


def _read_text_frame(path: Path, problems: list[Problem]
                     ) -> tuple[pd.DataFrame, np.ndarray] | None:
    """Read a CSV/Parquet file with every cell as a string ('' for missing).

    Returns the frame (columns named by canonical header names, duplicates and unnamed columns
    removed with a problem) and each record's row in the file; blank records are dropped.
    """
    fname = path.name
    if path.suffix.lower() in (".parquet", ".pq"):
        got = _read_parquet(path, problems)
        if got is None:
            return None
        header, frame = got
        rows = np.arange(len(frame), dtype=np.int64) + 2
    else:
        got_csv = _read_csv(path, problems)
        if got_csv is None:
            return None
        header, frame, rows = got_csv
    if not header:
        problems.append(Problem(fname, None, None, None, "file is empty (no header row)"))
        return None
    names = [normalise_label(h) for h in header]
    keep: dict[int, str] = {}
    for i, name in enumerate(names):
        if not name:
            if frame[i].astype(str).str.strip().ne("").any():
                problems.append(Problem(fname, 1, None, header[i],
                                        f"column {i + 1} has no name in the header: ignored",
                                        severity="warning"))
            continue
        if name in keep.values():
            problems.append(Problem(fname, 1, name, header[i],
                                    "column appears more than once in the header"))
            continue
        keep[i] = name
    frame = frame[list(keep)].copy()
    frame.columns = list(keep.values())
    frame = frame.astype(str)
    if len(frame):
        blank = frame.apply(lambda s: s.str.strip().eq("")).all(axis=1).to_numpy()
        if blank.any():
            frame = frame[~blank].reset_index(drop=True)
            rows = rows[~blank]
    return frame.reset_index(drop=True), rows


def _clashing_files(folder: Path, name: str, problems: list[Problem]) -> bool:
    """Report (and return True) when several files hold table ``name``, e.g. CSV and Parquet.

    Reading either one silently could use stale data; the user must remove one.
    """
    files = table_files(folder, name)
    if len(files) < 2:
        return False
    listed = " and ".join(p.name for p in files) if len(files) == 2 else \
        ", ".join(p.name for p in files)
    problems.append(Problem(files[0].name, None, None, None,
                            f"{len(files)} files hold the {name} table: {listed}; keep one "
                            "(remove or rename the others)"))
    return True


def read_raw(folder: str | Path, problems: list[Problem]) -> dict[str, RawTable]:
    """Read every contract file in ``folder`` as text, appending file-level problems.

    A table whose file is missing, unreadable or lacks a required column is left out of the
    result (its problems are recorded); unknown columns are reported as warnings.
    """
    folder = Path(folder)
    if not folder.is_dir():
        problems.append(Problem(str(folder), None, None, None, "export folder not found"))
        return {}
    out: dict[str, RawTable] = {}
    for table in TABLES.values():
        if _clashing_files(folder, table.name, problems):
            continue
        path = find_file(folder, table.name)
        if path is None:
            if not table.optional:
                problems.append(Problem(f"{table.name}.csv", None, None, None,
                                        "required file is missing (expected "
                                        f"{table.name}.csv or {table.name}.parquet)"))
            continue
        got = _read_text_frame(path, problems)
        if got is None:
            continue
        frame, rows = got
        known = [c.name for c in table.columns]
        unknown = [c for c in frame.columns if c not in known]
        missing = [c for c in table.required_columns if c not in frame.columns]
        for c in missing:
            near = difflib.get_close_matches(c, unknown, n=1, cutoff=0.75)
            hint = f" (found '{near[0]}': a misspelling?)" if near else ""
            problems.append(Problem(path.name, 1, c, None, f"required column is missing{hint}"))
        for c in unknown:
            near = difflib.get_close_matches(c, known, n=1, cutoff=0.75)
            hint = f"; did you mean '{near[0]}'?" if near and near[0] not in frame.columns else ""
            problems.append(Problem(path.name, 1, c, None,
                                    f"unknown column ignored{hint}", severity="warning"))
        if missing:
            continue
        if frame.empty:
            if table.name in ("partners", "sellers", "opportunities"):
                problems.append(Problem(path.name, None, None, None,
                                        "file has a header but no rows"))
            elif table.name == "activities":
                problems.append(Problem(path.name, None, None, None,
                                        "file has a header but no rows: seller activation "
                                        "cannot be measured", severity="warning"))
        out[table.name] = RawTable(table, path, frame, rows)
    return out
