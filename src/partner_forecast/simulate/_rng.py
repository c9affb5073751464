"""Counter-based random numbers for the Monte Carlo kernels (numba).

Every random number the engine uses is a pure function of a 64-bit key and a position: the
key of a decision is derived from the run key (itself drawn from the caller's seeded
``np.random.Generator``), the global draw index, the entity (open deal, partner x quarter,
new opportunity) and a slot number. Nothing depends on chunking, thread scheduling or on how
many numbers other entities consumed, which gives *common random numbers* by construction: a
scenario that changes a win probability compares the same uniform against a different
threshold, so baseline and scenario draws stay paired decision by decision.

The mixing function is the SplitMix64 finaliser (Steele, Lea & Flood 2014): ``unit(k, i)`` is
the ``i``-th output of a SplitMix64 generator whose state starts at ``k``, a generator that
passes BigCrush. Keys of nested entities go through the finaliser twice.

Normal quantiles use Acklam's rational approximation (relative error < 1.2e-9 over (0, 1)),
far below any Monte Carlo error of the engine.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_ONE = np.uint64(1)
_INV53 = 1.0 / 9007199254740992.0  # 2 ** -53
_FM = {"contract"}  # allow fused multiply-add; no other fast-math liberties

# Tags separating the key spaces of different entity kinds.
TAG_SHOCK = np.uint64(0x5C0C4A11D00D5EED)
TAG_OPEN = np.uint64(0x0BE7DEA15C0FFEE1)
TAG_NEW = np.uint64(0x7E3A9C2B11F0E0D3)
TAG_OPP = np.uint64(0x2D5B6A7C8E9F1A3B)


@nb.njit(cache=True, inline="always", fastmath=_FM)
def mix64(z: np.uint64) -> np.uint64:
    """SplitMix64 finaliser: a bijection of 64-bit integers with full avalanche."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@nb.njit(cache=True, inline="always", fastmath=_FM)
def subkey(key: np.uint64, index: int) -> np.uint64:
    """Key of entity ``index`` under ``key``."""
    return mix64(mix64(key ^ (np.uint64(index) * _GOLDEN)) + _GOLDEN)


@nb.njit(cache=True, inline="always", fastmath=_FM)
def unit(key: np.uint64, slot: int) -> float:
    """Uniform on the open interval (0, 1): output ``slot`` of SplitMix64 started at ``key``."""
    z = mix64(key + (np.uint64(slot) + _ONE) * _GOLDEN)
    return (float(np.int64(z >> _S11)) + 0.5) * _INV53  # signed: one cvtsi2sd


_S40 = np.uint64(40)
_S20 = np.uint64(20)
_LOW20 = np.uint64(0xFFFFF)
_INV24 = np.float32(2.0 ** -24)
_INV20 = np.float32(2.0 ** -20)


@nb.njit(cache=True, inline="always", fastmath=_FM)
def stage_units(key: np.uint64, slot: int) -> tuple[np.float32, np.float32, np.float32]:
    """Three float32 uniforms on (0, 1) from one output of the stream (a deal's stage).

    The top 24 bits give the duration's uniform (float32's full resolution: normal
    quantiles reach 5.3 sd, beyond any stage duration that matters), the next 20 bits the
    advance decision's and the low 20 bits the destination of an advance (resolution 1e-6
    on a probability). One hash instead of three: the walk is the engine's hot loop.
    """
    z = mix64(key + (np.uint64(slot) + _ONE) * _GOLDEN)
    u = (np.float32(np.int32(z >> _S40)) + np.float32(0.5)) * _INV24
    v = (np.float32(np.int32((z >> _S20) & _LOW20)) + np.float32(0.5)) * _INV20
    w = (np.float32(np.int32(z & _LOW20)) + np.float32(0.5)) * _INV20
    return u, v, w


