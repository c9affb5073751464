from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from _metrics_data import write_metrics_export
from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.data.views import deal_engagement
from partner_forecast.metrics.confidence import (
    FACTOR_COLUMNS,
    commit_category,
    commit_factor,
    confidence_scores,
    partner_win_rates,
)

SETTINGS = load_settings()


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return load_export(write_metrics_export(tmp_path_factory.mktemp("tiny")))


def test_seed_commit_rule_71_55_39():
    np.testing.assert_allclose(commit_factor([71, 55, 39], SETTINGS), [1.0, 0.75, 0.0])
    assert list(commit_category([71, 55, 39], SETTINGS)) == ["full", "discounted", "upside"]


def test_commit_rule_boundaries():
    # > 70 is full, so 70 itself is discounted; 40 is the first discounted score.
    np.testing.assert_allclose(commit_factor([70, 70.0001, 40, 39.9999], SETTINGS),
                               [0.75, 1.0, 0.75, 0.0])
    assert float(commit_factor(100, SETTINGS)) == 1.0
    assert float(commit_factor(0, SETTINGS.confidence)) == 0.0


@given(st.floats(0, 100), st.floats(0, 100))
def test_commit_factor_monotone(a, b):
    lo, hi = sorted((a, b))
    assert commit_factor(lo, SETTINGS) <= commit_factor(hi, SETTINGS)


def test_scores_of_open_deals(export):
    scores = confidence_scores(export, SETTINGS).set_index("opportunity_id")
    assert sorted(scores.index) == ["O3", "O4", "O5", "O9"]
    # overall win rate 3/5; P1 1 of 2 -> (1 + 10 * .6) / 12
    o3 = scores.loc["O3"]
    assert o3["partner_history_score"] == pytest.approx(7 / 12)
    assert o3["engagement_score"] == pytest.approx(2 / 5)
    expected = 100 * (0.25 * 0.75 + 0.20 * 1.0 + 0.20 * 7 / 12 + 0.15 * 0.4 + 0.10 * 1 + 0.10 * 0)
    assert o3["confidence_score"] == pytest.approx(expected)
    assert o3["commit_category"] == "discounted" and o3["commit_factor"] == 0.75
    assert scores.loc["O9", "commit_category"] == "upside"
    for col in FACTOR_COLUMNS:
        assert scores[col].between(0, 1).all()
    assert scores["confidence_score"].between(0, 100).all()


def test_full_commit_when_everything_is_strong(export):
    settings = SETTINGS.with_overrides(confidence={"engagement_full_at": 1})
    scores = confidence_scores(export, settings).set_index("opportunity_id")
    # O3: .25*.75 + .2 + .2*7/12 + .15 + .1 = 75.4 -> full
    assert scores.loc["O3", "confidence_score"] == pytest.approx(75.41666666, rel=1e-6)
    assert scores.loc["O3", "commit_category"] == "full"


def test_as_of_view_changes_history_and_engagement(export):
    early = export.as_of("2026-05-11")
    scores = confidence_scores(early, SETTINGS).set_index("opportunity_id")
    # before 2026-05-11: O1, O7 won, O2, O8 lost: overall 1/2, P1 1/2 -> .5
    assert scores.loc["O3", "partner_history_score"] == pytest.approx(0.5)
    assert scores.loc["O3", "engagement_activities"] == 0
    assert "O6" in scores.index  # won on 2026-05-15: still open then
    assert "O8" not in scores.index  # lost on 2026-04-20


def test_deal_engagement_counts(export):
    eng = deal_engagement(export)
    assert eng["O3"] == 2 and eng["O5"] == 1 and eng["O7"] == 1 and eng["O9"] == 0


def test_partner_win_rates_shrink_toward_overall(export):
    rates = partner_win_rates(export).set_index("partner_id")
    assert rates.loc["P4", "closed"] == 0
    assert rates.loc["P4", "win_rate"] == pytest.approx(0.6)
    assert rates.loc["P3", "win_rate"] == pytest.approx(7 / 11)
