"""``report`` and ``variance`` without surprise fits (issue 11, item 6), on fake fits saved in a
workspace (the real code path: ``fit_all`` loads them as cached posteriors; no module swapped).

- A ledger forecast of the reviewed quarter (as of its start, same data) is reused: no posterior
  file is written and no forecast is made (``variance_review``'s ``forecaster`` is injected and
  counts its calls); the output names the source.
- Runs from another data source are passed over, said so; a moved copy of the same files counts.
- A run that recorded only quantiles is reviewed with what it has, and the gaps are named.
- Without a ledger run, the fit is announced before it starts, with an estimate from the saved
  fits' stamped compile + sampling seconds.
- ``report --no-variance`` / ``--no-backtest`` leave those sections out with a visible note.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.cli import main
from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.evaluate.fit_cost import missing_fits
from partner_forecast.evaluate.variance import variance_review
from partner_forecast.forecast import forecast
from partner_forecast.ledger.store import Ledger, LedgerRun
from partner_forecast.reports.executive import build_report
from test_report_fakes import fake_fit_workspace, small_sample

REVIEWED = "2025Q2"  # the small sample is as of 2025-07-01: its last closed quarter
ORIGIN = "2025-04-01"


def posterior_files(ws: Path) -> set[str]:
    """The saved posteriors of a workspace (a fit writes one per model)."""
    return {p.name for p in (ws / "models").glob("*.zarr.zip")}


class CountingForecaster:
    """A ``forecaster`` for :func:`variance_review` that counts calls (and may refuse them)."""

    def __init__(self, allow: bool):
        self.calls = 0
        self.allow = allow

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if not self.allow:
            raise AssertionError("the review made a forecast")
        return forecast(*args, **kwargs)


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> Path:
    return small_sample(tmp_path_factory.mktemp("fits") / "sample")


@pytest.fixture(scope="module")
def ledger_ws(sample, tmp_path_factory) -> Path:
    """A workspace whose ledger holds a forecast of 2025Q2 as of its start, and whose saved
    fits are only those of the report's own forecast (the 2025Q2 ones were cleaned out)."""
    ws = tmp_path_factory.mktemp("ledger_ws")
    export = load_export(sample)
    fake_fit_workspace(sample, ws, cuts=(export.default_as_of,))
    keep = posterior_files(ws)
    fake_fit_workspace(sample, ws, cuts=(pd.Timestamp(ORIGIN),))
    forecast(sample, as_of=ORIGIN, quarter=REVIEWED, draws=200, seed=1, workspace=ws, record=True,
             progress=False)
    for name in posterior_files(ws) - keep:
        (ws / "models" / name).unlink()
    assert missing_fits(export, load_settings(None), ws, ORIGIN)  # a forecast now would fit
    return ws


def test_report_reuses_the_ledger_forecast_and_fits_nothing(sample, ledger_ws):
    before = posterior_files(ledger_ws)
    runs_before = len(Ledger(ledger_ws).runs())
    notes: list[str] = []
    report = build_report(sample, draws=200, seed=1, horizon=1, workspace=ledger_ws, record=False,
                          notify=notes.append)
    try:
        assert posterior_files(ledger_ws) == before  # no fit wrote a posterior
        assert len(Ledger(ledger_ws).runs()) == runs_before  # no forecast recorded for the review
        assert any("reusing ledger run" in n and n.endswith(": no fit") for n in notes), notes
        assert not any("fitting" in n or "making one now" in n for n in notes), notes
        waterfall = next(c for c in report.charts() if c.key == "waterfall")
        assert "Forecast: ledger run " in waterfall.note and f"as of {ORIGIN}" in waterfall.note
        assert report.meta["variance_forecast"].startswith("ledger run ")
    finally:
        report.close()


def test_variance_reuses_the_ledger_run_without_forecasting(sample, ledger_ws):
    forecaster = CountingForecaster(allow=False)
    notes: list[str] = []
    review = variance_review(sample, REVIEWED, workspace=ledger_ws, progress=False,
                             notify=notes.append, forecaster=forecaster)
    assert forecaster.calls == 0 and not review.created
    assert review.source.startswith(f"ledger run {review.run_id} as of {ORIGIN} (recorded ")
    assert review.meta["forecast_source"] == review.source
    assert review.meta["other_source_runs"] == []
    d = review.drivers
    assert d.loc[d["component"] != "total", "value"].sum() == pytest.approx(
        d.loc[d["component"] == "total", "value"].iloc[0], abs=1e-6)


