"""The calibration benchmark's pure parts: PIT histogram, Wilson coverage, aggregation, records.

The benchmark itself (``benchmarks/calibration.py``) fits hundreds of models and is not run
here; its scoring and aggregation are checked on fabricated fold results.
"""

import importlib.util
import inspect
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from partner_forecast.calendar import Quarter
from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.evaluate import scores
from partner_forecast.evaluate.baselines import baseline_points, open_deals_at_origin
from partner_forecast.evaluate.folds import FoldOutput
from partner_forecast.evaluate.scoring import score_folds
from partner_forecast.testing.exports import write_tiny_export

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "calibration.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("calibration_benchmark", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pit_histogram_counts_five_bins(bench):
    assert bench.pit_histogram([0.0, 0.1, 0.2, 0.5, 0.99, 1.0]) == [2, 1, 1, 0, 2]
    assert bench.pit_histogram([]) == [0, 0, 0, 0, 0]
    with pytest.raises(ValueError):
        bench.pit_histogram([1.2])


def test_coverage_uses_the_90_percent_wilson_interval(bench):
    # 16 of 20, z = 1.6449: centre (0.8 + z^2/40) / (1 + z^2/20) = 0.7642, half-width 0.1426.
    c = bench.coverage_summary([True] * 16 + [False] * 4)
    assert (c["n"], c["covered"], c["coverage"]) == (20, 16, 0.8)
    assert c["low"] == pytest.approx(0.6216, abs=1e-3) and c["high"] == pytest.approx(0.9069, abs=1e-3)
    assert c["target_met"]
    assert (c["low"], c["high"]) == scores.wilson_interval(16, 20, 0.9)
    # 20 of 20: the interval (0.881, 1] excludes 80%, too wide bands.
    full = bench.coverage_summary([True] * 20)
    assert full["low"] == pytest.approx(0.8808, abs=1e-3) and not full["target_met"]
    assert not bench.coverage_summary([])["target_met"]


def _record(profile, r, actual, p50, covered, pit, crps, ok=True, seconds=10.0):
    return {"profile": profile, "replicate": r, "seed": r, "partners": 20, "quarters": 6,
            "quarter": "2025Q2", "actual": actual,
            "model": {"p10": p50 * 0.8, "p50": p50, "p90": p50 * 1.2, "mean": p50, "crps": crps["model"],
                      "pit": pit, "covered": covered},
            "crps": crps, "mean": {}, "cohort_point_abs_error": crps.get("cohort"),
            "diagnostics_ok": ok, "warnings": [] if ok else ["R-hat 1.05"], "seconds": seconds}


def test_aggregation_by_hand(bench):
    records = [
        _record("a", 0, 100.0, 110.0, True, 0.45, {"model": 10.0, "stage_table": 30.0,
                                                   "stage_learned": 5.0, "cohort": 20.0}),
        _record("a", 1, 200.0, 160.0, False, 0.95, {"model": 50.0, "stage_table": 60.0,
                                                    "stage_learned": 20.0}, ok=False),
        _record("b", 0, 50.0, 50.0, True, 0.5, {"model": 1.0, "stage_table": 2.0,
                                                "stage_learned": 3.0, "cohort": 4.0}),
    ]
    out = bench.aggregate(records, wall={"a": 123.0})
    assert list(out) == ["a", "b"]
    a = out["a"]
    assert a["replicates"] == 2 and a["coverage"]["covered"] == 1
    assert a["pit_histogram"] == [0, 0, 1, 0, 1]
    # (110 - 100) / 100 = +10%, (160 - 200) / 200 = -20%: mean -5%, mean absolute 15%.
    assert a["p50_mean_relative_error"] == pytest.approx(-0.05)
    assert a["p50_mean_absolute_relative_error"] == pytest.approx(0.15)
    assert a["crps"] == {"model": 30.0, "stage_table": 45.0, "stage_learned": 12.5, "cohort": 20.0}
    # The cohort baseline only applied in replicate 0: compared with the model there (20 / 10).
    assert a["crps_replicates"]["cohort"] == 1
    assert a["crps_baseline_over_model"] == pytest.approx(
        {"stage_table": 1.5, "stage_learned": 12.5 / 30.0, "cohort": 2.0})
    assert a["targets"] == {"coverage": a["coverage"]["target_met"], "p50_error": True,
                            "crps_below_stage_table": True, "crps_below_stage_learned": False,
                            "crps_below_cohort": True}
    assert a["diagnostics_failing_share"] == 0.5
    assert a["fit_seconds_total"] == 20.0 and a["wall_seconds"] == 123.0
    assert out["b"]["wall_seconds"] is None
    json.dumps(out)  # JSON-ready
    lines = "\n".join(bench.summary_lines("a", a))
    assert "coverage 1/2 = 50%" in lines and "-5.0%" in lines and "[0, 0, 1, 0, 1]" in lines


