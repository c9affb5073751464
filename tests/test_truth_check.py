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
from partner_forecast.evaluate.backtest import FoldOutput

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
    record = calibration.with_model_view({"truth_open": o}, fold, deals, bench)
    assert record["truth_open"]["model_over_truth"] == pytest.approx(0.5)


def test_profiles_that_change_the_walk_are_refused(bench, tmp_path, capsys):
    assert bench.supported(None) and bench.supported("messy_labels,heavy_tails")
    assert bench.supported(["stage_times_gamma", "few_partners"])
    assert not bench.supported("stage_skips") and not bench.supported(["default", "quarter_end_push"])
    with pytest.raises(ValueError, match="change the stage walk"):
        bench.regenerate(6, 5, 11, "stage_skips")
    generate_sample(tmp_path / "skips", partners=6, quarters=3, seed=1, profiles="stage_skips")
    assert bench.main([str(tmp_path / "skips")]) == 2
    assert "change the stage walk" in capsys.readouterr().err
    assert bench.main([str(tmp_path / "nothing")]) == 2


def test_benchmark_prints_and_summarises_the_truth_check():
    bench = _load("calibration")
    o = {"p10": 500e3, "p50": 800e3, "p90": 1.1e6, "mean": 810e3, "wins": 40.0, "actual": 550e3,
         "actual_wins": 38, "open_deals": 300, "pit": 0.09, "shock": -0.16,
         "p50_at_shock": 700e3, "wins_at_shock": 36.0, "pit_at_shock": 0.2,
         "realised_over_truth": 550 / 810, "engine_mean": 805e3, "engine_over_truth": 805 / 810,
         "model_open": 891e3, "model_over_truth": 1.1, "by_stage": {}}
    base = {"profile": "heavy_tails", "replicate": 0, "seed": 1, "partners": 40, "quarters": 8,
            "quarter": "2025Q4", "actual": 560e3,
            "model": {"p10": 860e3, "p50": 1.18e6, "p90": 1.55e6, "mean": 1.2e6, "crps": 480e3,
                      "pit": 0.0, "covered": False},
            "crps": {"model": 480e3}, "mean": {"model": 1.2e6}, "cohort_point_abs_error": None,
            "diagnostics_ok": True, "warnings": [], "seconds": 60.0}
    records = [base | {"truth_open": o},
               base | {"replicate": 1, "truth_open": o | {"actual": 1.2e6, "model_over_truth": 0.9}},
               base | {"replicate": 2}]
    line = bench.replicate_line(records[0])
    assert "truth, open pipeline: P50 800.0k (actual 550.0k, PIT 0.09" in line
    assert "model/truth 1.10, engine/truth 0.99" in line
    s = bench.profile_summary(records)["truth_open"]
    assert s["replicates"] == 2 and s["covered"] == 1
    assert s["p50_mean_relative_error"] == pytest.approx((800 / 550 - 1 + 800 / 1200 - 1) / 2)
    assert s["model_over_truth_mean"] == pytest.approx(1.0)
    text = "\n".join(bench.summary_lines("heavy_tails", bench.profile_summary(records)))
    assert "truth check (open pipeline, true parameters) over 2 replicate(s)" in text
    assert "model/truth 1.00" in text
