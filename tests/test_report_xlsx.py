"""Spreadsheet exports: every command offering ``--format xlsx`` writes one sheet per table + meta.

Each command runs twice on fake fitted models (no MCMC; ``obj={"models": ...}`` of the click
context), as JSON and as XLSX with the same seed; the workbook, opened with openpyxl, must hold
exactly the JSON document's tables as sheets (same columns, same number of rows) and a ``meta``
sheet recording the as-of date, the data and config fingerprints and, where the command has fits
behind it, the diagnostics.
"""

import json

import openpyxl
import pytest
from click.testing import CliRunner

from partner_forecast.cli import main
from test_report_fakes import FAKE_MODELS, small_sample

SCENARIO = """
[[scenario]]
name = "asr_plus_5pp"
  [[scenario.change]]
  lever = "activation_rate"
  add_pp = 5
"""

# command -> extra arguments after DATA ({tmp}: the test's folder)
COMMANDS = {
    "forecast": ["--horizon", "2", "--draws", "200", "--seed", "1"],
    "scenario": ["{tmp}/s.toml", "--draws", "200", "--seed", "1"],
    "levers": ["--draws", "100", "--seed", "1"],
    "backtest": ["--quarters", "2", "--draws", "100", "--seed", "1"],
    "variance": ["--quarter", "2025Q2", "--draws", "200", "--seed", "1"],
    "kpis": [],
    "coverage": [],
    "activation": [],
    "scorecard": [],
}
WITH_WORKSPACE = {"forecast", "scenario", "levers", "backtest", "variance"}
FIT_COMMANDS = WITH_WORKSPACE


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return small_sample(tmp_path_factory.mktemp("xlsx") / "sample")


def run(command, sample, tmp_path, fmt, output=None):
    (tmp_path / "s.toml").write_text(SCENARIO)
    args = [command, str(sample), *(a.format(tmp=tmp_path) for a in COMMANDS[command])]
    if command in WITH_WORKSPACE:
        args += ["--workspace", str(tmp_path / "ws")]
        if command in ("forecast", "scenario"):
            args += ["--no-ledger"]
    args += ["--format", fmt] + (["--output", str(output)] if output else [])
    r = CliRunner().invoke(main, args, obj={"models": FAKE_MODELS})
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def produced(sample, tmp_path_factory):
    """Each command's JSON document and workbook, made once (on fake models)."""
    cache = {}

    def get(command):
        if command not in cache:
            tmp = tmp_path_factory.mktemp(command)
            doc = json.loads(run(command, sample, tmp, "json").stdout)
            run(command, sample, tmp, "xlsx", tmp / f"{command}.xlsx")
            cache[command] = (doc, openpyxl.load_workbook(tmp / f"{command}.xlsx", read_only=True))
        return cache[command]

    return get


def meta_of(book) -> dict:
    rows = list(book["meta"].iter_rows(values_only=True))
    assert rows[0] == ("key", "value")
    return {k: v for k, v in rows[1:]}


def test_every_command_with_xlsx_is_covered():
    offering = {name for name, cmd in main.commands.items()
                for p in cmd.params if p.name == "fmt" and "xlsx" in getattr(p.type, "choices", ())}
    assert offering == set(COMMANDS)


@pytest.mark.parametrize("command", list(COMMANDS))
def test_workbook_has_one_sheet_per_table_and_a_meta_sheet(command, produced):
    doc, book = produced(command)
    tables = [k for k in doc if k != "meta"]
    assert book.sheetnames == [t[:31] for t in tables] + ["meta"]
    for name in tables:
        rows = list(book[name[:31]].iter_rows(values_only=True))
        records = doc[name]
        if records:
            assert list(rows[0]) == list(records[0]), name
        assert len(rows) - 1 == len(records), name  # header + one row per record
    meta = meta_of(book)
    for key in ("as_of", "data_fingerprint", "config_fingerprint"):
        assert meta.get(key), (command, key)
        assert str(meta[key]) == str(doc["meta"][key])


@pytest.mark.parametrize("command", sorted(FIT_COMMANDS))
def test_meta_sheet_records_the_fit_diagnostics(command, produced):
    meta = meta_of(produced(command)[1])
    assert "diagnostics" in meta
    diagnostics = json.loads(meta["diagnostics"])
    assert diagnostics and diagnostics[0]["model"] == "fake"
