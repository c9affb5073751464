"""The executive report: readings in words, the self-contained HTML, PDF, degradation, the CLI.

Forecasts run on fake fitted models (tests/test_report_fakes.py), passed as ``models=`` (the CLI
reads them from its click context): no MCMC, no module swapped.
"""

import html as html_lib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.cli import main
from partner_forecast.errors import PartnerForecastError
from partner_forecast.formatting import money, ordinal, pct, signed_pct
from partner_forecast.report_service.accuracy import waterfall_steps
from partner_forecast.reports.charts import accuracy, pipeline, productivity, quality, revenue, scenarios
from partner_forecast.reports.charts.style import NARROW, WIDE, png_bytes
from partner_forecast.reports.executive import build_report
from partner_forecast.reports.html import format_value, render_html, table_html
from partner_forecast.reports.pdf import render_pdf
from partner_forecast.reports.readings import (
    coverage_reading,
    distribution_reading,
    fan_reading,
    scenario_reading,
)
from partner_forecast.testing.fits import DegenerateModels
from test_report_fakes import FAKE_MODELS, fake_models, small_sample

BLOCKS = ("revenue", "pipeline", "accuracy", "productivity", "growth", "quality")
SCENARIO = """
[[scenario]]
name = "asr_plus_5pp"
  [[scenario.change]]
  lever = "activation_rate"
  add_pp = 5
"""


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return small_sample(tmp_path_factory.mktemp("report") / "sample")


@dataclass(frozen=True)
class FailingBefore(DegenerateModels):
    """Fake models that cannot forecast the data as of a date before ``cut``."""

    cut: str = "2025-07-01"

    def fit_all(self, export, settings, workspace, progress=True):
        if export.default_as_of < pd.Timestamp(self.cut):
            raise PartnerForecastError(f"no fits of the data before {self.cut}")
        return super().fit_all(export, settings, workspace, progress)


def invoke(*args, models=FAKE_MODELS):
    return CliRunner().invoke(main, [str(a) for a in args], obj={"models": models})


# -- words --------------------------------------------------------------------------------------
def test_money_and_shares_in_words():
    assert money(4_200_000) == "$4.2M"
    assert money(4_000_000) == "$4M"
    assert money(950) == "$950"
    assert money(-300_000) == "-$300k"
    assert money(999_990) == "$1M"
    assert money(np.float32(56_100.0)) == "$56.1k"
    assert money(np.int64(2_000)) == "$2k"
    assert money(float("nan")) == "n/a" and money(None) == "n/a"
    assert pct(0.623) == "62%" and signed_pct(0.05) == "+5%" and signed_pct(-0.12) == "-12%"
    assert [ordinal(x) for x in (1, 2, 3, 4, 11, 12, 13, 21, 41.4, 102)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "41st", "102nd"]


def test_distribution_reading_states_p50_and_chance_of_target():
    text = distribution_reading(3.1e6, 4.2e6, 5.6e6, 4.0e6, 0.62, "2026Q4")
    assert text.startswith("2026Q4: P50 $4.2M, 62% chance of reaching the $4M target")
    assert "P10 $3.1M" in text and "P90 $5.6M" in text
    assert "no ARR target" in distribution_reading(1, 2, 3, None, None, "2026Q4")


def test_fan_and_coverage_readings_are_computed_from_the_numbers():
    history = pd.DataFrame({"quarter": ["2026Q2", "2026Q3"], "actual": [1.0e6, 1.2e6]})
    forecast = pd.DataFrame({"quarter": ["2026Q4", "2027Q1"], "p10": [0.9e6, 1.0e6],
                             "p50": [1.3e6, 1.4e6], "p90": [1.8e6, 2.0e6]})
    text = fan_reading(history, forecast)
    assert "$1.2M won in 2026Q3 (+20% QoQ)" in text
    assert "P50 $1.3M in 2026Q4 (P10-P90 $900k-$1.8M)" in text and "$1.4M by 2027Q1" in text
    cov = pd.DataFrame({"partner_type": ["all", "msp", "reseller"], "pipeline_arr": [12e6, 1e6, 8e6],
                        "target_arr": [4e6, 1e6, 2e6], "coverage": [3.0, 1.0, 4.0],
                        "required_coverage": [3.0, 2.5, 3.0]})
    text = coverage_reading(cov, "2026Q4")
    assert "covers 3.0x the $4M 2026Q4 target (3.0x required)" in text
    assert "1 of 2 partner types below their requirement: msp 1.0x (2.5x)" in text


