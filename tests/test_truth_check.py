"""The truth check (``benchmarks/truth_check.py``): the generator's own forecast of an open pipeline.

No model is fitted here. The walk of the generator's process is checked against closed-form win
probabilities (near-deterministic stays); its regeneration of the latent state against generated
exports read through the library; its forecast against what the generator then realised over
four quarter starts (and a truth with wrong stage rates must fail that check); the library's
engine run with the true parameters against the walk; and the calibration benchmark's printing
and summary of it.
"""

import dataclasses
import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from partner_forecast.calendar import Quarter
from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.data.sample import generate_sample
from partner_forecast.data.schema import OPEN_STAGES
from partner_forecast.evaluate.folds import FoldOutput

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
CUT, END = 1000, 1091  # a 91-day quarter
QUARTERS = ("2024Q3", "2024Q4", "2025Q1", "2025Q2")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"{name}_benchmark", BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench():
    return _load("truth_check")


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    """A messy-labels export (the profile rewrites labels, not the walk) and its truth."""
    folder = tmp_path_factory.mktemp("messy")
    truth = generate_sample(folder, partners=30, quarters=6, seed=5, profiles="messy_labels")
    settings = load_settings()
    return load_export(folder, settings=settings), truth, settings


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _walk(bench, stage, entered, median_days, logit, duration, n_draws=4000, shock=None):
    """One type; every stage lasts ``median_days`` (sigma 1e-6) with advance logit ``logit``."""
    S = len(OPEN_STAGES)
    n = len(stage)
    return bench.truth_walk(
        np.asarray(stage), np.asarray(entered), CUT - np.asarray(entered), np.zeros(n, np.int64),
        np.zeros(n), np.full((1, S), logit), np.full(S, duration),
        np.full((1, S), math.log(median_days)), np.full((1, S), 1e-6), 0.0, CUT, END, n_draws,
        np.random.default_rng(7), shock=shock)


def test_truth_walk_matches_closed_form_win_probabilities(bench):
    # Stays of 10 days: a negotiation deal entering at the cut wins on day CUT + 10 with
    # sigmoid(0.4 - 0.5 log(10/30)); a qualified deal needs three advances (3 x 10 days).
    wins = _walk(bench, [3, 1], [CUT, CUT], 10.0, 0.4, -0.5)
    one = _sigmoid(0.4 - 0.5 * math.log(10 / 30))
    assert wins[:, 0].mean() == pytest.approx(one, abs=0.025)
    assert wins[:, 1].mean() == pytest.approx(one**3, abs=0.025)
    # A fixed quarter shock enters every advance's logit.
    shocked = _walk(bench, [3], [CUT], 10.0, 0.4, -0.5, shock=-1.0)
    assert shocked.mean() == pytest.approx(_sigmoid(-0.6 - 0.5 * math.log(10 / 30)), abs=0.025)


def test_truth_walk_conditions_the_current_stay_on_its_age_and_drops_late_closes(bench):
    # Entered 50 days before the cut with a 10-day median: the stay lasts (at least) its age,
    # so the deal leaves at the cut with the duration term of 50 days.
    aged = _walk(bench, [3], [CUT - 50], 10.0, 0.4, -0.5)
    assert aged.mean() == pytest.approx(_sigmoid(0.4 - 0.5 * math.log(50 / 30)), abs=0.025)
    # Stays of 200 days end after the quarter: never won in it.
    assert not _walk(bench, [3, 2], [CUT, CUT - 5], 200.0, 3.0, 0.0, n_draws=200).any()


def test_regenerated_open_deals_are_the_exports_open_pipeline(bench, tmp_path):
    truth = generate_sample(tmp_path, partners=6, quarters=5, seed=11)
    export = load_export(tmp_path)
    cut_date = pd.Timestamp("2025-01-01")  # the last quarter's start (window 2024Q1-2025Q1)
    view = export.as_of(cut_date)
    opps = view.opportunities
    open_ = opps[opps["stage"].isin(OPEN_STAGES)].set_index("opportunity_id")["stage"]

    lat = bench.regenerate_from(truth)
    cut, end, q = bench.quarter_days(lat, Quarter.parse("2025Q1"))
    assert (q, lat.cal.start + pd.Timedelta(days=cut)) == (4, cut_date)
    deals = bench.open_at_cut(lat, cut).set_index("opportunity_id")
    assert set(deals.index) == set(open_.index) and len(deals) > 0
    stage_names = np.asarray(OPEN_STAGES)[deals["stage"].to_numpy()]
    assert (stage_names == open_.reindex(deals.index).to_numpy()).all()
    # ARR and the realised wins of the full export agree with the regenerated state.
    full = export.opportunities.set_index("opportunity_id").reindex(deals.index)
    assert np.allclose(full["arr"].to_numpy(dtype=float), deals["arr"].to_numpy())
    won_by_end = (full["stage"] == "won").to_numpy()
    assert (won_by_end == ((deals["won_in"] >= 0) & (deals["won_in"] < end)).to_numpy()).all()
    with pytest.raises(ValueError, match="not a complete quarter"):
        bench.quarter_days(lat, Quarter.parse("2025Q2"))


