"""Opportunity fields as they stood on any date, from the optional ``field_history`` table.

An export's opportunities file holds each field's *latest* value. A flag filled in as a deal
progresses (``technical_validation`` set on reaching proposal) is then set on every deal that
got there and unset on early losses: read as a covariate of an earlier stage exit, it tells the
outcome. The rule for every covariate: a stage exit may only see what was known when the deal
entered that stage. ``field_history`` (Salesforce's OpportunityFieldHistory, HubSpot's property
history: one row per change, the new ``value`` from ``changed_on`` on, optionally the
``old_value`` before it) lets :func:`value_at` read each field as of any date, and the as-of
view (:meth:`.export.Export.as_of`) rebuild the fields at its cut.

The value of field ``f`` of deal ``d`` at the start of date ``t``:

1. ``d`` has a change of ``f`` before ``t``: the value of the latest one (changes on the same
   day: the later row of the file);
2. ``d`` has changes of ``f``, all on/after ``t``: the first change's ``old_value`` when given,
   else blank (a flag unknown: NA), except for ``arr`` and ``partner_role``, required on every
   deal, which keep the first recorded value (the closest known to ``t``, though known later);
3. ``d`` has no change of ``f``: the export value (the field never changed while it was
   tracked), except that when ``t`` precedes the field's whole history (its first change
   anywhere in the table) and ``d`` was created before that, nothing says whether the field
   changed before tracking began (Salesforce keeps 18-24 months): blank, or the export value
   for the required fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from partner_forecast.data.convert import ROW_COLUMN, python_values
from partner_forecast.data.schema import HISTORY_FIELDS, TABLES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from partner_forecast.data.export import Export

__all__ = ["has_history", "history_start", "rebuild_fields", "value_at"]


def _check_field(field: str) -> str:
    if field not in HISTORY_FIELDS:
        raise ValueError(f"{field!r} is not a field with history; fields: "
                         f"{', '.join(HISTORY_FIELDS)}")
    return field


def _rows(export: Export, field: str) -> pd.DataFrame:
    """The usable history rows of ``field``, ordered by date then file row."""
    h = export.field_history
    h = h[(h["field"] == field) & h["opportunity_id"].notna() & h["changed_on"].notna()]
    return h.sort_values(["changed_on", ROW_COLUMN], kind="stable").reset_index(drop=True)


def has_history(export: Export, field: str) -> bool:
    """Whether the export's ``field_history`` records any change of ``field``."""
    _check_field(field)
    h = export.field_history
    return bool(((h["field"] == field) & h["changed_on"].notna()).any())


def history_start(export: Export, field: str) -> pd.Timestamp | None:
    """The date of the first recorded change of ``field`` (``None`` without history)."""
    _check_field(field)
    rows = _rows(export, field)
    return None if rows.empty else pd.Timestamp(rows["changed_on"].iloc[0])


def _as_dates(dates: object, n: int) -> np.ndarray:
    values = pd.to_datetime(np.broadcast_to(np.asarray(dates, dtype="datetime64[ns]"), (n,)))
    return np.asarray(values.normalize(), dtype="datetime64[ns]")


def _typed(values: np.ndarray, kind: str) -> np.ndarray:
    """Plain values (``None`` = missing) as the array :func:`value_at` returns for ``kind``."""
    if kind in ("bool", "number"):
        return np.array([np.nan if v is None else float(v) for v in values], dtype=float)
    return values


def value_at(export: Export, field: str, opportunity_ids: Sequence[str] | np.ndarray,
             dates: object) -> np.ndarray:
    """Each deal's ``field`` as it stood at the start of each date (see the module docstring).

    Parameters
    ----------
    export
        The export or an as-of view (its ``field_history`` and opportunities).
    field
        One of :data:`~.schema.HISTORY_FIELDS`, e.g. ``"technical_validation"``.
    opportunity_ids
        Deals to read, one per query; an id not in the export reads as blank.
    dates
        The dates, one per query, or one date for all (anything ``numpy.datetime64`` accepts).
        Changes dated on a date are not yet known at its start.

    Returns
    -------
    numpy.ndarray
        Flags (``technical_validation``, ``marketplace``, ...) as float 0/1 with NaN when
        unknown; numbers (``arr`` in currency per year, ``influence_pct`` 0-100) as float with
        NaN; labels and text as ``object`` with ``None``.

    Without any history of ``field`` this is the export value of each deal: its latest value,
    which for a flag filled in as deals progress leaks the outcome (see
    :func:`.flag_leakage.usable_flags`).

    """
    spec = TABLES["opportunities"].column(_check_field(field))
    ids = np.asarray(opportunity_ids, dtype=object)
    opps = export.opportunities.dropna(subset=["opportunity_id"]).drop_duplicates("opportunity_id")
    opps = opps.set_index("opportunity_id")
    keys = pd.Index(ids)
    base = python_values(opps[field].reindex(keys)).to_numpy(dtype=object)
    created = opps["created_on"].reindex(keys).to_numpy(dtype="datetime64[ns]")
    return _typed(_values(export, field, ids, _as_dates(dates, len(ids)), base, created),
                  spec.kind)


