"""The team's calls: contract, as-of view, sample with planted biases, scoring, variance, report.

Known answers come from generated data: the sample plants an unbiased caller and one who calls
20% high (``truth.json`` ``calls``); the scores must rank them so, and recover the bias. The
backtest, variance review and report run through their real code paths on fake fits saved in
a workspace (``fake_fit_workspace``: the library's fake posteriors, loaded by ``fit_all``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.calendar import Quarter
from partner_forecast.cli import main
from partner_forecast.config import load_settings
from partner_forecast.data.export import calls_fingerprint, load_export
from partner_forecast.data.sample import generate_sample
from partner_forecast.errors import ExportError
from partner_forecast.evaluate import scores
from partner_forecast.evaluate.calls import (
    call_frame,
    interval_score,
    latest_calls,
    score_call,
    score_calls,
    summarise_calls,
)
from partner_forecast.outcomes import realised
from partner_forecast.testing.exports import TINY_DEFAULT_AS_OF, tiny_export_tables, write_tiny_export
from test_report_fakes import fake_fit_workspace

SAMPLE = {"partners": 40, "quarters": 8, "seed": 5}


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("calls_sample")
    generate_sample(folder, **SAMPLE)
    return folder


def truth_per_quarter(export, settings, by: str | None = "partner_type") -> pd.DataFrame:
    """Backtest-shaped model rows whose P50 is the actual (a perfect point, a +-20% band)."""
    rows = []
    for q in sorted(set(call_frame(export)["quarter"])):
        won = realised(export, settings, Quarter.parse(q), by=by)
        for seg, y in zip(won["segment"], won["attributed_arr"], strict=True):
            rows.append({"fold": q, "quarter": q, "lead": 1, "segment": seg, "method": "model",
                         "actual": y, "mean": y, "p10": 0.8 * y, "p50": y, "p90": 1.2 * y,
                         "crps": 0.05 * y, "covered": True})
    return pd.DataFrame(rows)


# -- contract ----------------------------------------------------------------------------------
def test_tiny_calls_load_and_leave_the_fit_fingerprint_alone(tmp_path):
    plain = load_export(write_tiny_export(tmp_path / "plain"))
    with_calls = load_export(write_tiny_export(tmp_path / "calls", tiny_export_tables(calls=True)))
    assert len(with_calls.calls) == 8 and plain.calls.empty
    # A call made after the CRM data (2026-09-30) moves neither the as-of date nor the
    # fingerprint that keys fitted models; the outputs record the calls' own fingerprint.
    assert with_calls.default_as_of == plain.default_as_of == TINY_DEFAULT_AS_OF
    assert with_calls.fingerprint == plain.fingerprint
    assert calls_fingerprint(with_calls) and not calls_fingerprint(plain)
    # The same for exports built in memory (no source files): the fit key hashes the tables.
    from dataclasses import replace

    from partner_forecast.models.saved import export_fingerprint

    plain_mem, calls_mem = (replace(e, source_fingerprint="") for e in (plain, with_calls))
    assert export_fingerprint(plain_mem) == export_fingerprint(calls_mem)
    assert export_fingerprint(replace(plain_mem, targets=plain.targets.head(1))) != \
        export_fingerprint(plain_mem)


def test_a_call_after_the_as_of_is_invisible_in_the_as_of_view(tmp_path):
    export = load_export(write_tiny_export(tmp_path, tiny_export_tables(calls=True)))
    view = export.as_of(TINY_DEFAULT_AS_OF)
    assert pd.Timestamp("2026-09-30") in set(export.calls["made_on"])
    assert (view.calls["made_on"] < TINY_DEFAULT_AS_OF).all() and len(view.calls) == 7
    # Known from the day it is made: a view as of 2026-08-14 does not hold that day's calls.
    mid = export.as_of("2026-08-14")
    assert mid.calls["made_on"].max() == pd.Timestamp("2026-06-29")
    latest = latest_calls(call_frame(export), "2026Q3", pd.Timestamp("2026-08-15"))
    total = latest[latest["segment"] == "total"].set_index("made_by")
    assert total.loc["Channel chief", "commit"] == 70_000  # the 08-14 call, not the 06-29 one
    assert total.loc["Channel chief", "when"] == "month 2" and total.loc["Channel chief", "day"] == 44
    assert set(latest["scope"]) == {"total", "partner_type", "partner"}
    before = latest_calls(call_frame(export), "2026Q3", pd.Timestamp("2026-08-14"))
    assert list(before["commit"]) == [60_000]


def malformed_calls() -> dict[str, pd.DataFrame]:
    tables = tiny_export_tables(calls=True)
    calls = tables["calls"]
    calls.loc[0, "quarter"] = "2026Q5"            # row 2: not a quarter
    calls.loc[1, "commit"] = "-5"                 # row 3: negative
    calls.loc[2, "best_case"] = "100"             # row 4: below the commit (40000)
    calls.loc[3, "partner_type"] = "msp"          # row 5: and a partner id below
    calls.loc[3, "partner_id"] = "P2"
    calls.loc[4, "partner_id"] = "P99"            # row 6: unknown partner (and a type)
    calls.loc[4, "partner_type"] = ""
    calls.loc[5, "made_on"] = "14/08/2026"        # row 7: not ISO
    calls.loc[7] = calls.loc[6]                   # row 9: duplicate of row 8
    return tables


def test_malformed_calls_give_file_row_column_errors_and_exit_2(tmp_path):
    folder = write_tiny_export(tmp_path, malformed_calls())
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    expected = [("2", "quarter", "not a quarter label"), ("3", "commit", "negative value"),
                ("4", "best_case", "best case below the commit"),
                ("5", "partner_id", "both a partner_type and a partner_id"),
                ("6", "partner_id", "unknown partner_id"),
                ("7", "made_on", "not an ISO date"), ("9", "made_on", "duplicate call")]
    for row, column, text in expected:
        line = f"calls.csv, row {row}, column '{column}'"
        assert any(line in ln and text in ln for ln in result.output.splitlines()), (line, result.output)
    with pytest.raises(ExportError):
        load_export(folder)


# -- the sample's calls ------------------------------------------------------------------------
def test_sample_writes_calls_with_planted_biases(sample):
    truth = json.loads((sample / "truth.json").read_text())["calls"]
    assert truth["callers"] == {"Channel chief": {"bias": 0.0}, "Sales VP": {"bias": 0.2}}
    export = load_export(sample)
    assert len(export.calls) == truth["rows"]
    calls = call_frame(export)
    assert set(calls["when"]) == {"before", "month 2", "month 3"}
    assert set(calls["day"]) == {-1, 45, 75}
    # The commit / actual ratio of the total calls centres on 1 + bias.
    settings = load_settings(None)
    actual = {q: float(realised(export, settings, Quarter.parse(q))["attributed_arr"].iloc[-1])
              for q in set(calls["quarter"])}
    total = calls[calls["scope"] == "total"]
    ratio = total["commit"] / total["quarter"].map(actual)
    med = ratio.groupby(total["made_by"]).median()
    assert med["Channel chief"] == pytest.approx(1.0, abs=0.08)
    assert med["Sales VP"] == pytest.approx(1.2, abs=0.1)


def test_sample_calls_are_reproducible_and_leave_other_tables_alone(tmp_path, sample):
    again = generate_sample(tmp_path / "again", **SAMPLE)
    assert again.calls["rows"] > 0
    for path in sample.glob("*.csv"):
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes(), path.name


# -- scoring -----------------------------------------------------------------------------------
def test_call_scores_by_hand():
    # Commit 80, best case 120, actual 100: inside; interval score = width 40.
    row = score_call(100.0, 80.0, 120.0)
    assert row["abs_error"] == 20.0 == float(scores.crps_point(100.0, 80.0))
    assert row["pinball_p10"] == pytest.approx(0.1 * 20) and row["pinball_p90"] == pytest.approx(0.1 * 20)
    assert row["interval_score"] == pytest.approx(40.0) and row["covered"] == 1.0
    # Actual 150 above the best case: width 40 + (2 / 0.2) x 30.
    assert float(interval_score(150.0, 80.0, 120.0)) == pytest.approx(40 + 10 * 30)
    assert float(interval_score(50.0, 80.0, 120.0)) == pytest.approx(40 + 10 * 30)
    # Without a best case the call is a point only.
    alone = score_call(100.0, 130.0, np.nan)
    assert alone["abs_error"] == 30.0 and np.isnan(alone["interval_score"])


def test_a_call_planted_20_percent_high_scores_worse_than_an_exact_one(tmp_path, sample):
    """Replace the sample's calls by two callers: exact, and exactly +20%: known answers."""
    export = load_export(sample)
    settings = load_settings(None)
    calls = pd.read_csv(sample / "calls.csv", dtype=str, keep_default_na=False)
    calls = calls[calls["made_by"] == "Channel chief"].copy()
    frame = call_frame(export)
    frame = frame[frame["made_by"] == "Channel chief"]
    actual = {}
    for q in set(frame["quarter"]):
        won = realised(export, settings, Quarter.parse(q), by="partner_type")
        actual |= {(q, s): v for s, v in zip(won["segment"], won["attributed_arr"], strict=True)}
    key = list(zip(calls["quarter"], calls["partner_type"].replace("", "total"), strict=True))
    exact = calls.assign(commit=[f"{actual[k]:.4f}" for k in key], best_case="",
                         made_by="Exact")
    high = calls.assign(commit=[f"{1.2 * actual[k]:.4f}" for k in key], best_case="",
                        made_by="High")
    folder = tmp_path / "planted"
    folder.mkdir()
    for path in sample.glob("*.csv"):
        (folder / path.name).write_bytes(path.read_bytes())
    pd.concat([exact, high]).to_csv(folder / "calls.csv", index=False)
    planted = load_export(folder)
    per = score_calls(planted, settings, truth_per_quarter(planted, settings), by="partner_type")
    summary = summarise_calls(per).set_index(["scope", "made_by", "when"])
    for scope in ("total", "partner_type"):
        ok, bad = summary.loc[(scope, "Exact", "all")], summary.loc[(scope, "High", "all")]
        assert ok["abs_error"] == pytest.approx(0.0, abs=1e-3)
        assert ok["bias_pct"] == pytest.approx(0.0, abs=1e-9)
        assert bad["bias_pct"] == pytest.approx(0.2, abs=1e-9)
        assert bad["abs_error"] > 0 and bad["vs_model"] > ok["vs_model"]