def test_cli_variance_names_the_source(sample, ledger_ws):
    r = CliRunner().invoke(main, ["variance", str(sample), "--quarter", REVIEWED, "--workspace",
                                  str(ledger_ws), "--format", "json"])
    assert r.exit_code == 0, r.output
    assert "reusing ledger run" in r.stderr and ": no fit" in r.stderr
    assert '"forecast_source": "ledger run ' in r.stdout


def test_runs_from_other_data_are_passed_over_and_a_moved_copy_counts(sample, tmp_path):
    ws = fake_fit_workspace(sample, tmp_path / "ws")  # fits as of 2025-04-01 too: no MCMC below
    made = forecast(sample, as_of=ORIGIN, quarter=REVIEWED, draws=200, seed=1, workspace=ws,
                    record=False, progress=False)
    meta = {"data": str(tmp_path / "another_crm"), "attributed_percentiles": None}
    other = Ledger(ws).append(LedgerRun(kind="forecast", as_of=ORIGIN, quarters=[REVIEWED],
                                        data_fingerprint="elsewhere", config_fingerprint="c",
                                        version="0", draws=200, seed=1, meta=meta), made.quantiles)
    notes: list[str] = []
    counting = CountingForecaster(allow=True)
    review = variance_review(sample, REVIEWED, workspace=ws, draws=200, seed=1, progress=False,
                             notify=notes.append, forecaster=counting)
    assert counting.calls == 1 and review.created and review.run_id != other
    assert review.meta["other_source_runs"] == [other]
    assert any("made from other data" in n and "another_crm" in n and f"--run {other}" in n
               for n in notes), notes
    # fits as of the origin are saved: the forecast loaded them, and the source says so
    assert review.source.startswith(f"made from saved fits now as of {ORIGIN}")
    # The same files under another folder: the same data (by fingerprint), the run is reused.
    moved = Path(shutil.copytree(sample, tmp_path / "moved"))
    again = variance_review(moved, REVIEWED, workspace=ws, progress=False, notify=notes.append,
                            forecaster=CountingForecaster(allow=False))
    assert again.run_id == review.run_id and not again.created
    # An explicit --run reviews the other source's run anyway (from what it recorded).
    chosen = variance_review(sample, REVIEWED, run_id=other, workspace=ws, progress=False,
                             notify=notes.append, forecaster=CountingForecaster(allow=False))
    assert chosen.run_id == other


def test_a_run_with_quantiles_only_is_reviewed_with_what_it_has(sample, tmp_path):
    ws = fake_fit_workspace(sample, tmp_path / "ws")
    made = forecast(sample, as_of=ORIGIN, quarter=REVIEWED, draws=300, seed=2, workspace=ws,
                    record=False, progress=False)
    attributed = made.quantiles[made.quantiles["measure"] == "attributed"]
    run_id = Ledger(ws).append(LedgerRun(kind="forecast", as_of=ORIGIN, quarters=[REVIEWED],
                                         data_fingerprint="x", config_fingerprint="y", version="0",
                                         draws=300, seed=2), attributed)
    review = variance_review(sample, REVIEWED, workspace=ws, progress=False,
                             notify=lambda m: None, forecaster=CountingForecaster(allow=False))
    assert review.run_id == run_id  # no data source recorded: accepted
    warnings = " | ".join(review.meta["warnings"])
    for gap in ("no per-deal win probabilities", "no open/new pipeline split",
                "no percentile grid", "did not record driver means"):
        assert gap in warnings, warnings
    fva = review.forecast_vs_actual.set_index("segment").loc["total"]
    assert fva["percentile_method"] == "interpolated P10/P50/P90"
    assert fva["p50"] == pytest.approx(float(attributed["p50"].iloc[0]))
    d = review.drivers
    assert d.loc[d["component"] != "total", "value"].sum() == pytest.approx(
        d.loc[d["component"] == "total", "value"].iloc[0], abs=1e-6)


