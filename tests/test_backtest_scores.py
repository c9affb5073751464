"""Scoring helpers against hand-computed values; baselines against the stage-weighted metric."""

import numpy as np
import pandas as pd
import pytest
import scoringrules as sr
from hypothesis import given, settings
from hypothesis import strategies as st

from partner_forecast.calendar import Quarter
from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.evaluate import scores
from partner_forecast.evaluate.baselines import (
    BASELINES,
    baseline_points,
    open_deals_at_origin,
    same_quarter_last_year,
)
from partner_forecast.evaluate.scoring import summarise
from partner_forecast.ledger.percentiles import percentile_of
from partner_forecast.metrics.stage_forecast import stage_weighted_forecast
from partner_forecast.outcomes import realised
from partner_forecast.testing.exports import write_tiny_export

# -- CRPS ----------------------------------------------------------------------------------------


def test_crps_ensemble_by_hand():
    # E|X - y| = (2 + 1 + 1) / 3; E|X - X'| = 2 (1 + 3 + 2) / 9; CRPS = 4/3 - 6/9 = 2/3.
    assert scores.crps_ensemble(3.0, [1.0, 2.0, 4.0]) == pytest.approx(2.0 / 3.0)
    # Below every member: E|X - y| - E|X - X'| / 2 = (4 + 5 + 7)/3 - 6/9.
    assert scores.crps_ensemble(-3.0, [1.0, 2.0, 4.0]) == pytest.approx(16 / 3 - 6 / 9)
    # Vectorised over forecasts, ensemble on axis 0.
    got = scores.crps_ensemble([3.0, -3.0], np.array([[1.0, 1.0], [2.0, 2.0], [4.0, 4.0]]), axis=0)
    assert got == pytest.approx([2 / 3, 16 / 3 - 6 / 9])


def test_crps_of_a_point_is_absolute_error_and_matches_a_degenerate_ensemble():
    assert scores.crps_point(10.0, 13.0) == 3.0
    assert scores.crps_ensemble(10.0, np.full(50, 13.0)) == pytest.approx(3.0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=30), st.floats(-1e6, 1e6))
def test_crps_equals_the_energy_form(members, y):
    x = np.array(members)
    energy = np.abs(x - y).mean() - 0.5 * np.abs(x[:, None] - x[None, :]).mean()
    assert scores.crps_ensemble(y, x) == pytest.approx(energy, rel=1e-9, abs=1e-6)


# -- pinball, coverage, PIT, Wilson -----------------------------------------------------------------


def test_pinball_loss_by_hand():
    assert scores.pinball_loss(10.0, 8.0, 0.9) == pytest.approx(1.8)  # 0.9 x (10 - 8)
    assert scores.pinball_loss(10.0, 12.0, 0.9) == pytest.approx(0.2)  # 0.1 x (12 - 10)
    assert scores.pinball_loss(10.0, 12.0, 0.1) == pytest.approx(1.8)
    assert scores.pinball_loss(10.0, 10.0, 0.5) == 0.0
    assert scores.pinball_loss(10.0, 8.0, 0.9) == pytest.approx(sr.quantile_score(10.0, 8.0, 0.9))
    with pytest.raises(ValueError):
        scores.pinball_loss(1.0, 1.0, 1.0)


def test_interval_coverage_is_closed():
    got = scores.interval_covered([5, 10, 20, 21, 4], 5, 20)
    assert got.tolist() == [True, True, True, False, False]


def test_pit_mid_rank_by_hand():
    assert scores.pit(3.0, [1.0, 2.0, 3.0, 4.0]) == pytest.approx(2.5 / 4)
    assert scores.pit(0.0, [1.0, 2.0]) == 0.0
    assert scores.pit(9.0, [1.0, 2.0]) == 1.0
    assert scores.pit(5.0, [5.0]) == 0.5  # a point forecast that is exactly right