def test_the_sample_biased_caller_scores_worse_by_every_rule(sample):
    export = load_export(sample)
    settings = load_settings(None)
    per = score_calls(export, settings, truth_per_quarter(export, settings), by="partner_type")
    assert len(per) == len(export.calls)
    summary = summarise_calls(per).set_index(["scope", "made_by", "when"])
    for scope in ("total", "partner_type"):
        chief, vp = summary.loc[(scope, "Channel chief", "all")], summary.loc[(scope, "Sales VP", "all")]
        assert vp["abs_error"] > chief["abs_error"]
        assert vp["interval_score"] > chief["interval_score"]
        assert vp["vs_model"] > chief["vs_model"]
        assert vp["bias_pct"] == pytest.approx(0.2, abs=0.07)
        assert chief["bias_pct"] == pytest.approx(0.0, abs=0.07)
    # Later calls know more: the unbiased caller's late calls beat their eve-of-quarter ones.
    chief = summary.xs(("partner_type", "Channel chief"), level=("scope", "made_by"))
    assert chief.loc["month 3", "abs_error"] < chief.loc["before", "abs_error"]


# -- backtest, variance and report through the real paths on fake fits -------------------------
@pytest.fixture(scope="module")
def fitted(tmp_path_factory, sample):
    ws = tmp_path_factory.mktemp("calls_ws")
    cuts = (Quarter.parse("2025Q3").start, Quarter.parse("2025Q4").start,
            pd.Timestamp("2025-11-20"))  # backtest folds, variance of 2025Q4, the report
    fake_fit_workspace(sample, ws, cuts=cuts)
    return ws


