"""The engine's API: segments, result views, levers, input checks, random-number helpers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

from partner_forecast.calendar import Quarter
from partner_forecast.data.schema import REVENUE_MOTIONS, ROLES
from partner_forecast.simulate import (
    DRIVERS,
    MEASURES,
    Levers,
    SegmentSpec,
    _rng,
    _vmath,
    quantile_label,
    simulate,
)
from partner_forecast.testing.posteriors import degenerate_inputs, open_deals_frame, random_inputs


@pytest.fixture(scope="module")
def inputs():
    return random_inputs(11, n_draws=40, n_partners=5, n_open=30, horizon=3)


# -- segments ----------------------------------------------------------------------------------
def test_segment_constructors(inputs):
    P, N = len(inputs.partner_ids), len(inputs.open_deals)
    total = SegmentSpec.total(inputs)
    assert total.labels == ("total",) and total.open_codes.shape == (N,)
    by_type = SegmentSpec.by(inputs, "partner_type")
    assert by_type.labels == inputs.types
    np.testing.assert_array_equal(by_type.open_codes,
                                  inputs.partner_type[inputs.open_deals["partner"].to_numpy()])
    by_partner = SegmentSpec.by(inputs, "Partner")
    assert len(by_partner.labels) == P and by_partner.new_codes.shape == (P, len(ROLES))
    by_role = SegmentSpec.by(inputs, "partner-role")
    assert by_role.labels == ROLES
    np.testing.assert_array_equal(by_role.new_codes[0], np.arange(len(ROLES)))
    assert SegmentSpec.by(inputs, "tier").labels == inputs.tiers


def test_segments_by_revenue_motion(inputs):
    P = len(inputs.partner_ids)
    with pytest.raises(ValueError, match="partner_motion"):
        SegmentSpec.by(inputs, "revenue_motion")
    motions = np.resize(np.array(["resell", "Referral", "managed service"]), P)
    spec = SegmentSpec.by(inputs, "revenue_motion", partner_motion=motions)
    assert spec.labels == REVENUE_MOTIONS
    assert spec.new_codes[1, 0] == REVENUE_MOTIONS.index("referral")
    deals = inputs.open_deals.assign(revenue_motion=["embedded_tech"] + [None] * (len(inputs.open_deals) - 1))
    spec = SegmentSpec.by(inputs.replace(open_deals=deals), "revenue_motion", partner_motion=motions)
    assert spec.open_codes[0] == REVENUE_MOTIONS.index("embedded_tech")
    with pytest.raises(ValueError, match="unknown revenue motion"):
        SegmentSpec.by(inputs, "revenue_motion", partner_motion=["barter"] * P)


def test_segment_errors(inputs):
    with pytest.raises(ValueError, match="unknown segment key"):
        SegmentSpec.by(inputs, "country")
    with pytest.raises(ValueError, match="partner_region"):
        SegmentSpec.by(inputs, "region")
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        SegmentSpec("x", ("a",), np.array([1]), np.zeros((1, 4)))
    spec = SegmentSpec("x", ("a",), np.zeros(3, int), np.zeros((1, 4), int))
    with pytest.raises(ValueError, match="open_codes"):
        simulate(inputs, seed=0, segments=spec)


# -- result views ------------------------------------------------------------------------------
def test_quantiles_frame(inputs):
    result = simulate(inputs, seed=1, segments=SegmentSpec.by(inputs, "partner_type"))
    q = result.quantiles()
    assert list(q.columns) == ["quarter", "segment", "measure", "p10", "p50", "p90", "mean"]
    assert len(q) == len(MEASURES) * inputs.horizon * len(inputs.types)
    assert q["quarter"].tolist()[:len(inputs.types)] == [str(inputs.quarters[0])] * len(inputs.types)
    assert pd.api.types.is_string_dtype(q["segment"])
    row = q[(q.measure == "attributed") & (q.segment == inputs.types[0])].iloc[0]
    draws = result.attributed[:, 0, 0]
    assert row["p50"] == pytest.approx(np.quantile(draws, 0.5), rel=1e-6)
    assert row["mean"] == pytest.approx(draws.mean(dtype=np.float64), rel=1e-6)
    q2 = result.quantiles(q=(0.025, 0.975), measures=["committed"])
    assert list(q2.columns) == ["quarter", "segment", "measure", "p2.5", "p97.5", "mean"]
    with pytest.raises(ValueError):
        result.quantiles(q=(1.5,))
    with pytest.raises(ValueError, match="unknown measure"):
        result.measure("revenue")


def test_quantile_labels():
    assert [quantile_label(q) for q in (0.1, 0.5, 0.9, 0.025, 0.05)] == ["p10", "p50", "p90", "p2.5", "p5"]


def test_total_view_and_drivers(inputs):
    result = simulate(inputs, seed=2, segments=SegmentSpec.by(inputs, "partner"))
    total = result.total()
    assert total.segments == ("total",) and total.attributed.shape == (40, 3, 1)
    np.testing.assert_allclose(total.attributed[..., 0], result.attributed.sum(axis=2), rtol=1e-5)
    means = result.driver_means()
    assert list(means.columns) == ["quarter", *DRIVERS] and len(means) == 3
    dq = result.driver_quantiles()
    assert set(dq["driver"]) == set(DRIVERS) and {"p10", "p50", "p90", "mean"} <= set(dq.columns)
    gross_new = result.gross_new.sum(axis=2, dtype=np.float64)
    np.testing.assert_allclose(result.drivers["new_won_arr"], gross_new, rtol=1e-5)
    frame = result.deal_probabilities()
    assert frame["opportunity_id"].tolist() == inputs.open_deals["opportunity_id"].tolist()
    np.testing.assert_allclose(frame["horizon"], result.deal_win_probability.sum(axis=1))


# -- levers --------------------------------------------------------------------------------------
def test_levers_resolve_shapes_and_validation():
    pool = np.full((3, 2), 5)
    r = Levers(asr_multiplier=[1, 2, 3], win_odds_multiplier=[1, 2, 1, 1], pool_add=-10).resolve(3, 4, pool)
    assert r.asr_multiplier.shape == (3, 2) and r.log_win_odds.shape == (3, 4, 2)
    assert np.all(r.pool_add == -5)  # the pool never goes below zero
    assert r.log_win_odds[0, 1, 0] == pytest.approx(np.log(2))
    per_quarter = Levers(productivity_multiplier=np.array([[1.0, 2.0]] * 3)).resolve(3, 4, pool)
    assert per_quarter.productivity_multiplier[0, 1] == 2.0
    with pytest.raises(ValueError):
        Levers(win_odds_multiplier=0.0).resolve(3, 4, pool)
    with pytest.raises(ValueError):
        Levers(asr_multiplier=-1.0).resolve(3, 4, pool)
    with pytest.raises(ValueError):
        Levers(pool_add=0.5).resolve(3, 4, pool)
    assert Levers().is_noop and not Levers(asr_add=0.1).is_noop


def test_levers_apply_in_the_quarter_they_name():
    inputs = degenerate_inputs(quarters=("2026Q3", "2026Q4"), n_draws=400)
    base = simulate(inputs, seed=3)
    later = simulate(inputs, seed=3, levers=Levers(asr_multiplier=np.array([[1.0, 2.0]])))
    np.testing.assert_array_equal(later.attributed[:, 0], base.attributed[:, 0])
    assert later.attributed[:, 1].mean() == pytest.approx(2 * base.attributed[:, 1].mean(), rel=0.1)


def test_deal_size_and_time_levers():
    inputs = degenerate_inputs(n_draws=200)
    base = simulate(inputs, seed=4)
    bigger = simulate(inputs, seed=4, levers=Levers(deal_size_multiplier=1.5))
    np.testing.assert_allclose(bigger.attributed, base.attributed * 1.5, rtol=1e-6)
    deals = open_deals_frame(stage="negotiation", arr=1.0, n=50)
    slow = degenerate_inputs(pool=0, open_deals=deals, duration_days=60.0, time_sigma=0.3,
                             stage_advance=[1, 1, 1, 1], n_draws=200)
    faster = simulate(slow, seed=5, levers=Levers(time_in_stage_multiplier=0.5))
    assert faster.attributed_open.mean() > simulate(slow, seed=5).attributed_open.mean()


# -- input checks --------------------------------------------------------------------------------
def test_input_errors():
    inputs = degenerate_inputs(n_draws=10)
    with pytest.raises(ValueError, match="chunk_draws"):
        simulate(inputs, seed=0, chunk_draws=0)
    with pytest.raises(ValueError, match="before as-of"):
        simulate(inputs.replace(as_of=pd.Timestamp("2027-02-01")), seed=0)
    with pytest.raises(ValueError, match="consecutive"):
        simulate(degenerate_inputs(quarters=("2026Q1", "2026Q3"), n_draws=10), seed=0)
    bad = open_deals_frame(stage=0, partner=3)
    with pytest.raises(ValueError, match="partner"):
        simulate(inputs.replace(open_deals=bad), seed=0)
    with pytest.raises(ValueError, match="max_deal_ratio"):
        simulate(inputs, seed=0, max_deal_ratio=1.0)


def test_forecast_quarters_after_as_of_quarter():
    inputs = degenerate_inputs(quarters=(Quarter(2027, 1),), as_of="2026-12-01", n_draws=2000)
    assert _calendar_offset(inputs) == 1
    result = simulate(inputs, seed=6)
    arr = result.attributed[:, 0, 0].astype(float)
    assert abs(arr.mean() - 50_400) < 5 * arr.std() / np.sqrt(arr.size)


def _calendar_offset(inputs):
    from partner_forecast.simulate.engine import _calendar
    return _calendar(inputs)[2]


def test_deal_size_cap():
    inputs = degenerate_inputs(n_draws=200)
    wild = inputs.replace(size_sigma=np.full(200, 5.0), size_nu=np.full(200, 1.0))
    result = simulate(wild, seed=7, max_deal_ratio=10.0)
    won = result.drivers["new_won_deals"].sum()
    assert result.gross_new.sum() <= won * 42_000 * (1 + 1e-5)


# -- random-number and math helpers ----------------------------------------------------------
def test_vector_math_accuracy():
    f32 = np.float32
    x = np.linspace(-87, 88, 20001).astype(f32)
    got = np.array([_vmath.vexpf(v) for v in x], dtype=float)
    assert np.max(np.abs(got / np.exp(x.astype(float)) - 1)) < 2e-7
    y = np.logspace(-37, 38, 20001).astype(f32)
    err = np.abs(np.array([_vmath.vlogf(v) for v in y], dtype=float) - np.log(y.astype(float)))
    assert np.max(err / np.maximum(np.abs(np.log(y.astype(float))), 1.0)) < 2e-7
    # the normal quantile over everything the walk feeds it: float32 uniforms (2^-25 ..
    # 1 - 2^-25) and truncated tails down to MIN_PROB; both sides of Giles' / Acklam's seam
    p = np.concatenate([np.logspace(-37, -1, 4000), np.linspace(0.01, 0.99, 4001),
                        1 - np.logspace(-7, -1, 2000), np.linspace(0.0015, 0.0019, 2001)])
    p = p.astype(f32)
    z = np.array([_vmath.vndtrif(v) for v in p], dtype=float)
    ref = special.ndtri(p.astype(float))
    assert np.max(np.abs(z - ref) / np.maximum(np.abs(ref), 0.05)) < 1e-6
    s = np.linspace(-10, 13, 5001).astype(f32)
    sf = np.array([_vmath.vsff(v) for v in s], dtype=float)
    assert np.max(np.abs(sf / special.ndtr(-s.astype(float)) - 1)) < 3e-5


def test_stage_units_are_uniform_and_independent():
    keys = [np.uint64(_rng.subkey(np.uint64(321), i)) for i in range(20000)]
    u, v, w = np.array([_rng.stage_units(k, 2) for k in keys], dtype=float).T
    for x in (u, v, w):
        assert x.min() > 0 and x.max() < 1 and stats.kstest(x, "uniform").pvalue > 1e-4
    assert np.max(np.abs(np.corrcoef([u, v, w]) - np.eye(3))) < 0.03


def test_random_helpers_have_the_right_moments():
    keys = [np.uint64(_rng.subkey(np.uint64(123), i)) for i in range(20000)]
    u = np.array([_rng.unit(k, 0) for k in keys])
    assert u.min() > 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    b = np.array([_rng.binomial_count(k, 40, 0.15) for k in keys])
    assert b.mean() == pytest.approx(6.0, abs=0.1) and b.var() == pytest.approx(5.1, rel=0.08)
    for lam in (3.0, 1234.5):
        x = np.array([_rng.poisson_count(k, lam) for k in keys])
        assert x.mean() == pytest.approx(lam, rel=0.01 + 3 / np.sqrt(lam * 20000))
        assert x.var() == pytest.approx(lam, rel=0.08)
    g = np.array([_rng.std_gamma(k, 0.7) for k in keys])
    assert g.mean() == pytest.approx(0.7, rel=0.04) and g.var() == pytest.approx(0.7, rel=0.1)
    t = np.array([_rng.student_t(k, 5.0) for k in keys])
    assert stats.kstest(t, "t", args=(5.0,)).pvalue > 1e-4
    # monotone coupling: more trials or a higher rate never gives fewer successes
    k = keys[7]
    assert all(_rng.binomial_count(k, n, p) <= _rng.binomial_count(k, n + 3, p + 0.1)
               for n in range(0, 60, 7) for p in (0.05, 0.3, 0.6))
    assert all(_rng.poisson_count(k, lam) <= _rng.poisson_count(k, lam * 1.3) for lam in (0.5, 40.0, 900.0))


@pytest.mark.parametrize(("module", "helpers"), [
    ("_walk", ("_rng.py", "_vmath.py")),
    ("_kernel", ("_rng.py", "_vmath.py", "_walk.py")),
])
def test_compiled_modules_name_the_helper_modules_they_were_compiled_with(
        module: str, helpers: tuple[str, ...]) -> None:
    """An edit of a helper module must change the modules that compile it in.

    numba's disk cache keys on the file a cached function is defined in, not on its callees.
    """
    import hashlib
    import importlib
    from pathlib import Path

    mod = importlib.import_module(f"partner_forecast.simulate.{module}")
    here = Path(mod.__file__).parent
    digest = hashlib.sha256(b"".join((here / h).read_bytes() for h in helpers)).hexdigest()[:16]
    assert digest == mod.HELPERS_DIGEST, (
        f"{' / '.join(helpers)} changed: set HELPERS_DIGEST = {digest!r} in simulate/{module}.py "
        "so that numba recompiles it instead of using its stale disk cache")
