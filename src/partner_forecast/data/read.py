"""Read an export folder into typed tables, collecting every cell-level problem.

Each file is read as text first (so that a bad cell is reported with its row and value rather
than silently coerced), then converted column by column following :mod:`.schema`. Rows are
numbered as in the file: the header is row 1, the first record row 2, and blank lines count
(a record spanning several lines is numbered by its first line). Parquet files have no header
line; their records are numbered the same way (first record = row 2) for consistency.

Leniency, so that ordinary exports load without hand editing: header names are matched like
labels ("Partner ID" -> ``partner_id``), unknown columns are ignored with a warning, cells
holding ``NULL``/``N/A``/``None``/``NaN`` count as empty, numbers may carry thousands
separators ("1,200,000") and percentages a trailing "%" (``*_pct`` columns), and date cells may
carry a time of day (only the date part is kept). A CSV file may be gzip-compressed
(``partners.csv.gz``).

Strictness, so that a broken file gives one clear answer rather than a flood of follow-on
errors: two files holding the same table (``partners.csv`` beside ``partners.parquet``), a
UTF-16 file, a quote character that is never closed (or a quoted value spanning lines and
longer than :data:`MAX_SPANNING_CHARS`) and control characters (a NUL byte) inside an id are
errors; a file that cannot be parsed is reported once and left out, so that the rows depending
on it are not reported again as orphans.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import gzip
import io
import math
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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

#: Cell texts that mean "no value" (compared case-insensitively after stripping).
NULL_TOKENS = frozenset({"", "null", "none", "nan", "nat", "n/a", "#n/a", "<na>"})

#: Dates outside this range are reported as implausible (typos such as 0226-03-01 or 2062).
DATE_MIN = pd.Timestamp("1970-01-01")
DATE_MAX = pd.Timestamp("2199-12-31")

_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
                   r"\s*(?:Z|[+-]\d{2}:?\d{2})?)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_DELIMITERS = ((";", "semicolons"), ("\t", "tabs"), ("|", "pipes"))
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

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


# -- typed conversion --------------------------------------------------------------------------
def closest_label(value: str, choices: tuple[str, ...],
                  aliases: dict[str, str] | None = None) -> str:
    """The valid label most similar to ``value`` (by normalised spelling).

    Known aliases (e.g. ``managed_service_provider`` for ``msp``) are compared too and map to
    their canonical label.
    """
    aliases = aliases or {}
    candidates = list(choices) + list(aliases)
    match = difflib.get_close_matches(normalise_label(value), candidates, n=1, cutoff=0.0)
    if not match:
        return choices[0]
    return aliases.get(match[0], match[0])


def _factorised(text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes, unique values) of a text column: parse each distinct value once."""
    codes, uniques = pd.factorize(text.to_numpy(dtype=object))
    return codes, pd.Series(uniques, dtype=object)


