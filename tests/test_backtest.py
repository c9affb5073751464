"""Backtests on fake fitted models (no MCMC): folds, scores, parallel runs, leak checks, CLI.

The slow test at the end uses the real models on a generated sample with known truth.
"""

import json
from dataclasses import replace
from importlib.util import find_spec

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.calendar import Quarter
from partner_forecast.cli import main
from partner_forecast.config import load_settings
from partner_forecast.data.export import Export, load_export
from partner_forecast.errors import PartnerForecastError
from partner_forecast.evaluate import scores
from partner_forecast.evaluate.backtest import backtest, run_folds
from partner_forecast.evaluate.digests import view_digest
from partner_forecast.evaluate.folds import fold_quarters, make_fold_task
from partner_forecast.evaluate.leakage import check_fold_leakage, perturb_after
from partner_forecast.evaluate.scoring import METHODS
from partner_forecast.executor import DaskCluster, DaskConnection, share_cores, threads_per_worker
from partner_forecast.testing.exports import write_tiny_export
from test_backtest_fakes import BROKEN_MODELS, FAKE_MODELS, small_sample


@pytest.fixture(scope="module")
def sample_dir(tmp_path_factory):
    return small_sample(tmp_path_factory.mktemp("small_sample"))


@pytest.fixture(scope="module")
def sample_export(sample_dir):
    return load_export(sample_dir)


# -- folds ---------------------------------------------------------------------------------------


def test_fold_quarters_are_the_last_complete_ones(sample_export, tmp_path):
    assert sample_export.default_as_of == pd.Timestamp("2025-07-01")
    assert [str(q) for q in fold_quarters(sample_export, 3)] == ["2024Q4", "2025Q1", "2025Q2"]
    # Cut mid-quarter: that quarter is not complete.
    view = sample_export.as_of("2025-05-15")
    assert [str(q) for q in fold_quarters(view, 2)] == ["2024Q4", "2025Q1"]
    with pytest.raises(PartnerForecastError, match="history starts"):
        fold_quarters(sample_export, 6)
    with pytest.raises(PartnerForecastError):
        fold_quarters(sample_export, 0)


def test_backtest_scores_every_fold_and_method(sample_dir, tmp_path):
    result = backtest(sample_dir, quarters=3, horizon=2, by="partner_type", draws=300, seed=5,
                      workspace=tmp_path / "ws", progress=False, models=FAKE_MODELS)
    pq = result.per_quarter
    assert set(pq["method"]) == set(METHODS)
    # Fold 2025Q2's second quarter (2025Q3) is not complete: only its lead 1 is scored.
    assert set(zip(pq["fold"], pq["quarter"], strict=True)) == {
        ("2024Q4", "2024Q4"), ("2024Q4", "2025Q1"), ("2025Q1", "2025Q1"), ("2025Q1", "2025Q2"),
        ("2025Q2", "2025Q2")}
    model = pq[pq["method"] == "model"]
    assert (model["p10"] <= model["p50"]).all() and (model["p50"] <= model["p90"]).all()
    assert model["pit"].between(0, 1).all() and (model["crps"] >= 0).all()
    # The model's segments add up to its total, draw by draw.
    out = result.outputs[0]
    total = pq[(pq["method"] == "model") & (pq["segment"] == "total") & (pq["fold"] == "2024Q4")
               & (pq["quarter"] == "2024Q4")]
    assert total["mean"].iloc[0] == pytest.approx(out.draws[:, 0, :].sum(axis=1).mean())
    # Actuals per segment add up to the total actual.
    one = pq[(pq["method"] == "model") & (pq["fold"] == "2024Q4") & (pq["quarter"] == "2024Q4")]
    assert one.loc[one["segment"] != "total", "actual"].sum() == pytest.approx(
        one.loc[one["segment"] == "total", "actual"].iloc[0])
    # Baselines are degenerate: zero-width intervals, CRPS = absolute error.
    base = pq[pq["method"] == "last_quarter"]
    assert (base["p10"] == base["p90"]).all()
    assert np.allclose(base["crps"], (base["mean"] - base["actual"]).abs())
    # The cohort baseline is scored by its draws, in a fold's first quarter, where the history
    # reaches back to the same quarter last year (not for 2024Q4: the sample starts in 2024Q1).
    cohort = pq[(pq["method"] == "cohort") & (pq["segment"] == "total")]
    assert set(cohort["fold"]) == {"2025Q1", "2025Q2"} and (cohort["lead"] == 1).all()
    cd = result.outputs[1].baseline_draws["cohort"]
    row = cohort[cohort["fold"] == "2025Q1"].iloc[0]
    assert row["crps"] == pytest.approx(float(scores.crps_ensemble(row["actual"], cd["total"])))
    assert row["mean"] == pytest.approx(cd["total"].mean()) and row["p10"] < row["p90"]
    assert np.allclose(cd.drop(columns="total").sum(axis=1), cd["total"])
    # Summary and deal calibration.
    summary = result.summary[(result.summary["segment"] == "total") & (result.summary["lead"] == 1)]
    assert summary["method"].tolist()[0] == "model" and summary["folds"].iloc[0] == 3
    assert ((summary["coverage_low"] <= summary["coverage"])
            & (summary["coverage"] <= summary["coverage_high"])).all()
    deals = result.deal_summary.set_index(["lead", "method"])
    assert {"model", "stage_table", "stage_learned", "cohort"} <= set(deals.loc[1].index)
    assert deals.loc[(1, "model"), "deals"] == deals.loc[(1, "stage_table"), "deals"] > 0
    assert deals["brier"].between(0, 1).all()
    assert len(result.folds) == 3 and result.folds["diagnostics_ok"].all()