def test_replicate_record_from_a_fabricated_fold(bench, tmp_path):
    """A fold output built by hand, scored by the backtest's scorer, turned into a record."""
    settings = load_settings()
    export = load_export(write_tiny_export(tmp_path / "tiny"))
    q2 = Quarter.parse("2026Q2")
    view = export.as_of(q2.start)
    deals = open_deals_at_origin(view, settings)
    draws = np.linspace(0.0, 48000.0, 101).reshape(-1, 1, 1)
    out = FoldOutput(index=0, origin=q2.start, quarters=("2026Q2",), segments=("total",),
                     draws=draws, deal_probabilities=pd.DataFrame({"opportunity_id": deals["opportunity_id"],
                                                                   "2026Q2": 0.5}),
                     deals=deals, baselines=baseline_points(view, settings, [q2], deals=deals),
                     view_digest="x", meta={"seconds": 12.5, "warnings": []})
    per_quarter, _ = score_folds([out], export, settings)
    info = {"profile": "default", "replicate": 3, "seed": 9, "partners": 4, "quarters": 3,
            "truth_attributed": None}
    rec = bench.replicate_record(per_quarter, out.meta, info)
    assert rec["actual"] == 24000.0  # O03: sourced, won 2026-05-20
    assert rec["model"]["p50"] == 24000.0 and rec["model"]["p10"] == pytest.approx(4800.0)
    assert rec["model"]["pit"] == 0.5 and rec["model"]["covered"]
    assert rec["crps"]["model"] == pytest.approx(float(scores.crps_ensemble(24000.0, draws[:, 0, 0])))
    table = out.baselines.set_index("method").loc["stage_table", "point"]
    assert rec["crps"]["stage_table"] == pytest.approx(abs(table - 24000.0))
    # No same quarter last year in a history starting 2026Q1: no cohort baseline.
    assert "cohort" not in rec["crps"] and rec["cohort_point_abs_error"] is None
    assert rec["diagnostics_ok"] and rec["seconds"] == 12.5 and rec["replicate"] == 3
    json.dumps(rec)
    line = bench.replicate_line(rec, 1, 2)
    assert line.startswith("[default r03 seed 9] 2026Q2 actual 24.0k") and "(1/2)" in line


def test_profiles_follow_the_generator(bench):
    from partner_forecast.data.sample import generate_sample

    supported, known = bench.generator_profiles()
    params = inspect.signature(generate_sample).parameters
    assert supported == ("profile" in params or "profiles" in params)
    assert known[0] == "default" and "two_stage_crm" in known
    assert known
    assert bench.resolve_profiles("x,y", False, ["default"])[0] == ["default"]
    assert bench.resolve_profiles(None, True, ["default", "weibull"])[0] == ["default", "weibull"]
    assert bench.resolve_profiles("weibull", True, ["default", "weibull"])[0] == ["weibull"]
    with pytest.raises(ValueError, match="unknown profile"):
        bench.resolve_profiles("nope", True, ["default"])


def test_replicate_seeds_are_reproducible_and_distinct(bench):
    seeds = {bench.replicate_seed(1, p, r) for p in ("default", "weibull") for r in range(20)}
    assert len(seeds) == 40
    assert bench.replicate_seed(1, "default", 0) == bench.replicate_seed(1, "default", 0)
    assert bench.replicate_seed(2, "default", 0) != bench.replicate_seed(1, "default", 0)


def test_log_is_read_back_and_a_torn_line_ignored(bench, tmp_path):
    log = tmp_path / "log.jsonl"
    log.write_text(json.dumps({"profile": "a", "replicate": 0}) + "\n{\"profile\": \"a\", \"rep", "utf-8")
    assert bench.read_log(log) == [{"profile": "a", "replicate": 0}]
    assert bench.read_log(tmp_path / "missing.jsonl") == []


def test_bad_arguments_exit_2(bench):
    for argv in (["--replicates", "0"], ["--quarters", "4"], ["--draws", "5"]):
        with pytest.raises(SystemExit) as exc:
            bench.main(argv)
        assert exc.value.code == 2