@nb.njit(cache=True, fastmath=_FM)
def ndtri(p: float) -> float:
    """Standard normal quantile of ``p`` in (0, 1) (Acklam's approximation, rel. err. < 1.2e-9)."""
    if p < 0.02425:
        q = math.sqrt(-2.0 * math.log(p))
        return ((((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00)
                   * q - 2.549732539343734e+00) * q + 4.374664141464968e+00) * q + 2.938163982698783e+00)
                / ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00)
                    * q + 3.754408661907416e+00) * q + 1.0))
    if p <= 0.97575:
        q = p - 0.5
        r = q * q
        return ((((((-3.969683028665376e+01 * r + 2.209460984245205e+02) * r - 2.759285104469687e+02)
                   * r + 1.383577518672690e+02) * r - 3.066479806614716e+01) * r + 2.506628277459239e+00)
                * q / (((((-5.447609879822406e+01 * r + 1.615858368580409e+02) * r - 1.556989798598866e+02)
                         * r + 6.680131188771972e+01) * r - 1.328068155288572e+01) * r + 1.0))
    q = math.sqrt(-2.0 * math.log1p(-p))
    return -((((((-7.784894002430293e-03 * q - 3.223964580411365e-01) * q - 2.400758277161838e+00)
                * q - 2.549732539343734e+00) * q + 4.374664141464968e+00) * q + 2.938163982698783e+00)
             / ((((7.784695709041462e-03 * q + 3.224671290700398e-01) * q + 2.445134137142996e+00)
                 * q + 3.754408661907416e+00) * q + 1.0))


@nb.njit(cache=True, fastmath=_FM)
def std_gamma(key: np.uint64, shape: float) -> float:
    """Gamma(shape, scale 1) variate from the stream ``key`` (Marsaglia & Tsang 2000).

    Uses slots 0, 1, 2, ... of the stream (a rejection loop); shape < 1 is boosted with one
    extra uniform taken from a sub-stream.
    """
    if shape <= 0.0:
        return 0.0
    boost = 1.0
    a = shape
    if a < 1.0:
        boost = unit(subkey(key, 1), 0) ** (1.0 / a)
        a += 1.0
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    i = 0
    while True:
        x = ndtri(unit(key, i))
        v = 1.0 + c * x
        i += 2
        if v <= 0.0:
            continue
        v = v * v * v
        u = unit(key, i - 1)
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2 or math.log(u) < 0.5 * x2 + d * (1.0 - v + math.log(v)):
            return d * v * boost


@nb.njit(cache=True, fastmath=_FM)
def student_t(key: np.uint64, nu: float) -> float:
    """Standard Student-t variate with ``nu`` degrees of freedom (normal when nu > 1e7)."""
    z = ndtri(unit(key, 0))
    if nu > 1e7:
        return z
    half = 0.5 * nu
    g = std_gamma(subkey(key, 2), half)
    return z / math.sqrt(g / half)


@nb.njit(cache=True, fastmath=_FM)
def binomial_count(key: np.uint64, n: int, p: float) -> int:
    """Binomial(n, p) variate, monotone in ``n`` and ``p`` for a fixed key.

    Successes are placed by geometric gaps ``ceil(log u_k / log(1 - p))`` (inverse CDF, slot k
    for gap k): the work is proportional to the number of successes, and raising ``p`` or ``n``
    can only add successes (the coupling the activation levers rely on).
    """
    if n <= 0 or p <= 0.0:
        return 0
    if p >= 1.0:
        return n
    lq = math.log1p(-p)
    pos = 0.0
    k = 0
    while True:
        gap = math.ceil(math.log(unit(key, k)) / lq)
        pos += max(gap, 1.0)
        if pos > n:
            return k
        k += 1


@nb.njit(cache=True, fastmath=_FM)
def poisson_count(key: np.uint64, lam: float) -> int:
    """Poisson(lam) variate, monotone in ``lam`` for a fixed key.

    ``lam`` is cut into pieces of at most 500 (so exp(-piece) never underflows); piece ``k``
    takes the inverse CDF of slot ``k``. A larger ``lam`` only enlarges the last piece or adds
    pieces, so the count never decreases (the coupling the productivity lever relies on).
    """
    count = 0
    k = 0
    rest = lam
    while rest > 0.0:
        mu = min(rest, 500.0)
        u = unit(key, k)
        p = math.exp(-mu)
        c = p
        x = 0
        while u > c:
            x += 1
            p *= mu / x
            c += p
            if p < 1e-17 * c:  # c cannot grow any further in float64
                break
        count += x
        rest -= 500.0
        k += 1
    return count
