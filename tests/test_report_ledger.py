"""The report's variance block on fake fits in a workspace (no module swapped): it reuses the
ledger's forecast of the last closed quarter when there is one, says so, and ``variance=False``
leaves the block out; the committed/upside split and the data-quality block are there.
"""

from __future__ import annotations

import pytest

from partner_forecast.evaluate.fit_cost import missing_fits
from partner_forecast.forecast import forecast
from partner_forecast.reports.executive import build_report
from test_report_fakes import fake_fit_workspace, small_sample


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ledger")
    data = small_sample(tmp / "sample")
    return data, fake_fit_workspace(data, tmp / "ws")


def test_variance_block_reuses_the_ledgers_forecast(setup):
    data, ws = setup
    run = forecast(data, as_of="2025-04-01", quarter="2025Q2", draws=200, seed=1, workspace=ws,
                   record=True, progress=False)
    notes: list[str] = []
    report = build_report(data, draws=200, seed=1, horizon=1, workspace=ws, record=False,
                          notify=notes.append)
    assert any(f"reusing ledger run {run.run_id}" in n for n in notes), notes
    assert not any("making one now" in n or "fitting" in n for n in notes), notes
    waterfall = next(c for c in report.charts() if c.key == "waterfall")
    assert f"Forecast: ledger run {run.run_id} as of 2025-04-01 (recorded " in waterfall.note
    keys = [c.key for c in report.charts()]
    assert {"committed", "quality"} <= set(keys)
    # The forecast history of 2025Q2 (read from the ledger): the run above, with the actual.
    history = next(c for c in report.charts() if c.key == "history_2025Q2")
    assert "with the actual" in history.title and "as of 2025-04-01" in history.reading
    assert "history_2025Q3" not in keys  # the current quarter: not from one run date
    committed = next(c for c in report.charts() if c.key == "committed")
    assert "committed $" in committed.reading and "upside $" in committed.reading
    assert "attributed" in committed.title.lower()
    quality = report.tables()["data_quality"]
    assert list(quality["field"])[:3] == ["partner_id", "partner_type", "partner_role"]
    report.close()


def test_no_variance_leaves_the_block_out_and_fits_nothing_for_it(setup, tmp_path):
    data, ws = setup
    notes: list[str] = []
    report = build_report(data, draws=200, seed=1, horizon=1, workspace=ws, record=False,
                          notify=notes.append, variance=False)
    assert "waterfall" not in [c.key for c in report.charts()]
    assert not any("variance" in n for n in notes)
    assert report.meta["variance"] is False
    report.close()


def test_a_fit_is_announced_only_when_the_fits_are_not_cached(setup, tmp_path):
    from partner_forecast.config import load_settings
    from partner_forecast.data.export import load_export
    from partner_forecast.models import MODEL_CLASSES

    data, ws = setup
    export, settings = load_export(data), load_settings(None)
    assert missing_fits(export, settings, ws, export.default_as_of) == []
    all_models = [cls.name for cls in MODEL_CLASSES]
    assert missing_fits(export, settings, ws, "2024-10-01") == all_models  # no fits at that cut
    assert missing_fits(export, settings, tmp_path / "empty", export.default_as_of) == all_models
