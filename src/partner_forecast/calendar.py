"""Fiscal quarters ("2026Q4") and as-of dates.

A quarter label names the fiscal year in which the quarter *ends*. With the default fiscal
year starting in January, fiscal quarters are calendar quarters. All dates are
``pandas.Timestamp`` at midnight; a quarter covers ``[start, end)`` where ``end`` is the
next quarter's start (half-open, so "as of a quarter's start" sees nothing inside it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering
from typing import overload

import numpy as np
import pandas as pd

_LABEL = re.compile(r"^\s*(?:FY)?(\d{4})\s*-?\s*Q([1-4])\s*$", re.IGNORECASE)


@total_ordering
@dataclass(frozen=True)
class Quarter:
    """A fiscal quarter: fiscal ``year`` (the year it ends in) and ``q`` in 1..4."""

    year: int
    q: int
    fiscal_year_start_month: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.q <= 4:
            raise ValueError(f"quarter must be 1-4, got {self.q}")
        if not 1 <= self.fiscal_year_start_month <= 12:
            raise ValueError("fiscal_year_start_month must be 1-12")

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def parse(cls, label: str, fiscal_year_start_month: int = 1) -> Quarter:
        """Parse "2026Q4", "2026-Q4" or "FY2026Q4"."""
        m = _LABEL.match(str(label))
        if not m:
            raise ValueError(f"not a quarter label (expected like 2026Q4): {label!r}")
        return cls(int(m.group(1)), int(m.group(2)), fiscal_year_start_month)

    @classmethod
    def containing(cls, date: pd.Timestamp | str, fiscal_year_start_month: int = 1) -> Quarter:
        """The fiscal quarter containing ``date``."""
        d = pd.Timestamp(date)
        shifted = (d.month - fiscal_year_start_month) % 12
        q = shifted // 3 + 1
        # Fiscal year is named by the calendar year in which it ends.
        year = d.year if d.month < fiscal_year_start_month or fiscal_year_start_month == 1 else d.year + 1
        if fiscal_year_start_month == 1:
            year = d.year
        return cls(year, q, fiscal_year_start_month)

    # -- arithmetic ---------------------------------------------------------------------------
    @property
    def index(self) -> int:
        """Monotone integer index (year * 4 + q - 1) for arithmetic and sorting."""
        return self.year * 4 + self.q - 1

    def __add__(self, n: int) -> Quarter:
        i = self.index + int(n)
        return Quarter(i // 4, i % 4 + 1, self.fiscal_year_start_month)

    @overload
    def __sub__(self, other: int) -> Quarter: ...

    @overload
    def __sub__(self, other: Quarter) -> int: ...

    def __sub__(self, other: int | Quarter) -> Quarter | int:
        """``self - n``: the quarter ``n`` before; ``self - other``: the quarters between them."""
        if isinstance(other, Quarter):
            return self.index - other.index
        return self + (-int(other))

    def __lt__(self, other: Quarter) -> bool:
        return self.index < other.index

    @property
    def start(self) -> pd.Timestamp:
        """First day of the quarter."""
        first_month_offset = (self.q - 1) * 3
        m0 = self.fiscal_year_start_month
        year = self.year if m0 == 1 else self.year - 1
        month = m0 + first_month_offset
        year += (month - 1) // 12
        month = (month - 1) % 12 + 1
        return pd.Timestamp(year=year, month=month, day=1)

    @property
    def end(self) -> pd.Timestamp:
        """First day *after* the quarter (exclusive end)."""
        return (self + 1).start

    @property
    def days(self) -> int:
        """Length of the quarter in days."""
        return int((self.end - self.start).days)

    def __str__(self) -> str:
        return f"{self.year}Q{self.q}"

    def __repr__(self) -> str:
        return f"Quarter('{self}')"


def quarter_index(dates: pd.Series, fiscal_year_start_month: int = 1) -> pd.Series:
    """Vectorised ``Quarter.containing(d).index`` for a datetime Series (NaT -> <NA>)."""
    d = pd.to_datetime(dates)
    month = d.dt.month
    shifted = (month - fiscal_year_start_month) % 12
    q = shifted // 3
    year = d.dt.year
    if fiscal_year_start_month != 1:
        year = year + (month >= fiscal_year_start_month).astype("Int64")
    out = year * 4 + q
    return out.astype("Int64")


def quarter_from_index(index: int, fiscal_year_start_month: int = 1) -> Quarter:
    """Inverse of :attr:`Quarter.index`."""
    index = int(index)
    return Quarter(index // 4, index % 4 + 1, fiscal_year_start_month)


def quarters_between(first: Quarter, last: Quarter) -> list[Quarter]:
    """All quarters from ``first`` to ``last`` inclusive."""
    return [first + i for i in range(int(last - first) + 1)]


def days_between(a: pd.Series | pd.Timestamp, b: pd.Series | pd.Timestamp) -> np.ndarray:
    """Whole days from ``a`` to ``b`` as floats (NaN where either is missing)."""
    delta = pd.to_datetime(b) - pd.to_datetime(a)
    if isinstance(delta, pd.Series):
        return (delta.dt.total_seconds() / 86400.0).to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(delta / pd.Timedelta(days=1), dtype=float)
