"""Every metric on the hand-made export of ``_metrics_data`` against hand-computed values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from _metrics_data import write_metrics_export
from partner_forecast.calendar import Quarter
from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.metrics.activation import (
    activation_summary,
    data_start,
    paper_partnerships,
    partner_activation,
)
from partner_forecast.metrics.activation_score import (
    activation_band,
    activation_components,
    activation_scores,
    band_summary,
)
from partner_forecast.metrics.arr import core_arr_metrics
from partner_forecast.metrics.asr import partner_quarter_activation
from partner_forecast.metrics.attribution import attribute_deals, by_category
from partner_forecast.metrics.cache import cached_metrics
from partner_forecast.metrics.coverage import (
    pipeline_coverage,
    quarter_targets,
    segment_targets,
    snapshot_date,
)
from partner_forecast.metrics.kpis import ADOPTION_KPIS, SELLER_KPIS, adoption_kpis, seller_kpis
from partner_forecast.metrics.periods import last_data_quarter, resolve_quarter
from partner_forecast.metrics.pipeline import open_pipeline, pipeline_trend
from partner_forecast.metrics.production import production_from_history
from partner_forecast.metrics.scorecard import activation_trend, seller_scorecard, top_bottom
from partner_forecast.metrics.segments import by_segment, filter_export, split_export
from partner_forecast.metrics.sellers import seller_engagement, seller_quarter_activity
from partner_forecast.metrics.stage_forecast import learned_conversion_table, stage_weighted_forecast

S = load_settings()
Q1, Q2, Q3 = Quarter(2026, 1), Quarter(2026, 2), Quarter(2026, 3)


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return load_export(write_metrics_export(tmp_path_factory.mktemp("tiny")))


def kpi(frame: pd.DataFrame, name: str) -> pd.Series:
    return frame.set_index("kpi").loc[name]


# -- periods ---------------------------------------------------------------------------------------
def test_default_quarters(export):
    assert export.default_as_of == pd.Timestamp("2026-07-01")
    assert last_data_quarter(export) == Q2
    assert resolve_quarter(export, None) == Q2
    assert resolve_quarter(export, None, forward=True) == Q3
    assert resolve_quarter(export, "2026Q1") == Q1


# -- sellers: active, enabled, engaged -------------------------------------------------------------
def test_seller_status_in_q2(export):
    sq = seller_quarter_activity(export, [Q2]).set_index("seller_id")
    assert sorted(sq.index) == ["S1", "S2", "S4", "S5", "S6", "S7", "S8", "S9"]  # S3 left in Q1
    assert sorted(sq.index[sq["active"]]) == ["S1", "S2", "S5", "S7"]
    assert sorted(sq.index[sq["engaged"]]) == ["S1", "S5", "S7"]
    assert sq.loc["S4", "enabled"] and not sq.loc["S4", "active"]  # learning only
    assert sq.loc["S1", "selling_actions"] == 2 and sq.loc["S1", "engagement_actions"] == 2


def test_engagement_rates_and_asr_agree_with_asr_module(export):
    eng = seller_engagement(export, [Q1, Q2])
    pq = partner_quarter_activation(export, [Q1, Q2])
    pd.testing.assert_series_equal(eng["asr"], pq["asr"], check_names=False)
    q2 = eng[eng["quarter"] == "2026Q2"].set_index("partner_id")
    assert q2["pool"].sum() == 8 and q2["active"].sum() == 4 and q2["engaged"].sum() == 3
    assert q2.loc["P1", "engagement_rate"] == pytest.approx(0.5)
    assert np.isnan(q2.loc["P4", "engagement_rate"])
    assert q2.loc["P1", "effective_sellers"] == pytest.approx(1.0)


# -- pipeline, categories, ratios ------------------------------------------------------------------
def test_open_pipeline_and_categories(export):
    pipe = open_pipeline(export, S).set_index("opportunity_id")
    assert sorted(pipe.index) == ["O3", "O4", "O5", "O9"]
    assert pipe.loc["O4", "attributed_arr"] == pytest.approx(12_000)  # influenced at 30%
    cats = by_category(pipe.reset_index(), S.attribution).set_index("category")
    assert cats.loc["sourced", "arr"] == 115_000 and cats.loc["influenced", "arr"] == 40_000
    assert cats.loc["total", "arr"] == 155_000 and cats.loc["total", "attributed_arr"] == 127_000


def test_pipeline_on_a_past_date_uses_the_stage_history(export):
    pipe = open_pipeline(export, S, "2026-04-01").set_index("opportunity_id")
    assert sorted(pipe.index) == ["O4", "O6", "O7", "O8"]
    assert pipe.loc["O6", "stage"] == "qualified"  # proposal entered on 04-01 itself
    assert bool(pipe.loc["O7", "resell"])


def test_pipeline_trend_ratios(export):
    trend = pipeline_trend(export, S, [Q1, Q2]).set_index("quarter")
    assert trend.loc["2026Q1", "pipeline_arr"] == 140_000
    assert trend.loc["2026Q1", "previous_pipeline_arr"] == 110_000
    assert trend.loc["2026Q1", "pipeline_growth_qoq"] == pytest.approx(140 / 110 - 1)
    assert trend.loc["2026Q2", "sourced_ratio"] == pytest.approx(115_000 / 2_100_000)
    assert trend.loc["2026Q2", "total_pipeline_basis"] == "company"
    assert trend.loc["2026Q2", "influence_rate"] == pytest.approx(1 / 3)  # O8 of O6, O7, O8


# -- coverage and stage-weighted forecasts ---------------------------------------------------------
def test_coverage_against_targets(export):
    """2026Q3 at 2026-07-01: no planned dates, so every close date is estimated from won deals.

    O3 (proposal for 37 days; won deals stayed 41 and 44 days there: 5.5 more) closes 07-07,
    O5 and O9 in August; O4 (negotiation for 30 days, longer than any won deal stayed there)
    has no estimate and counts in no quarter.
    """
    assert quarter_targets(export, Q3) == {"all": 400_000, "reseller": 150_000}
    # The forecast's segments: total alone, or with each type's own target.
    assert segment_targets(export, Q3) == {"total": 400_000}
    assert segment_targets(export, str(Q3), "partner_type") == {"total": 400_000,
                                                               "reseller": 150_000}
    assert segment_targets(export, Q3 + 4) == {}
    cov = pipeline_coverage(export, S, Q3).set_index("partner_type")
    assert cov.loc["all", "deals"] == 3 and cov.loc["all", "estimated_close_deals"] == 3
    assert cov.loc["all", "pipeline_arr"] == 115_000  # O3 + O5 + O9, all sourced
    assert cov.loc["all", "coverage"] == pytest.approx(115_000 / 400_000)
    assert cov.loc["all", "undated_pipeline_arr"] == pytest.approx(0.3 * 40_000)  # O4
    assert cov.loc["all", "required_coverage"] == 3.0
    assert cov.loc["reseller", "coverage"] == pytest.approx(95_000 / 150_000)
    assert cov.loc["msp", "required_coverage"] == 2.5 and np.isnan(cov.loc["msp", "coverage"])
    assert cov.loc["all", "weighted_pipeline_arr"] == pytest.approx(0.5 * 80_000 + 0.25 * 20_000
                                                                    + 0.15 * 15_000)
    assert cov.loc["reseller", "pipeline_gap_arr"] == pytest.approx(450_000 - 95_000)
    assert not cov.loc["all", "meets_target"]


def test_coverage_counts_deals_planned_in_the_quarter_on_one_basis(export):
    from dataclasses import replace

    opps = export.opportunities.set_index("opportunity_id")
    opps.loc["O4", "expected_close_on"] = pd.Timestamp("2026-08-15")  # influenced 30%: in Q3
    opps.loc["O9", "expected_close_on"] = pd.Timestamp("2026-11-01")  # Q4
    opps.loc["O5", "expected_close_on"] = pd.Timestamp("2026-06-15")  # passed: estimated
    planned = replace(export, opportunities=opps.reset_index())
    cov = pipeline_coverage(planned, S, Q3).set_index("partner_type")
    assert cov.loc["all", "deals"] == 3 and cov.loc["all", "estimated_close_deals"] == 2  # O3, O5
    assert cov.loc["all", "pipeline_arr"] == pytest.approx(80_000 + 12_000 + 20_000)
    assert cov.loc["all", "gross_pipeline_arr"] == pytest.approx(80_000 + 40_000 + 20_000)
    assert cov.loc["all", "coverage"] == pytest.approx(112_000 / 400_000)
    assert cov.loc["all", "gross_coverage"] == pytest.approx(140_000 / 400_000)
    assert cov.loc["all", "other_quarters_pipeline_arr"] == 15_000
    assert cov.loc["all", "undated_pipeline_arr"] == 0
    q4 = pipeline_coverage(planned, S, Quarter(2026, 4)).set_index("partner_type")
    assert q4.loc["all", "pipeline_arr"] == 15_000 and q4.loc["all", "deals"] == 1


def test_coverage_of_a_past_quarter_uses_its_start(export):
    """2026Q2 at 2026-04-01: the only deal won before then (O1) dates the open ones.

    O4 (qualified 31 days; O1 took 81) and O6 (17 days) and O7 (proposal 4 days; O1 took 41)
    close in Q2; O8 (qualified 81 days) has no estimate.
    """
    from dataclasses import replace

    assert snapshot_date(export, Q2) == Q2.start
    opps = export.opportunities.set_index("opportunity_id")
    opps.loc["O7", "expected_close_on"] = pd.Timestamp("2026-09-01")  # the latest value: unused
    for data in (export, replace(export, opportunities=opps.reset_index())):
        cov = pipeline_coverage(data, S, Q2).set_index("partner_type")
        assert cov.loc["all", "deals"] == 3 and cov.loc["all", "target_arr"] == 500_000
        assert cov.loc["all", "pipeline_arr"] == pytest.approx(0.3 * 40_000 + 0 + 60_000)
        assert cov.loc["all", "gross_pipeline_arr"] == 40_000 + 30_000 + 60_000
        assert cov.loc["all", "undated_pipeline_arr"] == pytest.approx(0.25 * 10_000)  # O8
        assert cov.loc["msp", "coverage"] == 0  # O6 is fulfillment: no attributed ARR
        assert cov.loc["msp", "gross_coverage"] == pytest.approx(30_000 / 100_000)


def test_stage_weighted_forecast_with_the_seed_table(export):
    f = stage_weighted_forecast(export, S).set_index(["partner_type", "stage"])
    assert f.loc[("reseller", "proposal"), "forecast_arr"] == pytest.approx(80_000 * 0.50)
    assert f.loc[("msp", "qualified"), "conversion_rate"] == 0.25
    assert f["forecast_arr"].sum() == pytest.approx(77_250)
    np.testing.assert_allclose(f["forecast_arr"], f["deals"] * f["conversion_rate"] * f["avg_deal_size"])


def test_learned_conversion_rates(export):
    t = learned_conversion_table(export, S).set_index(["partner_type", "stage"])
    # msp deals closed: O6 won, O8 lost; both entered discovery
    row = t.loc[("msp", "discovery")]
    assert (row["reached"], row["won"]) == (2, 1)
    assert row["learned_rate"] == pytest.approx((1 + 5 * 0.10) / (2 + 5))
    # no closed tech_alliance deal: the learned rate is the table's default column
    assert t.loc[("tech_alliance", "proposal"), "learned_rate"] == pytest.approx(0.50)
    assert t["learned_rate"].between(0, 1).all()
    learned = stage_weighted_forecast(export, S, "learned").set_index(["partner_type", "stage"])
    assert learned.loc[("reseller", "proposal"), "conversion_rate"] == pytest.approx((1 + 2.5) / 6)
    with pytest.raises(ValueError):
        stage_weighted_forecast(export, S, "direct")


# -- core ARR metrics ------------------------------------------------------------------------------
def test_core_arr_metrics_q2(export):
    m = core_arr_metrics(export, S, Q2).iloc[0]
    assert m["won_arr"] == 90_000 and m["sourced_arr"] == 60_000 and m["influenced_arr"] == 0
    assert m["resell_arr"] == 90_000 and m["marketplace_arr"] == 30_000 and m["expansion_arr"] == 30_000
    assert m["partner_arr"] == 60_000  # fulfillment attributes 0
    assert m["contribution_pct"] == pytest.approx(60_000 / 5_200_000)
    assert m["active_partners"] == 3 and m["arr_per_active_partner"] == pytest.approx(20_000)
    assert m["active_sellers"] == 4 and m["arr_per_active_seller"] == pytest.approx(15_000)


def test_attribute_deals_flags(export):
    d = attribute_deals(export.opportunities, S.attribution).set_index("opportunity_id")
    assert d.loc["O6", "marketplace_deal"] and d.loc["O6", "expansion"] and d.loc["O6", "resell"]
    assert d.loc["O8", "attribution"] == 0.25 and d.loc["O2", "attribution"] == 0.5


# -- seller and adoption KPIs ----------------------------------------------------------------------
def test_seller_kpis_q2(export):
    k = seller_kpis(export, S, Q2)
    assert list(k["kpi"]) == list(SELLER_KPIS)
    assert kpi(k, "seller_activation_rate")["value"] == pytest.approx(0.5)
    assert bool(kpi(k, "seller_activation_rate")["meets_target"])
    # leads submitted in Q2: O3 (2 days), O5 (4 days), O9 not contacted
    lead = kpi(k, "lead_response_time")
    assert lead["value"] == pytest.approx(3.0) and not lead["meets_target"]  # target is < 3 days
    assert kpi(k, "pipeline_visibility")["value"] == pytest.approx(1.0)
    assert kpi(k, "conversion_rate")["value"] == pytest.approx(1.0)  # O7 won, referred by S7
    assert kpi(k, "seller_engagement")["value"] == 2  # S1, S8 attended enablement


def test_pipeline_visibility_flags_stale_deals(export):
    k = seller_kpis(export.as_of("2026-05-20"), S, Q2)
    # sourced in play then: O3 (stage change 04-20, within 30 days), O5 (created 05-05), O7 closed
    assert kpi(k, "pipeline_visibility")["denominator"] == 3
    k = seller_kpis(export, S, Q1)
    # at 2026-04-01: O7 (proposal 03-28) fresh; O1 closed in Q1 -> 2 of 2
    assert kpi(k, "pipeline_visibility")["value"] == pytest.approx(1.0)


def test_adoption_kpis_q2(export):
    k = adoption_kpis(export, S, Q2)
    assert list(k["kpi"]) == list(ADOPTION_KPIS)
    assert kpi(k, "pct_activated_partners")["value"] == pytest.approx(0.5)  # P2, P3 won since 04-02
    assert kpi(k, "pipeline_contribution")["value"] == pytest.approx(155_000 / 2_100_000)
    assert kpi(k, "partner_sourced_revenue")["value"] == 60_000
    assert kpi(k, "deal_registration_velocity")["value"] == pytest.approx(1.5)  # O3 1 day, O5 2
    assert kpi(k, "enablement_completion_rate")["value"] == pytest.approx(2 / 8)  # S2, S4 certified
    assert kpi(k, "active_partner_rate")["value"] == pytest.approx(1.0)
    assert kpi(k, "partner_sourced_win_rate")["value"] == pytest.approx(1.0)
    assert kpi(k, "avg_deal_size_vs_direct")["value"] == pytest.approx(45_000 / 50_000)


def test_kpis_without_company_figures_are_nan(export):
    from dataclasses import replace

    k = adoption_kpis(replace(export, company=export.company.iloc[0:0]), S, Q2)
    assert np.isnan(kpi(k, "pipeline_contribution")["value"])
    assert np.isnan(kpi(k, "avg_deal_size_vs_direct")["value"])


# -- production models from history ----------------------------------------------------------------
def test_production_from_history(export):
    p = production_from_history(export, S, Q2).set_index("partner_id")
    # P1 over 2025Q3-2026Q2: 6 active seller-quarters, 1 engaged; sourced created O1, O3, O9;
    # sourced closed O1 (won, 100k)
    assert p.loc["P1", "accounts_per_active_seller"] == pytest.approx(3 / 6)
    assert p.loc["P1", "deals_per_seller"] == pytest.approx(3.0)
    assert p.loc["P1", "avg_deal_size"] == 100_000 and p.loc["P1", "conversion_rate"] == 1.0
    assert p.loc["P1", "referral_model_arr"] == pytest.approx(3 * 0.5 * 0.5 * 1.0 * 100_000)
    # both models use the same window, so they agree
    np.testing.assert_allclose(p["referral_model_arr"].fillna(-1), p["engagement_model_arr"].fillna(-1))
    assert p.loc["all", "actual_arr"] == 60_000 and p.loc["all", "sellers"] == 8


# -- activation ------------------------------------------------------------------------------------
def test_first_deals_and_activation_within_90_days(export):
    """The records start on 2025-10-15: P1, P2 and P4 were onboarded before, P3 after."""
    assert data_start(export) == pd.Timestamp("2025-10-15")
    a = partner_activation(export, S).set_index("partner_id")
    assert a.loc["P3", "days_to_first_deal"] == 85 and a.loc["P3", "first_deal_status"] == "activated"
    for pid in ("P1", "P2", "P4"):  # a win before the records start would not be in the data
        assert a.loc[pid, "first_deal_status"] == "unknown (before data)"
        assert np.isnan(a.loc[pid, "days_to_first_deal"]) and a.loc[pid, "onboarded_before_data"]
    assert list(a.index[a["deal_in_window"]]) == ["P2", "P3"]
    s = activation_summary(a.reset_index()).iloc[0]
    assert s["pct_activated_partners"] == 0.5 and s["activated_on_time"] == 1
    assert s["pct_activated_on_time"] == 1.0 and s["first_deal_unknown"] == 3
    assert s["median_days_to_first_deal"] == 85


def test_late_and_missed_first_deals_inside_the_data(export):
    from dataclasses import replace

    partners = export.partners.set_index("partner_id")
    partners.loc["P1", "onboarded_on"] = pd.Timestamp("2025-10-20")  # first win 02-20: 123 days
    partners.loc["P4", "onboarded_on"] = pd.Timestamp("2025-11-01")  # never won, window over
    partners.loc["P2", "onboarded_on"] = pd.Timestamp("2026-02-14")  # won 05-15: 90 days
    a = partner_activation(replace(export, partners=partners.reset_index()), S).set_index("partner_id")
    assert a.loc["P1", "first_deal_status"] == "late" and a.loc["P1", "days_to_first_deal"] == 123
    assert a.loc["P4", "first_deal_status"] == "missed"
    assert a.loc["P2", "first_deal_status"] == "activated"
    assert not a["onboarded_before_data"].any()
    s = activation_summary(a.reset_index()).iloc[0]
    assert s["median_days_to_first_deal"] == 90 and s["first_deal_unknown"] == 0
    assert s["pct_activated_on_time"] == pytest.approx(2 / 4)


def test_onboarded_before_data_but_won_within_the_window_is_activated(export):
    from dataclasses import replace

    partners = export.partners.set_index("partner_id")
    partners.loc["P1", "onboarded_on"] = pd.Timestamp("2025-09-01")  # before the records
    opps = export.opportunities.set_index("opportunity_id")
    opps.loc["O1", "closed_on"] = pd.Timestamp("2025-11-20")  # 80 days after onboarding
    view = replace(export, partners=partners.reset_index(), opportunities=opps.reset_index())
    a = partner_activation(view, S).set_index("partner_id")
    assert a.loc["P1", "first_deal_status"] == "activated" and a.loc["P1", "days_to_first_deal"] == 80


def test_pending_first_deal_before_the_window_closes(export):
    a = partner_activation(export.as_of("2026-03-01"), S).set_index("partner_id")
    assert a.loc["P3", "first_deal_status"] == "pending"  # onboarded 2026-01-10, 50 days


def test_paper_partnerships(export):
    p = paper_partnerships(export, S, Q2).set_index("partner_id")
    assert list(p.index[p["paper_partnership"]]) == ["P4"]
    assert p.loc["P4", "quarters_without_active"] == 3  # 2025Q4 (first recorded activity) .. 2026Q2
    p1 = paper_partnerships(export, S, Q1).set_index("partner_id")
    assert p1.loc["P3", "quarters_without_active"] == 1 and not p1.loc["P3", "paper_partnership"]


def test_activation_score_components_and_bands(export):
    c = activation_components(export, S, Q2).set_index("partner_id")
    assert c.loc["P1", "certifications_observed"] == pytest.approx(2 / 3)
    assert c.loc["P1", "pipeline_progression_observed"] == pytest.approx(2 / 3)  # O3, O4 moved; O9 not
    assert c.loc["P1", "activation_score"] == pytest.approx(85.0)
    scores = activation_scores(export, S, Q2).set_index("partner_id")
    assert scores.loc["P1", "band"] == "fully enabled" and scores.loc["P3", "band"] == "needs support"
    assert scores.loc["P1", "trend"] == "rising" and scores.loc["P3", "trend"] == "falling"
    assert scores["activation_score"].between(0, 100).all()
    assert list(activation_band([70, 69.9, 40, 39.9], S)) == [
        "fully enabled", "partially ready", "partially ready", "needs support"]
    bands = band_summary(scores.reset_index()).set_index("band")
    assert bands["partners"].sum() == 4 and bands.loc["partially ready", "partners"] == 2


# -- scorecard -------------------------------------------------------------------------------------
def test_scorecard_top_and_bottom(export):
    card = seller_scorecard(export, S, Q2)
    assert list(card["seller_id"][:4]) == ["S1", "S7", "S2", "S5"]
    tb = top_bottom(card)
    assert list(tb.loc[tb["group"] == "top", "seller_id"]) == ["S1", "S7", "S2"]
    assert list(tb.loc[tb["group"] == "bottom", "seller_id"]) == ["S4", "S6", "S8"]
    s1 = card.set_index("seller_id").loc["S1"]
    assert s1["status"] == "still active" and s1["trend"] == "0 1 1 2"


def test_scorecard_puts_lapsed_sellers_at_the_bottom(export):
    tb = top_bottom(seller_scorecard(export, S, Q1))
    assert tb.loc[tb["group"] == "bottom", "seller_id"].iloc[0] == "S2"  # active 2025Q4, not Q1


def test_activation_trend(export):
    t = activation_trend(export, S, Q2).set_index("quarter")
    assert t.loc["2026Q2", "asr"] == pytest.approx(0.5)
    assert t.loc["2026Q1", "lapsed"] == 1 and t.loc["2026Q2", "newly_active"] == 2
    assert t.loc["2026Q2", "asr_change"] == pytest.approx(0.5 - 3 / 8)


# -- segments and the cache ------------------------------------------------------------------------
def test_segments_partition_the_export(export):
    parts = split_export(export, "partner_type")
    assert sorted(parts) == ["gsi", "msp", "reseller", "tech_alliance"]
    assert sum(len(p.sellers) for p in parts.values()) == len(export.sellers)
    assert sum(len(p.activities) for p in parts.values()) == len(export.activities)
    assert all(p.default_as_of == export.default_as_of for p in parts.values())
    reseller = parts["reseller"]
    assert quarter_targets(reseller, Q3) == {"all": 150_000}
    assert filter_export(export, "tier", "growth").partners["partner_id"].tolist() == ["P2", "P4"]
    role = filter_export(export, "partner_role", "influenced")
    assert sorted(role.opportunities["opportunity_id"]) == ["O4", "O8"] and len(role.sellers) == 9


def test_segment_sums_equal_the_total(export):
    per = by_segment(export, "partner_type", lambda e: core_arr_metrics(e, S, Q2))
    total = core_arr_metrics(export, S, Q2).iloc[0]
    for col in ("won_arr", "partner_arr", "active_sellers", "resell_arr"):
        assert per[col].sum() == pytest.approx(total[col])
    per_role = by_segment(export, "partner_role", lambda e: open_pipeline(e, S)[["arr"]].sum().to_frame().T)
    assert per_role["arr"].sum() == 155_000


def test_cache_gives_the_same_results(export):
    plain = seller_kpis(export, S, Q2)
    with cached_metrics():
        first = seller_kpis(export, S, Q2)
        second = seller_kpis(export, S, Q2)
        sq = seller_quarter_activity(export, [Q2])
        sq["active"] = False  # a caller's edit must not reach the cache
        assert seller_quarter_activity(export, [Q2])["active"].sum() == 4
    pd.testing.assert_frame_equal(plain, first)
    pd.testing.assert_frame_equal(plain, second)


# -- grouped (by segment) versions agree with the whole ------------------------------------------
@pytest.mark.parametrize("by", ["partner_type", "tier", "partner_role", "revenue_motion", "partner"])
def test_pipeline_trend_by_segment_sums_to_total(export, by):
    whole = pipeline_trend(export, S, [Q1, Q2]).set_index("quarter")
    per = pipeline_trend(export, S, [Q1, Q2], by=by).groupby("quarter")
    for col in ("pipeline_arr", "attributed_pipeline_arr", "sourced_pipeline_arr", "closed_deals",
                "influenced_closed_deals", "previous_pipeline_arr"):
        pd.testing.assert_series_equal(per[col].sum(), whole[col], check_dtype=False, check_names=False)


def test_pipeline_trend_by_segment_equals_the_split(export):
    grouped = pipeline_trend(export, S, [Q2], by="tier").set_index("tier")
    for tier, sub in split_export(export, "tier").items():
        row = pipeline_trend(sub, S, [Q2]).iloc[0]
        assert grouped.loc[tier, "pipeline_arr"] == row["pipeline_arr"]
        assert grouped.loc[tier, "influence_rate"] == pytest.approx(row["influence_rate"], nan_ok=True)


def test_production_by_segment_pools_partner_inputs(export):
    by_tier = production_from_history(export, S, Q2, by="tier").set_index("tier")
    per_partner = production_from_history(export, S, Q2).set_index("partner_id")
    assert by_tier.loc["strategic", "referral_model_arr"] == pytest.approx(
        per_partner.loc["P1", "referral_model_arr"])  # P1 is the only strategic partner
    assert by_tier.loc["all", "actual_arr"] == per_partner.loc["all", "actual_arr"]
    assert by_tier.loc["growth", "sellers"] == 4  # P2 and P4
    with pytest.raises(ValueError):
        production_from_history(export, S, Q2, by="partner_role")
