"""A scenario run that reuses its baseline's open pipeline equals a full run, array for array."""

from __future__ import annotations

import numpy as np
import pytest

from partner_forecast.simulate import Levers, SegmentSpec, simulate
from partner_forecast.simulate.result import ARR_FIELDS
from partner_forecast.testing.posteriors import random_inputs


def _same(a, b) -> None:
    for name in ARR_FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    for name in a.drivers:
        np.testing.assert_array_equal(a.drivers[name], b.drivers[name], err_msg=name)
    np.testing.assert_array_equal(a.deal_win_probability, b.deal_win_probability)


@pytest.fixture(scope="module")
def inputs():
    return random_inputs(11, n_draws=48, n_partners=6, n_open=300, horizon=3, mid_quarter=True)


@pytest.mark.parametrize("levers, reused", [
    (Levers(asr_multiplier=1.4), True),
    (Levers(productivity_multiplier=1.2, deal_size_multiplier=1.1, pool_add=3), True),
    (Levers(win_odds_multiplier=1.3), False),
    (Levers(time_in_stage_multiplier=0.9), False),
])
def test_reused_open_pipeline_equals_a_full_run(inputs, levers, reused):
    spec = SegmentSpec.by(inputs, "partner_type")
    base = simulate(inputs, seed=4, segments=spec, keep_open=True, chunk_draws=20)
    full = simulate(inputs, seed=4, segments=spec, levers=levers)
    fast = simulate(inputs, seed=4, segments=spec, levers=levers, reuse=base)
    _same(fast, full)
    # the open part is reused exactly when the levers cannot reach open deals
    assert (base.open_part.fingerprint == simulate(inputs, seed=4, segments=spec, levers=levers,
                                                  keep_open=True).open_part.fingerprint) is reused


def test_reuse_needs_the_same_seed_draws_and_segments(inputs):
    base = simulate(inputs, seed=4, keep_open=True)
    for other in (simulate(inputs, seed=5, reuse=base), simulate(inputs, seed=5)):
        assert not np.array_equal(other.attributed_open, base.attributed_open)
    split = SegmentSpec.by(inputs, "tier")
    _same(simulate(inputs, seed=4, segments=split, reuse=base), simulate(inputs, seed=4, segments=split))
    fewer = inputs.replace(**{k: getattr(inputs, k)[:30] for k in (
        "asr", "opp_rate", "opp_dispersion", "adv_logit", "adv_partner", "adv_beta", "adv_duration",
        "shock_sigma", "time_mu", "time_sigma", "size_mu", "size_role", "size_sigma", "size_nu")})
    _same(simulate(fewer, seed=4, reuse=base), simulate(fewer, seed=4))


def test_a_partner_without_open_deals_changes_nothing_open(inputs):
    """Levers on partners without open deals (e.g. recruits) leave the open part reusable."""
    deals = inputs.open_deals
    idle = sorted(set(range(len(inputs.partner_ids))) - set(deals["partner"]))
    quiet = inputs if idle else inputs.replace(open_deals=deals[deals["partner"] != 0])
    idle = idle or [0]
    odds = np.ones((len(quiet.partner_ids), 4))
    odds[idle] = 2.0
    base = simulate(quiet, seed=2, keep_open=True)
    fast = simulate(quiet, seed=2, levers=Levers(win_odds_multiplier=odds), reuse=base)
    again = simulate(quiet, seed=2, levers=Levers(win_odds_multiplier=odds), keep_open=True)
    assert again.open_part.fingerprint == base.open_part.fingerprint
    _same(fast, simulate(quiet, seed=2, levers=Levers(win_odds_multiplier=odds)))
    assert base.total().open_part is None
