"""Closes bunched at quarter end: the audit, the interval-censored stays, the reading recorded.

Exports come from the library's own generator (``quarter_end_push`` moves closes into the last
21 days of their quarter; the default profile does not), read through ``load_export``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from partner_forecast.cli import main
from partner_forecast.config import load_settings
from partner_forecast.data import views
from partner_forecast.data.export import load_export
from partner_forecast.data.quarter_end import in_quarter_end_window, quarter_end_audit, quarter_end_reading
from partner_forecast.errors import ConfigError
from partner_forecast.models import TimingModel
from partner_forecast.models import aggregate as agg
from partner_forecast.models.timing import log_interval_probability


@pytest.fixture(scope="module")
def pushed_dir(tmp_path_factory) -> Path:
    from partner_forecast.data.sample import generate_sample

    folder = tmp_path_factory.mktemp("pushed")
    generate_sample(folder, partners=40, quarters=8, seed=7, profiles="quarter_end_push")
    return folder


@pytest.fixture(scope="module")
def plain_dir(tmp_path_factory) -> Path:
    from partner_forecast.data.sample import generate_sample

    folder = tmp_path_factory.mktemp("plain")
    generate_sample(folder, partners=40, quarters=8, seed=7)
    return folder


def test_window_is_the_last_days_of_the_fiscal_quarter():
    dates = pd.Series(pd.to_datetime(["2025-03-11", "2025-03-10", "2025-03-31", "2025-04-01",
                                      None, "2025-04-10"]))
    # Calendar quarters: 2025Q1 ends on 31 March, so its last 21 days start on 11 March.
    assert in_quarter_end_window(dates, 21).tolist() == [True, False, True, False, False, False]
    # A fiscal year from February: the quarter Feb-Apr ends on 30 April.
    assert in_quarter_end_window(dates, 21, fiscal_year_start_month=2).tolist() == [
        False, False, False, False, False, True]


def test_audit_flags_a_pushed_export_and_passes_a_plain_one(pushed_dir, plain_dir):
    pushed = quarter_end_audit(load_export(pushed_dir))
    plain = quarter_end_audit(load_export(plain_dir))
    assert pushed.bunched and pushed.share > 0.45 and pushed.p_value < 1e-20
    assert not plain.bunched and abs(plain.share - plain.expected_share) < 0.04
    assert plain.expected_share == pytest.approx(21 / 91.3, abs=0.01)
    assert "not bunched" in plain.describe() and "bunched at quarter end" in pushed.describe()


def test_reading_follows_the_config(pushed_dir, plain_dir):
    timing = load_settings().timing
    assert timing.quarter_end == "auto"
    assert quarter_end_reading(load_export(pushed_dir), timing)[0] == (21, 21)
    window, reading = quarter_end_reading(load_export(plain_dir), timing)
    assert window is None and reading.startswith("auto: closes not bunched")
    on = timing.model_copy(update={"quarter_end": "on", "quarter_end_window_days": 14})
    assert quarter_end_reading(load_export(plain_dir), on)[0] == (14, 21)
    off = timing.model_copy(update={"quarter_end": "off"})
    assert quarter_end_reading(load_export(pushed_dir), off) == (
        None, "off ([timing] quarter_end): every close read as an exact stay")


def test_an_unknown_quarter_end_mode_is_a_config_error(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[timing]\nquarter_end = "sometimes"\n')
    with pytest.raises(ConfigError, match="timing.quarter_end"):
        load_settings(path)


def test_windowed_closes_leave_the_exact_stays_and_bound_their_length(pushed_dir):
    export = load_export(pushed_dir)
    stays = views.stage_stays(export)
    completed, censored, windowed = agg.timing_stats(export, (21, 21))
    closing = ~stays["open"] & stays["next_stage"].isin(["won", "lost"])
    in_window = closing & in_quarter_end_window(stays["left_on"], 21)
    assert windowed["w"].sum() == in_window.sum() > 0
    assert completed["n"].sum() + windowed["w"].sum() == (~stays["open"]).sum()
    assert censored["w"].sum() == stays["open"].sum()
    assert (windowed["hi"] > windowed["lo"]).all()
    # Each windowed stay's recorded length lies inside its bounds.
    w = stays[in_window]
    y = np.log(w["days"].to_numpy(dtype=float))
    q_start = pd.to_datetime(w["left_on"]).dt.to_period("Q").dt.start_time
    before = np.maximum((q_start - pd.to_datetime(w["entered_on"])).dt.days.to_numpy(), 1.0)
    assert (np.log(before) <= y + 1e-9).all() and (y < np.log(w["days"] + 21.5)).all()
    # A close advancing to the next stage, or outside the window, stays exact.
    exact_plain = agg.timing_stats(export)[0]
    assert exact_plain["n"].sum() == (~stays["open"]).sum()


def test_the_windowed_likelihood_is_the_interval_probability(pushed_dir):
    """The model's quarter-end term is sum w * log P(lo < log D < hi) of the normal log stays."""
    import pytensor

    settings = load_settings().with_overrides(timing={"quarter_end": "on"})
    model = TimingModel.from_export(load_export(pushed_dir), settings)
    assert model.spec.meta["quarter_end_censored"]
    pm_model = model.build_model()
    shape = (len(model.spec.coords["partner_type"]), len(model.spec.coords["stage"]))
    rng = np.random.default_rng(0)
    mu, sigma = rng.uniform(2.5, 4.0, shape), rng.uniform(0.4, 1.0, shape)
    term = pytensor.function([], pm_model["quarter_end"],
                             givens={pm_model["time_mu"]: mu, pm_model["time_sigma"]: sigma})()
    d = model.spec.data
    m, s = mu[d["win_type"], d["win_stage"]], sigma[d["win_type"], d["win_stage"]]
    lo, hi = d["win_lo"], d["win_hi"]
    # scipy's difference in the tail away from each interval (exact where it matters).
    upper = (lo + hi) / 2 > m
    p = np.where(upper, stats.norm.sf(lo, m, s) - stats.norm.sf(hi, m, s),
                 stats.norm.cdf(hi, m, s) - stats.norm.cdf(lo, m, s))
    assert float(term) == pytest.approx(np.sum(d["win_w"] * np.log(p)), rel=1e-7)


