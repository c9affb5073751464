"""The empirical cohort baseline on a hand-made export whose answers are computed by hand.

Forecast quarter 2026Q3 from the origin 2026-07-01: the outcome window is 92 days, so the
snapshots run fortnightly from 2026-03-31 (= origin - 92 days) back to 2025-07-08 (20 of them,
within a year of the origin). Deals (partner P1, a reseller; sourced unless noted):

===  ==========  =====================================  ======  ==========================
id   created     stage history                          ARR     exposures (snapshot: stage,
                                                                age, bucket, won in window)
===  ==========  =====================================  ======  ==========================
A    2025-07-15  discovery; won 2025-09-10               10000  07-22 d 7 W; 08-05 d 21 W;
                                                                08-19 d 35 W; 09-02 d 49 W
B    2026-01-05  discovery; qualified 01-12; lost 02-20  20000  01-06 d 1 L; 01-20 q 8 L;
                                                                02-03 q 22 L; 02-17 q 36 L
C    2026-03-01  discovery; qualified 03-20 (open)       30000  03-03 d 2 L; 03-17 d 16 L;
                                                                03-31 q 11 L
D    2026-03-10  discovery; won 2026-06-05 (co-sell)     50000  03-17 d 7 W; 03-31 d 21 W
E    2026-06-01  discovery (open)                         8000  none (created after 03-31)
G    2025-10-01  discovery; won 2026-01-15               12000  10-14 d 13 L (window ends
                                                                01-14); 10-28 d 27 W; 11-11
                                                                d 41 W; 11-25 d 55 W; 12-09
                                                                d 69 W; 12-23 d 83 W; 01-06
                                                                d 97 W
===  ==========  =====================================  ======  ==========================

20 exposures, 12 won (0.6). Discovery: 16 exposures, 12 won (0.75). Qualified: 4, 0 won.
"""

import numpy as np
import pandas as pd
import pytest

from partner_forecast.calendar import Quarter
from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.data.schema import TABLES
from partner_forecast.evaluate.baselines import (
    BASELINES,
    baseline_points,
    cohort_draws,
    new_pipeline_points,
    open_deals_at_origin,
)
from partner_forecast.evaluate.cohort import (
    age_bucket,
    cohort_rates,
    exposures,
    snapshot_dates,
)
from partner_forecast.evaluate.leakage import perturb_after
from partner_forecast.testing.exports import tiny_export_tables, write_tiny_export

ORIGIN = pd.Timestamp("2026-07-01")
Q3 = Quarter.parse("2026Q3")
WINDOW = Q3.end - ORIGIN

OPP_COLUMNS = [c.name for c in TABLES["opportunities"].columns]

# id, role, created, arr, [(stage, entered_on), ...]
DEALS = [
    ("A", "sourced", "2025-07-15", 10000, [("discovery", "2025-07-15"), ("won", "2025-09-10")]),
    ("B", "sourced", "2026-01-05", 20000, [("discovery", "2026-01-05"), ("qualified", "2026-01-12"),
                                           ("lost", "2026-02-20")]),
    ("C", "sourced", "2026-03-01", 30000, [("discovery", "2026-03-01"), ("qualified", "2026-03-20")]),
    ("D", "co_sell", "2026-03-10", 50000, [("discovery", "2026-03-10"), ("won", "2026-06-05")]),
    ("E", "sourced", "2026-06-01", 8000, [("discovery", "2026-06-01")]),
    ("G", "sourced", "2025-10-01", 12000, [("discovery", "2025-10-01"), ("won", "2026-01-15")]),
]


def cohort_tables(deals=DEALS) -> dict[str, pd.DataFrame]:
    """The tiny export's partners and sellers with the deals above (activities unlinked)."""
    tables = tiny_export_tables()
    tables["partners"].loc[tables["partners"]["partner_id"] == "P1", "onboarded_on"] = "2025-06-02"
    tables["activities"]["opportunity_id"] = ""
    opp_rows, hist_rows = [], []
    for oid, role, created, arr, history in deals:
        stage, last_on = history[-1]
        closed = last_on if stage in ("won", "lost") else ""
        row = dict.fromkeys(OPP_COLUMNS, "")
        row.update(opportunity_id=oid, partner_id="P1", partner_role=role, revenue_motion="resell",
                   created_on=created, stage=stage, closed_on=closed, arr=str(arr))
        opp_rows.append(row)
        hist_rows += [{"opportunity_id": oid, "stage": s, "entered_on": d} for s, d in history]
    tables["opportunities"] = pd.DataFrame(opp_rows, columns=OPP_COLUMNS)
    tables["stage_history"] = pd.DataFrame(hist_rows, columns=["opportunity_id", "stage", "entered_on"])
    del tables["company"]
    return tables


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return load_export(write_tiny_export(tmp_path_factory.mktemp("cohort"), cohort_tables()))


