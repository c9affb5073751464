"""A corpus of malformed exports, each run through ``partner-forecast validate``.

Every case builds the tiny export (:mod:`partner_forecast.testing.exports`), breaks it in one
(or several) ways, and checks that the command exits 2 with no traceback and that a line of
its error output names the right file, column and row (header = row 1: the tiny export's
``O01`` is row 2 of opportunities.csv, ``S05`` row 6 of sellers.csv, and so on).
The end of the file tests the valid path and the data-quality audit.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.cli import main
from partner_forecast.data.audit import audit_export
from partner_forecast.data.export import load_export
from partner_forecast.errors import ConfigError, ExportError
from partner_forecast.testing.exports import tiny_export_tables, write_tiny_export

Tables = dict[str, pd.DataFrame]


@dataclass(frozen=True)
class Expect:
    """One line of the error output must name all of these."""

    file: str
    column: str | None = None
    row: int | None = None
    text: str | None = None

    def matches(self, line: str) -> bool:
        if not line.startswith(self.file) and f" {self.file}" not in line:
            return False
        if self.column is not None and f"column '{self.column}'" not in line:
            return False
        if self.row is not None and not re.search(rf"\brow {self.row}\b", line):
            return False
        return self.text is None or self.text.lower() in line.lower()


@dataclass(frozen=True)
class Case:
    name: str
    build: Callable[[Path], None]
    expect: tuple[Expect, ...]
    also: tuple[str, ...] = field(default_factory=tuple)  # substrings anywhere in stderr


def mutated(mutate: Callable[[Tables], None], fmt: str = "csv") -> Callable[[Path], None]:
    """A builder writing the tiny export after ``mutate`` changed its tables in place."""

    def build(folder: Path) -> None:
        tables = tiny_export_tables()
        mutate(tables)
        write_tiny_export(folder, tables, fmt=fmt)

    return build


def set_cell(table: str, key: str, column: str, value: str) -> Callable[[Tables], None]:
    """Mutation: set ``column`` of the row whose id (first column) is ``key``."""

    def mutate(t: Tables) -> None:
        frame = t[table]
        hit = frame[frame.columns[0]] == key
        assert hit.sum() == 1, (table, key)
        frame.loc[hit, column] = value

    return mutate


def set_history(opportunity_id: str, stage: str, entered_on: str) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        h = t["stage_history"]
        hit = (h["opportunity_id"] == opportunity_id) & (h["stage"] == stage)
        assert hit.sum() == 1
        h.loc[hit, "entered_on"] = entered_on

    return mutate


def append_row(table: str, row: dict[str, str]) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        frame = t[table]
        full = {c: row.get(c, "") for c in frame.columns}
        t[table] = pd.concat([frame, pd.DataFrame([full], dtype=str)], ignore_index=True)

    return mutate


def combine(*mutations: Callable[[Tables], None]) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        for m in mutations:
            m(t)

    return mutate


def write_raw(name: str, data: bytes, remove: tuple[str, ...] = ()) -> Callable[[Path], None]:
    """Builder: the tiny export with ``name`` replaced by raw bytes."""

    def build(folder: Path) -> None:
        write_tiny_export(folder)
        for r in remove:
            (folder / r).unlink()
        (folder / name).write_bytes(data)

    return build


def tiny_csv_text(table: str) -> str:
    return tiny_export_tables()[table].to_csv(index=False)


def _drop_table(name: str) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        del t[name]

    return mutate


def _drop_column(table: str, column: str) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        t[table] = t[table].drop(columns=column)

    return mutate


def _rename_column(table: str, old: str, new: str) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        t[table] = t[table].rename(columns={old: new})

    return mutate


def _drop_history(opportunity_id: str) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        h = t["stage_history"]
        t["stage_history"] = h[h["opportunity_id"] != opportunity_id].reset_index(drop=True)

    return mutate


def _header_only(table: str) -> Callable[[Tables], None]:
    def mutate(t: Tables) -> None:
        t[table] = t[table].iloc[:0]

    return mutate


def _many_bad_arr(t: Tables) -> None:
    o = t["opportunities"]
    extra = pd.concat([o.iloc[[0]]] * 300, ignore_index=True)
    extra["opportunity_id"] = [f"X{i:04d}" for i in range(300)]
    extra["arr"] = "lots"
    t["opportunities"] = pd.concat([o, extra], ignore_index=True)
    h = t["stage_history"]
    hx = h[h["opportunity_id"] == "O01"]
    t["stage_history"] = pd.concat(
        [h] + [hx.assign(opportunity_id=f"X{i:04d}") for i in range(300)], ignore_index=True)


_latin1 = tiny_csv_text("partners").replace("Acme Resale", "Société Générale").encode("latin-1")
_semicolons = tiny_csv_text("partners").replace(",", ";").encode()
_tabs = tiny_csv_text("sellers").replace(",", "\t").encode()
_ragged = tiny_csv_text("sellers").replace("S05,P2,Eva Fischer,", "S05,P2,Fischer, Eva,").encode()
_dup_header = tiny_csv_text("targets").replace("arr_target", "arr_target,quarter", 1)
_dup_header = "\n".join([_dup_header.splitlines()[0]]
                        + [line + ",2026Q1" for line in _dup_header.splitlines()[1:]]).encode()

def _unclosed_quote(text: str) -> bytes:
    """Sellers with a quote opened before 'Chloe Dubois' (row 4) and never closed."""
    return text.replace("S03,P1,Chloe Dubois", 'S03,P1,"Chloe Dubois').encode()


def _runaway_quote(text: str) -> bytes:
    """Sellers with 1,000 filler rows after row 4 and a stray quote pair swallowing them."""
    lines = text.splitlines()
    lines[3] = lines[3].replace("Chloe Dubois", '"Chloe Dubois')
    lines[4:4] = [f"S{i:04d},P1,Filler {'y' * 200},role,2026-01-01," for i in range(1000)]
    return ("\n".join(lines).replace("Jade Kim", 'Jade Kim"') + "\n").encode()


def _csv_and_parquet(folder: Path) -> None:
    write_tiny_export(folder)
    write_tiny_export(folder, {"partners": tiny_export_tables()["partners"]}, fmt="parquet")


_sellers_text = tiny_csv_text("sellers")

CASES: list[Case] = [
    Case("missing_file", mutated(_drop_table("sellers")),
         (Expect("sellers.csv", text="required file is missing"),)),
    Case("missing_column", mutated(_drop_column("partners", "tier")),
         (Expect("partners.csv", "tier", 1, "required column is missing"),)),
    Case("misspelled_column", mutated(_rename_column("opportunities", "partner_role", "partner_rol")),
         (Expect("opportunities.csv", "partner_role", 1, "partner_rol"),)),
    Case("bad_date", mutated(set_cell("opportunities", "O03", "created_on", "2026-13-01")),
         (Expect("opportunities.csv", "created_on", 4, "not an ISO date"),)),
    Case("us_style_date", mutated(set_cell("sellers", "S07", "joined_on", "03/02/2026")),
         (Expect("sellers.csv", "joined_on", 8, "03/02/2026"),)),
    Case("implausible_date", mutated(set_cell("activities", "A010", "occurred_on", "0226-01-20")),
         (Expect("activities.csv", "occurred_on", 11, "implausible"),)),
    Case("negative_arr", mutated(set_cell("opportunities", "O02", "arr", "-36000")),
         (Expect("opportunities.csv", "arr", 3, "negative"),)),
    Case("bad_number", mutated(set_cell("opportunities", "O06", "arr", "90k")),
         (Expect("opportunities.csv", "arr", 7, "not a number"),)),
    Case("decimal_comma", mutated(set_cell("company", "2026Q1", "total_arr", "2400000,50")),
         (Expect("company.csv", "total_arr", 2, "decimal separator"),)),
    Case("unknown_role_label", mutated(set_cell("opportunities", "O02", "partner_role", "Co-Seller")),
         (Expect("opportunities.csv", "partner_role", 3, "closest valid is 'co_sell'"),)),
    Case("unknown_type_label", mutated(set_cell("partners", "P1", "partner_type", "Resseller")),
         (Expect("partners.csv", "partner_type", 2, "closest valid is 'reseller'"),)),
    Case("unknown_activity_type", mutated(set_cell("activities", "A007", "activity_type", "pitchh")),
         (Expect("activities.csv", "activity_type", 8, "closest valid is 'pitch'"),)),
    Case("required_value_empty", mutated(set_cell("partners", "P3", "onboarded_on", "")),
         (Expect("partners.csv", "onboarded_on", 4, "required value is empty"),)),
    Case("duplicate_id", mutated(set_cell("sellers", "S06", "seller_id", "S05")),
         (Expect("sellers.csv", "seller_id", 7, "duplicate"),)),
    Case("orphan_partner", mutated(set_cell("sellers", "S01", "partner_id", "P9")),
         (Expect("sellers.csv", "partner_id", 2, "unknown partner_id"),)),
    Case("orphan_seller", mutated(set_cell("opportunities", "O04", "referring_seller_id", "S99")),
         (Expect("opportunities.csv", "referring_seller_id", 5, "unknown seller_id"),)),
    Case("orphan_opportunity",
         mutated(combine(append_row("stage_history", {"opportunity_id": "O99", "stage": "discovery",
                                                      "entered_on": "2026-05-01"}),
                         set_cell("activities", "A004", "opportunity_id", "O77"))),
         (Expect("stage_history.csv", "opportunity_id", 42, "unknown opportunity_id"),
          Expect("activities.csv", "opportunity_id", 5, "unknown opportunity_id"))),
    Case("history_contradicts_stage", mutated(set_cell("opportunities", "O05", "stage", "Proposal")),
         (Expect("opportunities.csv", "stage", 6, "latest entry is 'negotiation' on 2026-07-20 (row 22)"),)),
    Case("history_out_of_order", mutated(set_history("O01", "qualified", "2026-03-20")),
         (Expect("stage_history.csv", "stage", 3, "out of order"),)),
    Case("history_after_close",
         mutated(append_row("stage_history", {"opportunity_id": "O02", "stage": "proposal",
                                              "entered_on": "2026-05-01"})),
         (Expect("stage_history.csv", "stage", 42, "out of order"),)),
    Case("stage_entered_twice",
         mutated(append_row("stage_history", {"opportunity_id": "O06", "stage": "qualified",
                                              "entered_on": "2026-07-01"})),
         (Expect("stage_history.csv", "stage", 42, "more than once"),)),
    Case("deal_without_history", mutated(_drop_history("O09")),
         (Expect("opportunities.csv", "opportunity_id", 10, "no entry in stage_history.csv"),)),
    Case("history_missing_creation", mutated(set_cell("opportunities", "O05", "created_on", "2026-04-10")),
         (Expect("opportunities.csv", "created_on", 6, "first entry is on 2026-04-13 (row 19)"),)),
    Case("closed_without_closed_on", mutated(set_cell("opportunities", "O03", "closed_on", "")),
         (Expect("opportunities.csv", "closed_on", 4, "no closed_on"),)),
    Case("open_with_closed_on", mutated(set_cell("opportunities", "O05", "closed_on", "2026-08-01")),
         (Expect("opportunities.csv", "closed_on", 6, "open deal"),)),
    Case("closed_on_differs_from_history",
         mutated(set_cell("opportunities", "O01", "closed_on", "2026-03-26")),
         (Expect("opportunities.csv", "closed_on", 2, "differs"),)),
    Case("closed_before_created", mutated(set_cell("opportunities", "O01", "closed_on", "2026-01-10")),
         (Expect("opportunities.csv", "closed_on", 2, "closed before it was created"),)),
    Case("left_before_joined", mutated(set_cell("sellers", "S04", "left_on", "2025-11-01")),
         (Expect("sellers.csv", "left_on", 5, "left before joining"),)),
    Case("offboarded_before_onboarded", mutated(set_cell("partners", "P4", "offboarded_on", "2026-01-01")),
         (Expect("partners.csv", "offboarded_on", 5, "offboarded before"),)),
    Case("contact_before_lead", mutated(set_cell("opportunities", "O01", "first_contact_on", "2026-01-10")),
         (Expect("opportunities.csv", "first_contact_on", 2, "before the lead"),)),
    Case("bad_boolean", mutated(set_cell("opportunities", "O07", "marketplace", "maybe")),
         (Expect("opportunities.csv", "marketplace", 8, "not a boolean"),)),
    Case("bad_quarter", mutated(set_cell("targets", "2026Q2", "quarter", "2026Q5")),
         (Expect("targets.csv", "quarter", 2, "not a quarter"),)),
    Case("duplicate_target", mutated(append_row("targets", {"quarter": "2026q3", "arr_target": "1"})),
         (Expect("targets.csv", "quarter", 7, "duplicate"),)),
    Case("influence_over_100", mutated(set_cell("opportunities", "O04", "influence_pct", "130")),
         (Expect("opportunities.csv", "influence_pct", 5, "above 100"),)),
    Case("influence_negative", mutated(set_cell("opportunities", "O07", "influence_pct", "-5")),
         (Expect("opportunities.csv", "influence_pct", 8, "negative"),)),
    Case("empty_file", write_raw("activities.csv", b""),
         (Expect("activities.csv", text="empty"),)),
    Case("header_only_opportunities", mutated(_header_only("opportunities")),
         (Expect("opportunities.csv", text="header but no rows"),), also=("1 problem(s)",)),
    Case("header_only_partners", mutated(_header_only("partners")),
         (Expect("partners.csv", text="header but no rows"),),
         also=("1 problem(s)",)),
    Case("semicolon_delimiter", write_raw("partners.csv", _semicolons),
         (Expect("partners.csv", row=1, text="semicolons"),)),
    Case("tab_delimiter", write_raw("sellers.csv", _tabs),
         (Expect("sellers.csv", row=1, text="tabs"),)),
    Case("latin1_encoding", write_raw("partners.csv", _latin1),
         (Expect("partners.csv", row=2, text="not UTF-8"),)),
    Case("ragged_row", write_raw("sellers.csv", _ragged),
         (Expect("sellers.csv", row=6, text="7 fields but the header has 6"),)),
    Case("duplicate_header", write_raw("targets.csv", _dup_header),
         (Expect("targets.csv", "quarter", 1, "more than once"),)),
    Case("parquet_negative_arr",
         mutated(set_cell("opportunities", "O02", "arr", "-36000"), fmt="parquet"),
         (Expect("opportunities.parquet", "arr", 3, "negative"),)),
    Case("parquet_bad_label",
         mutated(set_cell("partners", "P2", "tier", "platinum"), fmt="parquet"),
         (Expect("partners.parquet", "tier", 3, "unknown tier label"),)),
    Case("corrupt_parquet", write_raw("opportunities.parquet", b"PAR1 not really parquet",
                                      remove=("opportunities.csv",)),
         (Expect("opportunities.parquet", text="cannot read Parquet"),)),
    Case("several_problems",
         mutated(combine(set_cell("partners", "P2", "tier", "Gold"),
                         set_cell("sellers", "S03", "joined_on", "2026-02-31"),
                         set_cell("activities", "A020", "seller_id", "S55"),
                         set_cell("opportunities", "O08", "arr", "-1"),
                         set_cell("opportunities", "O10", "stage", "negotiation"),
                         set_cell("targets", "2026Q2", "arr_target", "a lot"))),
         (Expect("partners.csv", "tier", 3, "closest valid"),
          Expect("sellers.csv", "joined_on", 4, "not an ISO date"),
          Expect("activities.csv", "seller_id", 21, "unknown seller_id"),
          Expect("opportunities.csv", "arr", 9, "negative"),
          Expect("opportunities.csv", "stage", 11, "contradicts"),
          Expect("targets.csv", "arr_target", 2, "not a number"))),
    Case("too_many_problems", mutated(_many_bad_arr),
         (Expect("opportunities.csv", "arr", 14, "not a number"),),
         also=("... and 100 more problems", "300 problem(s)")),
    # -- bad input that used to pass silently, trace back or flood the screen (issue 12) --
    Case("absurd_arr", mutated(set_cell("opportunities", "O03", "arr", "1e300")),
         (Expect("opportunities.csv", "arr", 4, "above 1,000,000,000,000"),),
         also=("1 problem(s)",)),
    Case("infinite_arr", mutated(set_cell("opportunities", "O03", "arr", "inf")),
         (Expect("opportunities.csv", "arr", 4, "not a number"),)),
    Case("absurd_target", mutated(set_cell("targets", "2026Q2", "arr_target", "1e18")),
         (Expect("targets.csv", "arr_target", 2, "above 1,000,000,000,000,000"),)),
    Case("activity_in_2150", mutated(set_cell("activities", "A004", "occurred_on", "2150-01-01")),
         (Expect("activities.csv", "occurred_on", 5, "far beyond the rest of the data, whose other "
                 "dates end on 2026-09-28"),),
         also=("1 problem(s)",)),
    Case("deal_closed_in_2150",
         mutated(combine(set_cell("opportunities", "O10", "closed_on", "2150-09-10"),
                         set_history("O10", "won", "2150-09-10"))),
         (Expect("opportunities.csv", "closed_on", 11, "far beyond"),
          Expect("stage_history.csv", "entered_on", 38, "far beyond")),
         also=("2 problem(s)",)),
    Case("csv_beside_parquet", _csv_and_parquet,
         (Expect("partners.csv", text="2 files hold the partners table: partners.csv and "
                 "partners.parquet"),),
         also=("1 problem(s)",)),
    Case("unclosed_quote", write_raw("sellers.csv", _unclosed_quote(_sellers_text)),
         (Expect("sellers.csv", row=4, text="never closed"),),
         also=("1 problem(s)",)),
    Case("quoted_value_over_field_limit", write_raw("sellers.csv", _runaway_quote(_sellers_text)),
         (Expect("sellers.csv", row=4, text="over 1008 lines"),),
         also=("1 problem(s)", "131,072")),
    Case("nul_in_seller_id", mutated(set_cell("sellers", "S05", "seller_id", "S0\x005")),
         (Expect("sellers.csv", "seller_id", 6, "NUL byte"),),
         also=("1 problem(s)",)),
    Case("utf16_with_bom", write_raw("partners.csv", tiny_csv_text("partners").encode("utf-16")),
         (Expect("partners.csv", text="UTF-16"),),
         also=("save it as UTF-8", "1 problem(s)")),
    Case("utf16_without_bom",
         write_raw("partners.csv", tiny_csv_text("partners").encode("utf-16-le")),
         (Expect("partners.csv", text="UTF-16"),),
         also=("save it as UTF-8",)),
    Case("corrupt_gzip", write_raw("partners.csv.gz", b"not gzip", remove=("partners.csv",)),
         (Expect("partners.csv.gz", text="cannot decompress"),)),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_malformed_export_is_reported(case: Case, tmp_path: Path) -> None:
    case.build(tmp_path)
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: ")
    for expect in case.expect:
        assert any(expect.matches(line) for line in lines), (expect, result.stderr)
    for text in case.also:
        assert text in result.stderr


def test_long_bad_value_is_cut_when_echoed(tmp_path: Path) -> None:
    mutated(set_cell("opportunities", "O05", "arr", "x" * 200_000))(tmp_path)
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    line = next(x for x in result.stderr.splitlines() if "column 'arr'" in x)
    assert line.startswith("opportunities.csv, row 6, column 'arr': not a number")
    assert line.endswith(f"(value: {'x' * 80!r}... (200,000 characters))")
    assert len(result.stderr) < 500


def test_gzipped_csv_reads_like_csv(tmp_path: Path) -> None:
    plain = load_export(write_tiny_export(tmp_path / "plain"))
    zipped = write_tiny_export(tmp_path / "zipped")
    for path in list(zipped.glob("*.csv")):
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        path.unlink()
    export = load_export(zipped)
    for name, frame in plain.tables().items():
        pd.testing.assert_frame_equal(export.tables()[name], frame, obj=name)
    result = CliRunner().invoke(main, ["validate", str(zipped)])
    assert result.exit_code == 0, result.output


def test_far_future_check_tolerates_a_late_burst(tmp_path: Path) -> None:
    """A quiet half-year followed by much activity is data, not a typo."""

    def mutate(t: Tables) -> None:
        a = t["activities"]
        late = a[a["opportunity_id"] == ""].copy()  # 21 activities without a deal
        late["activity_id"] = [f"L{i:03d}" for i in range(len(late))]
        late["occurred_on"] = "2027-06-01"
        late["seller_id"] = "S01"
        t["activities"] = pd.concat([a, late], ignore_index=True)

    mutated(mutate)(tmp_path)
    export = load_export(tmp_path)
    assert export.default_as_of == pd.Timestamp("2027-06-02")


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 25
    assert len({c.name for c in CASES}) == len(CASES)


def test_several_problems_are_all_reported_by_the_library(tmp_path: Path) -> None:
    mutated(combine(set_cell("partners", "P2", "tier", "Gold"),
                    set_cell("opportunities", "O08", "arr", "-1")))(tmp_path)
    with pytest.raises(ExportError) as err:
        load_export(tmp_path)
    found = {(p.file, p.row, p.column, p.value) for p in err.value.problems}
    assert ("partners.csv", 3, "tier", "Gold") in found
    assert ("opportunities.csv", 9, "arr", "-1") in found
    assert err.value.truncated == 0


def test_problems_are_sorted_by_file_then_row(tmp_path: Path) -> None:
    mutated(combine(set_cell("opportunities", "O08", "arr", "-1"),
                    set_cell("opportunities", "O02", "arr", "-1"),
                    set_cell("partners", "P3", "tier", "x")))(tmp_path)
    with pytest.raises(ExportError) as err:
        load_export(tmp_path)
    assert [(p.file, p.row) for p in err.value.problems] == [
        ("partners.csv", 4), ("opportunities.csv", 3), ("opportunities.csv", 9)]


def test_missing_folder_exits_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "export folder not found" in result.stderr


# -- accepted variants ---------------------------------------------------------------------------
@pytest.mark.parametrize("label", ["Co-Sell", "co sell", "CO_SELL", " co-sell ", "CoSell", "co_sell"])
def test_label_variants_are_accepted(label: str, tmp_path: Path) -> None:
    mutated(set_cell("opportunities", "O02", "partner_role", label))(tmp_path)
    export = load_export(tmp_path)
    assert export.opportunities.loc[1, "partner_role"] == "co_sell"


def test_valid_export_passes(tmp_path: Path) -> None:
    write_tiny_export(tmp_path)
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    out = result.stdout.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("ok: ")
    assert "12 opportunities" in out[0] and "as of 2026-09-29" in out[0]
    assert "audited fields complete" in out[0]
    assert "warning" not in result.stderr
    assert "audit:" in result.stderr and "100.0%" in result.stderr


def test_parquet_export_passes(tmp_path: Path) -> None:
    write_tiny_export(tmp_path, fmt="parquet")
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output


def test_unknown_column_is_a_warning(tmp_path: Path) -> None:
    def mutate(t: Tables) -> None:
        t["partners"]["account_owner"] = "someone"
        t["sellers"]["partner_tpye"] = "x"

    mutated(mutate)(tmp_path)
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "warning: partners.csv, row 1, column 'account_owner': unknown column ignored" in result.stderr
    assert "sellers.csv, row 1, column 'partner_tpye'" in result.stderr


# -- data-quality audit ---------------------------------------------------------------------------
def _gaps(t: Tables) -> None:
    o = t["opportunities"]
    # Closed in the 90 days before 2026-09-29: O04 (influenced), O07 (influenced), O08, O10.
    o.loc[o["opportunity_id"] == "O08", "deal_registration_id"] = ""
    o.loc[o["opportunity_id"] == "O07", "influence_pct"] = ""
    o.loc[o["opportunity_id"] == "O10", "marketplace"] = ""
    o.loc[o["opportunity_id"] == "O10", "referring_seller_id"] = ""
    # Outside the window or not closed: must not count.
    o.loc[o["opportunity_id"] == "O01", "deal_registration_id"] = ""
    o.loc[o["opportunity_id"] == "O05", "deal_registration_id"] = ""


def test_audit_table(tmp_path: Path) -> None:
    mutated(_gaps)(tmp_path)
    export = load_export(tmp_path)
    audit = audit_export(export)
    assert audit.as_of == pd.Timestamp("2026-09-29")
    assert audit.window_start == pd.Timestamp("2026-07-01")
    assert audit.deals == 4
    table = audit.table.set_index("field")
    assert list(audit.table.columns) == ["field", "filled", "total", "completeness_pct"]
    assert table.loc["deal_registration_id", ["filled", "total"]].tolist() == [3, 4]
    assert table.loc["influence_pct", ["filled", "total"]].tolist() == [1, 2]
    assert table.loc["marketplace", "completeness_pct"] == pytest.approx(75.0)
    assert table.loc["referring_seller_id", "completeness_pct"] == pytest.approx(75.0)
    assert table.loc["partner_type", "completeness_pct"] == 100.0
    assert {w.column for w in audit.warnings} == {"deal_registration_id", "influence_pct",
                                                  "marketplace", "referring_seller_id"}
    assert all(w.severity == "warning" for w in audit.warnings)
    w = next(w for w in audit.warnings if w.column == "deal_registration_id")
    assert w.file == "opportunities.csv" and "row 9" in w.message and "75.0%" in w.message


def test_audit_window_follows_as_of(tmp_path: Path) -> None:
    mutated(_gaps)(tmp_path)
    export = load_export(tmp_path)
    # 90 days before 2026-06-01 (from 2026-03-03): O01 (03-25, no registration ID), O02 (04-10)
    # and O03 (05-20) closed; no influenced deal.
    audit = audit_export(export, "2026-06-01")
    assert audit.deals == 3
    table = audit.table.set_index("field")
    assert table.loc["deal_registration_id", ["filled", "total"]].tolist() == [2, 3]
    assert table.loc["influence_pct", "total"] == 0
    assert np.isnan(table.loc["influence_pct", "completeness_pct"])
    assert [w.column for w in audit.warnings] == ["deal_registration_id"]
    # The same audit on the as-of view.
    view_audit = audit_export(export.as_of("2026-06-01"))
    pd.testing.assert_frame_equal(view_audit.table, audit.table)
    # A 30-day window reaches only O03.
    narrow = audit_export(export, "2026-06-01", window_days=30)
    assert narrow.deals == 1 and narrow.warnings == ()
    # Nothing closed yet.
    early = audit_export(export, "2026-03-01")
    assert early.deals == 0 and early.warnings == ()
    assert (early.table["total"] == 0).all()


def test_audit_rejects_unknown_field(tmp_path: Path) -> None:
    export = load_export(write_tiny_export(tmp_path))
    with pytest.raises(ConfigError, match="bogus"):
        audit_export(export, fields=["partner_id", "bogus"])


def test_validate_prints_audit_warnings(tmp_path: Path) -> None:
    mutated(_gaps)(tmp_path)
    result = CliRunner().invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "4 of 8 audited field(s) below 100%" in result.stdout
    err = result.stderr
    assert re.search(r"deal_registration_id\s+deal registration ID\s+3\s+4\s+75\.0%", err)
    assert re.search(r"influence_pct\s+influence %\s+1\s+2\s+50\.0%", err)
    assert "warning: opportunities.csv, column 'influence_pct'" in err
    result = CliRunner().invoke(main, ["validate", str(tmp_path), "--as-of", "2026-06-01"])
    assert result.exit_code == 0
    assert "as of 2026-06-01: 1 of 8 audited field(s) below 100%" in result.stdout
    assert "3 partner deal(s) closed in the 90 days before 2026-06-01" in result.stderr
    assert "missing on row 2" in result.stderr
    result = CliRunner().invoke(main, ["validate", str(tmp_path), "--as-of", "2026-03-01"])
    assert result.exit_code == 0
    assert "as of 2026-03-01: no closed deals to audit" in result.stdout
    assert "nothing to audit" in result.stderr and "warning" not in result.stderr
    result = CliRunner().invoke(main, ["validate", str(tmp_path), "--as-of", "yesterday-ish"])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_validate_audit_uses_config(tmp_path: Path) -> None:
    mutated(_gaps)(tmp_path / "data")
    config = tmp_path / "c.toml"
    config.write_text("[audit]\nwindow_days = 30\n")
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "data"), "--config", str(config)])
    assert result.exit_code == 0, result.output
    # 30 days before 2026-09-29: O07 (09-18), O08 (09-02), O10 (09-10).
    assert "3 partner deal(s) closed in the 30 days" in result.stderr
