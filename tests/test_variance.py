"""Variance reviews: the driver decomposition sums exactly; the review on fake models; the CLI."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from partner_forecast.cli import main
from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.errors import PartnerForecastError
from partner_forecast.evaluate.decomposition import (
    NEW_MEASURES,
    OPEN_STATUSES,
    decompose,
    new_pipeline_lines,
    sequential_substitution,
)
from partner_forecast.evaluate.variance import variance_review
from partner_forecast.forecast import forecast
from partner_forecast.ledger.store import Ledger, LedgerRun
from partner_forecast.testing.exports import tiny_export_tables, write_tiny_export
from test_backtest_fakes import FAKE_MODELS

money = st.floats(0, 1e7, allow_nan=False)
count = st.one_of(st.just(0.0), st.floats(0, 1e4, allow_nan=False))


@st.composite
def open_deals(draw):
    n = draw(st.integers(0, 30))
    return pd.DataFrame({
        "p_won": draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)),
        "value": draw(st.lists(money, min_size=n, max_size=n)),
        "status": draw(st.lists(st.sampled_from(OPEN_STATUSES), min_size=n, max_size=n)),
    })


new_totals = st.fixed_dictionaries({k: (money if k.endswith("arr") else count) for k in NEW_MEASURES})


@settings(max_examples=300, deadline=None)
@given(deals=open_deals(), f_open=money, f_new=money, f_wtd=money, rounding=st.floats(-1, 1),
       a_wtd=money, a_unlisted=money, expected=st.one_of(st.none(), new_totals), actual=new_totals)
def test_decomposition_sums_exactly_to_actual_minus_mean(deals, f_open, f_new, f_wtd, rounding, a_wtd,
                                                         a_unlisted, expected, actual):
    total = f_open + f_new + f_wtd + rounding
    lines = decompose(deals, forecast_open=f_open, forecast_new=f_new, forecast_won_to_date=f_wtd,
                      forecast_total=total, actual_won_to_date=a_wtd, actual_unlisted=a_unlisted,
                      new_expected=expected, new_actual=actual)
    won = deals.loc[deals["status"] == "won", "value"].sum()
    target = won + a_wtd + a_unlisted + actual["attributed_arr"] - total
    scale = max(1.0, abs(won), a_wtd, a_unlisted, actual["attributed_arr"], total, f_open, f_new,
                float((deals["p_won"] * deals["value"]).sum()))
    assert lines["value"].sum() == pytest.approx(target, abs=1e-9 * scale)
    assert np.isfinite(lines["value"]).all()
    # The new-pipeline lines alone sum to actual minus expected new ARR.
    new = lines.loc[lines["component"] == "new pipeline", "value"].sum()
    assert new == pytest.approx(actual["attributed_arr"] - f_new, abs=1e-9 * scale)


def test_open_pipeline_lines_by_hand():
    deals = pd.DataFrame({"p_won": [0.8, 0.3, 0.5, 0.1], "value": [100.0, 50.0, 40.0, 10.0],
                          "status": ["won", "lost", "slipped", "won_earlier"]})
    lines = decompose(deals, forecast_open=0.8 * 100 + 0.3 * 50 + 0.5 * 40 + 0.1 * 10, forecast_new=0.0,
                      forecast_won_to_date=0.0, forecast_total=116.0, actual_won_to_date=0.0,
                      actual_unlisted=0.0, new_expected=None,
                      new_actual=dict.fromkeys(NEW_MEASURES, 0.0)).set_index("driver")["value"]
    assert lines["conversion"] == pytest.approx(20.0)  # (1 - 0.8) x 100
    assert lines["lost"] == pytest.approx(-15.0)
    assert lines["timing"] == pytest.approx(-20.0 - 1.0)
    assert lines["model residual"] == pytest.approx(0.0, abs=1e-12)


def test_new_pipeline_substitution_by_hand():
    # Seed 000: 15 active x 4 opps x 20% x 4,200 = 50,400 expected; actual 20 active: +33%.
    expected = {"active_sellers": 15.0, "opportunities": 60.0, "won_deals": 12.0, "won_arr": 50_400.0}
    actual = {"active_sellers": 20.0, "opportunities": 80.0, "won_deals": 16.0, "won_arr": 67_200.0,
              "attributed_arr": 67_200.0}
    lines = new_pipeline_lines(expected, actual, 50_400.0).set_index("driver")
    assert lines.loc["activation", "value"] == pytest.approx(16_800.0)
    others = ["productivity", "conversion", "deal size", "attribution mix"]
    assert lines.loc[others, "value"].abs().max() < 1e-6
    # Each factor moved in turn: the lines telescope.
    assert sequential_substitution([2.0, 3.0], [4.0, 5.0]).tolist() == [6.0, 8.0]  # 4x3-2x3, 4x5-4x3
    # No wins: undefined deal size takes the expected one; still exact.
    none_won = {**actual, "won_deals": 0.0, "won_arr": 0.0, "attributed_arr": 0.0}
    lines = new_pipeline_lines(expected, none_won, 50_400.0)
    assert lines["value"].sum() == pytest.approx(-50_400.0)
    assert "other" not in set(lines["driver"])


# -- the review on fake models --------------------------------------------------------------------


@pytest.fixture
def tiny(tmp_path):
    return write_tiny_export(tmp_path / "tiny")


def test_review_makes_a_run_when_none_exists_then_reuses_it(tiny, tmp_path):
    notes = []
    ws = tmp_path / "ws"
    first = variance_review(tiny, "2026Q2", workspace=ws, draws=2000, seed=3, progress=False,
                            models=FAKE_MODELS,
                            notify=notes.append)
    assert first.created and any("making one now" in n for n in notes)
    assert first.origin == pd.Timestamp("2026-04-01")
    second = variance_review(tiny, "2026Q2", workspace=ws, progress=False, models=FAKE_MODELS,
                             notify=notes.append)
    assert not second.created and second.run_id == first.run_id
    # Exact decomposition of actual minus mean.
    d = first.drivers
    gap = d.loc[d["component"] == "total", "value"].iloc[0]
    assert d.loc[d["component"] != "total", "value"].sum() == pytest.approx(gap, abs=1e-6)
    fva = first.forecast_vs_actual.set_index("segment")
    export = load_export(tiny)
    assert fva.loc["total", "actual"] == pytest.approx(24_000.0)  # O03, sourced, won 2026-05-20
    assert gap == pytest.approx(fva.loc["total", "actual"] - fva.loc["total", "mean"])
    assert 0.0 <= fva.loc["total", "percentile"] <= 100.0
    assert fva.loc["total", "percentile_method"] == "recorded percentiles"
    # O03 was open at the origin and won: a conversion gain; O02 was open and lost.
    lines = d.set_index(["component", "driver"])["value"]
    assert lines[("open pipeline", "conversion")] > 0 and lines[("open pipeline", "lost")] < 0
    misses = first.largest_misses.set_index("opportunity_id")
    assert misses.loc["O03", "kind"] == "unexpected win"
    assert misses.loc["O02", "kind"] == "expected, not won"
    assert misses.loc["O02", "stage_at_origin"] == "qualified"
    conv = first.conversion_by_type.set_index(["partner_type", "pipeline"])
    assert conv.loc[("msp", "open at origin"), "actual_wins"] == 1
    assert conv.loc[("all", "new"), "deals"] == int(((export.opportunities["created_on"]
                                                      >= "2026-04-01") & (export.opportunities["created_on"]
                                                                          < "2026-07-01")).sum())
    new = first.new_pipeline.set_index("measure")
    assert np.isfinite(new.loc["active_sellers", "expected"])


def test_review_of_a_segmented_run_reads_the_total_from_recorded_percentiles(tiny, tmp_path):
    ws = tmp_path / "ws"
    result = variance_review(tiny, "2026Q2", by="partner_type", workspace=ws, draws=1000,
                             progress=False, models=FAKE_MODELS, notify=lambda m: None)
    fva = result.forecast_vs_actual.set_index("segment")
    assert fva.loc["total", "mean"] == pytest.approx(fva.drop("total")["mean"].sum())
    assert np.isfinite(fva.loc["total", "p50"])
    assert fva.drop("total")["actual"].sum() == pytest.approx(fva.loc["total", "actual"])
    d = result.drivers
    assert d.loc[d["component"] != "total", "value"].sum() == pytest.approx(
        d.loc[d["component"] == "total", "value"].iloc[0], abs=1e-6)


def test_review_of_a_run_without_drivers_falls_back(tiny, tmp_path):
    """An older ledger run with quantiles only: interpolated percentile, one new-pipeline line."""
    ws = tmp_path / "ws"
    made = forecast(tiny, as_of="2026-04-01", draws=500, workspace=ws, record=False, progress=False,
                    models=FAKE_MODELS)
    run_id = Ledger(ws).append(LedgerRun(kind="forecast", as_of="2026-04-01", quarters=["2026Q2"],
                                         data_fingerprint="x", config_fingerprint="y", version="0",
                                         draws=500, seed=1), made.quantiles)
    result = variance_review(tiny, "2026Q2", run_id=run_id, workspace=ws, progress=False, models=FAKE_MODELS,
                             notify=lambda m: None)
    assert not result.created
    assert result.forecast_vs_actual["percentile_method"].iloc[0] in (
        "interpolated P10/P50/P90", "not available")
    new = result.drivers[result.drivers["component"] == "new pipeline"]
    assert new["driver"].tolist() == ["new pipeline"]
    assert any("driver means" in w for w in result.meta["warnings"])
    d = result.drivers
    assert d.loc[d["component"] != "total", "value"].sum() == pytest.approx(
        d.loc[d["component"] == "total", "value"].iloc[0], abs=1e-6)


def test_review_errors(tiny, tmp_path):
    with pytest.raises(PartnerForecastError, match="has not started"):
        variance_review(tiny, "2027Q1", workspace=tmp_path / "ws", progress=False, models=FAKE_MODELS)
    with pytest.raises(PartnerForecastError, match="no run"):
        variance_review(tiny, "2026Q2", run_id="nope", workspace=tmp_path / "ws", progress=False,
                        models=FAKE_MODELS)


def test_forecast_records_driver_means_and_percentiles(tiny, tmp_path):
    ws = tmp_path / "ws"
    result = forecast(tiny, as_of="2026-04-01", draws=300, workspace=ws, progress=False, models=FAKE_MODELS)
    assert [r["quarter"] for r in result.meta["drivers"]] == ["2026Q2"]
    record = Ledger(ws).run(result.run_id)
    grid = record["meta"]["attributed_percentiles"]["quarters"]["2026Q2"]["total"]
    assert len(grid) == 101 and grid == sorted(grid)
    assert grid[50] == pytest.approx(float(np.median(result.draws("attributed")[:, 0, :].sum(axis=1))))
    assert "attributed_percentiles" not in result.meta  # ledger only: keeps forecast output small


FAKES = {"models": FAKE_MODELS}
"""The CLI's click context object: the fake models in place of the fitted ones."""


