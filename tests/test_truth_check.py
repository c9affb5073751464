"""The truth benchmark's parts: the generator's walk in closed form, and its latent state in sync.

``benchmarks/truth_check.py`` fits models and is not run here; its walk of the generator's
process is checked against closed-form win probabilities (near-deterministic stays), and its
regeneration of the generator's latent state against a generated export read through the
library.
"""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from partner_forecast.data.export import load_export
from partner_forecast.data.sample import generate_sample
from partner_forecast.data.schema import OPEN_STAGES

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "truth_check.py"
CUT, END = 1000, 1091  # a 91-day quarter


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("truth_check_benchmark", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _walk(bench, stage, entered, median_days, logit, duration, n_draws=4000):
    """One type; every stage lasts ``median_days`` (sigma 1e-6) with advance logit ``logit``."""
    S = len(OPEN_STAGES)
    n = len(stage)
    return bench.truth_walk(
        np.asarray(stage), np.asarray(entered), CUT - np.asarray(entered), np.zeros(n, np.int64),
        np.zeros(n), np.full((1, S), logit), np.full(S, duration),
        np.full((1, S), math.log(median_days)), np.full((1, S), 1e-6), 0.0, CUT, END, n_draws,
        np.random.default_rng(7))


def test_truth_walk_matches_closed_form_win_probabilities(bench):
    # Stays of 10 days: a negotiation deal entering at the cut wins on day CUT + 10 with
    # sigmoid(0.4 - 0.5 log(10/30)); a qualified deal needs three advances (3 x 10 days).
    wins = _walk(bench, [3, 1], [CUT, CUT], 10.0, 0.4, -0.5)
    one = _sigmoid(0.4 - 0.5 * math.log(10 / 30))
    assert wins[:, 0].mean() == pytest.approx(one, abs=0.025)
    assert wins[:, 1].mean() == pytest.approx(one**3, abs=0.025)


def test_truth_walk_conditions_the_current_stay_on_its_age_and_drops_late_closes(bench):
    # Entered 50 days before the cut with a 10-day median: the stay lasts (at least) its age,
    # so the deal leaves at the cut with the duration term of 50 days.
    aged = _walk(bench, [3], [CUT - 50], 10.0, 0.4, -0.5)
    assert aged.mean() == pytest.approx(_sigmoid(0.4 - 0.5 * math.log(50 / 30)), abs=0.025)
    # Stays of 200 days end after the quarter: never won in it.
    assert not _walk(bench, [3, 2], [CUT, CUT - 5], 200.0, 3.0, 0.0, n_draws=200).any()


def test_regenerated_open_deals_are_the_exports_open_pipeline(bench, tmp_path):
    truth = generate_sample(tmp_path, partners=6, quarters=5, seed=11)
    assert truth is not None
    export = load_export(tmp_path)
    cut_date = pd.Timestamp("2025-01-01")  # the last quarter's start (window 2024Q1-2025Q1)
    view = export.as_of(cut_date)
    opps = view.opportunities
    open_ = opps[opps["stage"].isin(OPEN_STAGES)].set_index("opportunity_id")["stage"]

    lat = bench.regenerate(6, 5, 11, "default")
    cut = int(lat.cal.bounds[4])
    assert lat.cal.start + pd.Timedelta(days=cut) == cut_date
    deals = bench.open_at_cut(lat, cut).set_index("opportunity_id")
    assert set(deals.index) == set(open_.index) and len(deals) > 0
    stage_names = np.asarray(OPEN_STAGES)[deals["stage"].to_numpy()]
    assert (stage_names == open_.reindex(deals.index).to_numpy()).all()
    # ARR and the realised wins of the full export agree with the regenerated state.
    full = export.opportunities.set_index("opportunity_id").reindex(deals.index)
    assert np.allclose(full["arr"].to_numpy(dtype=float), deals["arr"].to_numpy())
    won_by_end = (full["stage"] == "won").to_numpy()
    assert (won_by_end == ((deals["won_in"] >= 0) & (deals["won_in"] < int(lat.cal.bounds[5]))
                           ).to_numpy()).all()


def test_profiles_that_change_the_walk_are_refused(bench):
    with pytest.raises(ValueError, match="changes the stage walk"):
        bench.regenerate(6, 5, 11, "stage_skips")
    assert bench.main(["--profiles", "stage_skips"]) == 2