def test_scenario_reading_picks_the_largest_gain_in_the_last_quarter():
    rows = pd.DataFrame({"quarter": ["2026Q4", "2027Q1"] * 2, "scenario": ["a", "a", "b", "b"],
                         "delta_p10": [0, 1e3, 0, 5e3], "delta_p50": [1e3, 2e3, 0, 9e3],
                         "delta_p90": [2e3, 3e3, 1e3, 12e3], "p_above_baseline": [0.6, 0.7, 0.5, 0.99],
                         "p_at_least_target": np.nan, "baseline_p_at_least_target": np.nan})
    text = scenario_reading(rows)
    assert text.startswith("'b' moves partner ARR most: P50 +$9k in 2027Q1")
    assert "99% of draws" in text and "+$0 in 2026Q4" in text


def test_waterfall_steps_pool_small_lines_and_sum_exactly():
    drivers = pd.DataFrame({"component": ["open pipeline", "open pipeline", "new pipeline",
                                          "new pipeline", "total"],
                            "driver": ["conversion", "model residual", "activation", "deal size",
                                       "actual - forecast mean"],
                            "value": [50_000.0, 0.3, -20_000.0, 400.0, 30_400.3]})
    steps = waterfall_steps(drivers, 100_000.0)
    assert steps == [("open: conversion", 50_000.0), ("new: activation", -20_000.0),
                     ("other (small)", 400.3)]
    assert sum(v for _, v in steps) == pytest.approx(30_400.3)


def test_tables_escape_and_format_cells():
    frame = pd.DataFrame({"name": ["<b>&"], "arr": [1234567.0], "share": [0.25], "ok": [True]})
    out = table_html(frame, {"arr": "money", "share": "pct"})
    assert "&lt;b&gt;&amp;" in out and "<b>&" not in out
    assert "$1.2M" in out and "25%" in out and "yes" in out
    assert format_value(float("nan"), "money") == "" and format_value(pd.NaT) == ""


def test_charts_are_figures_that_render_to_png():
    fig = revenue.fan_chart(pd.DataFrame({"quarter": ["2026Q3"], "actual": [1.0]}),
                            pd.DataFrame({"quarter": ["2026Q4"], "p10": [0.5], "p50": [1.0], "p90": [2.0]}))
    assert png_bytes(fig).startswith(b"\x89PNG")
    assert png_bytes(fig) == png_bytes(fig)  # no timestamps in the file