@pytest.fixture(scope="module")
def view(export):
    return export.as_of(ORIGIN)


def test_snapshots_are_fortnightly_and_end_before_the_origin():
    snaps = snapshot_dates(ORIGIN, WINDOW)
    assert WINDOW.days == 92
    assert len(snaps) == 20
    assert snaps[-1] == pd.Timestamp("2026-03-31") and snaps[0] == pd.Timestamp("2025-07-08")
    assert all((b - a).days == 14 for a, b in zip(snaps[:-1], snaps[1:], strict=False))
    assert all(s + WINDOW <= ORIGIN for s in snaps)


def test_age_buckets():
    assert list(age_bucket(np.array([0, 13, 14, 30, 89, 90, 179, 180, 999]))) == [
        "0-14d", "0-14d", "14-30d", "30-60d", "60-90d", "90-180d", "90-180d", "180d+", "180d+"]


def test_exposures_by_hand(view):
    exp = exposures(view, WINDOW, snapshot_dates(ORIGIN, WINDOW))
    per_deal = exp.groupby("opportunity_id")["won"].agg(["size", "sum"])
    assert per_deal.to_dict("index") == {"A": {"size": 4, "sum": 4}, "B": {"size": 4, "sum": 0},
                                         "C": {"size": 3, "sum": 0}, "D": {"size": 2, "sum": 2},
                                         "G": {"size": 7, "sum": 6}}
    g = exp[exp["opportunity_id"] == "G"].set_index("snapshot")
    # Won on 2026-01-15: one day after the 2025-10-14 snapshot's window ends (2026-01-14).
    assert not g.loc[pd.Timestamp("2025-10-14"), "won"]
    assert g.loc[pd.Timestamp("2026-01-06"), "age_days"] == 97
    c = exp[exp["opportunity_id"] == "C"].set_index("snapshot")
    assert c.loc[pd.Timestamp("2026-03-31"), ["stage", "age_bucket"]].tolist() == ["qualified", "0-14d"]


def test_cohort_rates_by_hand_with_fallbacks(view):
    table = cohort_rates(view, WINDOW, min_exposures=1).table.set_index(["stage", "age_bucket"])
    assert table.loc[("discovery", "0-14d"), ["exposures", "wins"]].tolist() == [5, 2]  # A B C D G
    assert table.loc[("discovery", "0-14d"), "rate"] == pytest.approx(0.4)
    assert table.loc[("discovery", "14-30d"), "rate"] == pytest.approx(0.75)  # A C D G
    assert table.loc[("discovery", "30-60d"), "rate"] == pytest.approx(1.0)
    assert table.loc[("qualified", "0-14d"), "rate"] == 0.0
    # No qualified deal was 90-180 days old at a snapshot: the stage's 0 of 4.
    assert table.loc[("qualified", "90-180d"), ["rate", "level"]].tolist() == [0.0, "stage"]
    # No proposal exposures at all: 12 of 20 over every stage.
    assert table.loc[("proposal", "0-14d"), ["rate", "level"]].tolist() == [pytest.approx(0.6), "all"]
    # With 3 exposures required: discovery 60-90 (G twice) falls back to discovery's 12 of 16.
    t3 = cohort_rates(view, WINDOW, min_exposures=3).table.set_index(["stage", "age_bucket"])
    assert t3.loc[("discovery", "60-90d"), ["rate", "level"]].tolist() == [pytest.approx(0.75), "stage"]
    assert t3.loc[("qualified", "0-14d"), ["rate", "level"]].tolist() == [0.0, "stage"]


def test_open_deals_get_cohort_probabilities(view):
    deals = open_deals_at_origin(view, load_settings()).set_index("opportunity_id")
    assert sorted(deals.index) == ["C", "E"]
    # Default 10 exposures per pool: qualified (4) uses all stages' 0.6; discovery (16) its own 0.75.
    assert deals.loc["C", ["stage", "age_days", "age_bucket"]].tolist() == ["qualified", 103, "90-180d"]
    assert deals.loc["C", "p_cohort"] == pytest.approx(0.6)
    assert deals.loc["E", ["age_days", "age_bucket"]].tolist() == [30, "30-60d"]
    assert deals.loc["E", "p_cohort"] == pytest.approx(0.75)