def test_same_seed_same_scores_in_processes_and_in_process(sample_dir, tmp_path):
    kw = dict(quarters=2, draws=200, seed=11, workspace=tmp_path / "ws", models=FAKE_MODELS)
    inline = backtest(sample_dir, progress=False, **kw)
    messages = []
    pooled = backtest(sample_dir, workers=2, progress=messages.append, **kw)
    pd.testing.assert_frame_equal(inline.per_quarter, pooled.per_quarter)
    pd.testing.assert_frame_equal(inline.deals, pooled.deals)
    assert "2 worker process(es)" in messages[0]
    assert sorted(m.split()[2] for m in messages[1:]) == ["2025Q1", "2025Q2"]  # one line per fold


def test_a_failing_fold_in_a_worker_process_names_the_fold(sample_dir, tmp_path):
    with pytest.raises(RuntimeError, match="boom") as info:
        backtest(sample_dir, quarters=2, draws=50, workers=2, models=BROKEN_MODELS,
                 workspace=tmp_path, progress=False)
    assert any("in backtest fold" in note for note in info.value.__notes__)


class StandInDask:
    """A Dask cluster stand-in in this process: records its calls, completes tasks in reverse."""

    def __init__(self):
        self.calls = {}

    def connect(self, scheduler, workers):
        calls = self.calls
        calls["address"], calls["workers"] = scheduler, workers

        class Future:
            def __init__(self, key, value):
                self.key, self._value = key, value

            def result(self):
                return self._value

        class Client:
            def scatter(self, objs):
                calls["scattered"] = calls.get("scattered", 0) + len(objs)
                return list(objs)

            def submit(self, fn, *args, pure=True):
                calls["pure"] = pure
                keys = calls.setdefault("keys", [])
                keys.append(f"k{len(keys)}")
                return Future(keys[-1], fn(*args))

            def run(self, fn, *args):
                calls.setdefault("run", []).append((fn, args))

            def close(self):
                calls["closed"] = True

        return DaskConnection(client=Client(), as_completed=lambda futures: iter(futures[::-1]))


