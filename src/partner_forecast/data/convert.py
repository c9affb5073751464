"""Convert the text frames of :mod:`.read` into typed tables, one problem per bad cell.

Each contract column is converted following :mod:`.schema` (ids, text, labels, dates, numbers,
booleans, quarters); a cell that does not convert is reported with its file, row (as numbered
by :mod:`.read`: header = row 1) and value, and left missing. Leniency, so that ordinary
exports load without hand editing: cells holding ``NULL``/``N/A``/``None``/``NaN`` count as
empty, numbers may carry thousands separators ("1,200,000") and percentages a trailing "%"
(``*_pct`` columns), date cells may carry a time of day (only the date part is kept) and labels
are matched by normalised spelling and aliases. Control characters (a NUL byte) inside an id
are errors. Typed tables keep each record's file row in :data:`ROW_COLUMN`.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.read import RawTable
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
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
