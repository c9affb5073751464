"""Branch-free, call-free float64 math that LLVM can vectorise inside numba loops.

libm's ``exp``/``log``/``erfc`` are opaque calls that stop loop vectorisation, and a scalar
chain of them per deal is latency-bound; these versions are plain arithmetic (polynomials,
selects and bit casts), so a loop over a block of deals runs 4 lanes at a time.

Accuracy (checked in the tests against numpy/scipy): ``vexp`` relative error < 4e-16 on
[-708, 709] (clamped outside), ``vlog`` < 5e-16 for positive normal numbers, ``vndtri``
(Acklam) < 1.2e-9, ``vsf`` (Numerical Recipes ``erfcc``) < 1.2e-7 relative.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

FASTMATH = {"contract"}  # fused multiply-add only; no other fast-math liberties

_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_MANTISSA = np.int64(0x000FFFFFFFFFFFFF)
_ONE_BITS = np.int64(0x3FF0000000000000)


@intrinsic
def _bits_to_float(typingctx, x):  # noqa: D103 - numba intrinsic
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _float_to_bits(typingctx, x):  # noqa: D103 - numba intrinsic
    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@nb.njit(cache=True, inline="always", fastmath=FASTMATH)
def vexp(x: float) -> float:
    """exp(x), x clamped to [-708, 709]."""
    x = min(max(x, -708.0), 709.0)
    k = math.floor(x * _LOG2E + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 + r * (1.0 + r * (0.5 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (
        1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (
            1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600))))))))))))
    return p * _bits_to_float(np.int64(k + 1023.0) << 52)


@nb.njit(cache=True, inline="always", fastmath=FASTMATH)
def vlog(x: float) -> float:
    """Natural log of a positive normal float64."""
    b = _float_to_bits(x)
    e = (b >> 52) - 1023
    m = _bits_to_float((b & _MANTISSA) | _ONE_BITS)
    big = m > 1.4142135623730951
    m = m * 0.5 if big else m
    ef = float(e + 1) if big else float(e)
    f = m - 1.0
    s = f / (2.0 + f)
    s2 = s * s
    poly = s2 * (1.0 / 3 + s2 * (1.0 / 5 + s2 * (1.0 / 7 + s2 * (1.0 / 9 + s2 * (1.0 / 11 + s2 * (
        1.0 / 13 + s2 * (1.0 / 15 + s2 * (1.0 / 17 + s2 * (1.0 / 19)))))))))
    return ef * _LN2_HI + (ef * _LN2_LO + 2.0 * s * (1.0 + poly))


@nb.njit(cache=True, inline="always", fastmath=FASTMATH)
def vndtri(p: float) -> float:
    """Standard normal quantile of p in (0, 1) (Acklam, both branches computed)."""
    q = min(p, 1.0 - p)
    r = math.sqrt(-2.0 * vlog(q))
    tail = ((((((-7.784894002430293e-03 * r - 3.223964580411365e-01) * r - 2.400758277161838e+00)
               * r - 2.549732539343734e+00) * r + 4.374664141464968e+00) * r + 2.938163982698783e+00)
            / ((((7.784695709041462e-03 * r + 3.224671290700398e-01) * r + 2.445134137142996e+00)
                * r + 3.754408661907416e+00) * r + 1.0))
    tail = tail if p < 0.5 else -tail
    c = p - 0.5
    s = c * c
    centre = ((((((-3.969683028665376e+01 * s + 2.209460984245205e+02) * s - 2.759285104469687e+02)
                 * s + 1.383577518672690e+02) * s - 3.066479806614716e+01) * s + 2.506628277459239e+00)
              * c / (((((-5.447609879822406e+01 * s + 1.615858368580409e+02) * s - 1.556989798598866e+02)
                       * s + 6.680131188771972e+01) * s - 1.328068155288572e+01) * s + 1.0))
    return centre if q >= 0.02425 else tail


@nb.njit(cache=True, inline="always", fastmath=FASTMATH)
def vsf(x: float) -> float:
    """Standard normal survival P(Z > x) (erfcc of Numerical Recipes, rel. err. < 1.2e-7)."""
    z = abs(x) * 0.7071067811865476
    t = 1.0 / (1.0 + 0.5 * z)
    r = t * vexp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (
        0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (
            1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))))
    return 0.5 * r if x >= 0.0 else 1.0 - 0.5 * r


__all__ = ["FASTMATH", "vexp", "vlog", "vndtri", "vsf"]
