"""The seed documents' worked examples, and invariants of the metrics (hypothesis)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _metrics_data import write_metrics_export
from partner_forecast.calendar import Quarter
from partner_forecast.config import AttributionSettings, load_settings
from partner_forecast.data.export import load_export
from partner_forecast.data.schema import ACTIVITY_TYPES, LEARNING_ACTIVITIES
from partner_forecast.metrics.asr import history_quarters, partner_quarter_activation
from partner_forecast.metrics.attribution import attributed_arr, attribution_weight
from partner_forecast.metrics.coverage import coverage_ratio, pipeline_coverage
from partner_forecast.metrics.production import (
    effective_sellers,
    engagement_model_arr,
    pipeline_from_sellers,
    referral_model_arr,
    seller_productivity,
)
from partner_forecast.metrics.sellers import seller_engagement

SETTINGS = load_settings()


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return load_export(write_metrics_export(tmp_path_factory.mktemp("tiny")))


# -- seed 000: the referral model ----------------------------------------------------------------
def test_seed_000_worked_example_is_50400():
    # 100 sellers x 15% ASR = 15 active x 4 accounts = 60 referrals x 20% = 12 clients x $4,200
    assert referral_model_arr(100, 0.15, 4, 0.20, 4_200) == pytest.approx(50_400)


def test_seed_000_raising_asr_15_to_20_adds_a_third():
    base = referral_model_arr(100, 0.15, 4, 0.20, 4_200)
    lifted = referral_model_arr(100, 0.20, 4, 0.20, 4_200)
    assert lifted == pytest.approx(67_200)
    assert lifted / base - 1 == pytest.approx(1 / 3)


def test_referral_model_broadcasts_over_arrays():
    out = referral_model_arr(np.array([100, 200]), 0.15, 4, 0.20, 4_200)
    np.testing.assert_allclose(out, [50_400, 100_800])


# -- seed 001: the engagement model ----------------------------------------------------------------
def test_seed_001_worked_example_is_1_08m():
    # 40 active x 60% engaged x 2 deals x $75k x 30% win
    assert engagement_model_arr(40, 0.60, 2, 75_000, 0.30) == pytest.approx(1_080_000)


def test_seed_001_effective_sellers_pipeline_and_productivity():
    assert effective_sellers(100, 0.35) == pytest.approx(35)  # "true capacity is 35, not 100"
    assert pipeline_from_sellers(24, 2, 75_000) == pytest.approx(3_600_000)
    assert seller_productivity(1_080_000, 40) == pytest.approx(27_000)
    assert np.isnan(seller_productivity(1_000, 0))


# -- attribution (DOMAIN.md section 4) -----------------------------------------------------------
def test_attribution_of_a_100k_deal():
    roles = pd.Series(["sourced", "co_sell", "influenced", "fulfillment"])
    arr = pd.Series([100_000.0] * 4)
    np.testing.assert_allclose(attributed_arr(arr, roles, None, SETTINGS.attribution),
                               [100_000, 50_000, 25_000, 0])


def test_influence_pct_replaces_the_default_influenced_share():
    roles = pd.Series(["influenced", "influenced", "sourced"])
    pct = pd.Series([30.0, np.nan, 30.0])  # ignored for a sourced deal
    out = attributed_arr(pd.Series([100_000.0] * 3), roles, pct, SETTINGS.attribution)
    np.testing.assert_allclose(out, [30_000, 25_000, 100_000])
    off = SETTINGS.attribution.model_copy(update={"use_influence_pct": False})
    assert attributed_arr(pd.Series([100_000.0]), roles[:1], pct[:1], off).iloc[0] == 25_000


unit = st.floats(0, 1, allow_nan=False)
ROLES = ["sourced", "co_sell", "influenced", "fulfillment"]


@given(st.lists(st.tuples(st.sampled_from(ROLES), st.one_of(st.none(), st.floats(0, 100))),
                min_size=1, max_size=30),
       unit, unit, unit, unit, st.booleans())
def test_attribution_weights_stay_in_unit_interval(deals, s, c, i, f, use_pct):
    cfg = AttributionSettings(sourced=s, co_sell=c, influenced=i, fulfillment=f, use_influence_pct=use_pct)
    roles = pd.Series([r for r, _ in deals], dtype=object)
    pct = pd.Series([np.nan if p is None else p for _, p in deals], dtype=float)
    w = attribution_weight(roles, pct, cfg)
    assert ((w >= 0) & (w <= 1)).all()
    assert len(w) == len(deals)


# -- invariants on the export --------------------------------------------------------------------
DATES = st.dates(min_value=pd.Timestamp("2025-01-01").date(), max_value=pd.Timestamp("2026-06-30").date())


def _with_activities(export, rows):
    sellers = export.sellers["seller_id"].tolist()
    extra = pd.DataFrame({
        "activity_id": [f"X{i}" for i in range(len(rows))],
        "seller_id": [sellers[s % len(sellers)] for s, _, _ in rows],
        "occurred_on": pd.to_datetime([d for _, d, _ in rows]).astype("datetime64[ns]"),
        "activity_type": [t for _, _, t in rows],
        "opportunity_id": [None] * len(rows),
    })
    acts = pd.concat([export.activities, extra], ignore_index=True)
    return replace(export, activities=acts)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), DATES, st.sampled_from(LEARNING_ACTIVITIES)),
                min_size=1, max_size=40))
def test_learning_actions_never_change_asr(export, rows):
    # fixed quarters: an early learning action may extend the recorded history, not change ASR
    quarters = history_quarters(export)
    more = _with_activities(export, rows)
    before = partner_quarter_activation(export, quarters)
    after = partner_quarter_activation(more, quarters)
    pd.testing.assert_frame_equal(before, after)
    eng_before = seller_engagement(export, quarters)
    eng_after = seller_engagement(more, quarters)
    pd.testing.assert_series_equal(eng_before["engaged"], eng_after["engaged"])
    pd.testing.assert_series_equal(eng_before["asr"], eng_after["asr"])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), DATES, st.sampled_from(ACTIVITY_TYPES)), max_size=40))
def test_asr_is_a_rate(export, rows):
    e = _with_activities(export, rows) if rows else export
    pq = partner_quarter_activation(e)
    assert pq["asr"].dropna().between(0, 1).all()
    assert (pq["active"] <= pq["pool"]).all()
    eng = seller_engagement(e)
    assert eng["engagement_rate"].dropna().between(0, 1).all()
    assert (eng["effective_sellers"] <= eng["active"] + 1e-12).all()


@given(st.floats(0, 1e9), st.floats(0, 1e9), st.floats(1, 1e9))
def test_coverage_is_monotone_in_pipeline(a, b, target):
    lo, hi = sorted((a, b))
    assert coverage_ratio(lo, target) <= coverage_ratio(hi, target)


@settings(max_examples=25, deadline=None)
@given(st.floats(0, 5e6))
def test_export_coverage_rises_with_an_open_deal_arr(export, extra):
    opps = export.opportunities.copy()
    base = pipeline_coverage(export, SETTINGS, Quarter(2026, 3))
    opps.loc[opps["opportunity_id"].eq("O3"), "arr"] += extra
    bigger = replace(export, opportunities=opps)
    more = pipeline_coverage(bigger, SETTINGS, Quarter(2026, 3))
    assert (more["coverage"].fillna(0).to_numpy() >= base["coverage"].fillna(0).to_numpy() - 1e-12).all()
    assert more.loc[0, "pipeline_arr"] == pytest.approx(base.loc[0, "pipeline_arr"] + extra)
