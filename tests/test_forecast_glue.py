"""The forecast pipeline's glue (quarters, won-to-date, targets, ledger) on fabricated posteriors.

The models are a degenerate posterior (DOMAIN.md's 100-seller example) passed as the forecast's
model source (``partner_forecast.testing.fits.DegenerateModels``), so these tests need no MCMC,
have closed-form answers and run the real pipeline.
"""

import numpy as np
import pandas as pd
import pytest

from partner_forecast import forecast as fc
from partner_forecast.calendar import Quarter
from partner_forecast.errors import PartnerForecastError
from partner_forecast.ledger.store import Ledger
from partner_forecast.testing.exports import write_tiny_export
from partner_forecast.testing.fits import DegenerateModels


@pytest.fixture
def fake_models():
    return DegenerateModels()


@pytest.fixture
def tiny(tmp_path):
    return write_tiny_export(tmp_path / "export")


def test_resolve_quarters():
    as_of = pd.Timestamp("2026-11-23")
    sim, rep = fc.resolve_quarters(as_of, None, 2)
    assert [str(q) for q in sim] == ["2026Q4", "2027Q1"] and sim == rep
    sim, rep = fc.resolve_quarters(as_of, "2027Q2", 1)
    assert [str(q) for q in sim] == ["2026Q4", "2027Q1", "2027Q2"]
    assert [str(q) for q in rep] == ["2027Q2"]
    with pytest.raises(PartnerForecastError, match="ended before"):
        fc.resolve_quarters(as_of, "2026Q3", 1)
    with pytest.raises(PartnerForecastError, match="horizon"):
        fc.resolve_quarters(as_of, None, 9)


def test_degenerate_forecast_mean_is_50400(fake_models, tiny, tmp_path):
    quarter_start = Quarter.parse("2026Q4").start
    result = fc.forecast(tiny, as_of=quarter_start, draws=4000, seed=7, workspace=tmp_path / "ws",
                         progress=False, models=fake_models)
    draws = result.draws("attributed")[:, 0, 0]
    se = draws.std() / np.sqrt(len(draws))
    assert abs(draws.mean() - 50_400) < 4 * se
    q = result.quantiles.set_index(["measure", "segment"]).loc[("attributed", "total")]
    assert q["p10"] <= q["p50"] <= q["p90"]
    # Recorded in the ledger with the run's quantiles.
    runs = Ledger(tmp_path / "ws").runs()
    assert list(runs["run_id"]) == [result.run_id]
    assert result.meta["data_fingerprint"] and result.meta["config_fingerprint"]


def test_won_to_date_is_added_to_the_current_quarter(fake_models, tiny, tmp_path):
    from partner_forecast.config import load_settings
    from partner_forecast.data.export import load_export
    from partner_forecast.outcomes import realised

    export = load_export(tiny)
    as_of = export.default_as_of
    quarter = Quarter.containing(as_of)
    won = realised(export, load_settings(), quarter, until=as_of)
    won_total = float(won.loc[won["segment"] == "total", "attributed_arr"].iloc[0])
    a = fc.forecast(tiny, draws=500, seed=1, workspace=tmp_path / "ws", progress=False, record=False,
                    models=fake_models)
    sim_only = a.simulation.attributed[:, 0, 0].astype(float)
    assert np.allclose(a.draws("attributed")[:, 0, 0], sim_only + won_total)
    row = a.quantiles[(a.quantiles["measure"] == "attributed")].iloc[0]
    assert row["mean"] == pytest.approx(sim_only.mean() + won_total, rel=1e-6)


def test_same_seed_same_output_and_targets(fake_models, tiny, tmp_path):
    kw = dict(as_of="2026-10-01", draws=300, workspace=tmp_path / "ws", progress=False,
              record=False, models=fake_models)
    a = fc.forecast(tiny, seed=3, **kw)
    b = fc.forecast(tiny, seed=3, **kw)
    c = fc.forecast(tiny, seed=4, **kw)
    pd.testing.assert_frame_equal(a.quantiles, b.quantiles)
    assert not a.quantiles.equals(c.quantiles)
    if not a.targets.empty:
        assert a.targets["p_at_least_target"].between(0, 1).all()


def test_the_cli_forecasts_with_the_model_source_of_its_context(tiny, tmp_path):
    from click.testing import CliRunner

    from partner_forecast.cli import main

    fitted = []
    models = DegenerateModels(on_fit=lambda export, workspace: fitted.append(workspace))
    args = ["forecast", str(tiny), "--as-of", "2026-10-01", "--draws", "400", "--seed", "2",
            "--workspace", str(tmp_path / "ws"), "--no-ledger", "--format", "json"]
    r = CliRunner().invoke(main, args, obj={"models": models})
    assert r.exit_code == 0, r.output
    assert fitted == [tmp_path / "ws"]
    direct = fc.forecast(tiny, as_of="2026-10-01", draws=400, seed=2, workspace=tmp_path / "ws",
                         progress=False, record=False, models=models)
    p50 = direct.quantiles.loc[direct.quantiles["measure"] == "attributed", "p50"].iloc[0]
    assert f"{p50:.2f}" in r.output or str(round(p50, 2)) in r.output or str(p50) in r.output