def test_a_fit_is_announced_with_its_estimate_before_it_starts(sample, tmp_path):
    """No ledger run and no saved fits as of the origin: the note comes before the forecast."""
    from partner_forecast.models import MODEL_CLASSES
    from partner_forecast.testing.fake_fit import fake_fit
    from partner_forecast.workspace import Workspace, data_fingerprint

    export, settings = load_export(sample), load_settings(None)
    ws = Workspace(tmp_path / "ws")
    for i, cls in enumerate(MODEL_CLASSES):  # fits as of today, stamped 12 s + 18 s each
        model = fake_fit(cls.from_export(export, settings, data_fingerprint=data_fingerprint(export)),
                         seed=i)
        model.diagnostics = dataclasses.replace(model.diagnostics, compile_seconds=12.0,
                                                sample_seconds=18.0)
        model.idata.attrs.update(model.stamp())  # the saved stamp carries the diagnostics
        model.save(ws.path(cls, data_fingerprint(export), settings))
    notes: list[str] = []

    class Stop(Exception):
        pass

    def forecaster(*args, **kwargs):
        notes.append("FORECAST")
        raise Stop

    with pytest.raises(Stop):
        variance_review(sample, REVIEWED, workspace=ws.root, progress=False, notify=notes.append,
                        forecaster=forecaster, fit_hint="--no-variance leaves the review out")
    assert notes[-1] == "FORECAST"
    announce = notes[-2]
    assert f"fitting {len(MODEL_CLASSES)} models" in announce and f"as of {ORIGIN}" in announce
    assert "likely about 2 min" in announce  # 5 x 30 s from the stamps
    assert "compile + sampling time of the fits saved in" in announce
    assert announce.endswith("--no-variance leaves the review out")


def test_report_announces_the_fit_of_its_own_forecast_with_a_default_estimate(sample, tmp_path):
    """An empty workspace: no timed fit to go by, so the stated rough default is used."""
    from partner_forecast.evaluate.fit_cost import fit_announcement

    export = load_export(sample)
    text = fit_announcement(export, load_settings(None), tmp_path / "empty", export.default_as_of)
    assert text is not None and "a rough 50 s a model" in text and "likely about 4 min" in text
    ws = fake_fit_workspace(sample, tmp_path / "ws")
    assert fit_announcement(export, load_settings(None), ws, export.default_as_of) is None


@pytest.fixture(scope="module")
def skipped_report(sample, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("skipped")
    ws = fake_fit_workspace(sample, tmp / "ws", cuts=(load_export(sample).default_as_of,))
    before = posterior_files(ws)
    out = tmp / "report.html"
    r = CliRunner().invoke(main, ["report", str(sample), "--draws", "200", "--seed", "1",
                                  "--horizon", "1", "--workspace", str(ws), "--no-ledger",
                                  "--no-variance", "--no-backtest", "--output", str(out)])
    return r, out, before, ws


def test_report_no_variance_no_backtest_leave_a_note_and_fit_nothing(skipped_report):
    r, out, before, ws = skipped_report
    assert r.exit_code == 0, r.output
    assert posterior_files(ws) == before
    assert "variance review" not in r.stderr and "fitting" not in r.stderr
    page = out.read_text("utf-8")
    assert 'id="waterfall"' not in page and "table-variance_drivers" not in page
    assert f"Skipped: the variance review of {REVIEWED} (--no-variance)" in page
    assert f"partner-forecast variance DATA --quarter {REVIEWED}" in page
    assert "Skipped: backtest calibration" in page and "--backtest-quarters K" in page
    assert "skipped (--no-variance)" in page  # the footer's variance_forecast


def test_report_notes_in_a_browser(skipped_report, tmp_path):
    """The skipped-section notes in headless Chromium at desktop and phone widths (screenshots
    kept in the test's tmp folder for a look)."""
    from test_report_browser import CHROMIUM, chromium

    if CHROMIUM is None:
        pytest.skip("headless Chromium is not installed")
    r, out, _, _ = skipped_report
    for width in (1280, 390):
        shot = tmp_path / f"skipped-{width}.png"
        chromium(tmp_path, width, 2000, f"--screenshot={shot}", out.as_uri())
        data = shot.read_bytes()
        assert int.from_bytes(data[16:20], "big") == width and len(data) > 50_000  # not blank
    dom = chromium(tmp_path, 390, 2000, "--dump-dom", out.as_uri())
    assert "Skipped: the variance review" in dom