def _wins(bench, export, truth, settings, lat=None) -> tuple[float, int]:
    """Expected wins at each quarter's realised shock, and realised wins, over QUARTERS."""
    expected, realised = 0.0, 0
    for q in QUARTERS:
        o, _ = bench.open_pipeline_truth(export, truth, Quarter.parse(q), settings, draws=1000,
                                         seed=1, engine=False, lat=lat)
        expected += o["wins_at_shock"]
        realised += o["actual_wins"]
    return expected, realised


def test_truth_predicts_what_the_generator_realised_and_wrong_rates_fail(bench, messy):
    """Over four quarter starts, wins expected under the truth (at each quarter's realised shock)
    match the wins the export holds; the same check with the stage logits one unit too high fails."""
    export, truth, settings = messy
    lat = bench.regenerate_from(truth)
    expected, realised = _wins(bench, export, truth, settings, lat)
    assert realised > 60
    assert abs(realised - expected) < 3.0 * np.sqrt(expected)
    wrong = lat._replace(paths=dataclasses.replace(lat.paths,
                                                   conv_logit=lat.paths.conv_logit + 1.0))
    too_high, _ = _wins(bench, export, truth, settings, wrong)
    assert too_high - realised > 3.0 * np.sqrt(too_high)


def test_result_fields_shock_and_the_engine_with_true_parameters(bench, messy):
    export, truth, settings = messy
    q = Quarter.parse("2025Q2")
    o, deals = bench.open_pipeline_truth(export, truth, q, settings, draws=1000, seed=2)
    assert o["p10"] <= o["p50"] <= o["p90"] and 0.0 <= o["pit"] <= 1.0 <= o["open_deals"]
    assert o["shock"] == pytest.approx(truth["conv_shock"]["2025Q2"], abs=1e-6)
    assert o["actual"] == pytest.approx(float(deals.loc[deals["won"], "weight"].sum()))
    assert sum(s["won"] for s in o["by_stage"].values()) == o["actual_wins"]
    assert o["wins"] == pytest.approx(sum(s["truth"] for s in o["by_stage"].values()))
    # The quarter's new deals add up with the open pipeline, draw by draw.
    n, t = o["new"], o["total"]
    assert n["created"] > 0 and n["expected_created"] > 0 and n["created_arr"] > n["actual"]
    assert t["mean"] == pytest.approx(o["mean"] + n["mean"])
    assert t["actual"] == pytest.approx(o["actual"] + n["actual"])
    assert t["p10"] <= t["p50"] <= t["p90"] and 0.0 <= t["pit"] <= 1.0
    # The engine with the true parameters and latent covariates reproduces the walk.
    assert o["engine_over_truth"] == pytest.approx(1.0, abs=0.06)
    again, _ = bench.open_pipeline_truth(export, truth, q, settings, draws=1000, seed=2)
    assert again == o
    assert "truth, open pipeline" in bench.truth_line(o)
    # Common random numbers: a higher shock wins every deal a lower one wins.
    lat = bench.regenerate_from(truth)
    cut, end, _ = bench.quarter_days(lat, q)
    state = bench.open_at_cut(lat, cut)
    low, high = (bench._walk(lat, state, cut, end, 300, 3, s) for s in (-0.5, 0.5))
    assert (high >= low).all() and high.sum() > low.sum()