def test_cohort_point_by_hand(view):
    settings = load_settings()
    # New pipeline: won in 2025Q3 from deals created in 2025Q3: A only (G was created in Q4).
    assert new_pipeline_points(view, settings, Quarter.parse("2025Q3"), None) == {"total": 10000.0}
    points = baseline_points(view, settings, [Q3, Q3 + 1]).set_index(["quarter", "method", "segment"])
    assert set(points.index.get_level_values("method")) == set(BASELINES)
    row = points.loc[("2026Q3", "cohort", "total")]
    assert row["point"] == pytest.approx(30000 * 0.6 + 8000 * 0.75 + 10000)  # 34,000
    assert row["source_quarter"] == "2025Q3"
    assert np.isnan(points.loc[("2026Q4", "cohort", "total"), "point"])  # first quarter only


def test_cohort_not_applicable_without_last_year(view):
    # From 2025-10-01 the same quarter a year back (2024Q4) precedes the history.
    early = view.as_of("2025-10-01")
    points = baseline_points(early, load_settings(), [Quarter.parse("2025Q4")])
    assert points.loc[points["method"] == "cohort", "point"].isna().all()
    assert cohort_draws(early, load_settings(), Quarter.parse("2025Q4")) is None


def test_cohort_draws_are_bernoulli_per_deal(view):
    settings = load_settings()
    draws = cohort_draws(view, settings, Q3, n_draws=20000, seed=3)
    assert list(draws.columns) == ["total"]
    # Four outcomes: new pipeline 10,000 plus C (30,000, p 0.6) and/or E (8,000, p 0.75).
    values = draws["total"].to_numpy()
    assert set(np.unique(values)) == {10000.0, 18000.0, 40000.0, 48000.0}
    assert np.mean(values == 48000.0) == pytest.approx(0.6 * 0.75, abs=0.01)
    assert values.mean() == pytest.approx(34000, rel=0.01)
    again = cohort_draws(view, settings, Q3, n_draws=20000, seed=3)
    pd.testing.assert_frame_equal(draws, again)
    by = cohort_draws(view, settings, Q3, by="partner_role", n_draws=500, seed=1)
    assert set(by.columns) == {"sourced", "total"}
    assert np.allclose(by["sourced"], by["total"])


def test_moving_events_after_the_origin_does_not_change_the_baseline(export, view, tmp_path):
    settings = load_settings()
    before = baseline_points(view, settings, [Q3], by="partner_role")
    draws = cohort_draws(view, settings, Q3, by="partner_role", n_draws=300, seed=7)
    # C won and E lost after the origin, a new deal created after it, G's... untouched.
    later = [d for d in DEALS if d[0] not in ("C", "E")] + [
        ("C", "sourced", "2026-03-01", 30000, [("discovery", "2026-03-01"),
                                               ("qualified", "2026-03-20"), ("won", "2026-07-02")]),
        ("E", "sourced", "2026-06-01", 8000, [("discovery", "2026-06-01"), ("lost", "2026-07-20")]),
        ("H", "sourced", "2026-07-01", 99000, [("discovery", "2026-07-01"), ("won", "2026-07-03")]),
    ]
    moved = load_export(write_tiny_export(tmp_path / "moved", cohort_tables(later))).as_of(ORIGIN)
    pd.testing.assert_frame_equal(before, baseline_points(moved, settings, [Q3], by="partner_role"))
    pd.testing.assert_frame_equal(draws, cohort_draws(moved, settings, Q3, by="partner_role",
                                                      n_draws=300, seed=7))
    perturbed = perturb_after(export, ORIGIN).as_of(ORIGIN)
    pd.testing.assert_frame_equal(before, baseline_points(perturbed, settings, [Q3], by="partner_role"))


def test_outcomes_before_the_origin_do_move_the_baseline(view, tmp_path):
    """The leak test's converse: the baseline does read the history it is allowed to see."""
    settings = load_settings()
    changed = [d for d in DEALS if d[0] != "B"] + [
        ("B", "sourced", "2026-01-05", 20000, [("discovery", "2026-01-05"),
                                               ("qualified", "2026-01-12"), ("won", "2026-02-20")])]
    other = load_export(write_tiny_export(tmp_path / "b_won", cohort_tables(changed))).as_of(ORIGIN)
    a = baseline_points(view, settings, [Q3]).set_index("method").loc["cohort", "point"]
    b = baseline_points(other, settings, [Q3]).set_index("method").loc["cohort", "point"]
    # B won: 16 of 20 exposures won (0.8) for C; discovery 13 of 16 for E.
    assert b == pytest.approx(30000 * 0.8 + 8000 * 13 / 16 + 10000)
    assert a != b
