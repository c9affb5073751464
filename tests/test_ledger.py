import pandas as pd
import pytest

from partner_forecast.errors import PartnerForecastError
from partner_forecast.ledger.store import Ledger, LedgerRun


def _run(as_of="2026-10-01", quarters=("2026Q4",)):
    return LedgerRun(kind="forecast", as_of=as_of, quarters=list(quarters), data_fingerprint="d",
                     config_fingerprint="c", version="0", draws=10, seed=1)


def _quantiles(q="2026Q4"):
    return pd.DataFrame({"quarter": [q], "segment": ["total"], "measure": ["attributed_arr"],
                         "p10": [1.0], "p50": [2.0], "p90": [3.0], "mean": [2.1]})


def test_append_and_read_back(tmp_path):
    ledger = Ledger(tmp_path)
    deals = pd.DataFrame({"opportunity_id": ["o1"], "quarter": ["2026Q4"], "p_won": [0.4]})
    run_id = ledger.append(_run(), _quantiles(), deals)
    runs = ledger.runs()
    assert list(runs["run_id"]) == [run_id]
    record = ledger.run(run_id)
    assert record["quarters"] == ["2026Q4"]
    assert record["quantiles"]["p50"].tolist() == [2.0]
    assert record["deal_probabilities"]["p_won"].tolist() == [0.4]


def test_interrupted_append_leaves_ledger_unchanged(tmp_path):
    ledger = Ledger(tmp_path)
    first = ledger.append(_run(), _quantiles())
    bad = _quantiles().drop(columns=["p90"])  # fails inside the transaction
    with pytest.raises(KeyError):
        ledger.append(_run(), bad)

    deals = pd.DataFrame({"opportunity_id": ["o1"], "quarter": ["2026Q4"], "p_won": [object()]})
    with pytest.raises(Exception):  # noqa: B017 - sqlite cannot bind an object: rollback
        ledger.append(_run(), _quantiles(), deals)
    assert list(ledger.runs()["run_id"]) == [first]
    record = ledger.run(first)
    assert len(record["quantiles"]) == 1


def test_latest_for_quarter_respects_as_of(tmp_path):
    ledger = Ledger(tmp_path)
    early = ledger.append(_run(as_of="2026-09-01"), _quantiles())
    late = ledger.append(_run(as_of="2026-11-01"), _quantiles())
    assert ledger.latest_for_quarter("2026Q4", pd.Timestamp("2026-10-01")) == early
    assert ledger.latest_for_quarter("2026Q4", pd.Timestamp("2026-12-01")) == late
    assert ledger.latest_for_quarter("2027Q1", pd.Timestamp("2026-12-01")) is None


def test_unknown_run_is_a_user_error(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.append(_run(), _quantiles())
    with pytest.raises(PartnerForecastError, match="no run"):
        ledger.run("nope")


def test_identical_run_is_a_repeat_unless_its_numbers_differ(tmp_path):
    ledger = Ledger(tmp_path)
    first, repeat = ledger.record(_run(), _quantiles())
    assert not repeat
    again, repeat = ledger.record(_run(), _quantiles())
    assert repeat and again == first and len(ledger.runs()) == 1
    changed = _quantiles().assign(p50=[2.5])  # e.g. refitted posteriors: a new forecast
    third, repeat = ledger.record(_run(), changed)
    assert not repeat and third != first
    other_seed = LedgerRun(**{**_run().__dict__, "seed": 2})
    assert not ledger.record(other_seed, _quantiles())[1]
    assert len(ledger.runs()) == 3


def test_runs_list_the_headline(tmp_path):
    ledger = Ledger(tmp_path)
    q = pd.DataFrame({"quarter": ["2026Q4"], "segment": ["total"], "measure": ["attributed"],
                      "p10": [1.0], "p50": [2.0], "p90": [3.0], "mean": [2.1]})
    old = ledger.append(_run(), q)  # a run recorded before headlines: P50 from its quantiles
    meta = {"headline": {"quarter": "2026Q4", "attributed_p50": 2.0, "arr_target": 2.5,
                         "p_at_least_target": 0.3}}
    new = ledger.append(LedgerRun(**{**_run().__dict__, "meta": meta}), q)
    runs = ledger.runs().set_index("run_id")
    assert runs.loc[old, "attributed_p50"] == 2.0 and pd.isna(runs.loc[old, "p_at_least_target"])
    assert runs.loc[new, "p_at_least_target"] == 0.3 and runs.loc[new, "arr_target"] == 2.5