def test_dask_scheduler_runs_folds_and_keeps_fold_order(sample_dir, tmp_path):
    dask = StandInDask()
    kw = dict(quarters=2, draws=200, seed=11, workspace=tmp_path / "ws", models=FAKE_MODELS)
    messages = []
    on_dask = backtest(sample_dir, executor=DaskCluster("tcp://scheduler:8786", connect=dask.connect),
                       progress=messages.append, **kw)
    assert "on Dask scheduler tcp://scheduler:8786" in messages[0]
    assert dask.calls["address"] == "tcp://scheduler:8786" and dask.calls["closed"]
    assert dask.calls["scattered"] == 2 and dask.calls["pure"] is False
    assert "run" not in dask.calls  # a remote cluster's workers keep their own threads
    inline = backtest(sample_dir, progress=False, **kw)
    pd.testing.assert_frame_equal(inline.per_quarter, on_dask.per_quarter)
    assert [o.index for o in on_dask.outputs] == [0, 1]  # completed in reverse, kept in order
    local = StandInDask()
    backtest(sample_dir, executor=DaskCluster("local", 2, connect=local.connect), progress=False,
             **kw)
    assert local.calls["workers"] == 2
    assert local.calls["run"] == [(share_cores, (threads_per_worker(2),))]  # share the cores


@pytest.mark.skipif(find_spec("dask") is not None, reason="Dask is installed")
def test_missing_dask_is_a_clear_user_error(sample_dir, tmp_path):
    with pytest.raises(PartnerForecastError, match=r"pip install 'partner-forecast\[dask\]'"):
        backtest(sample_dir, quarters=1, scheduler="tcp://x:1", workspace=tmp_path, progress=False,
                 models=FAKE_MODELS)


def test_fold_errors_name_the_fold(sample_export, tmp_path):
    task = make_fold_task(sample_export, Quarter.parse("2025Q1"), index=0, horizon=1, by=None,
                          draws=10, seed=0, workspace=tmp_path, settings=load_settings(),
                          models=BROKEN_MODELS)
    with pytest.raises(RuntimeError, match="boom") as info:
        run_folds([task])
    assert any("2025Q1" in note for note in info.value.__notes__)


# -- leaks ---------------------------------------------------------------------------------------


def test_perturbation_changes_the_future_only(sample_export):
    cut = pd.Timestamp("2025-01-01")
    perturbed = perturb_after(sample_export, cut)
    assert view_digest(perturbed) != view_digest(sample_export)
    assert view_digest(perturbed.as_of(cut)) == view_digest(sample_export.as_of(cut))
    # Events were planted on the cut day itself.
    assert (perturbed.stage_history["entered_on"] == cut).sum() > (
        sample_export.stage_history["entered_on"] == cut).sum()
    assert view_digest(perturbed.as_of(cut + pd.Timedelta(days=1))) != view_digest(
        sample_export.as_of(cut + pd.Timedelta(days=1)))


def test_fold_does_not_leak(sample_export, tmp_path):
    settings = load_settings()
    for quarter in ("2024Q4", "2025Q2"):
        assert check_fold_leakage(sample_export, quarter, settings, horizon=2, by="partner_type",
                                  draws=200, workspace=tmp_path, models=FAKE_MODELS) == []


def _keep_current_stage(monkeypatch):
    """Planted bug: the as-of view keeps each deal's current stage instead of rebuilding it."""
    original = Export.as_of

    def leaky(self, date):
        view = original(self, date)
        current = self.opportunities.set_index("opportunity_id")["stage"]
        opps = view.opportunities.copy()
        opps["stage"] = opps["opportunity_id"].map(current)
        return replace(view, opportunities=opps)

    monkeypatch.setattr(Export, "as_of", leaky)


def _cut_one_day_late(monkeypatch):
    """Planted bug: events dated on the as-of day itself are treated as known."""
    original = Export.as_of

    def leaky(self, date):
        cut = pd.Timestamp(date).normalize()
        if self.as_of_date is not None and self.as_of_date <= cut:
            return self
        return replace(original(self, cut + pd.Timedelta(days=1)), as_of_date=cut)

    monkeypatch.setattr(Export, "as_of", leaky)


@pytest.mark.parametrize("plant", [_keep_current_stage, _cut_one_day_late])
def test_leak_check_catches_planted_leaks(monkeypatch, sample_export, tmp_path, plant):
    plant(monkeypatch)
    found = check_fold_leakage(sample_export, "2025Q1", load_settings(), draws=200,
                               workspace=tmp_path, models=FAKE_MODELS)
    assert any(f.startswith("as-of view: opportunities") or f.startswith("as-of view: stage")
               for f in found), found
    assert any(f.startswith("fold output") for f in found), found


FAKES = {"models": FAKE_MODELS}
"""The CLI's click context object: the fake models in place of the fitted ones."""


