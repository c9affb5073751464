"""Output and usability through the CLI: file permissions, xlsx checks and number formats, CSV
with several tables, and the ledger (headline figures, identical reruns).

Forecasts run for real on the small generated export with fake posteriors loaded from the
workspace cache (no sampling, nothing swapped out); the metric commands on the hand-made export.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import stat

import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from _metrics_data import write_metrics_export
from partner_forecast.cli import main
from partner_forecast.ledger.store import Ledger
from partner_forecast.reports.output import MONEY_FORMAT, PERCENT_FORMAT


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    return str(write_metrics_export(tmp_path_factory.mktemp("tiny")))


@pytest.fixture
def workspace(fake_workspace, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(fake_workspace.root, ws)
    return ws


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture
def umask():
    """Set a umask for the test and restore the previous one."""
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_output_files_follow_the_umask(data, tmp_path, umask):
    for mask, expected in ((0o022, 0o644), (0o027, 0o640), (0o002, 0o664)):
        umask(mask)
        out = tmp_path / f"kpis-{mask:o}.csv"
        r = invoke("kpis", data, "--format", "csv", "-o", out)
        assert r.exit_code == 0, r.output
        assert _mode(out) == expected
    umask(0o022)
    kept = tmp_path / "private.json"
    kept.write_text("{}")
    kept.chmod(0o600)
    assert invoke("kpis", data, "--format", "json", "-o", kept).exit_code == 0
    assert _mode(kept) == 0o600 and json.loads(kept.read_text())["meta"]["command"] == "kpis"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_xlsx_without_output_fails_before_any_work(models_sample_dir, models_tiny_config,
                                                  tmp_path, data):
    ws = tmp_path / "empty_ws"  # a fit here would take minutes: the check must come first
    r = invoke("forecast", models_sample_dir, "--config", models_tiny_config, "--workspace", ws,
               "--format", "xlsx")
    assert r.exit_code == 2 and "--output" in r.stderr and "Traceback" not in r.output
    assert not ws.exists()  # no fit, no ledger entry
    for command in ("kpis", "coverage", "scorecard"):
        r = invoke(command, data, "--format", "xlsx")
        assert r.exit_code == 2 and "--output" in r.stderr
    assert invoke("kpis", data, "--format", "json", "--output-dir", tmp_path / "d").exit_code == 2
    assert not (tmp_path / "d").exists()


def test_xlsx_cells_carry_number_formats(data, tmp_path):
    out = tmp_path / "coverage.xlsx"
    assert invoke("coverage", data, "--format", "xlsx", "-o", out).exit_code == 0
    book = openpyxl.load_workbook(out)
    sheet = book["coverage"]
    header = {c.value: c.column for c in sheet[1]}
    assert sheet.cell(2, header["pipeline_arr"]).number_format == MONEY_FORMAT
    assert sheet.cell(2, header["target_arr"]).number_format == MONEY_FORMAT
    assert sheet.cell(2, header["coverage"]).number_format == "#,##0.00"
    assert sheet.cell(2, header["pipeline_arr"]).value == 115_000  # full value kept
    out = tmp_path / "kpis.xlsx"
    assert invoke("kpis", data, "--format", "xlsx", "-o", out).exit_code == 0
    book = openpyxl.load_workbook(out)
    kpis = book["seller_kpis"]
    header = {c.value: c.column for c in kpis[1]}
    units = {kpis.cell(r, header["kpi"]).value: r for r in range(2, kpis.max_row + 1)}
    assert kpis.cell(units["seller_activation_rate"], header["value"]).number_format == PERCENT_FORMAT
    assert kpis.cell(units["lead_response_time"], header["value"]).number_format == "#,##0.00"
    adoption = book["adoption_kpis"]
    header = {c.value: c.column for c in adoption[1]}
    rows = {adoption.cell(r, header["kpi"]).value: r for r in range(2, adoption.max_row + 1)}
    assert adoption.cell(rows["partner_sourced_revenue"], header["value"]).number_format == MONEY_FORMAT
    asr = book["asr"]
    header = {c.value: c.column for c in asr[1]}
    assert asr.cell(2, header["asr"]).number_format == PERCENT_FORMAT


def test_csv_with_several_tables_says_how_to_split_and_output_dir_splits(data, tmp_path):
    r = invoke("coverage", data, "--format", "csv")
    assert r.exit_code == 0, r.output
    hint = next(line for line in r.stdout.splitlines() if line.startswith("# tables:"))
    assert "coverage, stage_forecast" in hint and "--output-dir" in hint
    doc = json.loads(invoke("coverage", data, "--format", "json").stdout)
    out = tmp_path / "split"
    r = invoke("coverage", data, "--format", "csv", "--output-dir", out)
    assert r.exit_code == 0, r.output
    names = {p.name for p in out.iterdir()}
    assert names == {f"{t}.csv" for t in doc if t != "meta"} | {"meta.csv"}
    coverage = pd.read_csv(out / "coverage.csv")  # plain CSV: no comment lines
    assert list(coverage["partner_type"]) == [r["partner_type"] for r in doc["coverage"]]
    meta = pd.read_csv(out / "meta.csv").set_index("key")["value"]
    assert meta["command"] == "coverage" and meta["data_fingerprint"] == doc["meta"]["data_fingerprint"]
    single = invoke("ledger", "--workspace", tmp_path / "none", "--format", "csv")
    assert single.exit_code == 0 and "# tables:" not in single.stdout  # one table: no hint


def test_ledger_headline_and_identical_reruns(models_sample_dir, models_tiny_config, workspace):
    base = ["forecast", models_sample_dir, "--config", models_tiny_config, "--workspace", workspace,
            "--draws", "200", "--seed", "9"]
    first = invoke(*base, "--format", "json")
    assert first.exit_code == 0, first.output
    doc = json.loads(first.stdout)
    run_id = doc["meta"]["run_id"]
    assert "repeat_of" not in doc["meta"]
    # The same forecast again, only for another format: a repeat, not a new forecast.
    again = invoke(*base, "--format", "csv")
    assert again.exit_code == 0, again.output
    assert f"identical to ledger run {run_id}" in again.stderr
    assert f"# repeat_of: {run_id}" in again.stdout
    assert list(Ledger(workspace).runs()["run_id"]) == [run_id]
    # Another seed is another forecast.
    other = invoke(*base[:-1], "10", "--format", "json")
    assert other.exit_code == 0, other.output
    runs = Ledger(workspace).runs()
    assert len(runs) == 2 and json.loads(other.stdout)["meta"]["run_id"] == runs["run_id"].iloc[1]
    # The listing carries each run's headline P50 and P(>= target).
    listing = json.loads(invoke("ledger", "--workspace", workspace, "--format", "json").stdout)
    row = next(r for r in listing["runs"] if r["run_id"] == run_id)
    total = next(r for r in doc["forecast"] if r["segment"] == "total")
    assert row["headline_quarter"] == total["quarter"]
    assert row["attributed_p50"] == pytest.approx(total["attributed_p50"])
    assert total["arr_target"] > 0  # the generated export has a target for the quarter
    assert row["arr_target"] == pytest.approx(total["arr_target"])
    assert row["p_at_least_target"] == pytest.approx(total["p_at_least_target"])
    table = invoke("ledger", "--workspace", workspace)
    assert table.exit_code == 0 and "attributed_p50" in table.stdout
    assert "p_at_least_target" in table.stdout and "data_fingerprint" not in table.stdout
    csv = pd.read_csv(io.StringIO(invoke("ledger", "--workspace", workspace, "--format",
                                         "csv").stdout), comment="#")
    assert list(csv["run_id"]) == list(runs["run_id"])