def test_new_deals_truth_predicts_what_they_realised_and_wrong_rates_fail(bench, messy):
    """Deals created in each of five quarters, walked from creation at the quarter's shock, win
    as many deals as the export holds; with stays 40% shorter they do not."""
    export, truth, settings = messy
    lat = bench.regenerate_from(truth)
    wrong = lat._replace(paths=dataclasses.replace(lat.paths, time_mu=lat.paths.time_mu - 0.5))
    expected = too_high = 0.0
    realised = 0
    for label in ("2024Q2", *QUARTERS):
        q = Quarter.parse(label)
        shock = truth["conv_shock"][label]
        n = bench.new_pipeline_truth(export, lat, q, settings, draws=600, seed=1, shock=shock)
        expected += n["wins"]
        realised += n["actual_wins"]
        too_high += bench.new_pipeline_truth(export, wrong, q, settings, draws=600, seed=1,
                                             shock=shock)["wins"]
        # The new deals are the export's: created inside the quarter.
        created = export.opportunities["created_on"]
        inside = (created >= q.start) & (created < (q + 1).start)
        assert n["created"] == int(inside.sum())
    assert realised >= 10
    assert abs(realised - expected) < 3.0 * np.sqrt(expected)
    assert too_high - realised > 3.0 * np.sqrt(too_high)


def test_compare_model_adds_the_models_view(bench, messy):
    export, truth, settings = messy
    o, deals = bench.open_pipeline_truth(export, truth, Quarter.parse("2025Q1"), settings,
                                         draws=400, seed=3, engine=False)
    probs = deals.set_index("opportunity_id")["p_truth"]
    same = bench.compare_model(o, deals, probs)
    assert same["model_over_truth"] == pytest.approx(1.0)
    half = bench.compare_model(o, deals, probs / 2)
    assert half["model_over_truth"] == pytest.approx(0.5)
    assert half["by_stage"]["negotiation"]["model"] == pytest.approx(
        same["by_stage"]["negotiation"]["model"] / 2)
    assert half["model_new"] is None
    assert bench.compare_model(o, deals, probs, 1e6)["model_new"] == pytest.approx(
        1e6 - same["model_open"])
    # A deal the model does not list counts 0.
    assert bench.compare_model(o, deals, probs.iloc[:0])["model_open"] == 0.0
    assert "model/truth 0.50" in bench.truth_line(half)
    # The calibration benchmark reads the model's probabilities off the replicate's fold output.
    fold = FoldOutput(index=0, origin=pd.Timestamp("2025-01-01"), quarters=("2025Q1",),
                      segments=("total",), draws=np.zeros((1, 1, 1)),
                      deal_probabilities=pd.DataFrame({"opportunity_id": probs.index,
                                                       "2025Q1": probs.to_numpy() / 2}),
                      deals=pd.DataFrame(), baselines=pd.DataFrame(), view_digest="")
    calibration = _load("calibration")
    record = calibration.with_model_view({"truth_open": o, "mean": {"model": 1e6}}, fold, deals,
                                         bench)
    assert record["truth_open"]["model_over_truth"] == pytest.approx(0.5)
    assert record["truth_open"]["model_new"] == pytest.approx(1e6 - half["model_open"])


def test_unknown_profiles_are_refused(bench, tmp_path):
    assert bench.supported(None) and bench.supported("messy_labels,heavy_tails")
    assert bench.supported(["stage_skips", "two_stage_crm", "quarter_end_push", "progress_flags"])
    assert not bench.supported("no_such_profile")
    with pytest.raises(ValueError, match="unknown to the truth check"):
        bench.regenerate(6, 5, 11, "stage_skips,no_such_profile")
    assert bench.main([str(tmp_path / "nothing")]) == 2


# -- the profiles that change the walk: closed forms on near-deterministic stays --------------
def test_truth_walk_follows_stage_skips(bench):
    # 10-day stays. From discovery every advance skips to proposal (then negotiation, won): 3
    # advances; from qualified half go straight to won, half to proposal (then 2 more).
    jumps = np.zeros((len(OPEN_STAGES), len(OPEN_STAGES) + 1))
    jumps[0, 2] = 1.0
    jumps[1, 2] = jumps[1, 4] = 0.5
    jumps[2, 3] = jumps[3, 4] = 1.0
    S = len(OPEN_STAGES)
    wins = bench.truth_walk(np.array([0, 1]), np.array([CUT, CUT]), np.zeros(2),
                            np.zeros(2, np.int64), np.zeros(2), np.full((1, S), 0.4),
                            np.zeros(S), np.full((1, S), math.log(10.0)), np.full((1, S), 1e-6),
                            0.0, CUT, END, 6000, np.random.default_rng(3), jumps=jumps)
    p = _sigmoid(0.4)
    assert wins[:, 0].mean() == pytest.approx(p**3, abs=0.02)  # p**4 without the skip
    assert wins[:, 1].mean() == pytest.approx(0.5 * p + 0.5 * p**3, abs=0.02)


