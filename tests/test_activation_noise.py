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