# -- CLI -----------------------------------------------------------------------------------------


def test_cli_backtest_json_and_table(tmp_path):
    tiny = write_tiny_export(tmp_path / "tiny")
    ws = tmp_path / "ws"
    runner = CliRunner()
    result = runner.invoke(main, ["backtest", str(tiny), "--quarters", "1", "--draws", "200",
                                  "--workspace", str(ws), "--format", "json", "--by", "partner_type"],
                           obj=FAKES)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert {"meta", "summary", "per_quarter", "deal_calibration", "folds"} <= set(doc)
    assert doc["meta"]["folds"] == ["2026Q2"]
    assert doc["meta"]["diagnostics"][0] == {"fold": "2026Q2", "model": "fake", "divergences": 0,
                                             "max_rhat": 1.0}
    # The history starts in 2026Q1: no same quarter last year, so neither that baseline nor the
    # cohort baseline (whose new pipeline comes from it) applies.
    assert {r["method"] for r in doc["summary"]} == set(METHODS) - {"same_quarter_last_year",
                                                                    "cohort"}
    assert "backtest: fold 2026Q2 done" in result.stderr
    text = runner.invoke(main, ["backtest", str(tiny), "--quarters", "1", "--draws", "100",
                                "--workspace", str(ws)], obj=FAKES)
    assert text.exit_code == 0, text.output
    assert "== summary ==" in text.stdout and "crps_vs_model" in text.stdout
    out = tmp_path / "bt.xlsx"
    xlsx = runner.invoke(main, ["backtest", str(tiny), "--quarters", "1", "--draws", "100",
                                "--workspace", str(ws), "--format", "xlsx", "--output", str(out)],
                         obj=FAKES)
    assert xlsx.exit_code == 0 and out.exists()


def test_cli_backtest_user_errors_exit_2(tmp_path):
    tiny = write_tiny_export(tmp_path / "tiny")
    result = CliRunner().invoke(main, ["backtest", str(tiny), "--quarters", "3",
                                       "--workspace", str(tmp_path / "ws")], obj=FAKES)
    assert result.exit_code == 2
    assert "history starts" in result.stderr and "Traceback" not in result.output


# -- the real models (slow) ------------------------------------------------------------------------


def _real_models_available() -> bool:
    try:
        import partner_forecast.posterior.inputs  # noqa: F401
        import partner_forecast.workspace  # noqa: F401
    except ImportError:
        return False
    return True


SLOW_SAMPLE = {"partners": 40, "quarters": 10, "seed": 7}


@pytest.mark.slow
@pytest.mark.skipif(not _real_models_available(), reason="the fitted models are not available yet")
def test_backtest_on_known_truth_is_calibrated_and_beats_baselines(tmp_path):
    """Generated data with known truth: P10-P90 coverage near 80%, CRPS below every baseline.

    Small sampler settings (config override) keep it under ten minutes on two cores.
    """
    from partner_forecast.data.sample import generate_sample
    from partner_forecast.evaluate.scores import wilson_interval

    data = tmp_path / "sample"
    generate_sample(data, **SLOW_SAMPLE)
    small = {"draws": 250, "tune": 250, "chains": 2, "retries": 0}
    settings = load_settings().with_overrides(sampler=small, simulation={"draws": 1000})
    result = backtest(data, quarters=6, by="partner_type", workers=2, config=settings, seed=1,
                      workspace=tmp_path / "ws", progress=False)
    pq = result.per_quarter
    model = pq[(pq["method"] == "model") & (pq["lead"] == 1)]
    # Coverage over folds x segments with an actual: a Wilson band around 80% must contain it.
    scored = model[(model["segment"] == "total") | (model["actual"] > 0)]
    n, k = len(scored), int(scored["covered"].sum())
    low, high = wilson_interval(int(round(0.8 * n)), n, confidence=0.99)
    assert low <= k / n <= high, f"coverage {k}/{n} outside [{low:.2f}, {high:.2f}]"
    summary = result.summary[(result.summary["segment"] == "total") & (result.summary["lead"] == 1)]
    ratios = summary.set_index("method")["crps_vs_model"]
    assert (ratios.drop("model") > 1.0).all(), ratios
