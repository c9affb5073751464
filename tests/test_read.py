"""Reading an export: text read, typed conversion, leniency and row numbering."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from partner_forecast.data.convert import closest_label
from partner_forecast.data.export import load_export
from partner_forecast.data.read import read_raw
from partner_forecast.data.schema import (
    ENGAGEMENT_ACTIVITIES,
    LABEL_SETS,
    LEARNING_ACTIVITIES,
    SELLING_ACTIVITIES,
    TABLES,
    normalise_label,
)
from partner_forecast.errors import ExportError, Problem
from partner_forecast.testing.exports import tiny_export_tables, write_tiny_export


def load_with(tmp_path: Path, table: str, oid: str, column: str, value: str):
    tables = tiny_export_tables()
    frame = tables[table]
    frame.loc[frame[frame.columns[0]] == oid, column] = value
    return load_export(write_tiny_export(tmp_path, tables))


def opp(export, oid: str) -> pd.Series:
    return export.opportunities.set_index("opportunity_id").loc[oid]


def problems_of(folder: Path) -> list[Problem]:
    with pytest.raises(ExportError) as err:
        load_export(folder)
    return err.value.problems


# -- the tiny export ------------------------------------------------------------------------------
def test_tiny_export_loads_with_zero_problems(tmp_path: Path) -> None:
    e = load_export(write_tiny_export(tmp_path))
    assert e.warnings == ()
    sizes = {name: len(frame) for name, frame in e.tables().items()}
    assert sizes == {"partners": 4, "sellers": 12, "activities": 46, "opportunities": 12,
                     "stage_history": 40, "targets": 5, "company": 2, "field_history": 0,
                     "calls": 0}
    assert set(e.partners["partner_type"]) == {"reseller", "msp", "gsi", "tech_alliance"}
    assert set(e.partners["tier"]) == {"strategic", "growth", "transactional"}
    assert e.sellers["left_on"].notna().sum() == 1
    seen = set(e.activities["activity_type"])
    for types in (SELLING_ACTIVITIES, LEARNING_ACTIVITIES, ENGAGEMENT_ACTIVITIES):
        assert seen & set(types)
    assert set(e.opportunities["partner_role"]) == set(LABEL_SETS["partner_role"])
    assert e.opportunities["created_on"].min() >= pd.Timestamp("2026-01-01")


def test_tiny_tables_are_text_and_fresh() -> None:
    a, b = tiny_export_tables(), tiny_export_tables()
    a["partners"].loc[0, "tier"] = "changed"
    assert b["partners"].loc[0, "tier"] == "strategic"
    for frame in b.values():
        assert all(pd.api.types.is_string_dtype(frame[c]) for c in frame.columns)


def test_typed_columns_and_rows(tmp_path: Path) -> None:
    e = load_export(write_tiny_export(tmp_path))
    o = e.opportunities
    assert o["created_on"].dtype == "datetime64[ns]"
    assert o["arr"].dtype == float
    assert o["marketplace"].dtype == "boolean"
    assert o["stage"].dtype == object
    # missing text values are None, never NaN
    assert o["influence_pct"].isna().sum() == 10
    assert all(v is None for v in e.activities.loc[e.activities["opportunity_id"].isna(),
                                                   "opportunity_id"])
    assert list(e.opportunities["_row"]) == list(range(2, 14))


def test_parquet_equals_csv(tmp_path: Path) -> None:
    csv = load_export(write_tiny_export(tmp_path / "csv"))
    pq = load_export(write_tiny_export(tmp_path / "pq", fmt="parquet"))
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(pq, name), getattr(csv, name), obj=name)


def test_parquet_of_text_columns_equals_csv(tmp_path: Path) -> None:
    folder = tmp_path / "pq"
    folder.mkdir()
    for name, frame in tiny_export_tables().items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
    csv = load_export(write_tiny_export(tmp_path / "csv"))
    pq = load_export(folder)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(pq, name), getattr(csv, name), obj=name)


# -- leniency -------------------------------------------------------------------------------------
@pytest.mark.parametrize(("raw", "canonical"), [
    ("Co-Sell", "co_sell"), ("co sell", "co_sell"), ("CO_SELL", "co_sell"), ("cosell", "co_sell"),
    ("Sourced", "sourced"), ("  influenced ", "influenced"), ("Fulfillment", "fulfillment"),
])
def test_role_label_variants(tmp_path: Path, raw: str, canonical: str) -> None:
    assert opp(load_with(tmp_path, "opportunities", "O02", "partner_role", raw), "O02")[
        "partner_role"] == canonical


@pytest.mark.parametrize(("raw", "canonical"), [
    ("Tech Alliance", "tech_alliance"), ("technology-alliance", "tech_alliance"),
    ("Managed Service Provider", "msp"), ("MSP", "msp"), ("G.S.I", None),
])
def test_partner_type_variants(tmp_path: Path, raw: str, canonical: str | None) -> None:
    if canonical is None:
        tables = tiny_export_tables()
        tables["partners"].loc[0, "partner_type"] = raw
        probs = problems_of(write_tiny_export(tmp_path, tables))
        assert [(p.row, p.column) for p in probs] == [(2, "partner_type")]
        return
    e = load_with(tmp_path, "partners", "P1", "partner_type", raw)
    assert e.partners.loc[0, "partner_type"] == canonical


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_any_case_and_separator_variant_normalises(data: st.DataObject) -> None:
    key = data.draw(st.sampled_from(sorted(LABEL_SETS)))
    label = data.draw(st.sampled_from(LABEL_SETS[key]))
    seps = st.sampled_from(["_", " ", "-", " - ", "__", "/"])
    parts = label.split("_")
    out = parts[0]
    for p in parts[1:]:
        out += data.draw(seps) + p
    out = "".join(c.upper() if data.draw(st.booleans()) else c for c in out)
    pad = data.draw(st.sampled_from(["", " ", "  "]))
    assert normalise_label(pad + out + pad) == label


def test_closest_label_uses_aliases() -> None:
    assert closest_label("Managed Svc Provider", LABEL_SETS["partner_type"],
                         {"managed_service_provider": "msp"}) == "msp"
    assert closest_label("Negociation", LABEL_SETS["stage"]) == "negotiation"


def test_header_names_are_normalised(tmp_path: Path) -> None:
    tables = tiny_export_tables()
    tables["partners"] = tables["partners"].rename(
        columns={"partner_id": "Partner ID", "partner_type": " Partner-Type ", "tier": "TIER"})
    e = load_export(write_tiny_export(tmp_path, tables))
    assert list(e.partners["partner_type"]) == ["reseller", "msp", "gsi", "tech_alliance"]
    assert e.warnings == ()


def test_file_names_are_case_insensitive(tmp_path: Path) -> None:
    write_tiny_export(tmp_path)
    (tmp_path / "partners.csv").rename(tmp_path / "Partners.CSV")
    assert len(load_export(tmp_path).partners) == 4


def test_optional_columns_may_be_absent(tmp_path: Path) -> None:
    tables = tiny_export_tables()
    tables["opportunities"] = tables["opportunities"].drop(
        columns=["revenue_motion", "influence_pct", "marketplace", "expected_close_on"])
    tables["partners"] = tables["partners"].drop(columns=["partner_name", "region"])
    del tables["targets"], tables["company"]
    e = load_export(write_tiny_export(tmp_path, tables))
    assert e.opportunities["revenue_motion"].isna().all()
    assert e.opportunities["marketplace"].dtype == "boolean"
    assert e.targets.empty and list(e.targets.columns) == ["quarter", "partner_type", "arr_target",
                                                            "_row"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("48000", 48000.0), ("48,000", 48000.0), ("1,200,000.50", 1200000.5), (" 48000 ", 48000.0),
    ("4.8e4", 48000.0), ("48000.0", 48000.0),
])
def test_numbers(tmp_path: Path, raw: str, expected: float) -> None:
    assert opp(load_with(tmp_path, "opportunities", "O01", "arr", raw), "O01")["arr"] == expected


@pytest.mark.parametrize("raw", ["48.000,00", "1,2", "inf", "nan-ish", "$48000", "48 k"])
def test_bad_numbers(tmp_path: Path, raw: str) -> None:
    tables = tiny_export_tables()
    tables["opportunities"].loc[0, "arr"] = raw
    probs = problems_of(write_tiny_export(tmp_path, tables))
    assert [(p.file, p.row, p.column, p.value) for p in probs] == [
        ("opportunities.csv", 2, "arr", raw.strip())]


def test_percentages(tmp_path: Path) -> None:
    e = load_with(tmp_path, "opportunities", "O04", "influence_pct", "30%")
    assert opp(e, "O04")["influence_pct"] == 30.0


@pytest.mark.parametrize("raw", ["NULL", "null", "N/A", "#N/A", "None", "NaN", ""])
def test_null_tokens_are_empty(tmp_path: Path, raw: str) -> None:
    e = load_with(tmp_path, "opportunities", "O01", "deal_registration_id", raw)
    assert opp(e, "O01")["deal_registration_id"] is None


def test_na_is_a_value_not_a_null(tmp_path: Path) -> None:
    e = load_with(tmp_path, "partners", "P2", "region", "NA")
    assert e.partners.loc[1, "region"] == "NA"


@pytest.mark.parametrize(("raw", "expected"), [
    ("2026-01-15", "2026-01-15"), ("2026-01-15T09:30:00", "2026-01-15"),
    ("2026-01-15 09:30", "2026-01-15"), ("2026-01-15T23:30:00+02:00", "2026-01-15"),
    ("2026-01-15T09:30:00Z", "2026-01-15"),
])
def test_dates(tmp_path: Path, raw: str, expected: str) -> None:
    e = load_with(tmp_path, "activities", "A003", "occurred_on", raw)
    assert e.activities.loc[2, "occurred_on"] == pd.Timestamp(expected)


@pytest.mark.parametrize(("raw", "message"), [
    ("15/01/2026", "not an ISO date"), ("2026-1-15", "not an ISO date"),
    ("2026-01", "not an ISO date"), ("2026-02-30", "not an ISO date"),
    ("Jan 15 2026", "not an ISO date"), ("9999-12-31", "implausible"),
    ("0026-01-15", "implausible"),
])
def test_bad_dates(tmp_path: Path, raw: str, message: str) -> None:
    tables = tiny_export_tables()
    tables["activities"].loc[2, "occurred_on"] = raw
    probs = problems_of(write_tiny_export(tmp_path, tables))
    assert [(p.row, p.column, p.value) for p in probs] == [(4, "occurred_on", raw)]
    assert message in probs[0].message


@pytest.mark.parametrize(("raw", "expected"), [
    ("true", True), ("TRUE", True), ("Yes", True), ("y", True), ("1", True), ("1.0", True),
    ("false", False), ("No", False), ("0", False), ("F", False), ("", None),
])
def test_booleans(tmp_path: Path, raw: str, expected: bool | None) -> None:
    value = opp(load_with(tmp_path, "opportunities", "O01", "marketplace", raw), "O01")["marketplace"]
    assert (value is pd.NA) if expected is None else (value == expected)


@pytest.mark.parametrize("raw", ["2026Q2", "2026q2", "2026-Q2", "FY2026Q2", " 2026 Q2 "])
def test_quarters(tmp_path: Path, raw: str) -> None:
    e = load_with(tmp_path, "targets", "2026Q2", "quarter", raw)
    assert e.targets.loc[0, "quarter"] == "2026Q2"


# -- file-level reading and row numbers ----------------------------------------------------------
def test_bom_and_crlf_are_accepted(tmp_path: Path) -> None:
    write_tiny_export(tmp_path)
    text = (tmp_path / "sellers.csv").read_text()
    (tmp_path / "sellers.csv").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    assert len(load_export(tmp_path).sellers) == 12


def test_blank_lines_count_in_row_numbers(tmp_path: Path) -> None:
    write_tiny_export(tmp_path)
    lines = (tmp_path / "sellers.csv").read_text().splitlines()
    lines.insert(3, "")  # blank line 4
    lines.insert(5, " , , ,")  # whitespace-only record on line 6
    assert lines[6].startswith("S04,")  # now on line 7
    lines[6] = lines[6].replace("2025-12-01", "first of december")
    (tmp_path / "sellers.csv").write_text("\n".join(lines) + "\n\n")
    probs = problems_of(tmp_path)
    assert [(p.file, p.row, p.column) for p in probs] == [("sellers.csv", 7, "joined_on")]


def test_quoted_newlines_keep_row_numbers(tmp_path: Path) -> None:
    tables = tiny_export_tables()
    tables["partners"].loc[0, "partner_name"] = "Acme\nResale, Ltd"
    tables["partners"].loc[2, "tier"] = "gold"  # P3: line 5 (P1 spans lines 2-3)
    probs = problems_of(write_tiny_export(tmp_path, tables))
    assert [(p.row, p.column) for p in probs] == [(5, "tier")]


def test_ragged_rows_are_reported_and_others_still_checked(tmp_path: Path) -> None:
    write_tiny_export(tmp_path)
    lines = (tmp_path / "sellers.csv").read_text().splitlines()
    lines[2] = lines[2] + ",extra"  # S02, line 3
    lines[9] = lines[9].replace("2026-02-09", "yesterday")  # S09, line 10
    (tmp_path / "sellers.csv").write_text("\n".join(lines) + "\n")
    probs = problems_of(tmp_path)
    rows = [(p.file, p.row, p.column) for p in probs if p.file == "sellers.csv"]
    assert ("sellers.csv", 3, None) in rows and ("sellers.csv", 10, "joined_on") in rows


def test_unknown_and_duplicate_columns(tmp_path: Path) -> None:
    tables = tiny_export_tables()
    tables["sellers"]["region"] = "x"
    problems: list[Problem] = []
    read_raw(write_tiny_export(tmp_path, tables), problems)
    assert [(p.file, p.row, p.column, p.severity) for p in problems] == [
        ("sellers.csv", 1, "region", "warning")]


def test_missing_folder_is_a_problem(tmp_path: Path) -> None:
    probs = problems_of(tmp_path / "absent")
    assert probs[0].message == "export folder not found"


def test_relational_checks_run_despite_file_level_problems(tmp_path: Path) -> None:
    tables = tiny_export_tables()
    del tables["activities"]
    tables["opportunities"].loc[3, "referring_seller_id"] = "S77"
    probs = problems_of(write_tiny_export(tmp_path, tables))
    assert {(p.file, p.row, p.column) for p in probs} == {
        ("activities.csv", None, None), ("opportunities.csv", 5, "referring_seller_id")}


def test_bad_history_cell_is_reported_once(tmp_path: Path) -> None:
    tables = tiny_export_tables()
    h = tables["stage_history"]
    h.loc[(h["opportunity_id"] == "O01") & (h["stage"] == "won"), "stage"] = "closed wonn"
    probs = problems_of(write_tiny_export(tmp_path, tables))
    assert [(p.file, p.row, p.column) for p in probs] == [("stage_history.csv", 6, "stage")]
    assert "closest valid is 'won'" in probs[0].message


def test_warnings_for_suspicious_data(tmp_path: Path) -> None:
    tables = tiny_export_tables()
    tables["activities"].loc[0, "occurred_on"] = "2025-11-01"  # S01 joined 2025-11-10
    tables["opportunities"].loc[0, "referring_seller_id"] = "S05"  # P2's seller on a P1 deal
    o = tables["opportunities"]
    o.loc[o["partner_role"] == "influenced", "influence_pct"] = "0.3"
    o.loc[0, "influence_pct"] = "0.5"
    e = load_export(write_tiny_export(tmp_path, tables))
    got = {(w.file, w.row, w.column) for w in e.warnings}
    assert got == {("activities.csv", 2, "occurred_on"),
                   ("opportunities.csv", 2, "referring_seller_id"),
                   ("opportunities.csv", None, "influence_pct")}
    assert all(w.severity == "warning" for w in e.warnings)
