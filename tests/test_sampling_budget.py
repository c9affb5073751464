"""Draws by need and the live sampling bar (no sampling: diagnostics and progress are faked)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest

from partner_forecast.models.diagnostics import Diagnostics
from partner_forecast.models.progress import PROGRESS_ENV, SamplingBar, bars_wanted
from partner_forecast.models.sampling import DRAWS_GROWTH, MANY_SCALARS, draws_needed, first_draws


def _diag(ess_bulk: float, ess_tail: float) -> Diagnostics:
    return Diagnostics(model="m", chains=2, draws=1000, divergences=0, max_rhat=1.0,
                       min_ess_bulk=ess_bulk, min_ess_tail=ess_tail, worst_rhat="a",
                       worst_ess="a", parameters=3, cells=10, compile_seconds=1.0,
                       sample_seconds=1.0, sampler="nutpie")


@pytest.mark.parametrize(("bulk", "tail", "expected"), [
    (300.0, 900.0, 1700),   # 400 / 300 * 1.25 = 1.67x -> 1667 -> 1700
    (390.0, 380.0, 1500),   # a near miss still takes the least step, 1.5x
    (50.0, 900.0, 3000),    # far off: capped at 3x
    (float("nan"), 10.0, 3000),
])
def test_draws_needed_scales_with_the_ess_shortfall(bulk, tail, expected):
    assert draws_needed(1000, _diag(bulk, tail), 400) == expected
    assert DRAWS_GROWTH[0] * 1000 <= expected <= DRAWS_GROWTH[1] * 1000


@dataclass
class _Chain:
    finished_draws: int
    total_draws: int = 300
    started: bool = True
    tuning: bool = True
    divergent_draws: list = field(default_factory=list)


def test_sampling_bar_follows_the_chains(monkeypatch):
    bar = SamplingBar("conversion", total=600)
    bar._bar.fp = io.StringIO()
    bar([_Chain(100), _Chain(50)])
    assert bar._bar.n == 150
    bar([_Chain(300, tuning=False, divergent_draws=[7]), _Chain(250, tuning=False)])
    assert bar._bar.n == 550 and "1 divergent" in bar._bar.postfix
    bar([_Chain(200), _Chain(250)])  # a late callback never moves the bar back
    assert bar._bar.n == 550
    bar.close()


def test_bars_only_where_someone_watches(monkeypatch):
    monkeypatch.setenv(PROGRESS_ENV, "1")
    assert bars_wanted()
    monkeypatch.setenv(PROGRESS_ENV, "0")
    assert not bars_wanted()
    monkeypatch.delenv(PROGRESS_ENV)
    assert not bars_wanted()  # pytest captures stderr: not a terminal


def test_models_with_many_scalars_start_with_twice_the_draws():
    assert first_draws(1000, MANY_SCALARS) == 1000
    assert first_draws(1000, MANY_SCALARS + 1) == 2000


def test_scalars_counts_the_free_parameters(models_export, models_settings):
    from partner_forecast.models.activation import ActivationModel

    model = ActivationModel.from_export(models_export, models_settings)
    point = model._build("auto").initial_point()
    assert model._scalars("auto") == sum(int(a.size) for a in point.values())
    assert model._scalars("auto") > model.spec.size("partner")  # partner + partner-quarter


def test_diagnostics_by_blocks_equal_the_whole_array(monkeypatch):
    import numpy as np

    from partner_forecast.models import diagnostics as dg

    rng = np.random.default_rng(3)
    x = rng.normal(size=(37, 3, 200)).cumsum(axis=2) * 0.05 + rng.normal(size=(37, 3, 200))
    whole = {f: getattr(dg, f)(x) for f in ("rhat_rank", "ess_bulk", "ess_tail")}
    monkeypatch.setattr(dg, "DIAGNOSTIC_BLOCK_VALUES", 5 * 3 * 200)  # blocks of 5 scalars
    assert len(dg._blocks(x)) == 8
    for f, expected in whole.items():
        np.testing.assert_allclose(dg._by_blocks(getattr(dg, f), x), expected, rtol=1e-12)
