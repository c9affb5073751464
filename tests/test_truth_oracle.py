"""The calibration benchmark's truth oracle (``benchmarks/truth_oracle.py``).

The oracle walks the deals open at a quarter start through the generator's true parameters with
the library's engine; these tests generate real exports with ``generate_sample`` and check that
it predicts what the generator then realised (and that a wrong truth is caught), that profiles
changing the deal path are refused, and that the benchmark prints and summarises it.
"""

import copy
import importlib.util
from pathlib import Path

import numpy as np
import pytest

from partner_forecast.calendar import Quarter
from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.data.sample import generate_sample
from partner_forecast.data.sample.truth import Truth

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
QUARTERS = ("2024Q3", "2024Q4", "2025Q1", "2025Q2")


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def oracle():
    return _load("truth_oracle")


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("messy")
    truth = generate_sample(folder, partners=30, quarters=6, seed=5, profiles="messy_labels")
    return folder, truth


def _wins(oracle, export, truth, settings) -> tuple[float, int]:
    expected, realised = 0.0, 0
    for q in QUARTERS:
        o = oracle.open_pipeline_oracle(export, truth, Quarter.parse(q), settings, draws=1000, seed=1)
        expected += o["wins"]
        realised += o["actual_wins"]
    return expected, realised


def test_oracle_predicts_what_the_generator_realised(oracle, messy):
    """Over four quarter starts, wins expected under the truth match the wins the export holds;
    the same check with the truth's stage logits one unit too high fails it."""
    folder, truth = messy
    settings = load_settings()
    export = load_export(folder, settings=settings)
    expected, realised = _wins(oracle, export, truth, settings)
    assert realised > 60
    assert abs(realised - expected) < 3.0 * np.sqrt(expected)
    wrong = copy.deepcopy(truth.to_dict())
    for t in wrong["conv_logit"]:
        wrong["conv_logit"][t] = {s: v + 1.0 for s, v in wrong["conv_logit"][t].items()}
    too_high, _ = _wins(oracle, export, Truth.from_dict(wrong), settings)
    assert too_high - realised > 3.0 * np.sqrt(too_high)


def test_oracle_result_fields_and_the_quarter_shock(oracle, messy):
    folder, truth = messy
    settings = load_settings()
    export = load_export(folder, settings=settings)
    q = Quarter.parse("2025Q2")
    o = oracle.open_pipeline_oracle(export, truth, q, settings, draws=500, seed=2)
    assert o["p10"] <= o["p50"] <= o["p90"] and 0.0 <= o["pit"] <= 1.0
    assert o["shock"] == truth["conv_shock"]["2025Q2"]
    # A zero shock moves the expected wins the way the realised shock's sign says it should.
    assert np.sign(o["wins"] - o["wins_no_shock"]) == np.sign(o["shock"])
    again = oracle.open_pipeline_oracle(export, truth, q, settings, draws=500, seed=2)
    assert again == o
    assert "truth oracle, open pipeline" in oracle.oracle_line(o)


def test_profiles_that_change_the_deal_path_are_refused(oracle, tmp_path, capsys):
    assert oracle.supported(None) and oracle.supported("messy_labels,heavy_tails")
    assert not oracle.supported("stage_skips") and not oracle.supported(["default", "quarter_end_push"])
    generate_sample(tmp_path / "skips", partners=6, quarters=3, seed=1, profiles="stage_skips")
    assert oracle.main([str(tmp_path / "skips")]) == 2
    assert "change the deal path" in capsys.readouterr().err
    assert oracle.main([str(tmp_path / "nothing")]) == 2


def test_benchmark_prints_and_summarises_the_oracle():
    bench = _load("calibration")
    o = {"p10": 500e3, "p50": 800e3, "p90": 1.1e6, "mean": 810e3, "wins": 40.0, "actual": 550e3,
         "actual_wins": 38, "open_deals": 300, "pit": 0.09, "shock": -0.16,
         "p50_no_shock": 900e3, "wins_no_shock": 46.0}
    base = {"profile": "heavy_tails", "replicate": 0, "seed": 1, "partners": 40, "quarters": 8,
            "quarter": "2025Q4", "actual": 560e3,
            "model": {"p10": 860e3, "p50": 1.18e6, "p90": 1.55e6, "mean": 1.2e6, "crps": 480e3,
                      "pit": 0.0, "covered": False},
            "crps": {"model": 480e3}, "mean": {"model": 1.2e6}, "cohort_point_abs_error": None,
            "diagnostics_ok": True, "warnings": [], "seconds": 60.0}
    records = [base | {"oracle": o}, base | {"replicate": 1, "oracle": o | {"actual": 1.2e6}},
               base | {"replicate": 2}]
    line = bench.replicate_line(records[0])
    assert "truth oracle, open pipeline: P50 800.0k (actual 550.0k, PIT 0.09" in line
    s = bench.profile_summary(records)["oracle"]
    assert s["replicates"] == 2 and s["covered"] == 1
    assert s["p50_mean_relative_error"] == pytest.approx((800 / 550 - 1 + 800 / 1200 - 1) / 2)
    text = "\n".join(bench.summary_lines("heavy_tails", bench.profile_summary(records)))
    assert "truth oracle (open pipeline, true parameters) over 2 replicate(s)" in text