def _parse_dates(text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """(dates at midnight, malformed mask, out-of-range mask) of a text column."""
    codes, uniques = _factorised(text)
    date_part = uniques.astype(str).str.extract(_DATE, expand=False)
    parsed_u = pd.to_datetime(date_part, format="%Y-%m-%d", errors="coerce")
    out_of_range_u = parsed_u.notna() & ((parsed_u < DATE_MIN) | (parsed_u > DATE_MAX))
    parsed_u = parsed_u.where(~out_of_range_u).astype("datetime64[ns]")
    parsed = pd.Series(parsed_u.to_numpy()[codes], index=text.index, dtype="datetime64[ns]")
    malformed = text.ne("") & parsed.isna() & ~out_of_range_u.to_numpy()[codes]
    out_of_range = pd.Series(out_of_range_u.to_numpy()[codes], index=text.index)
    return parsed, malformed, out_of_range


def _parse_numbers(text: pd.Series, pct: bool) -> tuple[pd.Series, pd.Series]:
    """(floats, decimal-comma mask) of a text column; unparseable cells are NaN."""
    cleaned = text.str.replace(r"\s+", "", regex=True)
    if pct:
        cleaned = cleaned.str.removesuffix("%")
    thousands = cleaned.str.match(_THOUSANDS)
    cleaned = cleaned.where(~thousands, cleaned.str.replace(",", "", regex=False))
    decimal_comma = cleaned.str.match(_DECIMAL_COMMA)
    parsed = pd.to_numeric(cleaned.where(cleaned.ne("")), errors="coerce").astype(float)
    parsed = parsed.where(np.isfinite(parsed.to_numpy(dtype=float, na_value=np.nan)))
    return parsed, decimal_comma


def object_series(values: pd.Series, keep: pd.Series | np.ndarray) -> pd.Series:
    """An ``object`` Series of ``values`` where ``keep``, ``None`` elsewhere.

    Typed tables hold ids, text and labels as Python ``str`` with ``None`` for missing (never
    NaN), whatever the string dtype of the text they came from.
    """
    out = np.where(np.asarray(keep, dtype=bool), values.to_numpy(dtype=object), None)
    return pd.Series(out, index=values.index, dtype=object)


#: Extra label aliases by label set, e.g. ``{"stage": {"needs_analysis": "qualified"}}`` (from the
#: ``[stages] aliases`` config); keys are normalised labels, values canonical labels.
LabelAliases = dict[str, dict[str, str]]


def _convert_column(raw: RawTable, col: Column, problems: list[Problem],
                    extra_aliases: LabelAliases | None = None, *, spec_name: str | None = None,
                    note: str = "", alias_hint: str = "") -> pd.Series:
    """Convert one text column to its typed form, appending a problem per bad cell.

    ``spec_name`` is the contract column whose rules apply when they differ from ``col.name``
    (``field_history`` values follow the rules of the field they hold: ``influence_pct`` is a
    percentage); ``note`` is appended to every problem message, ``alias_hint`` to unknown-label
    messages.
    """
    fname = raw.path.name
    rule = spec_name or col.name
    text = raw.frame[col.name].astype(str).str.strip()
    empty = text.str.lower().isin(NULL_TOKENS)
    text = text.where(~empty, "")
    values = text.to_numpy(dtype=object)

    def report(mask: pd.Series | np.ndarray, message: str | Callable[[str], str]) -> None:
        idx = np.flatnonzero(np.asarray(mask, dtype=bool))
        for r, v in zip(raw.rows[idx], values[idx], strict=True):
            msg = message(v) if callable(message) else message
            problems.append(Problem(fname, int(r), col.name, v, msg + note))

    if col.required:
        report(empty, "required value is empty")

    if col.kind == "id":
        control = text.str.contains(_CONTROL)
        report(control, _control_message)
        # The error names the cell; its id without the control characters still matches the
        # rows referring to it, which are not reported again as orphans.
        text = text.where(~control, text.str.replace(_CONTROL, "", regex=True))
    if col.kind in ("id", "text"):
        return object_series(text, ~empty)
    if col.kind == "label":
        assert col.labels is not None
        choices = LABEL_SETS[col.labels]
        aliases = {**LABEL_ALIASES.get(col.labels, {}),
                   **(extra_aliases or {}).get(col.labels, {})}
        codes, uniques = _factorised(text)
        canonical = uniques.map(normalise_label).map(lambda v: aliases.get(v, v))
        norm = pd.Series(canonical.to_numpy(dtype=object)[codes], index=text.index, dtype=object)
        bad = ~empty & ~norm.isin(choices)
        what = col.labels.replace("_", " ")
        hints: dict[str, str] = {}

        def hint(v: str) -> str:
            if v not in hints:
                near = closest_label(v, choices, aliases)
                hints[v] = (f"unknown {what} label; closest valid is '{near}' "
                            f"(valid: {', '.join(choices)}){alias_hint}")
            return hints[v]

        report(bad, hint)
        return object_series(norm, ~empty & ~bad)
    if col.kind == "date":
        parsed, malformed, out_of_range = _parse_dates(text)
        report(malformed, "not an ISO date (expected YYYY-MM-DD)")
        report(out_of_range, f"implausible date (outside {DATE_MIN.year}-{DATE_MAX.year})")
        return parsed
    if col.kind == "number":
        parsed, decimal_comma = _parse_numbers(text, pct=rule.endswith("_pct"))
        bad = ~empty & parsed.isna()
        report(bad & decimal_comma, "not a number (use '.' as the decimal separator)")
        report(bad & ~decimal_comma, "not a number")
        if col.min_value is not None:
            label = "negative value" if col.min_value == 0 else f"value below {col.min_value:g}"
            report(parsed < col.min_value, f"{label} is not allowed")
        if col.max_value is not None:
            report(parsed > col.max_value, f"value above {_bound(col.max_value)} is not allowed"
                   + (" (a percentage, 0-100)" if rule.endswith("_pct") else
                      " (the contract's bound: a typo?)"))
        return parsed
    if col.kind == "bool":
        low = text.str.lower().str.removesuffix(".0")
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

        parsed_q = text.map(lambda v: parse(v) if v else None)
        report(~empty & parsed_q.isna(), "not a quarter label (expected like 2026Q4)")
        return object_series(parsed_q, parsed_q.notna())
    raise AssertionError(f"unknown column kind {col.kind}")  # pragma: no cover


def _control_message(value: str) -> str:
    """Problem text for an id holding a control character (names the first one)."""
    hit = _CONTROL.search(value)
    assert hit is not None
    char = hit.group()
    name = "a NUL byte" if char == "\x00" else f"the control character U+{ord(char):04X}"
    return (f"id contains {name} (at character {hit.start() + 1}): ids must be printable text; "
            "re-export the file")


def _bound(value: float) -> str:
    """A column bound for messages: ``100``, ``1,000,000,000,000``."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def python_values(typed: pd.Series) -> pd.Series:
    """An ``object`` Series of plain Python values, ``None`` for every missing value.

    Values are ``bool``, ``float``, ``str`` or ``Timestamp`` whatever the typed column's dtype
    (``field_history`` values of different fields share one column).
    """
    out = [None if v is None or v is pd.NA or v is pd.NaT
           or (isinstance(v, float) and math.isnan(v))
           else (bool(v) if isinstance(v, (bool, np.bool_)) else
                 float(v) if isinstance(v, (int, float, np.number)) else v)
           for v in typed.astype(object)]
    return pd.Series(out, index=typed.index, dtype=object)


def _convert_field_values(raw: RawTable, col: Column, fields: pd.Series,
                          problems: list[Problem], extra_aliases: LabelAliases | None) -> pd.Series:
    """Convert a ``field_history`` value column, each cell by the rules of its row's field.

    ``fields`` holds each row's canonical field name (``None`` where it was unreadable: those
    cells are left unchecked, their row is already reported). A blank ``value`` of a field that
    is required on every deal (``arr``, ``partner_role``) is an error; blank otherwise means the
    field was cleared. Returns plain Python values (see :func:`python_values`).
    """
    out = pd.Series(None, index=raw.frame.index, dtype=object)
    opportunity = TABLES["opportunities"]
    for name in pd.unique(fields.dropna().to_numpy(dtype=object)):
        spec = opportunity.column(str(name))
        mask = (fields == name).to_numpy(dtype=bool)
        sub = RawTable(raw.table, raw.path, raw.frame.loc[mask, [col.name]].reset_index(drop=True),
                       raw.rows[mask])
        as_field = Column(col.name, spec.kind, spec.required and col.name == "value",
                          spec.labels, spec.min_value, spec.max_value)
        typed = _convert_column(sub, as_field, problems, extra_aliases, spec_name=spec.name,
                                note=f" ({spec.name} value)")
        out.loc[mask] = python_values(typed).to_numpy(dtype=object)
    return out


def convert(raw: RawTable, problems: list[Problem],
            extra_aliases: LabelAliases | None = None) -> pd.DataFrame:
    """Typed frame of a raw table: contract columns converted, others dropped, file rows kept.

    ``extra_aliases`` add to the built-in :data:`~.schema.LABEL_ALIASES` (the ``[stages]
    aliases`` of the configuration); an unknown stage label's message then says how to add one.
    """
    out = pd.DataFrame(index=raw.frame.index)
    deferred: list[Column] = []
    for col in raw.table.columns:
        if col.kind == "field_value":
            deferred.append(col)
        elif col.name in raw.frame.columns:
            hint = ("; or map it in the config: [stages] aliases = { \"<CRM stage>\" = "
                    "\"<canonical stage>\" }" if col.labels == "stage" else "")
            out[col.name] = _convert_column(raw, col, problems, extra_aliases, alias_hint=hint)
        else:
            out[col.name] = _empty_like(col, len(raw.frame))
    for col in deferred:
        out[col.name] = (_convert_field_values(raw, col, out["field"], problems, extra_aliases)
                         if col.name in raw.frame.columns else _empty_like(col, len(raw.frame)))
    out = out[[c.name for c in raw.table.columns]]
    out[ROW_COLUMN] = raw.rows.astype(np.int64)
    return out.reset_index(drop=True)


def _empty_like(col: Column, n: int) -> pd.Series:
    if col.kind == "date":
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    if col.kind == "number":
        return pd.Series(np.nan, index=range(n), dtype=float)
    if col.kind == "bool":
        return pd.Series(pd.NA, index=range(n), dtype="boolean")
    return pd.Series(None, index=range(n), dtype=object)  # ids, text, labels, field values


def empty_table(table: Table) -> pd.DataFrame:
    """A typed, empty frame with the columns of ``table``."""
    out = pd.DataFrame({c.name: _empty_like(c, 0) for c in table.columns})
    out[ROW_COLUMN] = pd.Series([], dtype="int64")
    return out