def test_truth_walk_uses_each_stages_offset(bench):
    # progress_flags: a flag set on entering negotiation raises only the last advance's logit.
    S = len(OPEN_STAGES)
    offsets = np.array([[0.0, 0.0, -1.0, 2.0]])
    wins = bench.truth_walk(np.array([2]), np.array([CUT]), np.zeros(1), np.zeros(1, np.int64),
                            offsets, np.full((1, S), 0.3), np.zeros(S),
                            np.full((1, S), math.log(10.0)), np.full((1, S), 1e-6), 0.0, CUT, END,
                            6000, np.random.default_rng(4))
    assert wins.mean() == pytest.approx(_sigmoid(-0.7) * _sigmoid(2.3), abs=0.02)


def test_truth_walk_applies_the_quarter_end_push(bench):
    from partner_forecast.data.sample.common import make_calendar
    from partner_forecast.data.sample.profiles import PROFILES

    cal = make_calendar("2024-01-01", 8)
    cut, end = int(cal.bounds[4]), int(cal.bounds[5])
    params = PROFILES["quarter_end_push"].parameters
    push = bench.Push(cal, params)
    S, p = len(OPEN_STAGES), _sigmoid(0.4)

    def walk(entered: int, days: float, push):
        return bench.truth_walk(np.array([3]), np.array([entered]), np.array([float(cut - entered)]),
                                np.zeros(1, np.int64), np.zeros(1), np.full((1, S), 0.4),
                                np.zeros(S), np.full((1, S), math.log(days)), np.full((1, S), 1e-6),
                                0.0, cut, end, 20000, np.random.default_rng(5), push=push).mean()

    # Entered 5 days before the cut, won 10 days after it: with probability 1/2 x 4/21 the win
    # would have been pulled into the last 21 days before the cut (the 4 after the entry), so a
    # deal still open at the cut has P(win) = p (1 - a) / (1 - p a).
    a = params["pull_share"] * 4 / params["window_days"]
    assert walk(cut - 5, 15.0, push) == pytest.approx(p * (1 - a) / (1 - p * a), abs=0.01)
    assert walk(cut - 5, 15.0, None) == pytest.approx(p, abs=0.01)
    # Won 10 days after the quarter: pulled into its last 21 days with probability 1/2.
    late = float(end - cut + 10)
    assert walk(cut, late, push) == pytest.approx(params["pull_share"] * p, abs=0.01)
    assert walk(cut, late, None) == 0.0


# -- the same profiles against what the generator realised ------------------------------------
def _realised_check(bench, profile: str, tmp_path: Path, alter) -> tuple[float, float, int]:
    """Wins expected at each quarter's realised shock (truth, and ``alter``ed), and realised,
    over the last five quarter starts of a 50-partner, 8-quarter export of ``profile``: the
    deals open in discovery or qualified for ``stage_skips``, in proposal or negotiation (not
    recorded) for ``two_stage_crm``, all open deals otherwise."""
    truth = generate_sample(tmp_path, partners=50, quarters=8, seed=5, profiles=profile)
    settings = load_settings()
    export = load_export(tmp_path, settings=settings)
    lat = bench.regenerate_from(truth)
    expected = altered = 0.0
    realised = 0
    for label in lat.cal.labels()[-6:-1]:
        q = Quarter.parse(label)
        cut, end, k = bench.quarter_days(lat, q)
        deals = bench.truth_deals(export, lat, q, settings)
        keep = {"stage_skips": (deals["stage"] <= 1).to_numpy(),
                "two_stage_crm": (deals["stage"] >= 2).to_numpy()}.get(profile, slice(None))
        shock = float(lat.paths.conv_shock[k])
        expected += bench._walk(lat, deals, cut, end, 500, 1, shock)[:, keep].mean(axis=0).sum()
        other_lat, other_deals = alter(lat, deals, cut)
        altered += bench._walk(other_lat, other_deals, cut, end, 500, 1,
                               shock)[:, keep].mean(axis=0).sum()
        realised += int(deals["won"].to_numpy()[keep].sum())
    return expected, altered, realised


def _without_skips(lat, deals, cut):
    from partner_forecast.data.sample.profiles import ActiveProfiles

    return lat._replace(prof=ActiveProfiles((), 0)), deals