def test_wilson_interval_matches_published_values():
    # Wilson 95% intervals (Newcombe 1998, table I): 8/10 -> 0.490-0.943, 0/10 -> 0-0.278.
    assert scores.wilson_interval(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert scores.wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    low, high = scores.wilson_interval(10, 10)
    assert low == pytest.approx(0.7225, abs=1e-4) and high == pytest.approx(1.0)
    assert scores.wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        scores.wilson_interval(3, 2)


def test_brier_and_ece_by_hand():
    assert scores.brier_score([0.8, 0.3], [1, 0]) == pytest.approx((0.04 + 0.09) / 2)
    # Bins: {0.05} -> |0.05 - 0|; {0.15, 0.12} -> |0.135 - 0.5|; {0.95} -> |0.95 - 1|.
    ece = scores.expected_calibration_error([0.05, 0.15, 0.12, 0.95], [0, 1, 0, 1])
    assert ece == pytest.approx((0.05 + 2 * 0.365 + 0.05) / 4)
    assert scores.expected_calibration_error([1.0, 1.0], [1, 1]) == 0.0  # p = 1 in the last bin
    assert np.isnan(scores.brier_score([], []))


def test_summary_coverage_uses_wilson_and_crps_ratio_is_on_common_folds():
    rows = []
    for i, (y, covered, crps_m, crps_b) in enumerate([(10, True, 1.0, 2.0), (20, False, 3.0, np.nan),
                                                       (30, True, 2.0, 8.0)]):
        base = {"fold": f"f{i}", "quarter": f"q{i}", "lead": 1, "segment": "total", "actual": y,
                "mean": y, "p10": y, "p50": y, "p90": y, "pinball_p10": 0.0, "pinball_p50": 0.0,
                "pinball_p90": 0.0, "pit": 0.5, "error": 1.0, "ape_p50": 0.1, "ratio_p50": 1.0}
        rows.append({**base, "method": "model", "crps": crps_m, "covered": covered})
        if np.isfinite(crps_b):
            rows.append({**base, "method": "last_quarter", "crps": crps_b, "covered": False})
    summary = summarise(pd.DataFrame(rows)).set_index("method")
    assert summary.loc["model", "coverage"] == pytest.approx(2 / 3)
    assert (summary.loc["model", "coverage_low"], summary.loc["model", "coverage_high"]) == \
        pytest.approx(scores.wilson_interval(2, 3))
    # Baseline scored on folds 0 and 2 only: (2 + 8) / 2 over the model's (1 + 2) / 2 there.
    assert summary.loc["last_quarter", "crps_vs_model"] == pytest.approx(10 / 3)
    assert summary.loc["model", "crps_vs_model"] == pytest.approx(1.0)


# -- percentiles read off a recorded grid ----------------------------------------------------------


def test_percentile_of_grid():
    levels = np.arange(0, 101)
    draws = np.arange(1000, dtype=float)
    grid = np.percentile(draws, levels)
    assert percentile_of(499.5, levels, grid) == pytest.approx(50.0)
    assert percentile_of(-1.0, levels, grid) == 0.0
    assert percentile_of(5000.0, levels, grid) == 100.0
    # A flat stretch (70% of draws at 0) gives its middle.
    flat = np.percentile(np.r_[np.zeros(700), np.arange(1, 301)], levels)
    assert percentile_of(0.0, levels, flat) == pytest.approx((0 + 69) / 2, abs=1.0)
    # Three quantiles only: inside the band interpolated, outside unknown.
    assert percentile_of(15.0, (10, 50, 90), (10.0, 20.0, 30.0)) == pytest.approx(30.0)
    assert np.isnan(percentile_of(5.0, (10, 50, 90), (10.0, 20.0, 30.0)))


# -- baselines -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory):
    return load_export(write_tiny_export(tmp_path_factory.mktemp("tiny")))


def test_stage_baselines_reuse_the_stage_weighted_forecast(tiny_export):
    settings = load_settings()
    view = tiny_export.as_of("2026-07-01")
    points = baseline_points(view, settings, [Quarter.parse("2026Q3")]).set_index(["method", "segment"])
    for rates, method in (("table", "stage_table"), ("learned", "stage_learned")):
        expected = stage_weighted_forecast(view, settings, rates=rates)["attributed_forecast_arr"].sum()
        assert points.loc[(method, "total"), "point"] == pytest.approx(expected)
    assert set(points.index.get_level_values("method")) == set(BASELINES)


def test_naive_baselines_copy_known_quarters_only(tiny_export):
    settings = load_settings()
    view = tiny_export.as_of("2026-07-01")
    points = baseline_points(view, settings, [Quarter.parse("2026Q3"), Quarter.parse("2026Q4")],
                             by="partner_type")
    last = points[(points["method"] == "last_quarter") & (points["segment"] == "total")]
    q2 = realised(view, settings, Quarter.parse("2026Q2"))
    assert last["point"].tolist() == pytest.approx([q2["attributed_arr"].iloc[0]] * 2)
    assert (last["source_quarter"] == "2026Q2").all()
    # 2025Q3 is before the first deal: no value rather than a misleading zero.
    lag = points[points["method"] == "same_quarter_last_year"]
    assert lag["point"].isna().all()
    # Stage-weighted baselines have no timing: first quarter only.
    stage = points[points["method"] == "stage_table"]
    assert stage.loc[stage["quarter"] == "2026Q4", "point"].isna().all()
    assert stage.loc[stage["quarter"] == "2026Q3", "point"].notna().all()
    seg = stage[(stage["quarter"] == "2026Q3") & (stage["segment"] != "total")]["point"].sum()
    assert seg == pytest.approx(stage[(stage["quarter"] == "2026Q3")
                                      & (stage["segment"] == "total")]["point"].iloc[0])


def test_same_quarter_last_year_steps_back_until_known():
    origin = Quarter.parse("2026Q1")
    assert str(same_quarter_last_year(Quarter.parse("2026Q3"), origin)) == "2025Q3"
    assert str(same_quarter_last_year(Quarter.parse("2027Q2"), origin)) == "2025Q2"


def test_open_deals_at_origin_have_stage_probabilities(tiny_export):
    settings = load_settings()
    deals = open_deals_at_origin(tiny_export.as_of("2026-07-01"), settings).set_index("opportunity_id")
    assert deals.loc["O05", "stage"] == "proposal"  # negotiation entered on 2026-07-20, after the cut
    assert deals.loc["O05", "p_table"] == settings.conversion_probability("gsi", "proposal")
    assert deals["p_learned"].between(0, 1).all()
    assert deals.loc["O04", "attributed_arr"] == pytest.approx(60000 * 0.30)  # influenced, 30%
