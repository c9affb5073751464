"""Numbers in words for the executive report: money, shares, multiples, signed changes.

ARR is annual recurring revenue in the export's one currency; the report prints it with
:data:`CURRENCY` and a k/M/B suffix (``$4.2M``). Shares are fractions in [0, 1] printed as
percentages.
"""

from __future__ import annotations

import math
from numbers import Real

CURRENCY = "$"
"""Symbol printed before amounts (the data contract has one, unnamed, currency)."""


def _finite(x: float | None) -> bool:
    return isinstance(x, Real) and not isinstance(x, bool) and math.isfinite(float(x))


def money(x: float | None, digits: int = 1) -> str:
    """``4_200_000`` -> ``"$4.2M"``; ``950`` -> ``"$950"``; NaN/None -> ``"n/a"``.

    Parameters
    ----------
    x : float or None
        An amount (currency per year for ARR).
    digits : int
        Decimals kept with a k/M/B suffix.

    Returns
    -------
    str
    """
    if not _finite(x):
        return "n/a"
    v = float(x)  # type: ignore[arg-type]
    sign = "-" if v < 0 else ""
    a = abs(v)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= size * (1 - 0.5 * 10 ** -(digits + 3)):
            text = f"{a / size:.{digits}f}"
            if "." in text:
                text = text.rstrip("0").rstrip(".")
            return f"{sign}{CURRENCY}{text}{suffix}"
    return f"{sign}{CURRENCY}{a:,.0f}"


def signed_money(x: float | None, digits: int = 1) -> str:
    """``+$1.2M`` / ``-$300k`` (``n/a`` when missing)."""
    if not _finite(x):
        return "n/a"
    return ("+" if float(x) >= 0 else "") + money(x, digits)  # type: ignore[arg-type]


def pct(x: float | None, digits: int = 0) -> str:
    """A share in [0, 1] as a percentage: ``0.623`` -> ``"62%"`` (``n/a`` when missing)."""
    if not _finite(x):
        return "n/a"
    return f"{100.0 * float(x):.{digits}f}%"  # type: ignore[arg-type]


def signed_pct(x: float | None, digits: int = 0) -> str:
    """A relative change (0.05 = +5%) with its sign: ``"+5%"``, ``"-12%"``."""
    if not _finite(x):
        return "n/a"
    return f"{100.0 * float(x):+.{digits}f}%"  # type: ignore[arg-type]


def multiple(x: float | None, digits: int = 1) -> str:
    """A coverage multiple: ``3.04`` -> ``"3.0x"``."""
    if not _finite(x):
        return "n/a"
    return f"{float(x):.{digits}f}x"  # type: ignore[arg-type]


def count(x: float | None) -> str:
    """A whole count with thousands separators."""
    if not _finite(x):
        return "n/a"
    return f"{round(float(x)):,}"  # type: ignore[arg-type]


def ordinal(x: float | None) -> str:
    """``41.3`` -> ``"41st"`` (rounded; ``n/a`` when missing)."""
    if not _finite(x):
        return "n/a"
    n = round(float(x))  # type: ignore[arg-type]
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def change(now: float | None, before: float | None) -> float:
    """Relative change ``now / before - 1`` (NaN when ``before`` is missing or not positive)."""
    if not (_finite(now) and _finite(before)) or float(before) <= 0:  # type: ignore[arg-type]
        return float("nan")
    return float(now) / float(before) - 1.0  # type: ignore[arg-type]


__all__ = ["CURRENCY", "change", "count", "money", "multiple", "ordinal", "pct", "signed_money",
           "signed_pct"]
