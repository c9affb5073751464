"""The optional ``field_history`` table: reading, validation, :func:`value_at` and the as-of view.

The tiny export's history (``tiny_export_tables(field_history=True)``) sets flags when deals
progress, changes ARR and moves O04 from co_sell to influenced; the tests read those fields
back as of known dates.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.cli import main
from partner_forecast.data.export import Export, load_export
from partner_forecast.data.field_history import has_history, history_start, value_at
from partner_forecast.data.schema import HISTORY_FIELDS
from partner_forecast.errors import ExportError, Problem
from partner_forecast.testing.exports import tiny_export_tables, write_tiny_export

FH = "field_history.csv"


@functools.cache
def tiny_history() -> Export:
    with tempfile.TemporaryDirectory() as d:
        return load_export(write_tiny_export(d, tiny_export_tables(field_history=True)))


def problems_of(folder: Path) -> list[Problem]:
    with pytest.raises(ExportError) as err:
        load_export(folder)
    return err.value.problems


def history_with(tmp_path: Path, *rows: dict[str, str]) -> Path:
    tables = tiny_export_tables(field_history=True)
    extra = pd.DataFrame([{c: r.get(c, "") for c in tables["field_history"].columns} for r in rows])
    tables["field_history"] = pd.concat([tables["field_history"], extra], ignore_index=True)
    return write_tiny_export(tmp_path, tables)


def flag(frame: pd.DataFrame, oid: str, column: str) -> bool | None:
    """A boolean cell as ``True``/``False``, ``None`` for NA."""
    value = frame.loc[oid, column]
    return None if value is pd.NA else bool(value)


# -- reading and validation ---------------------------------------------------------------------
def test_history_is_typed_by_field_and_labels_normalise() -> None:
    h = tiny_history().field_history
    assert tiny_history().warnings == ()
    assert set(h["field"]) == {"arr", "technical_validation", "executive_sponsor", "partner_role",
                               "influence_pct"}  # "Technical Validation" and "Amount" normalised
    by_row = h.set_index("_row")
    assert by_row.loc[7, "value"] == 55000.0 and by_row.loc[7, "old_value"] == 50000.0  # "55,000"
    assert by_row.loc[6, "field"] == "technical_validation" and by_row.loc[6, "old_value"] is False
    assert by_row.loc[14, "value"] is True  # "yes"
    assert by_row.loc[8, "value"] == "influenced" and by_row.loc[8, "old_value"] == "co_sell"
    assert by_row.loc[19, "field"] == "arr"  # "Amount"
    assert h["changed_on"].dtype == "datetime64[ns]"


def test_export_without_history_carries_an_empty_table() -> None:
    with tempfile.TemporaryDirectory() as d:
        e = load_export(write_tiny_export(d))
    assert e.field_history.empty
    assert list(e.field_history.columns) == ["opportunity_id", "field", "value", "changed_on",
                                             "old_value", "_row"]
    assert not any(has_history(e, f) for f in HISTORY_FIELDS)
    assert e.as_of("2026-05-01").field_history.empty


def test_parquet_history_equals_csv(tmp_path: Path) -> None:
    tables = tiny_export_tables(field_history=True)
    pq = load_export(write_tiny_export(tmp_path, tables, fmt="parquet"))
    pd.testing.assert_frame_equal(pq.field_history, tiny_history().field_history)


@pytest.mark.parametrize(("row", "column", "text"), [
    ({"opportunity_id": "O99", "field": "arr", "value": "1000", "changed_on": "2026-03-01"},
     "opportunity_id", "unknown opportunity_id"),
    ({"opportunity_id": "O01", "field": "deal_size", "value": "1000", "changed_on": "2026-03-01"},
     "field", "unknown history field label"),
    ({"opportunity_id": "O01", "field": "arr", "value": "lots", "changed_on": "2026-03-01"},
     "value", "not a number (arr value)"),
    ({"opportunity_id": "O01", "field": "arr", "value": "-5", "changed_on": "2026-03-01"},
     "value", "negative value"),
    ({"opportunity_id": "O01", "field": "arr", "value": "", "changed_on": "2026-03-01"},
     "value", "required value is empty (arr value)"),
    ({"opportunity_id": "O01", "field": "technical_validation", "value": "maybe",
      "changed_on": "2026-03-01"}, "value", "not a boolean"),
    ({"opportunity_id": "O01", "field": "partner_role", "value": "reseller",
      "changed_on": "2026-03-01"}, "value", "unknown partner role label"),
    ({"opportunity_id": "O01", "field": "influence_pct", "value": "130%",
      "changed_on": "2026-03-01"}, "value", "(a percentage, 0-100)"),
    ({"opportunity_id": "O01", "field": "arr", "value": "1000", "changed_on": "2026-13-01"},
     "changed_on", "not an ISO date"),
    ({"opportunity_id": "O01", "field": "arr", "value": "1000", "changed_on": ""},
     "changed_on", "required value is empty"),
    ({"opportunity_id": "O01", "field": "executive_sponsor", "value": "true",
      "changed_on": "2026-03-01", "old_value": "perhaps"}, "old_value", "not a boolean"),
])
def test_bad_history_rows_are_errors_naming_file_row_column(tmp_path: Path, row: dict[str, str],
                                                            column: str, text: str) -> None:
    problems = problems_of(history_with(tmp_path, row))
    assert len(problems) == 1, problems
    p = problems[0]
    assert (p.file, p.row, p.column, p.severity) == (FH, 22, column, "error")
    assert text in p.message


def test_unknown_field_hint_and_all_problems_at_once(tmp_path: Path) -> None:
    problems = problems_of(history_with(
        tmp_path,
        {"opportunity_id": "O01", "field": "Tech Validation", "value": "x", "changed_on": "2026-03-01"},
        {"opportunity_id": "O02", "field": "arr", "value": "1,5", "changed_on": "2026-03-01"}))
    text = "\n".join(str(p) for p in problems)
    assert "closest valid is 'technical_validation'" in text
    assert "row 23, column 'value'" in text and "decimal separator" in text
    assert len(problems) == 2  # the value of an unknown field is not checked as well


def test_history_warnings(tmp_path: Path) -> None:
    e = load_export(history_with(
        tmp_path,
        {"opportunity_id": "O05", "field": "arr", "value": "99000", "changed_on": "2026-04-01"},
        {"opportunity_id": "O09", "field": "executive_sponsor", "value": "true",
         "changed_on": "2026-08-20"}))
    warnings = [str(w) for w in e.warnings]
    assert any("row 22, column 'changed_on'" in w and "before the deal was created" in w
               for w in warnings)  # O05 created 2026-04-13
    assert any("latest arr change of 1 deal(s) differs" in w and "rows 22" in w for w in warnings)
    assert any("latest executive_sponsor change of 1 deal(s) differs" in w and "rows 23" in w
               for w in warnings)


def test_validate_cli_exits_2_on_a_bad_history_row(tmp_path: Path) -> None:
    folder = history_with(tmp_path, {"opportunity_id": "O01", "field": "arr", "value": "lots",
                                     "changed_on": "2026-03-01"})
    r = CliRunner().invoke(main, ["validate", str(folder)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert f"{FH}, row 22, column 'value'" in r.output


# -- value_at -----------------------------------------------------------------------------------
def test_value_at_flags_by_date() -> None:
    e = tiny_history()
    ids = ["O01", "O01", "O01", "O03", "O03", "O12", "O12", "O12", "O02", "O02", "O99"]
    dates = ["2026-02-20", "2026-02-21", "2026-09-29", "2026-04-01", "2026-04-16", "2026-07-20",
             "2026-07-21", "2026-08-25", "2026-02-19", "2026-02-21", "2026-05-01"]
    got = value_at(e, "technical_validation", ids, np.array(dates, dtype="datetime64[ns]"))
    # O01: set on 02-20, unknown at its start (no old value) -> NaN; O03: old value false;
    # O12: no tv history, export value false; O02: no rows, older than the field's history
    # (first change 02-20) -> unknown before it, export value after; O99: not a deal.
    expected = [np.nan, 1, 1, 0, 1, 0, 0, 0, np.nan, 0, np.nan]
    np.testing.assert_array_equal(got, np.array(expected, dtype=float))
    es = value_at(e, "executive_sponsor", ["O12"] * 4, np.array(
        ["2026-07-20", "2026-07-21", "2026-08-24", "2026-08-25"], dtype="datetime64[ns]"))
    np.testing.assert_array_equal(es, [np.nan, 1, 1, 0])


def test_value_at_arr_role_and_pct() -> None:
    e = tiny_history()
    arr = value_at(e, "arr", ["O01", "O01", "O01", "O04", "O04", "O04", "O10", "O05"],
                   np.array(["2026-01-15", "2026-01-16", "2026-03-11", "2026-04-20", "2026-04-21",
                             "2026-06-02", "2026-08-01", "2026-05-01"], dtype="datetime64[ns]"))
    # O01 before its first change (no old value): the first recorded value, ARR being required.
    np.testing.assert_array_equal(arr, [40000, 40000, 48000, 50000, 55000, 60000, 50000, 120000])
    role = value_at(e, "partner_role", ["O04", "O04", "O01"], "2026-05-11")
    assert list(role) == ["co_sell", "co_sell", "sourced"]
    assert list(value_at(e, "partner_role", ["O04"], "2026-05-12")) == ["influenced"]
    pct = value_at(e, "influence_pct", ["O04", "O04", "O07"], np.array(
        ["2026-05-11", "2026-05-12", "2026-07-01"], dtype="datetime64[ns]"))
    np.testing.assert_array_equal(pct, [np.nan, 30.0, 25.0])


def test_value_at_without_history_is_the_export_value() -> None:
    with tempfile.TemporaryDirectory() as d:
        e = load_export(write_tiny_export(d))
    got = value_at(e, "technical_validation", list(e.opportunities["opportunity_id"]), "2026-01-01")
    np.testing.assert_array_equal(got, e.opportunities["technical_validation"].astype(float))
    assert history_start(e, "arr") is None
    assert history_start(tiny_history(), "arr") == pd.Timestamp("2026-01-15")
    with pytest.raises(ValueError, match="not a field with history"):
        value_at(e, "stage", ["O01"], "2026-01-01")


def test_value_at_on_a_view_agrees_with_the_full_export() -> None:
    e = tiny_history()
    ids = list(e.opportunities["opportunity_id"])
    for cut in pd.date_range("2026-01-10", "2026-09-29", freq="31D"):
        view = e.as_of(cut)
        known = [i for i in ids if i in set(view.opportunities["opportunity_id"])]
        days = pd.date_range(cut - pd.Timedelta(days=60), cut, freq="4D")
        queries = np.repeat(np.array(known, dtype=object), len(days))
        when = np.tile(days.to_numpy(), len(known))
        for field in ("technical_validation", "executive_sponsor", "arr", "partner_role"):
            a, b = value_at(view, field, queries, when), value_at(e, field, queries, when)
            start = history_start(e, field)
            for x, y in zip(a, b, strict=True):
                if str(x) == str(y):
                    continue
                # The one difference allowed: a cut on or before the field's whole history
                # cannot know tracking begins later, so its view reads the export value where
                # the full export blanks a deal older than the history (rule 3). The view of a
                # cut never depends on rows changed on or after it (test_export_as_of).
                assert start is not None and cut <= start, (cut, field)
                assert str(y) == "nan" and field in ("technical_validation", "executive_sponsor")


# -- the as-of view -----------------------------------------------------------------------------
def test_view_rebuilds_flags_arr_and_role() -> None:
    v = tiny_history().as_of("2026-05-01")
    o = v.opportunities.set_index("opportunity_id")
    assert flag(o, "O01", "technical_validation") is True and o.loc["O01", "arr"] == 48000
    assert flag(o, "O03", "technical_validation") is True  # set 04-15
    assert flag(o, "O02", "technical_validation") is False  # never changed: export value
    # O04: role changed to influenced on 05-11 (old value co_sell); ARR 55,000 since 04-20;
    # flags set later are unknown yet; influence % recorded only from 05-11.
    assert o.loc["O04", "partner_role"] == "co_sell" and o.loc["O04", "arr"] == 55000
    assert flag(o, "O04", "technical_validation") is None
    assert flag(o, "O04", "executive_sponsor") is None
    assert np.isnan(o.loc["O04", "influence_pct"])
    assert flag(o, "O05", "technical_validation") is None  # set 06-08, on reaching proposal
    assert list(v.field_history["_row"]) == [2, 3, 4, 5, 6, 7]
    dtypes = tiny_history().opportunities.dtypes
    pd.testing.assert_series_equal(v.opportunities.dtypes, dtypes)


def test_view_of_an_export_with_latest_value_flags_shows_the_latest_values() -> None:
    """Without history the view cannot rebuild a flag: the leak the audit is for."""
    with tempfile.TemporaryDirectory() as d:
        e = load_export(write_tiny_export(d))
    o = e.as_of("2026-06-10").opportunities.set_index("opportunity_id")
    assert o.loc["O05", "stage"] == "proposal" and flag(o, "O05", "technical_validation") is True
    with_history = tiny_history().as_of("2026-06-08").opportunities.set_index("opportunity_id")
    assert flag(with_history, "O05", "technical_validation") is None


def test_view_at_default_as_of_equals_the_export_for_history_fields() -> None:
    e = tiny_history()
    v = e.as_of("2026-09-29")
    cols = list(HISTORY_FIELDS)
    pd.testing.assert_frame_equal(v.opportunities[cols], e.opportunities[cols])
    pd.testing.assert_frame_equal(v.field_history, e.field_history)
