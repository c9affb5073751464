"""Saying a fit's cost before it starts, the ledger's forecasts of a quarter, and the backtest's
progress over folds (a bar only on a terminal or when asked; never in captured CLI output).

Fits are the library's fake fits saved in a workspace (tests/test_report_fakes.py): no MCMC.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.cli import main
from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.evaluate.fit_cost import (
    DEFAULT_MODEL_SECONDS,
    duration_text,
    estimate_fit,
    missing_fits,
    saved_fit_seconds,
    side_by_side_seconds,
)
from partner_forecast.ledger.store import Ledger, LedgerRun
from test_report_fakes import fake_fit_workspace, small_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return small_sample(tmp_path_factory.mktemp("fit_cost") / "sample")


@pytest.fixture(scope="module")
def ws(sample, tmp_path_factory) -> Path:
    """Fake fits as of the default as-of and as of 2025-04-01 (the last fold's origin)."""
    return fake_fit_workspace(sample, tmp_path_factory.mktemp("fit_cost_ws"))


@pytest.mark.parametrize(("seconds", "text"), [
    (3.2, "about 3 s"), (42, "about 40 s"), (89, "about 90 s"), (150, "about 2 min"),
    (243, "about 4 min"), (3600, "about 1 h"), (4300, "about 1 h 12 min"),
    (float("nan"), "an unknown time")])
def test_duration_in_words(seconds, text):
    assert duration_text(seconds) == text


def _timed_fit(export, settings, ws_root: Path, cls, compile_s: float, sample_s: float) -> Path:
    from partner_forecast.testing.fake_fit import fake_fit
    from partner_forecast.workspace import Workspace, data_fingerprint

    fp = data_fingerprint(export)
    model = fake_fit(cls.from_export(export, settings, data_fingerprint=fp))
    model.diagnostics = dataclasses.replace(model.diagnostics, compile_seconds=compile_s,
                                            sample_seconds=sample_s)
    model.idata.attrs.update(model.stamp())
    return model.save(Workspace(ws_root).path(cls, fp, settings))


def test_estimate_reads_the_saved_stamps_and_falls_back_to_the_default(sample, ws, tmp_path):
    from partner_forecast.models import MODEL_CLASSES

    export, settings = load_export(sample), load_settings(None)
    first, second = MODEL_CLASSES[0], MODEL_CLASSES[1]
    # A workspace of untimed (fake) fits holds nothing to go by.
    assert saved_fit_seconds(ws).empty
    root = tmp_path / "timed"
    _timed_fit(export, settings, root, first, 10.0, 30.0)
    (root / "models" / f"{second.name}-broken.zarr.zip").write_bytes(b"not a zip")  # skipped
    saved = saved_fit_seconds(root)
    assert saved[["model", "compile_seconds", "sample_seconds", "seconds"]].to_dict("records") == [
        {"model": first.name, "compile_seconds": 10.0, "sample_seconds": 30.0, "seconds": 40.0}]
    est = estimate_fit([first.name, second.name], root)
    assert est.seconds == pytest.approx(40.0 + DEFAULT_MODEL_SECONDS)
    assert f"{DEFAULT_MODEL_SECONDS:.0f} s each for {second.name}, never fitted there" in est.basis
    assert est.times(3).seconds == pytest.approx(3 * est.seconds)
    only_timed = estimate_fit([first.name], root)
    assert only_timed.basis.startswith("compile + sampling time of the fits saved in")
    assert only_timed.describe() == f"likely about 40 s ({only_timed.basis})"
    # Side by side, the fit pool's way: the longest first, each to the first free worker.
    both = estimate_fit([first.name, second.name], root, workers=2)
    assert both.seconds == pytest.approx(max(40.0, DEFAULT_MODEL_SECONDS))
    assert both.describe().startswith("likely about 50 s, 2 models at a time (")
    assert estimate_fit([first.name], root, workers=4).workers == 1  # one model: one worker


@pytest.mark.parametrize(("seconds", "workers", "wall"), [
    ([100, 60, 50, 40, 30], 1, 280), ([100, 60, 50, 40, 30], 2, 140),
    ([100, 60, 50, 40, 30], 5, 100), ([30, 100], 3, 100), ([], 2, 0)])
def test_side_by_side_is_the_longest_first_schedule(seconds, workers, wall):
    assert side_by_side_seconds(seconds, workers) == pytest.approx(wall)


def test_missing_fits_follow_the_cache_keys(sample, ws, tmp_path):
    from partner_forecast.models import MODEL_CLASSES

    export, settings = load_export(sample), load_settings(None)
    assert missing_fits(export, settings, ws, export.default_as_of) == []
    assert missing_fits(export, settings, ws, "2025-04-01") == []
    assert missing_fits(export.as_of("2025-04-01"), settings, ws) == []  # a view as it is
    assert missing_fits(export, settings, ws, "2025-01-01") == [c.name for c in MODEL_CLASSES]


def test_ledger_forecasts_of_a_quarter(tmp_path):
    ledger = Ledger(tmp_path)
    assert ledger.forecasts_of("2026Q4", pd.Timestamp("2026-10-01")).empty  # no ledger yet

    def run(as_of, quarters=("2026Q4",), by=None, meta=None, kind="forecast"):
        q = pd.DataFrame({"quarter": [quarters[0]], "segment": ["total"], "measure": ["attributed"],
                          "p10": [1.0], "p50": [2.0], "p90": [3.0], "mean": [2.0]})
        return ledger.append(LedgerRun(kind=kind, as_of=as_of, quarters=list(quarters),
                                       data_fingerprint="d", config_fingerprint="c", version="0",
                                       draws=10, seed=1, segment_by=by, meta=meta), q)

    old = run("2026-09-01")
    split = run("2026-09-15", by="tier", meta={"data": "exports/2026-09-15"})
    run("2026-11-01")  # after the quarter's start
    run("2026-09-20", kind="scenario")
    run("2026-09-20", quarters=("2027Q1",))
    runs = ledger.forecasts_of("2026Q4", pd.Timestamp("2026-10-01"))
    assert runs["run_id"].tolist() == [old, split]
    assert runs["segment_by"].tolist() == ["total", "tier"]
    assert runs["data"].tolist() == ["", "exports/2026-09-15"]
    assert ledger.latest_for_quarter("2026Q4", pd.Timestamp("2026-10-01")) == split


def test_backtest_bar_when_asked_lines_otherwise(sample, ws, capsys):
    from partner_forecast.evaluate.backtest import backtest

    lines: list[str] = []
    backtest(sample, quarters=1, draws=100, seed=1, workspace=ws, progress=lines.append,
             progress_bar=True)
    err = capsys.readouterr().err
    assert "backtest folds" in err and "1/1" in err  # the tqdm bar on stderr
    assert not any("done in" in m and "fold 2025Q2" in m for m in lines)  # in the bar instead
    assert lines[-1].startswith("backtest: 1 fold(s) done in")
    assert "need a fit" not in lines[0]  # the fold's fits are saved
    lines.clear()
    backtest(sample, quarters=1, draws=100, seed=1, workspace=ws, progress=lines.append)
    assert "backtest folds" not in capsys.readouterr().err  # stderr is not a terminal here
    assert any(m.startswith("backtest: fold 2025Q2 done in") for m in lines), lines


def test_backtest_cli_output_has_no_bar(sample, ws):
    r = CliRunner().invoke(main, ["backtest", str(sample), "--quarters", "1", "--draws", "100",
                                  "--workspace", str(ws), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert "backtest folds" not in r.output and "\r" not in r.output
    assert "backtest: fold 2025Q2 done in" in r.stderr


def test_backtest_announces_the_folds_that_need_a_fit(sample, ws, tmp_path):
    from partner_forecast.calendar import Quarter
    from partner_forecast.evaluate.backtest import _fit_note
    from partner_forecast.evaluate.folds import make_fold_task

    export, settings = load_export(sample), load_settings(None)
    tasks = [make_fold_task(export, Quarter.parse(q), index=i, horizon=1, by=None, draws=100,
                            seed=1, workspace=ws, settings=settings)
             for i, q in enumerate(["2025Q1", "2025Q2"])]
    note = _fit_note(tasks, settings, ws, "--no-backtest leaves the backtest out")
    n_models = len(missing_fits(export, settings, ws, "2025-01-01"))
    assert note.startswith("; 1 fold(s) need a fit of the models, likely ")
    assert duration_text(n_models * DEFAULT_MODEL_SECONDS) in note
    assert note.endswith("; --no-backtest leaves the backtest out")
    assert _fit_note(tasks[1:], settings, ws, "") == ""