def _values(export: Export, field: str, ids: np.ndarray, when: np.ndarray, base: np.ndarray,
            created: np.ndarray, blank_untracked: bool = True) -> np.ndarray:
    """The rules of the module docstring, as plain values (``None`` = blank).

    ``base`` and ``created`` are each query's export value and creation date (rule 3);
    ``blank_untracked=False`` leaves out rule 3's blank before the field's whole history.
    """
    spec = TABLES["opportunities"].column(field)
    n = len(ids)
    rows = _rows(export, field)
    if rows.empty or n == 0:
        return base
    keys = pd.Index(ids)

    result = np.empty(n, dtype=object)
    result[:] = None
    # 1. the latest change strictly before the date
    rows = rows.assign(_pos=np.arange(len(rows)))
    known = ~pd.isna(when)
    left = pd.DataFrame({"opportunity_id": pd.Series(ids, dtype=object),
                         "date": when, "_q": np.arange(n)})[known]
    found = np.zeros(n, dtype=bool)
    if len(left):
        m = pd.merge_asof(left.sort_values("date", kind="stable"),
                          rows[["opportunity_id", "changed_on", "_pos"]].astype(
                              {"opportunity_id": object}),
                          left_on="date", right_on="changed_on", by="opportunity_id",
                          allow_exact_matches=False, direction="backward")
        hit = m["_pos"].notna().to_numpy()
        q = m["_q"].to_numpy()[hit]
        result[q] = rows["value"].to_numpy(dtype=object)[m["_pos"].to_numpy()[hit].astype(np.int64)]
        found[q] = True
    # 2. deals with changes, none before the date
    first = rows.groupby("opportunity_id", sort=False).head(1).set_index("opportunity_id")
    has_rows = keys.isin(first.index)
    before_first = has_rows & ~found
    if before_first.any():
        firsts = first.reindex(keys[before_first])
        old = firsts["old_value"].to_numpy(dtype=object)
        fallback = firsts["value"].to_numpy(dtype=object) if spec.required else \
            np.full(len(old), None, dtype=object)
        result[before_first] = np.where(pd.isna(old), fallback, old)
    # 3. deals without changes: the export value, unless older than the field's whole history
    no_rows = ~has_rows
    result[no_rows] = base[no_rows]
    if blank_untracked and not spec.required:
        start = np.datetime64(rows["changed_on"].iloc[0], "ns")
        untracked = no_rows & (when < start) & ~(created >= start)
        result[untracked] = None
    return result


def rebuild_fields(export: Export, opportunities: pd.DataFrame, cut: pd.Timestamp
                   ) -> pd.DataFrame:
    """``opportunities`` with every field that has history rebuilt as of ``cut``.

    Used by the as-of view: each :data:`~.schema.HISTORY_FIELDS` column with any recorded
    change is replaced by its value at ``cut``, read as :func:`value_at` reads it (each row's
    own value standing for a field never changed). Dtypes are kept (``boolean`` flags with NA,
    float numbers, ``object`` labels with ``None``); other columns are left alone.
    """
    if export.field_history.empty:
        return opportunities
    out = opportunities.copy()
    ids = out["opportunity_id"].to_numpy(dtype=object)
    when = _as_dates(cut, len(ids))
    created = out["created_on"].to_numpy(dtype="datetime64[ns]")
    for field in HISTORY_FIELDS:
        if not has_history(export, field):
            continue
        kind = TABLES["opportunities"].column(field).kind
        # each row's own value stands for "never changed" (rule 3), not a lookup by id
        base = python_values(out[field]).to_numpy(dtype=object)
        # Rule 3's blank reads when tracking began, which a cut before it cannot know: the
        # view of a cut must not depend on rows changed on or after it (an export with the
        # field's history starting after the cut reads like one without history).
        values = _typed(_values(export, field, ids, when, base, created, blank_untracked=False),
                        kind)
        if kind == "bool":
            out[field] = pd.array([pd.NA if np.isnan(v) else bool(v) for v in values],
                                  dtype="boolean")
        elif kind == "number":
            out[field] = values.astype(float)
        else:
            out[field] = pd.Series(values, index=out.index, dtype=object)
    return out