def test_backtest_scores_the_calls_beside_the_model(sample, fitted):
    from partner_forecast.evaluate.backtest import backtest

    result = backtest(sample, quarters=2, by="partner_type", draws=200, seed=1, workspace=fitted,
                      progress=False)
    tables = result.tables()
    assert "calls_summary" in tables and "calls" in tables
    per = result.calls
    assert set(per["quarter"]) == {"2025Q3", "2025Q4"}
    model = result.per_quarter[(result.per_quarter["method"] == "model")]
    crps = model.set_index(["quarter", "segment"])["crps"]
    for r in per[per["model_crps"].notna()].head(20).itertuples():
        assert r.model_crps == pytest.approx(crps[(r.quarter, r.segment)])
    summary = result.calls_summary.set_index(["scope", "made_by", "when"])
    assert (summary.loc[("partner_type", "Sales VP", "all"), "abs_error"]
            > summary.loc[("partner_type", "Channel chief", "all"), "abs_error"])
    assert result.meta["calls_fingerprint"] == calls_fingerprint(load_export(sample))


def test_variance_sets_the_latest_known_call_beside_the_run(sample, fitted, tmp_path):
    from partner_forecast.evaluate.variance import variance_review

    result = variance_review(sample, "2025Q4", workspace=fitted, draws=200, seed=1,
                             progress=False, notify=lambda msg: None)
    calls = result.calls
    assert set(calls["made_by"]) == {"Channel chief", "Sales VP"}
    assert (calls["segment"] == "total").all()  # a total-only run: type calls have no band
    assert (calls["made_on"] < result.origin).all()
    assert (calls["made_on"] == pd.Timestamp("2025-09-30")).all()  # the eve-of-quarter calls
    fva = result.forecast_vs_actual.set_index("segment")
    assert (calls["actual"] == fva.loc["total", "actual"]).all()
    assert (calls["p50"] == fva.loc["total", "p50"]).all()
    assert np.allclose(calls["call_error"], calls["commit"] - calls["actual"])
    assert list(result.tables())[:2] == ["forecast_vs_actual", "calls"]


