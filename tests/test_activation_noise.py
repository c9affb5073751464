"""The activation model integrates its partner-quarter noise out (Beta-Binomial by moments)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import expit, logit

from partner_forecast.models.activation import beta_shapes


@pytest.mark.parametrize("m", [0.05, 0.2, 0.5])
@pytest.mark.parametrize("sigma,tolerance", [(0.1, 0.03), (0.25, 0.08), (0.5, 0.25)])
def test_beta_matches_the_logit_normal_variance(m, sigma, tolerance):
    """Beta(alpha, beta) has mean m and the variance of expit(logit m + noise) to first order
    (the delta method: within 3% at sigma 0.1, 8% at 0.25, 25% at 0.5)."""
    alpha, beta = beta_shapes(np.float64(m), np.float64(sigma))
    assert alpha / (alpha + beta) == pytest.approx(m)
    beta_var = alpha * beta / ((alpha + beta) ** 2 * (alpha + beta + 1))
    theta = expit(logit(m) + np.random.default_rng(1).normal(0, sigma, 400_000))
    assert beta_var == pytest.approx(theta.var(), rel=tolerance)


def test_no_noise_is_the_binomial_and_huge_noise_stays_a_proper_beta():
    a0, b0 = beta_shapes(np.array([0.3]), np.float64(1e-9))
    assert a0 / (a0 + b0) == pytest.approx(0.3) and (a0 + b0)[0] == pytest.approx(1e6)
    a1, b1 = beta_shapes(np.array([0.5]), np.float64(50.0))
    assert a1[0] > 0 and b1[0] > 0


@pytest.mark.parametrize("tau", [0.0, 0.5])
def test_binomial_spread_recovers_the_spread_of_group_logits(tau):
    """Method of moments on 400 groups x 6 cells of 20 trials: within 0.1 of the true spread,
    with label effects (here +-1 on the logit) removed before measuring."""
    from partner_forecast.models.effects import binomial_spread

    rng = np.random.default_rng(5)
    G, C, n = 400, 6, 20
    labels = rng.integers(0, 2, G)
    logit_p = -1.5 + np.where(labels == 1, 1.0, -1.0) + rng.normal(0, tau, G)
    groups = np.repeat(np.arange(G), C)
    trials = np.full(G * C, n)
    k = rng.binomial(trials, expit(logit_p[groups]))
    assert binomial_spread(trials, k, groups, G, labels) == pytest.approx(tau, abs=0.1)
    assert binomial_spread(trials, k, groups, G) > 0.9  # the label effects count as spread


def test_activation_partners_are_non_centred_when_the_data_show_little_spread(
        models_export, models_settings):
    """The parametrisation follows the spread the data suggest: an export whose partners all
    activate at one rate gets non-centred partner effects (the centred funnel diverged)."""
    from dataclasses import replace

    from partner_forecast.models import ActivationModel

    model = ActivationModel.from_export(models_export, models_settings)
    d = model.spec.data
    rate = d["active"].sum() / d["pool"].sum()
    flat = np.random.default_rng(0).binomial(d["pool"], rate)
    flat_model = ActivationModel(replace(model.spec, data={**d, "active": flat}),
                                 model.model_config, model.sampler_config)
    names = {v.name for v in flat_model.build_model().free_RVs}
    assert "partner_effect__offset" in names and "partner_effect__centred" not in names


def test_binomial_spread_takes_out_what_the_cells_own_groups_explain():
    """Partners differ only by their mix of stages (rates 0.8 and 0.2): no partner spread once
    the stage mix is accounted for, a large one if it is not."""
    from partner_forecast.models.effects import binomial_spread

    rng = np.random.default_rng(11)
    G = 300
    share = rng.uniform(0.1, 0.9, G)  # each partner's share of exits at stage 0
    n0 = rng.binomial(60, share)
    n = np.concatenate([n0, 60 - n0])
    stage = np.repeat([0, 1], G)
    k = rng.binomial(n, np.where(stage == 0, 0.8, 0.2))
    groups = np.tile(np.arange(G), 2)
    assert binomial_spread(n, k, groups, G, cell_groups=stage) < 0.15
    assert binomial_spread(n, k, groups, G) > 0.5