# -- CLI -----------------------------------------------------------------------------------------


def test_cli_variance(tiny, tmp_path):
    ws = tmp_path / "ws"
    runner = CliRunner()
    result = runner.invoke(main, ["variance", str(tiny), "--quarter", "2026Q2", "--workspace", str(ws),
                                  "--draws", "500", "--format", "json"], obj=FAKES)
    assert result.exit_code == 0, result.output
    assert "making one now" in result.stderr
    doc = json.loads(result.stdout)
    assert {"forecast_vs_actual", "drivers", "new_pipeline", "conversion_by_type",
            "largest_misses"} <= set(doc)
    assert doc["meta"]["diagnostics"][0]["model"] == "fake"  # the reviewed run's fits
    values = [r["value"] for r in doc["drivers"]]
    assert sum(values[:-1]) == pytest.approx(values[-1], abs=1e-6)
    table = runner.invoke(main, ["variance", str(tiny), "--quarter", "2026Q2", "--workspace", str(ws),
                                 "--by", "tier"], obj=FAKES)
    assert table.exit_code == 0, table.output
    assert "== drivers ==" in table.stdout and "activation" in table.stdout
    bad = runner.invoke(main, ["variance", str(tiny), "--quarter", "2027Q3", "--workspace", str(ws)],
                        obj=FAKES)
    assert bad.exit_code == 2 and "has not started" in bad.stderr
    missing = runner.invoke(main, ["variance", str(tiny), "--workspace", str(ws)], obj=FAKES)
    assert missing.exit_code == 2  # --quarter is required


