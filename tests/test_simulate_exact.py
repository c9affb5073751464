"""Monte Carlo engine against closed-form answers on fabricated (degenerate) posteriors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from partner_forecast.config import AttributionSettings
from partner_forecast.data.schema import ROLES
from partner_forecast.simulate import SegmentSpec, _walk, simulate
from partner_forecast.simulate._rng import subkey
from partner_forecast.simulate.engine import _calendar, _cumulative
from partner_forecast.testing.posteriors import (
    degenerate_inputs,
    logit,
    open_deals_frame,
    random_inputs,
)

Z = 4.5  # Monte Carlo tolerance in standard errors


def within_mc(draws: np.ndarray, expected: float, z: float = Z) -> None:
    se = draws.std(ddof=1) / np.sqrt(draws.size)
    assert abs(draws.mean() - expected) <= z * se + 1e-9 * abs(expected), (draws.mean(), expected, se)


# -- DOMAIN.md section 3: the 100-seller example ------------------------------------------------
def test_hundred_sellers_give_50400():
    result = simulate(degenerate_inputs(), seed=1)
    arr = result.attributed[:, 0, 0].astype(np.float64)
    within_mc(arr, 100 * 0.15 * 4 * 0.2 * 4200)  # 50,400
    means = result.driver_means().iloc[0]
    assert means["new_active_sellers"] == pytest.approx(15, rel=0.02)
    assert means["new_opportunities"] == pytest.approx(60, rel=0.02)
    assert means["new_won_deals"] == pytest.approx(12, rel=0.03)


def test_asr_15_to_20_percent_adds_a_third():
    base = simulate(degenerate_inputs(), seed=2).attributed[:, 0, 0].astype(np.float64)
    more = simulate(degenerate_inputs(asr=0.20), seed=2).attributed[:, 0, 0].astype(np.float64)
    within_mc(more, 67_200)
    ratio = more.mean() / base.mean()
    assert ratio == pytest.approx(4 / 3, abs=0.03)
    assert np.all(more >= base)  # common random numbers: more active sellers, never fewer deals


def test_new_pipeline_in_a_partial_quarter_scales_with_the_days_left():
    inputs = degenerate_inputs(as_of="2026-11-15")  # 47 of 92 days of 2026Q4 left
    arr = simulate(inputs, seed=3).attributed[:, 0, 0].astype(np.float64)
    within_mc(arr, 50_400 * 47 / 92)


# -- open pipeline: stage-weighted expectation ------------------------------------------------
def test_open_deals_match_the_stage_weighted_expectation():
    adv = np.array([0.6, 0.7, 0.8, 0.9])
    p_win = np.array([np.prod(adv[s:]) for s in range(4)])  # P(won | at stage s)
    stages = np.repeat(np.arange(4), 10)
    arr = np.linspace(5_000, 50_000, stages.size)
    roles = np.resize(np.array(ROLES), stages.size)
    deals = open_deals_frame(stage=stages, arr=arr, role=roles, influence_share=0.3)
    inputs = degenerate_inputs(pool=0, stage_advance=adv, open_deals=deals)
    result = simulate(inputs, seed=4)
    expected = float(np.sum(p_win[stages] * deals["arr"] * deals["attribution"]))
    within_mc(result.attributed_open[:, 0, 0].astype(np.float64), expected)
    assert np.all(result.attributed_new == 0)
    # per-deal probabilities of closing won this quarter
    se = np.sqrt(p_win[stages] * (1 - p_win[stages]) / inputs.n_draws)
    assert np.all(np.abs(result.deal_win_probability[:, 0] - p_win[stages]) <= Z * se + 1e-12)
    frame = result.deal_probabilities()
    assert list(frame.columns) == ["opportunity_id", "2026Q4", "horizon"]


def test_attribution_weights_are_exact():
    deals = open_deals_frame(role=list(ROLES), arr=[100_000.0] * 4, influence_share=0.3)
    inputs = degenerate_inputs(pool=0, stage_advance=[1, 1, 1, 1], open_deals=deals, n_draws=50)
    result = simulate(inputs, seed=5, segments=SegmentSpec.by(inputs, "partner_role"))
    assert result.segments == ROLES
    expected = np.array([100_000.0, 50_000.0, 30_000.0, 0.0])
    assert np.all(result.attributed_open[:, 0, :] == expected)
    assert np.all(result.gross_open[:, 0, :] == 100_000.0)


@pytest.mark.parametrize("role", ROLES)
def test_new_deal_attribution_by_role(role):
    settings = AttributionSettings(sourced=1.0, co_sell=0.5, influenced=0.2, fulfillment=0.0)
    inputs = degenerate_inputs(role=role, influence_share=0.3, n_draws=200)
    gross = simulate(inputs, seed=6, attribution=settings).gross_new
    attributed = simulate(inputs, seed=6, attribution=settings).attributed_new
    weight = {"sourced": 1.0, "co_sell": 0.5, "influenced": 0.3, "fulfillment": 0.0}[role]
    assert gross.sum() > 0
    np.testing.assert_allclose(attributed, gross * weight, rtol=1e-6)
    no_pct = settings.model_copy(update={"use_influence_pct": False})
    if role == "influenced":
        attributed = simulate(inputs, seed=6, attribution=no_pct).attributed_new
        np.testing.assert_allclose(attributed, gross * 0.2, rtol=1e-6)


def test_committed_and_upside_follow_the_commit_factor():
    deals = open_deals_frame(arr=[10_000.0, 20_000.0, 40_000.0], commit_factor=[1.0, 0.75, 0.0],
                             stage="negotiation")
    inputs = degenerate_inputs(pool=0, stage_advance=[1, 1, 1, 1], open_deals=deals, n_draws=20)
    result = simulate(inputs, seed=7)
    assert np.all(result.committed[:, 0, 0] == 10_000 + 15_000)
    assert np.all(result.upside[:, 0, 0] == 5_000 + 40_000)


def test_marketplace_and_expansion_are_attributed_subsets():
    deals = open_deals_frame(arr=[10_000.0, 20_000.0], role=["co_sell", "sourced"],
                             marketplace=[True, False], is_expansion=[False, True])
    inputs = degenerate_inputs(pool=0, stage_advance=[1, 1, 1, 1], open_deals=deals, n_draws=10)
    result = simulate(inputs, seed=8)
    assert np.all(result.marketplace[:, 0, 0] == 5_000)
    assert np.all(result.expansion[:, 0, 0] == 20_000)
    new = simulate(degenerate_inputs(marketplace_rate=0.25, expansion_rate=0.5), seed=9)
    share_m = new.marketplace.sum() / new.attributed_new.sum()
    share_e = new.expansion.sum() / new.attributed_new.sum()
    assert share_m == pytest.approx(0.25, abs=0.02)
    assert share_e == pytest.approx(0.5, abs=0.02)


# -- timing: the semi-Markov path -------------------------------------------------------------
def _last_stage_inputs(age, *, median_days, sigma, adv_logit, adv_duration, quarters, n_draws=4000):
    deals = open_deals_frame(stage="negotiation", days_in_stage=age, arr=1.0)
    inputs = degenerate_inputs(pool=0, open_deals=deals, n_draws=n_draws, quarters=quarters,
                               duration_days=median_days, time_sigma=sigma)
    adv = inputs.adv_logit.copy()
    adv[..., 3] = adv_logit
    dur = inputs.adv_duration.copy()
    dur[:, 3] = adv_duration
    return inputs.replace(adv_logit=adv, adv_duration=dur)


def _p_win_lingering(age, median_days, sigma, alpha, beta):
    """P(won | in negotiation for `age` days) by quadrature over the truncated log-normal."""
    mu = np.log(median_days)

    def integrand(z):
        d = np.exp(mu + sigma * z)
        return special.expit(alpha + beta * np.log(d / 30.0)) * stats.norm.pdf(z)

    a = (np.log(age) - mu) / sigma if age > 0 else -np.inf
    num, _ = integrate.quad(integrand, max(a, -12.0), max(a, 0.0) + 12.0)
    return num / stats.norm.sf(a)


def test_lingering_deals_win_less_and_match_quadrature():
    quarters = [f"2026Q{q}" for q in (1, 2, 3, 4)] + [f"2027Q{q}" for q in (1, 2, 3, 4)]
    ages = np.array([0.0, 0.0, 90.0, 90.0, 400.0, 400.0])
    inputs = _last_stage_inputs(np.repeat(ages, 50), median_days=20.0, sigma=0.6, adv_logit=1.0,
                                adv_duration=-1.0, quarters=quarters, n_draws=400)
    result = simulate(inputs, seed=10)
    p = result.deal_win_probability.sum(axis=1)  # won within the 8 quarters
    # Nearly all decided within the 8 quarters (~730 days): a deal 400 days into a stage of
    # median 20 days (sd 0.6 in logs) stays open past day 1,130 with probability
    # sf(6.72) / sf(4.99) = 3e-5, about one of its 40,000 deal-draws.
    assert result.drivers["open_still_open"][:, -1].sum() <= 5
    by_age = {a: p[np.repeat(ages, 50) == a].mean() for a in (0.0, 90.0, 400.0)}
    assert by_age[0.0] > by_age[90.0] > by_age[400.0]
    for age, sim in by_age.items():
        exact = _p_win_lingering(age, 20.0, 0.6, 1.0, -1.0)
        n = 100 * inputs.n_draws
        assert abs(sim - exact) <= Z * np.sqrt(exact * (1 - exact) / n), (age, sim, exact)


def test_long_durations_slip_past_the_quarter():
    quarters = ["2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    inputs = _last_stage_inputs(np.zeros(20), median_days=150.0, sigma=0.3, adv_logit=40.0,
                                adv_duration=0.0, quarters=quarters)
    result = simulate(inputs, seed=11)
    ends = np.cumsum([90, 91, 92, 92])  # 2026Q1 starts the simulation
    cdf = stats.norm.cdf((np.log(ends) - np.log(150.0)) / 0.3)
    expected = np.diff(np.concatenate([[0.0], cdf]))
    got = result.deal_win_probability.mean(axis=0)
    se = np.sqrt(expected * (1 - expected) / (20 * inputs.n_draws))
    assert np.all(np.abs(got - expected) <= Z * se + 1e-4), (got, expected)
    assert got[0] < 0.05 < got[1]  # a 150-day median stage seldom closes within the first 90 days
    still = result.drivers["open_still_open"].mean(axis=0)
    np.testing.assert_allclose(still, 20 * (1 - cdf), atol=0.5)
    # discovery deals with four such stages cannot close within the year
    deals = open_deals_frame(stage="discovery", arr=1.0, n=20)
    far = simulate(inputs.replace(open_deals=deals), seed=11)
    assert far.deal_win_probability[:, :2].max() == 0.0


def test_quarter_shock_is_shared_by_all_deals():
    deals = open_deals_frame(stage="negotiation", arr=1.0, n=400)
    calm = degenerate_inputs(pool=0, open_deals=deals, n_draws=400, stage_advance=[.5] * 4)
    stormy = calm.replace(shock_sigma=np.full(calm.n_draws, 1.0))
    wins_calm = simulate(calm, seed=12).attributed_open[:, 0, 0]
    wins_storm = simulate(stormy, seed=12).attributed_open[:, 0, 0]
    assert wins_calm.var() == pytest.approx(400 * 0.25, rel=0.25)  # binomial
    assert wins_storm.var() > 20 * wins_calm.var()  # one shock moves every deal together


def test_stage_skips_follow_the_jump_probabilities():
    """Closed form: from qualified, half the advances go straight to won."""
    a = np.array([0.9, 0.6, 0.7, 0.8])  # P(advance | leave discovery .. negotiation)
    deals = open_deals_frame(stage="qualified", arr=1.0, n=4000)
    inputs = degenerate_inputs(pool=0, open_deals=deals, n_draws=400, stage_advance=a)
    jumps = np.zeros((inputs.n_draws, len(inputs.types), 4, 4))
    jumps[..., 0] = 1.0
    jumps[:, :, 1, :] = [0.5, 0.0, 0.5, 0.0]  # qualified -> proposal or won (j = 2)
    skipped = inputs.replace(jump_probs=jumps).check()
    expected = a[1] * (0.5 + 0.5 * a[2] * a[3])
    mean_wins = simulate(skipped, seed=5).attributed_open[:, 0, 0].mean() / 4000
    assert mean_wins == pytest.approx(expected, abs=0.005)
    plain = simulate(inputs, seed=5).attributed_open[:, 0, 0].mean() / 4000
    assert plain == pytest.approx(a[1] * a[2] * a[3], abs=0.005)


def test_new_deals_start_in_the_entry_stage():
    """All new deals created in negotiation: P(won) is the negotiation rate alone."""
    a = np.array([0.5, 0.5, 0.5, 0.8])
    inputs = degenerate_inputs(stage_advance=a, n_draws=400)
    entry = np.zeros((len(inputs.types), 4))
    entry[:, 3] = 1.0
    late = simulate(inputs.replace(entry_probs=entry), seed=3).attributed_new[:, 0, 0].mean()
    base = simulate(inputs, seed=3).attributed_new[:, 0, 0].mean()
    assert late / base == pytest.approx(0.8 / 0.5 ** 3 / 0.8, rel=0.05)


def test_jump_probabilities_are_checked():
    inputs = degenerate_inputs(n_draws=4)
    bad = np.zeros((4, len(inputs.types), 4, 4))
    bad[..., 3] = 1.0  # from negotiation, j = 3 lies beyond 'won'
    with pytest.raises(ValueError, match="jump_probs"):
        inputs.replace(jump_probs=bad).check()


# -- the grouped walk computes exactly what the per-deal reference walk computes ---------------
def _random_jumps(rng: np.random.Generator, D: int, T: int, S: int) -> np.ndarray:
    """Dirichlet destination probabilities, zero beyond 'won' (j > S - 1 - s)."""
    jumps = rng.dirichlet(np.ones(S), size=(D, T, S))
    beyond = np.arange(S)[None, :] > (S - 1 - np.arange(S))[:, None]
    jumps[..., beyond] = 0.0
    return jumps / jumps.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("levers", [False, True])
@pytest.mark.parametrize("jumps", [False, True])
def test_grouped_walk_equals_reference_walk(levers, jumps):
    inputs = random_inputs(3, n_draws=3, n_partners=5, n_open=3000, horizon=3, mid_quarter=True)
    ends, _, offset = _calendar(inputs)
    rng = np.random.default_rng(1)
    N, P, S, H = 3000, 5, 4, 3
    T = len(inputs.types)
    keys = np.array([subkey(np.uint64(99), n) for n in range(N)], dtype=np.uint64)
    part = rng.integers(0, P, N)
    typ = inputs.partner_type[part].astype(np.int64)
    stage = rng.integers(0, S, N)
    t0 = np.where(rng.random(N) < 0.5, 0.0, rng.uniform(0, 100, N))
    age = np.where(rng.random(N) < 0.3, 0.0, rng.exponential(40, N))
    age[:20] = 1e4  # far beyond any plausible stage duration
    order = np.argsort(typ, kind="stable")  # stages mixed within a type's group
    lever = (lambda: rng.normal(0, 0.3, (P, S, H))) if levers else (lambda: np.zeros((P, S, H)))
    jump_probs = _random_jumps(rng, 3, T, S) if jumps else inputs.stage_jumps()
    jump_cum = _cumulative(jump_probs)
    code_g, time_g, code_r, time_r = _walk.walk_groups_and_reference(
        keys[order], typ[order], part[order], rng.normal(0, 0.5, N), stage[order], t0[order],
        age[order], 0, 1, inputs.adv_logit, inputs.adv_duration, jump_cum, inputs.time_mu,
        inputs.time_sigma, lever(), lever(), rng.normal(0, 0.3, len(ends)), ends, offset)
    assert np.array_equal(code_g, code_r)
    np.testing.assert_allclose(time_g, time_r, rtol=1e-9)
    assert set(np.unique(code_g)) == {_walk.OPEN, _walk.WON, _walk.LOST}


def test_logit_helper():
    assert logit(0.5) == 0.0
    assert np.isinf(logit(1.0))