# -- the whole report ---------------------------------------------------------------------------
def _check_self_contained(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>")
    assert "<script" not in html.lower()
    refs = re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', html)
    assert refs and all(r.startswith(("data:image/png;base64,", "#")) for r in refs), refs
    assert not re.search(r"https?://", html)
    assert "@import" not in html and "url(" not in html


RUN = {"draws": 400, "seed": 3, "horizon": 3}


@pytest.fixture(scope="module")
def cli_report(sample, tmp_path_factory):
    """The report command run once (fake models, a scenario, a 2-quarter backtest)."""
    tmp = tmp_path_factory.mktemp("cli")
    scenario = tmp / "s.toml"
    scenario.write_text(SCENARIO)
    out = tmp / "report.html"
    r = invoke("report", sample, *(x for k, v in RUN.items() for x in (f"--{k}", v)),
               "--workspace", tmp / "ws", "--scenario", scenario, "--backtest-quarters", 2,
               "--output", out)
    assert r.exit_code == 0, r.output
    return {"html": out.read_text(), "scenario": scenario, "workspace": tmp / "ws"}


def test_report_command_writes_a_self_contained_html_with_the_five_blocks(cli_report):
    html = cli_report["html"]
    _check_self_contained(html)
    for key in (*BLOCKS, "scenarios"):
        assert f'<section id="{key}">' in html
    for chart in ("fan", "distribution", "committed", "arr_by_type", "coverage", "pipeline_mix",
                  "waterfall", "backtest", "conversion", "asr", "growth", "quality", "scenarios"):
        assert f'id="chart-{chart}"' in html, chart
    # Every chart has a reading in words, with numbers in it.
    captions = re.findall(r'<span class="reading">([^<]*)</span>', html)
    assert len(captions) >= 13 and all(re.search(r"\d", c) for c in captions)
    assert re.search(r"2025Q3: P50 \$[\d.]+k, \d+% chance of reaching the \$[\d.]+k target", html)
    # The footer carries the meta.
    footer = html[html.index("<footer>"):]
    for key in ("as_of", "data_fingerprint", "config_fingerprint", "run_id", "Model diagnostics"):
        assert key in footer
    assert "2025-07-01" in footer


def test_report_object_same_seed_same_numbers_as_the_command(sample, cli_report):
    report = build_report(sample, **RUN, workspace=cli_report["workspace"], record=False,
                          scenario_files=[cli_report["scenario"]], backtest_quarters=2,
                          notify=lambda m: None, models=FAKE_MODELS)
    captions = [html_lib.unescape(c) for c in
                re.findall(r'<span class="reading">([^<]*)</span>', cli_report["html"])]
    assert list(report.readings().values()) == captions
    assert report.headline.startswith("Partner-attributed ARR 2025Q3: P50")
    assert [blk.key for blk in report.blocks] == [*BLOCKS, "scenarios"]
    assert report.meta["data_fingerprint"] and report.meta["config_fingerprint"]
    assert not report.degraded
    # The ASR fallback is stated: raw ASR with Wilson intervals, paper partnerships marked.
    asr = next(c for c in report.charts() if c.key == "asr")
    assert "Wilson" in asr.note and "paper partnership" in asr.reading
    tables = report.tables()
    assert {"contribution", "coverage_by_type", "top_partners", "ecosystem", "scenarios",
            "backtest_summary", "variance_drivers"} <= set(tables)
    assert len(tables["top_partners"]) <= 10
    # The PDF: a cover page with the readings, then one page per chart.
    data = render_pdf(report)
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 1 + len(report.charts())
    report.close()


def test_model_summaries_feed_the_asr_and_conversion_charts(sample, tmp_path):
    from partner_forecast.config import load_settings
    from partner_forecast.data.export import load_export

    ids = sorted(load_export(sample).partners["partner_id"])
    activation = pd.DataFrame({"partner_id": ids, "quarter": "2025Q2", "posterior_mean": 0.12,
                               "p10": 0.08, "p90": 0.17})
    settings = load_settings(None)
    curves = pd.DataFrame([{"partner_type": t, "stage": s, "p_won": p, "p10": p - 0.05,
                            "p90": p + 0.05, "seed_table": settings.conversion_probability(t, s)}
                           for t in ("reseller", "msp")
                           for s, p in zip(("discovery", "qualified", "proposal", "negotiation"),
                                           (0.1, 0.3, 0.5, 0.8), strict=True)])
    report = build_report(sample, draws=200, seed=1, horizon=1, workspace=tmp_path / "ws",
                          record=False, notify=lambda m: None,
                          models=fake_models(activation=activation, curves=curves))
    asr = next(c for c in report.charts() if c.key == "asr")
    assert "posterior" in asr.note and "12%" in asr.reading
    conv = next(c for c in report.charts() if c.key == "conversion")
    assert "P10-P90 band" in conv.note and ("msp" in conv.reading or "reseller" in conv.reading)
    assert "posterior mean" in conv.note
    # A posterior of another quarter than the last closed one: raw ASR with Wilson intervals.
    stale = activation.assign(quarter="2025Q1")
    report = build_report(sample, draws=200, seed=1, horizon=1, workspace=tmp_path / "ws",
                          record=False, notify=lambda m: None, variance=False,
                          models=fake_models(activation=stale))
    asr = next(c for c in report.charts() if c.key == "asr")
    assert "Wilson" in asr.note
    report.close()


def test_parts_that_raise_degrade_to_a_sentence(sample, tmp_path):
    """The review and the backtest cannot forecast past views; a scenario selects nobody."""
    scenario = tmp_path / "s.toml"
    scenario.write_text(SCENARIO + '\n[[scenario]]\nname = "nobody"\n  [[scenario.change]]\n'
                        '  lever = "activation_rate"\n  add_pp = 5\n'
                        '  select = { partner_id = "NOPE" }\n')
    report = build_report(sample, draws=200, seed=1, horizon=1, workspace=tmp_path / "ws",
                          record=False, scenario_files=[scenario], backtest_quarters=2,
                          notify=lambda m: None, models=fake_models(cls=FailingBefore))
    html = render_html(report)
    _check_self_contained(html)
    assert len(report.degraded) == 3, report.degraded
    assert any(d.startswith("The variance review of 2025Q2 is left out: no fits of the data")
               for d in report.degraded)
    assert any(d.startswith("Backtest calibration is left out: no fits") for d in report.degraded)
    assert any(d.startswith("Scenario deltas are left out:") and "NOPE" in d
               for d in report.degraded)
    assert "Left out" in html
    assert 'id="chart-fan"' in html and 'id="chart-waterfall"' not in html
    report.close()


def test_without_a_forecast_the_history_is_still_reported(sample, tmp_path):
    report = build_report(sample, horizon=2, workspace=tmp_path / "ws", record=False,
                          notify=lambda m: None, models=fake_models(cls=FailingBefore, cut="2100-01-01"))
    assert report.headline.startswith("No forecast: the models could not forecast this data (no fits")
    keys = [c.key for c in report.charts()]
    assert "fan" not in keys and {"arr_by_type", "coverage", "asr", "growth"} <= set(keys)
    assert any(d.startswith("The forecast (fan chart") for d in report.degraded)
    assert report.meta["quarters"] == ["2025Q3", "2025Q4"]
    _check_self_contained(render_html(report))
    report.close()


def test_pdf_format_from_the_output_suffix(sample, tmp_path):
    out = tmp_path / "report.pdf"
    r = invoke("report", sample, "--draws", 100, "--seed", 1, "--horizon", 1, "--no-ledger",
               "--workspace", tmp_path / "ws", "--output", out)
    assert r.exit_code == 0, r.output
    assert out.read_bytes().startswith(b"%PDF")


def test_report_usage_errors_exit_2(sample, tmp_path):
    r = invoke("report", sample)
    assert r.exit_code == 2 and "--output" in r.output
    r = invoke("report", sample, "--format", "html", "--output", tmp_path / "r.pdf")
    assert r.exit_code == 2 and "pdf" in r.output
    bad = tmp_path / "bad.toml"
    bad.write_text('[[scenario]]\nname = "x"\n  [[scenario.change]]\n  lever = "nope"\n  set = 1\n')
    fitted = []
    r = invoke("report", sample, "--scenario", bad, "--output", tmp_path / "r.html",
               models=fake_models(on_fit=lambda export, workspace: fitted.append(1)))
    assert r.exit_code == 2 and "bad.toml" in r.output and "Traceback" not in r.output
    assert not fitted  # scenario files are checked before any fit
    assert not (tmp_path / "r.html").exists()


# -- numbers, headers, escaping, options (issue 12) -----------------------------------------------
def test_cells_are_money_percentages_or_plain_numbers_never_scientific():
    assert format_value(18_210.4) == "18,210" and format_value(0.000012) == "0.00"
    assert format_value(1.8e6, "money") == "$1.8M" and format_value(18_210.0, "money") == "$18.2k"
    assert format_value(0.204, "pct") == "20%" and format_value(0.0, "pct") == "0%"
    assert format_value(32.67, "signed_points") == "+32.7%" and format_value(1.004, "rhat") == "1.004"
    frame = pd.DataFrame({"pipeline_arr": [1.821e4], "win_rate": [0.204], "expected_wins": [1.3271],
                          "deals": np.array([3], dtype=np.int64)})
    out = table_html(frame)
    assert "$18.2k" in out and "20%" in out and "1.33" in out and ">3<" in out
    assert not re.search(r"\de[+-]\d", out)


def test_headers_are_words_not_snake_case():
    from partner_forecast.reports.labels import column_label

    assert column_label("attributed_pipeline_arr") == "Attributed pipeline ARR"
    assert column_label("pipeline_growth_qoq") == "Pipeline growth QoQ"
    assert column_label("max_rhat") == "Max R-hat" and column_label("p_won") == "P won"
    out = table_html(pd.DataFrame({"co_sell_pipeline_arr": [1.0]}), labels={})
    assert "<th class=\"num\">Co-sell pipeline ARR</th>" in out


@pytest.mark.parametrize("layout", [WIDE, NARROW])
def test_data_strings_with_dollars_never_reach_mathtext(layout):
    odd = ["P$\\x$2", "a$b$c", "$"]
    asr = pd.DataFrame({"partner_id": odd, "asr": [0.1, 0.2, 0.3], "asr_p10": [0.0, 0.1, 0.2],
                        "asr_p90": [0.2, 0.3, 0.4], "paper": [False, True, False]})
    cov = pd.DataFrame({"partner_type": odd, "coverage": [1.0, 3.0, 9.0],
                        "required_coverage": [2.0, 2.0, 2.0]})
    deltas = pd.DataFrame({"scenario": odd, "quarter": ["2026Q1"] * 3, "delta_p10": [-1e3, 0, 1e3],
                           "delta_p50": [0, 1e3, 2e3], "delta_p90": [1e3, 2e3, 3e3]})
    by_type = pd.DataFrame({t: [1e3, 2e3] for t in odd}, index=["2026Q1", "2026Q2"])
    audit = pd.DataFrame({"label": odd, "completeness": [1.0, 0.5, np.nan]})
    figures = [productivity.asr_caterpillar(asr, 0.15, layout=layout),
               pipeline.coverage_chart(cov, layout), scenarios.scenario_chart(deltas, layout),
               revenue.arr_by_type_chart(by_type, layout=layout),
               quality.completeness_chart(audit, layout),
               accuracy.waterfall_chart("start", 10.0, [(t, 1.0) for t in odd], "end", 13.0, layout)]
    for fig in figures:
        assert png_bytes(fig, 50).startswith(b"\x89PNG")  # drawing parses every text


def test_no_backtest_contradicting_backtest_quarters_exits_2(sample, tmp_path):
    r = invoke("report", sample, "--no-backtest", "--backtest-quarters", 2, "--output",
               tmp_path / "r.html")
    assert r.exit_code == 2 and "--no-backtest" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "r.html").exists()