def test_report_shows_the_call_beside_the_model(sample, fitted):
    from partner_forecast.reports.document import Chart, Table
    from partner_forecast.reports.executive import build_report
    from partner_forecast.reports.html import render_html

    report = build_report(sample, as_of="2025-11-20", draws=200, seed=2, horizon=1,
                          workspace=fitted, record=False, variance=True, notify=lambda m: None)
    try:
        revenue = report.blocks[0]
        items = [i for i in revenue.items if getattr(i, "key", "") == "calls"]
        assert [type(i) for i in items] == [Chart, Table]
        table = items[1].frame
        # As of 2025-11-20 the mid-quarter calls (2025-11-15) are the latest known.
        assert set(table["made_on"]) == {pd.Timestamp("2025-11-15")}
        assert set(table["made_by"]) == {"Channel chief", "Sales VP"}
        assert table["p_reach_commit"].between(0, 1).all()
        assert "Sales VP's commit" in items[0].reading
        assert 'id="chart-calls"' in render_html(report)
        # The variance block reviews 2025Q3 (forecast as of 2025-07-01): the eve-of-quarter calls.
        variance = report.tables()["variance_calls"]
        assert set(variance["made_on"]) == {pd.Timestamp("2025-06-30")}
        assert variance["closer"].isin({"call", "model", "tie"}).all()
    finally:
        report.close()