def test_settings_attribution_is_used_for_values(tiny, tmp_path):
    """Deal values are attributed ARR: an influenced deal counts at its influence %."""
    ws = tmp_path / "ws"
    result = variance_review(tiny, "2026Q3", workspace=ws, draws=500, progress=False, models=FAKE_MODELS,
                             notify=lambda m: None, config=load_settings())
    misses = result.largest_misses.set_index("opportunity_id")
    if "O04" in misses.index:  # influenced at 30%, open at 2026-07-01, won 2026-07-14
        assert misses.loc["O04", "value"] == pytest.approx(60_000 * 0.30)
    assert result.meta["decomposition_check"] == pytest.approx(0.0, abs=1e-6)


def test_largest_misses_name_missing_fields(tmp_path):
    tables = tiny_export_tables()
    opps = tables["opportunities"]
    opps.loc[opps["opportunity_id"] == "O03", "deal_registration_id"] = ""
    folder = write_tiny_export(tmp_path / "tiny", tables)
    result = variance_review(folder, "2026Q2", workspace=tmp_path / "ws", draws=300, progress=False,
                             models=FAKE_MODELS,
                             notify=lambda m: None)
    misses = result.largest_misses.set_index("opportunity_id")
    assert misses.loc["O03", "missing_fields"] == "deal_registration_id"
    assert misses.loc["O02", "missing_fields"] == ""