def _as_recorded(lat, deals, cut):
    """Walked from the stage the two-stage CRM shows: qualified since creation."""
    created = lat.opps.created[deals["i"].to_numpy()]
    return lat, deals.assign(stage=1, entered=created, age=cut - created)


def _flags_at_creation(lat, deals, cut):
    """Every stage's offset with the creation flags (the flags set later ignored)."""
    return lat, deals.assign(**{f"offset_{s}": deals["offset_discovery"] for s in OPEN_STAGES})


@pytest.mark.parametrize(("profile", "alter"), [
    ("stage_skips", _without_skips), ("two_stage_crm", _as_recorded),
    ("progress_flags", _flags_at_creation), ("quarter_end_push", None)])
def test_truth_predicts_what_profiles_that_change_the_walk_realised(bench, tmp_path, profile,
                                                                     alter):
    """Expected wins under the truth match the generator's realised wins; the walk without the
    profile's change (no skips; the recorded stage; flags frozen at creation) does not."""
    expected, altered, realised = _realised_check(bench, profile, tmp_path,
                                                  alter or (lambda lat, d, cut: (lat, d)))
    assert realised > 60
    assert abs(realised - expected) < 3.0 * np.sqrt(expected)
    if alter is not None:
        assert abs(realised - altered) > 3.0 * np.sqrt(altered)


def test_benchmark_prints_and_summarises_the_truth_check():
    bench = _load("calibration")
    o = {"p10": 500e3, "p50": 800e3, "p90": 1.1e6, "mean": 810e3, "wins": 40.0, "actual": 550e3,
         "actual_wins": 38, "open_deals": 300, "pit": 0.09, "shock": -0.16,
         "p50_at_shock": 700e3, "wins_at_shock": 36.0, "pit_at_shock": 0.2,
         "realised_over_truth": 550 / 810, "engine_mean": 805e3, "engine_over_truth": 805 / 810,
         "model_open": 891e3, "model_over_truth": 1.1, "by_stage": {},
         "new": {"created": 120, "expected_created": 131.4, "created_arr": 2e6, "mean": 60e3,
                 "wins": 4.0, "actual": 40e3, "actual_wins": 3},
         "model_new": 90e3,
         "total": {"p10": 560e3, "p50": 860e3, "p90": 1.2e6, "mean": 870e3, "actual": 590e3,
                   "pit": 0.08}}
    base = {"profile": "heavy_tails", "replicate": 0, "seed": 1, "partners": 40, "quarters": 8,
            "quarter": "2025Q4", "actual": 560e3,
            "model": {"p10": 860e3, "p50": 1.18e6, "p90": 1.55e6, "mean": 1.2e6, "crps": 480e3,
                      "pit": 0.0, "covered": False},
            "crps": {"model": 480e3}, "mean": {"model": 1.2e6}, "cohort_point_abs_error": None,
            "diagnostics_ok": True, "warnings": [], "seconds": 60.0}
    records = [base | {"truth_open": o},
               base | {"replicate": 1, "truth_open": o | {
                   "actual": 1.2e6, "model_over_truth": 0.9,
                   "total": o["total"] | {"actual": 1.3e6, "pit": 0.96}}},
               base | {"replicate": 2}]
    line = bench.replicate_line(records[0])
    assert "truth, open pipeline: P50 800.0k (actual 550.0k, PIT 0.09" in line
    assert "model/truth 1.10, engine/truth 0.99" in line
    assert ("new deals: 120 created (truth expected 131), truth 60.0k won from them (actual "
            "40.0k), model 90.0k; truth total P10/P50/P90 560.0k/860.0k/1.20M, PIT 0.08") in line
    s = bench.profile_summary(records)["truth_open"]
    assert s["replicates"] == 2 and s["covered"] == 1
    assert s["p50_mean_relative_error"] == pytest.approx((800 / 550 - 1 + 800 / 1200 - 1) / 2)
    assert s["model_over_truth_mean"] == pytest.approx(1.0)
    assert s["new_model_over_truth_mean"] == pytest.approx(1.5)
    assert s["total"] == {"replicates": 2, "covered": 1, "pit_mean": pytest.approx(0.52)}
    text = "\n".join(bench.summary_lines("heavy_tails", bench.profile_summary(records)))
    assert "truth check (open pipeline, true parameters) over 2 replicate(s)" in text
    assert "model/truth 1.00" in text
    assert "new pipeline model/truth 1.50" in text
    assert "actual inside the truth's P10-P90 1/2" in text
