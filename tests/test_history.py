"""Forecast history: runs of a quarter in as-of order, and drivers of each move that add up.

Two ledgers, both recorded through the library's own code:

- a hand-built one on the tiny export (``Ledger.record`` with chosen per-deal probabilities and
  means), where every driver row is known by hand: O04 won between the first two runs, O05 /
  O06 are expected to close after 2026Q3 (slipped), O08 / O12 are new at the second run, O08 is
  lost before the third;
- forecasts made by ``forecast`` from fake fits saved in a workspace (no module swapped), three
  as-of dates for 2025Q2 of the small sample, whose actual is known.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.cli import main
from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.errors import PartnerForecastError
from partner_forecast.evaluate.history import forecast_history
from partner_forecast.evaluate.history_moves import DRIVERS, TOTAL_DRIVER
from partner_forecast.ledger.store import Ledger, LedgerRun
from partner_forecast.outcomes import realised
from partner_forecast.testing.exports import tiny_export_tables, write_tiny_export

# Attributed values under the default weights (sourced 1, co_sell 0.5, influence_pct as given).
VALUE = {"O04": 60_000 * 0.30, "O05": 120_000.0, "O06": 90_000 * 0.5, "O07": 15_000 * 0.25,
         "O08": 30_000.0, "O09": 18_000.0, "O10": 54_000.0, "O12": 27_000 * 0.5}
# Per-deal P(won in 2026Q3) of three runs (deals open at each as-of date).
P_A = {"O04": 0.6, "O05": 0.5, "O06": 0.3, "O07": 0.2, "O10": 0.4}  # as of 2026-07-01
P_B = {"O05": 0.4, "O06": 0.1, "O07": 0.25, "O08": 0.3, "O10": 0.5, "O12": 0.2}  # 2026-08-01
P_C = {"O05": 0.3, "O06": 0.05, "O07": 0.3, "O09": 0.1, "O10": 0.8, "O12": 0.1}  # 2026-09-05
NEW = {"A": 30_000.0, "B": 20_000.0, "C": 5_000.0}  # expected ARR of deals not yet created
WTD = {"A": 0.0, "B": VALUE["O04"] + 500.0, "C": VALUE["O04"] + 500.0}  # won to date (+500 revised)
RESIDUAL = {"A": 100.0, "B": 50.0, "C": 0.0}  # simulated mean minus the per-deal expectation


def _expected(p: dict[str, float]) -> float:
    return sum(prob * VALUE[d] for d, prob in p.items())


def _mean(key: str, p: dict[str, float]) -> float:
    return WTD[key] + _expected(p) + NEW[key] + RESIDUAL[key]


def _record(ledger: Ledger, key: str, as_of: str, p: dict[str, float], *, kind: str = "forecast",
            quarters: tuple[str, ...] = ("2026Q3",), config: str = "c1",
            meta: dict | None = None) -> str:
    label = quarters[0]
    mean = _mean(key, p)
    rows = [("attributed", 0.6 * mean, 0.95 * mean, 1.4 * mean, mean),
            ("attributed_open", 0.0, 0.0, 0.0, _expected(p) + RESIDUAL[key]),
            ("attributed_new", 0.0, 0.0, 0.0, NEW[key])]
    if WTD[key]:
        rows.append(("won_to_date", WTD[key], WTD[key], WTD[key], WTD[key]))
    quantiles = pd.DataFrame([(label, "total", *r) for r in rows],
                             columns=["quarter", "segment", "measure", "p10", "p50", "p90", "mean"])
    deals = pd.DataFrame({"opportunity_id": list(p), "quarter": label, "p_won": list(p.values())})
    run = LedgerRun(kind=kind, as_of=as_of, quarters=list(quarters), data_fingerprint=f"d-{as_of}",
                    config_fingerprint=config, version="1.0", draws=100, seed=1,
                    name="push" if kind == "scenario" else None, meta=meta)
    run_id, repeat = ledger.record(run, quantiles, deals)
    assert not repeat
    return run_id


@pytest.fixture
def hand_ledger(tmp_path):
    tables = tiny_export_tables()
    opps = tables["opportunities"]
    opps.loc[opps["opportunity_id"] == "O08", "partner_role"] = "sourced"  # worth 30,000 attributed
    data = write_tiny_export(tmp_path / "tiny", tables)
    ws = tmp_path / "ws"
    ledger = Ledger(ws)
    grid = {"total_levels": [0.0, 50.0, 100.0], "segment_levels": [0.0, 100.0],
            "quarters": {"2026Q3": {"total": [0.0, 100_000.0, 200_000.0], "segments": {}}}}
    # Recorded out of as-of order, with a scenario and another quarter's forecast beside them.
    ids = {"C": _record(ledger, "C", "2026-09-05", P_C, config="c2")}
    ids["A"] = _record(ledger, "A", "2026-07-01", P_A, meta={"headline": {
        "quarter": "2026Q3", "attributed_p50": 1.0, "arr_target": 150_000.0,
        "p_at_least_target": 0.4}})
    ids["B"] = _record(ledger, "B", "2026-08-01", P_B, meta={"attributed_percentiles": grid})
    ids["scenario"] = _record(ledger, "B", "2026-08-01", P_B, kind="scenario")
    ids["Q4"] = _record(ledger, "A", "2026-07-01", {"O05": 0.2}, quarters=("2026Q4",))
    return data, ws, ids


def test_runs_in_as_of_order_with_targets_refits_and_no_actual_yet(hand_ledger):
    data, ws, ids = hand_ledger
    result = forecast_history(data, "2026Q3", workspace=ws)
    runs = result.runs
    assert list(runs["run_id"]) == [ids["A"], ids["B"], ids["C"]]  # scenario and Q4 left out
    assert list(runs["as_of"]) == ["2026-07-01", "2026-08-01", "2026-09-05"]
    assert runs["mean"].tolist() == pytest.approx([_mean(k, p) for k, p in
                                                   (("A", P_A), ("B", P_B), ("C", P_C))])
    # P(>= target): recorded (A); read off the recorded grid (B: 150k is the 75th percentile);
    # none without either (C), the export's target beside it.
    assert runs["p_at_least_target"].iloc[0] == 0.4 and runs["target_source"].iloc[0] == "recorded"
    assert runs["p_at_least_target"].iloc[1] == pytest.approx(0.25)
    assert runs["target_source"].iloc[1] == "from recorded percentiles"
    assert np.isnan(runs["p_at_least_target"].iloc[2]) and runs["arr_target"].iloc[2] == 150_000.0
    assert list(runs["refit"]) == ["first run", "yes (data)", "yes (data, config)"]
    assert list(result.moves["what_changed"]) == ["data", "data, config"]
    assert result.moves["refit"].all()
    # 2026Q3 is not closed in the tiny export (as of 2026-09-29): no actual, and it says so.
    assert runs["actual"].isna().all() and not result.meta["quarter_closed"]
    assert any("not closed" in w for w in result.meta["warnings"])


def test_each_planted_deal_lands_in_its_row_and_the_rows_add_up(hand_ledger):
    data, ws, ids = hand_ledger
    drivers = forecast_history(data, "2026Q3", workspace=ws).drivers
    ab = drivers[drivers["to_run"] == ids["B"]].set_index("driver")
    assert list(ab.index) == [d for d, _ in DRIVERS] + [TOTAL_DRIVER]

    def change(d, p0, p1):
        return p1.get(d, 0.0) * VALUE[d] - p0.get(d, 0.0) * VALUE[d]

    # A (07-01) -> B (08-01): O04 won 07-14; O05 and O06 expected after the quarter; O07 and
    # O10 moved stage; O08 and O12 created since.
    assert ab.loc["won", "value"] == pytest.approx((1 - P_A["O04"]) * VALUE["O04"])
    assert ab.loc["won", "deals"] == 1 and ab.loc["won", "top_deals"].startswith("O04 (+$")
    assert ab.loc["slipped", "value"] == pytest.approx(change("O05", P_A, P_B)
                                                       + change("O06", P_A, P_B))
    assert ab.loc["stage moved", "value"] == pytest.approx(change("O07", P_A, P_B)
                                                           + change("O10", P_A, P_B))
    assert ab.loc["new deals", "value"] == pytest.approx(P_B["O08"] * VALUE["O08"]
                                                         + P_B["O12"] * VALUE["O12"])
    assert ab.loc["new deals", "deals"] == 2
    assert ab.loc["new pipeline to come", "value"] == pytest.approx(NEW["B"] - NEW["A"])
    assert ab.loc["won-to-date revisions", "value"] == pytest.approx(500.0)
    assert ab.loc["simulation residual", "value"] == pytest.approx(RESIDUAL["B"] - RESIDUAL["A"])
    for row in ("lost", "won in another quarter", "dropped", "same stage"):
        assert ab.loc[row, "value"] == 0.0 and ab.loc[row, "deals"] == 0
    total = _mean("B", P_B) - _mean("A", P_A)
    assert ab.loc[TOTAL_DRIVER, "value"] == pytest.approx(total)
    assert ab["value"].iloc[:-1].sum() == pytest.approx(total, abs=1e-9)

    # B (08-01) -> C (09-05): O08 lost 09-02; O07 still qualified; O10 moved; O09 new.
    bc = drivers[drivers["to_run"] == ids["C"]].set_index("driver")
    assert bc.loc["lost", "value"] == pytest.approx(-P_B["O08"] * VALUE["O08"])
    assert bc.loc["same stage", "value"] == pytest.approx(change("O07", P_B, P_C))
    assert "refit: data, config changed" in bc.loc["same stage", "description"]
    assert bc.loc["stage moved", "value"] == pytest.approx(change("O10", P_B, P_C))
    assert bc.loc["slipped", "deals"] == 3  # O05, O06, O12
    assert bc.loc["new deals", "value"] == pytest.approx(P_C["O09"] * VALUE["O09"])
    assert bc["value"].iloc[:-1].sum() == pytest.approx(_mean("C", P_C) - _mean("B", P_B), abs=1e-9)


def test_between_compares_any_two_runs(hand_ledger):
    data, ws, ids = hand_ledger
    result = forecast_history(data, "2026Q3", workspace=ws, between=(ids["A"], ids["C"]))
    assert len(result.moves) == 1 and result.moves["to_run"].iloc[0] == ids["C"]
    d = result.drivers.set_index("driver")
    # O04 won, O08 never in A and gone (lost) by C: not a driver of A -> C.
    assert d.loc["won", "value"] == pytest.approx((1 - P_A["O04"]) * VALUE["O04"])
    assert d.loc["new deals", "deals"] == 2  # O09, O12
    assert d["value"].iloc[:-1].sum() == pytest.approx(_mean("C", P_C) - _mean("A", P_A), abs=1e-9)
    swapped = forecast_history(data, "2026Q3", workspace=ws, between=(ids["C"], ids["A"]))
    assert swapped.moves["from_run"].iloc[0] == ids["A"]  # from the earlier run, said so
    assert swapped.drivers["value"].tolist() == pytest.approx(result.drivers["value"].tolist())
    assert any("is the earlier of the two" in w for w in swapped.meta["warnings"])
    with pytest.raises(PartnerForecastError, match="--between: run .* is a scenario run"):
        forecast_history(data, "2026Q3", workspace=ws, between=(ids["A"], ids["scenario"]))
    with pytest.raises(PartnerForecastError, match="does not forecast 2026Q3"):
        forecast_history(data, "2026Q3", workspace=ws, between=(ids["A"], ids["Q4"]))


# -- the CLI: bad input ---------------------------------------------------------------------------
def _invoke(*args: str):
    return CliRunner().invoke(main, ["history", *map(str, args)])


def test_empty_or_missing_ledger_and_unknown_quarter_exit_2(hand_ledger, tmp_path):
    data, ws, ids = hand_ledger
    empty = tmp_path / "nothing"
    r = _invoke(data, "--workspace", empty)
    assert r.exit_code == 2 and "no forecast ledger" in r.output and "--workspace" in r.output
    assert "Traceback" not in r.output and not empty.exists()  # nothing created by a read
    only_scenarios = tmp_path / "scen"
    _record(Ledger(only_scenarios), "A", "2026-07-01", P_A, kind="scenario")
    r = _invoke(data, "--workspace", only_scenarios, "--quarter", "2026Q3")
    assert r.exit_code == 2 and "holds no forecast runs" in r.output
    r = _invoke(data, "--workspace", ws, "--quarter", "2025Q1")
    assert r.exit_code == 2 and "no forecast run of 2025Q1" in r.output
    assert "(--quarter)" in r.output and "2026Q3, 2026Q4" in r.output
    r = _invoke(data, "--workspace", ws, "--quarter", "2026Q3", "--by", "tier")
    assert r.exit_code == 2 and "segmented by tier" in r.output and "(--by)" in r.output
    r = _invoke(data, "--workspace", ws, "--quarter", "2026Q3", "--between", ids["A"], "nope")
    assert r.exit_code == 2 and "--between: no run 'nope'" in r.output
    r = _invoke(data, "--workspace", ws, "--quarter", "20263")
    assert r.exit_code == 2 and "--quarter" in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)


# -- fake fits through the real forecast path ----------------------------------------------------
AS_OF = ("2025-03-15", "2025-04-01", "2025-05-15")


@pytest.fixture(scope="module")
def forecast_ledger(tmp_path_factory):
    from partner_forecast.forecast import forecast
    from test_report_fakes import fake_fit_workspace, small_sample

    tmp = tmp_path_factory.mktemp("history")
    data = small_sample(tmp / "sample")
    ws = fake_fit_workspace(data, tmp / "ws", cuts=tuple(pd.Timestamp(d) for d in AS_OF))
    ids = []
    for as_of in reversed(AS_OF):  # recorded newest first: listed by as-of all the same
        run = forecast(data, as_of=as_of, quarter="2025Q2", draws=200, seed=1, workspace=ws,
                       record=True, progress=False)
        ids.append(run.run_id)
    return data, ws, ids[::-1]


def test_forecast_runs_give_rows_in_order_the_actual_and_exact_drivers(forecast_ledger):
    data, ws, ids = forecast_ledger
    result = forecast_history(data, "2025Q2", workspace=ws)
    runs = result.runs
    assert list(runs["run_id"]) == ids and list(runs["as_of"]) == list(AS_OF)
    export = load_export(data)
    actual = realised(export, load_settings(None), result_quarter(result))
    assert runs["actual"].tolist() == pytest.approx([actual["attributed_arr"].iloc[-1]] * 3)
    assert ((runs["percentile"] >= 0) & (runs["percentile"] <= 100)).all()
    assert runs["p_at_least_target"].notna().all()  # the sample has targets: headline recorded
    assert (runs["data_fingerprint"].str.len() == 16).all() and runs["version"].notna().all()
    moves, drivers = result.moves, result.drivers
    assert len(moves) == 2 and moves["refit"].all()
    for move in moves.itertuples():
        d = drivers[drivers["to_run"] == move.to_run]
        assert d["value"].iloc[:-1].sum() == pytest.approx(move.mean_change, abs=1e-6)
        lines = d.set_index("driver")["value"]
        scale = max(abs(move.mean_from), abs(move.mean_to))
        # The per-deal bookkeeping matches the simulation: what the drivers cannot place is
        # float rounding, and the won-to-date recorded equals the wins found in the export.
        assert abs(lines["simulation residual"]) < 1e-6 * scale
        assert abs(lines["won-to-date revisions"]) < 1e-6 * scale


def result_quarter(result):
    from partner_forecast.calendar import Quarter

    return Quarter.parse(result.quarter)


def test_cli_json_and_csv_parse_back(forecast_ledger, tmp_path):
    data, ws, ids = forecast_ledger
    out = tmp_path / "history.json"
    r = _invoke(data, "--quarter", "2025Q2", "--workspace", ws, "--format", "json", "--output", out)
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert [row["run_id"] for row in doc["runs"]] == ids
    assert doc["meta"]["quarter"] == "2025Q2" and doc["meta"]["quarter_closed"] is True
    for move in doc["moves"]:
        rows = [d for d in doc["drivers"] if d["to_run"] == move["to_run"]]
        assert rows[-1]["driver"] == TOTAL_DRIVER
        assert sum(d["value"] for d in rows[:-1]) == pytest.approx(move["mean_change"], abs=1e-6)
    r = _invoke(data, "--quarter", "2025Q2", "--workspace", ws, "--format", "csv")
    assert r.exit_code == 0
    sections: dict[str, list[str]] = {}
    name = None
    for line in r.stdout.splitlines():
        if line.startswith("# table: "):
            name = line.removeprefix("# table: ")
            sections[name] = []
        elif name is not None and not line.startswith("#"):
            sections[name].append(line)
    assert set(sections) == {"runs", "moves", "drivers"}
    runs = pd.read_csv(io.StringIO("\n".join(sections["runs"])))
    assert list(runs["run_id"]) == ids
    assert runs["p50"].tolist() == pytest.approx([row["p50"] for row in doc["runs"]])
    drivers = pd.read_csv(io.StringIO("\n".join(sections["drivers"])))
    assert len(drivers) == 2 * (len(DRIVERS) + 1)
    r = _invoke(data, "--quarter", "2025Q2", "--workspace", ws)
    assert r.exit_code == 0 and "== drivers ==" in r.stdout and "slipped" in r.stdout


def test_report_chart_draws_the_band_and_the_actual_at_both_widths(forecast_ledger):
    from matplotlib.text import Text

    from partner_forecast.reports.charts.accuracy import history_band_chart
    from partner_forecast.reports.charts.style import LAYOUTS
    from partner_forecast.reports.readings import history_reading

    data, ws, ids = forecast_ledger
    result = forecast_history(data, "2025Q2", workspace=ws)
    actual = result.meta["actual_total"]
    reading = history_reading(result.runs, "2025Q2", actual)
    first, last = result.runs.iloc[0], result.runs.iloc[-1]
    assert reading.startswith(f"2025Q2: P50 moved from ${first['p50'] / 1000:,.1f}k (as of 2025-03-15)")
    where = ("below the P10" if actual < last["p10"] else "above the P90" if actual > last["p90"]
             else "inside the P10-P90")
    assert f"{where} of the last one" in reading
    for layout in LAYOUTS:
        fig = history_band_chart(result.runs, actual, 112_000.0, layout=layout)
        ax = fig.axes[0]
        flat = [line for line in ax.get_lines() if len(set(line.get_ydata())) == 1]
        assert sorted(float(line.get_ydata()[0]) for line in flat) == pytest.approx(
            sorted([actual, 112_000.0]))
        p50 = next(line for line in ax.get_lines() if line.get_label() == "P50 of each run")
        assert list(p50.get_ydata()) == pytest.approx(result.runs["p50"].tolist())
        sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert min(sizes) >= layout.text
    one = history_band_chart(result.runs.iloc[:1], None, None)  # one run: a whisker, no band
    assert len(one.axes[0].collections) == 1
