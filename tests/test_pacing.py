"""In-quarter pacing: the expected path from the simulation's close dates, and won-to-date against it.

- The engine, on fabricated posteriors with known answers: deals whose close days are fixed give
  an exact step path; new pipeline created evenly over a quarter and won at once gives a
  straight line to the quarter's expected ARR (within Monte Carlo error); with or without the
  path, a run's other arrays are identical, and the path adds up to the quarter's ARR.
- ``pacing`` through the real forecast path (fake fits saved in a workspace, no module
  swapped), 2025Q2 of the small sample half over (as of 2025-05-16, day 45 of 91): won to date
  is the export's, the expected path by then is the start-of-quarter simulation's own and
  agrees with an independent simulation (another seed) within Monte Carlo error, P(>= target)
  given what is won is the share of the mid-quarter forecast's draws (won + rest) reaching it.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.calendar import Quarter
from partner_forecast.cli import main
from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.errors import PartnerForecastError
from partner_forecast.evaluate.pacing import pacing, won_by_day
from partner_forecast.ledger.pace_path import PATH_KEY, ExpectedPath, expected_path
from partner_forecast.ledger.store import Ledger
from partner_forecast.outcomes import realised
from partner_forecast.simulate import simulate
from partner_forecast.testing.posteriors import degenerate_inputs, open_deals_frame, random_inputs

Q4 = Quarter.parse("2026Q4")


# -- the engine's path, known answers --------------------------------------------------------------
def test_fixed_close_days_give_the_exact_step_path():
    # Every stage passed for sure in 10.4 days: a deal in stage s wins (4 - s) x 10.4 days
    # after as-of (the quarter's start): days 41, 31, 20, 10.
    arr = np.array([1_000.0, 2_000.0, 4_000.0, 8_000.0])
    deals = open_deals_frame(stage=[0, 1, 2, 3], arr=arr, role="co_sell", n=4)
    inputs = degenerate_inputs(n_draws=20, pool=0, p_win=1.0, duration_days=10.4,
                               time_sigma=1e-6, open_deals=deals)
    sim = simulate(inputs, seed=3, pace_quarter=Q4)
    path = expected_path(sim, Q4.start, 500.0)
    close = {41: 1_000.0, 31: 2_000.0, 20: 4_000.0, 10: 8_000.0}
    exact = 500.0 + np.array([sum(0.5 * v for d, v in close.items() if d < k)
                              for k in range(Q4.days + 1)])
    for stat in ("mean", "p10", "p50", "p90"):
        assert getattr(path, stat) == pytest.approx(exact, abs=1e-9)
    assert path.days == 92 and path.from_day == 0 and path.at(21)["p50"] == 500.0 + 6_000.0
    back = ExpectedPath.from_meta(json.loads(json.dumps(path.to_meta())))
    assert back.p90 == pytest.approx(path.p90) and back.start == Q4.start


def test_new_pipeline_won_at_once_gives_a_straight_line_within_monte_carlo_error():
    # DOMAIN.md's 100-seller example: 50,400 expected per quarter, opportunities created
    # uniformly over the quarter and closed within hours: E[won by day k] = 50,400 k / 92.
    inputs = degenerate_inputs(n_draws=4000)
    sim = simulate(inputs, seed=11, pace_quarter=Q4)
    cum = np.concatenate([np.zeros((sim.n_draws, 1)), np.cumsum(sim.pace, axis=1)], axis=1)
    path = expected_path(sim, Q4.start, 0.0)
    assert path.mean == pytest.approx(cum.mean(axis=0))
    k = np.arange(Q4.days + 1)
    se = cum.std(axis=0) / np.sqrt(sim.n_draws)
    assert np.all(np.abs(path.mean - 50_400.0 * k / Q4.days) <= 4 * se + 1e-9)
    assert path.mean[46] == pytest.approx(25_200.0, rel=0.03)  # half the quarter, half its ARR


@pytest.mark.parametrize("h", [0, 1])
def test_the_path_adds_up_to_the_quarter_and_changes_nothing_else(h):
    inputs = random_inputs(5, n_draws=60, n_open=200, horizon=2, mid_quarter=True)
    q = inputs.quarters[h]
    plain = simulate(inputs, seed=9, chunk_draws=25)
    paced = simulate(inputs, seed=9, chunk_draws=25, pace_quarter=q)
    for name in ("attributed_open", "attributed_new", "gross_open", "gross_new", "committed",
                 "upside", "marketplace", "expansion", "deal_win_probability"):
        assert np.array_equal(getattr(plain, name), getattr(paced, name)), name
    assert plain.pace is None and paced.pace.shape == (60, q.days) and paced.pace_quarter == q
    total = paced.attributed[:, h].astype(np.float64).sum(axis=-1)
    assert paced.pace.sum(axis=1) == pytest.approx(total, rel=1e-5)
    if h == 0:  # nothing is simulated before as-of
        as_of_day = (inputs.as_of - q.start).days
        assert not paced.pace[:, :as_of_day].any() and paced.pace[:, as_of_day:].any()
        path = expected_path(paced, inputs.as_of, 1_234.0)
        assert path.from_day == as_of_day and path.mean[0] == 1_234.0
        assert np.isnan(path.at(as_of_day - 1)["mean"])
    with pytest.raises(ValueError, match="not a forecast quarter"):
        simulate(inputs, seed=9, pace_quarter=q + 2)


# -- pacing through the real forecast path ---------------------------------------------------------
START, HALF, END = "2025-04-01", "2025-05-16", "2025-07-01"
DRAWS = 400


@pytest.fixture(scope="module")
def half_over(tmp_path_factory):
    from test_report_fakes import fake_fit_workspace, small_sample

    tmp = tmp_path_factory.mktemp("pacing")
    data = small_sample(tmp / "sample")
    ws = fake_fit_workspace(data, tmp / "ws", cuts=tuple(pd.Timestamp(d) for d in (START, HALF)))
    result = pacing(data, "2025Q2", as_of=HALF, workspace=ws, draws=DRAWS, seed=1)
    return data, ws, result


def test_half_over_pacing_matches_the_simulation(half_over):
    from partner_forecast.forecast import forecast

    data, ws, result = half_over
    row = result.summary.iloc[0]
    q = Quarter.parse("2025Q2")
    assert (row["day"], row["days"]) == (45, 91)
    # Won to date: the export's wins before the pacing date, as the forecast counts them.
    export = load_export(data)
    view = export.as_of(pd.Timestamp(HALF))
    won = realised(view, load_settings(None), q, until=pd.Timestamp(HALF))
    assert row["won_to_date"] == pytest.approx(float(won["attributed_arr"].iloc[-1]))
    assert row["won_to_date"] > 0
    # The expected path by day 45: the start-of-quarter forecast's own simulation (same seed) ...
    start = forecast(data, as_of=START, quarter="2025Q2", draws=DRAWS, seed=1, workspace=ws,
                     record=False, progress=False)
    cum = np.cumsum(start.simulation.pace, axis=1)[:, 44]
    assert row["expected_mean"] == pytest.approx(cum.mean(), abs=0.01)
    assert [row["expected_p10"], row["expected_p50"], row["expected_p90"]] == pytest.approx(
        list(np.quantile(cum, (0.1, 0.5, 0.9))), abs=0.01)
    # ... and within Monte Carlo error of an independent one (another seed).
    other = forecast(data, as_of=START, quarter="2025Q2", draws=DRAWS, seed=2, workspace=ws,
                     record=False, progress=False)
    cum2 = np.cumsum(other.simulation.pace, axis=1)[:, 44]
    se = np.sqrt(cum.var() / DRAWS + cum2.var() / DRAWS)
    assert abs(row["expected_mean"] - cum2.mean()) < 4 * se
    # The path ends at the quarter's forecast mean.
    daily = result.daily
    assert daily["mean"].iloc[-1] == pytest.approx(row["expected_total_at_start"], rel=1e-5)
    assert daily["won_to_date"].iloc[45] == row["won_to_date"] and daily["won_to_date"].iloc[46:].isna().all()
    assert (np.diff(daily["won_to_date"].iloc[:46]) >= 0).all() and (np.diff(daily["mean"]) >= 0).all()
    # P(>= target | won so far): won to date + the rest simulated as of the pacing date.
    now = forecast(data, as_of=HALF, quarter="2025Q2", draws=DRAWS, seed=1, workspace=ws,
                   record=False, progress=False)
    total = now.draws("attributed")[:, 0, :].sum(axis=1)
    assert row["arr_target"] == 112_000.0
    assert row["p_at_least_target"] == pytest.approx(float((total >= row["arr_target"]).mean()))
    assert row["forecast_p50"] == pytest.approx(float(np.quantile(total, 0.5)), rel=1e-6)
    assert row["position"] == ("below the P10" if row["won_to_date"] < row["expected_p10"] else
                               "above the P90" if row["won_to_date"] > row["expected_p90"]
                               else "inside the P10-P90")


def test_second_call_reads_both_forecasts_from_the_ledger(half_over):
    data, ws, result = half_over
    assert len(result.meta["warnings"]) == 2  # both forecasts were made and recorded
    runs = Ledger(ws).runs()
    again = pacing(data, "2025Q2", as_of=HALF, workspace=ws, draws=DRAWS, seed=1)
    assert len(Ledger(ws).runs()) == len(runs) and again.meta["warnings"] == []
    pd.testing.assert_frame_equal(again.summary, result.summary)
    pd.testing.assert_frame_equal(again.daily, result.daily)
    record = Ledger(ws).run(result.meta["baseline_run"])
    assert record["meta"][PATH_KEY]["quarter"] == "2025Q2" and record["as_of"] == START


def test_quarter_over_paces_to_its_end_with_the_actual(half_over):
    data, ws, _ = half_over
    result = pacing(data, "2025Q2", workspace=ws, forecast_missing=False)
    row = result.summary.iloc[0]
    actual = realised(load_export(data), load_settings(None), Quarter.parse("2025Q2"))
    assert row["as_of"] == END and row["day"] == 91 and result.meta["quarter_closed"]
    assert row["won_to_date"] == pytest.approx(float(actual["attributed_arr"].iloc[-1]))
    assert row["p_at_least_target"] == float(row["won_to_date"] >= 112_000.0)
    assert row["expected_mean"] == pytest.approx(row["expected_total_at_start"], rel=1e-5)


def test_won_by_day_counts_wins_before_each_day(tmp_path):
    from partner_forecast.testing.exports import write_tiny_export

    export = load_export(write_tiny_export(tmp_path / "tiny"))
    settings = load_settings(None)
    q = Quarter.containing(export.default_as_of)
    cut = export.default_as_of
    won = won_by_day(export, settings, q, cut)
    day = (cut - q.start).days
    assert (won[14], won[72]) == (18_000.0, 72_000.0)  # O04 won on day 13, O10 on day 71
    for k in range(0, day + 1, 3):
        until = q.start + pd.Timedelta(days=k)
        expect = float(realised(export, settings, q, until=until)["attributed_arr"].iloc[-1]) \
            if k else 0.0
        assert won[k] == pytest.approx(expect)
    assert np.isnan(won[day + 1:]).all()


def test_without_a_start_of_quarter_forecast_it_says_what_to_run(tmp_path):
    from partner_forecast.testing.exports import write_tiny_export

    data = write_tiny_export(tmp_path / "tiny")
    with pytest.raises(PartnerForecastError, match="forecast DATA --as-of 2026-07-01"):
        pacing(data, workspace=tmp_path / "ws", forecast_missing=False)


# -- the command -------------------------------------------------------------------------------------
def _invoke(*args: object):
    return CliRunner().invoke(main, ["pacing", *map(str, args)])


def test_cli_table_json_and_errors(half_over, tmp_path):
    data, ws, result = half_over
    r = _invoke(data, "--quarter", "2025Q2", "--as-of", HALF, "--workspace", ws)
    assert r.exit_code == 0, r.output
    assert "== pacing ==" in r.stdout and "== path ==" in r.stdout and "2025-05-16" in r.stdout
    out = tmp_path / "pacing.json"
    r = _invoke(data, "--quarter", "2025Q2", "--as-of", HALF, "--workspace", ws, "--format",
                "json", "--output", out)
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["pacing"][0]["won_to_date"] == pytest.approx(result.summary["won_to_date"].iloc[0])
    assert len(doc["daily"]) == 92 and doc["meta"]["baseline_run"] == result.meta["baseline_run"]
    for args, message in (((data, "--quarter", "2025Q2", "--as-of", START), "not inside 2025Q2"),
                          ((data, "--quarter", "2025Q2", "--as-of", "2025-12-01"), "after the data"),
                          ((data, "--quarter", "2025Q9"), "2025Q9")):
        r = _invoke(*args, "--workspace", ws)
        assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output, r.output
    help_text = _invoke("--help").output
    assert "--as-of" in help_text and "P(>= target)" in help_text


def test_a_start_forecast_from_failed_fits_makes_the_output_unreliable(half_over, tmp_path):
    import shutil

    from partner_forecast.ledger.store import LedgerRun

    data, ws, result = half_over
    copy = shutil.copytree(ws, tmp_path / "ws")
    book = Ledger(copy)
    base = book.run(result.meta["baseline_run"])
    run = LedgerRun(kind="forecast", as_of=base["as_of"], quarters=base["quarters"],
                    data_fingerprint=base["data_fingerprint"], config_fingerprint="failed-fit",
                    version=base["version"], draws=base["draws"], seed=base["seed"],
                    meta={**base["meta"], "diagnostics_ok": False})
    failed_id, _ = book.record(run, base["quantiles"], base["deal_probabilities"])
    again = pacing(data, "2025Q2", as_of=HALF, workspace=copy)
    assert again.meta["baseline_run"] == failed_id and again.meta["diagnostics_ok"] is False
    assert any(failed_id in w for w in again.meta["warnings"])
    r = _invoke(data, "--quarter", "2025Q2", "--as-of", HALF, "--workspace", copy)
    assert r.exit_code == 1 and "UNRELIABLE" in r.output


# -- the report --------------------------------------------------------------------------------------
def test_report_chart_draws_the_band_the_won_line_and_the_target(half_over):
    from matplotlib.text import Text

    from partner_forecast.reports.charts.accuracy import pacing_chart
    from partner_forecast.reports.charts.style import LAYOUTS
    from partner_forecast.reports.readings import pacing_reading

    _, _, result = half_over
    row = result.summary.iloc[0]
    reading = pacing_reading(row)
    assert reading.startswith("2025Q2, day 45 of 91: $") and row["position"] in reading
    assert "given what is won" in reading and "at the quarter's start" in reading
    for layout in LAYOUTS:
        fig = pacing_chart(result.daily, 45, 112_000.0, layout=layout)
        ax = fig.axes[0]
        lines = {line.get_label(): line for line in ax.get_lines()}
        assert "as of 2025-05-16" in lines
        assert list(lines["expected P50"].get_ydata()) == pytest.approx(result.daily["p50"].tolist())
        won = lines["won to date"].get_ydata()
        assert len(won) == 46 and won[-1] == pytest.approx(row["won_to_date"])
        assert float(lines["target"].get_ydata()[0]) == 112_000.0
        assert len(ax.collections) == 1  # the P10-P90 band
        sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert min(sizes) >= layout.text