def test_the_interval_probability_holds_its_digits_in_both_tails():
    """Intervals far above or below the mean, where F near 1 loses the digits of a difference,
    match scipy's difference taken on the tail each interval lies in."""
    lo = np.array([-6.0, -1.0, 5.0, 9.0, 0.0])
    hi = np.array([-5.0, 1.0, 6.0, 12.0, 1e-6])
    value = log_interval_probability(0.0, 1.0, lo, hi).eval()
    sf = np.log(stats.norm.sf(lo) - stats.norm.sf(hi))
    cdf = np.log(stats.norm.cdf(hi) - stats.norm.cdf(lo))
    expected = np.where((lo + hi) / 2 > 0, sf, cdf)
    assert np.allclose(value, expected, rtol=1e-7)
    assert np.isfinite(value).all()


def test_validate_prints_the_quarter_end_reading(pushed_dir):
    result = CliRunner().invoke(main, ["validate", str(pushed_dir)])
    assert result.exit_code == 0, result.output
    assert "quarter-end: auto: closes bunched at quarter end" in result.output


@pytest.mark.slow
def test_censored_closes_recover_the_true_stays_where_exact_ones_do_not(pushed_dir):
    """Fitted on a pushed export, the censored reading finds the generator's median stays.

    Read as exact, the closes moved later in their quarter make negotiation (a stage left only
    by a close) look 0.3-0.5 log days longer than the truth; read as censored they are within
    0.15 of it, as are the other stages.
    """
    truth = json.loads((pushed_dir / "truth.json").read_text())
    export = load_export(pushed_dir)
    errors = {}
    for mode in ("off", "on"):
        settings = load_settings().with_overrides(
            timing={"quarter_end": mode}, sampler={"draws": 300, "tune": 300, "retries": 0})
        model = TimingModel.from_export(export, settings)
        model.fit()
        mu = model.time_mu().mean(axis=0)
        types = model.spec.coords["partner_type"]
        stages = model.spec.coords["stage"]
        true = np.array([[truth["time_mu"][t][s] for s in stages] for t in types])
        errors[mode] = mu - true
    neg = list(TimingModel.from_export(export, load_settings()).spec.coords["stage"]).index(
        "negotiation")
    assert errors["off"][:, neg].mean() > 0.25  # the bias the censored reading removes
    assert np.abs(errors["on"][:, neg].mean()) < 0.15
    assert np.abs(errors["on"].mean(axis=0)).max() < 0.15


def test_fit_and_forecast_record_the_reading(pushed_dir, plain_dir, tmp_path, monkeypatch):
    """`fit` and `forecast` run for real on fake posteriors cached under the export's keys."""
    from partner_forecast.models import MODEL_CLASSES
    from partner_forecast.testing.fake_fit import fake_fit
    from partner_forecast.workspace import Workspace, data_fingerprint

    def refuse(*args, **kwargs):
        raise AssertionError("refitted a model the workspace had cached")

    for cls in MODEL_CLASSES:
        monkeypatch.setattr(cls, "fit", refuse)
    runner = CliRunner()
    for folder, expected in ((pushed_dir, True), (plain_dir, False)):
        export, settings = load_export(folder), load_settings()
        ws = Workspace(tmp_path / folder.name)
        for i, cls in enumerate(MODEL_CLASSES):
            model = fake_fit(cls.from_export(export, settings), seed=i)
            model.save(ws.path(cls, data_fingerprint(export), settings))
        r = runner.invoke(main, ["fit", str(folder), "--workspace", str(ws.root)])
        assert r.exit_code == 0, r.output
        assert ("fit_notes: timing: auto: closes bunched at quarter end" in r.stdout) is expected
        r = runner.invoke(main, ["forecast", str(folder), "--workspace", str(ws.root),
                                 "--draws", "50", "--no-ledger", "--format", "json"])
        assert r.exit_code == 0, r.output
        meta = json.loads(r.stdout)["meta"]
        assert ("closes bunched at quarter end" in meta.get("fit_notes", "")) is expected
