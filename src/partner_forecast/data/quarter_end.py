"""Quarter-end bunching of closes: whether a CRM's close dates follow the fiscal calendar.

Sales teams close at quarter end. Deals that would have closed a week into the next quarter are
pulled in, and won and lost deals alike are closed out in the last weeks of a quarter rather
than on the day they were decided. A close dated in the last weeks of its quarter then says
little about how long the deal really spent in its stage, and read as an exact stay it makes
every stay that ends in a close look longer than it was: the time-in-stage model learns slow
stages and the forecast puts too few closes inside the quarter.

:func:`quarter_end_audit` measures the bunching: the share of closes (entries into won or lost
in ``stage_history``) dated in the last ``window_days`` of their fiscal quarter, against the
share the calendar alone gives (window / quarter length), over the complete quarters of the
history after the first (the first quarter of a history holds few closes, late in it, because
deals need time to close). The audit passes bunching as real when the excess is both
significant (one-sided binomial test) and material (at least ``min_excess``). The timing model
then reads a close in the window as interval-censored (:mod:`partner_forecast.models.timing`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from partner_forecast.calendar import quarter_from_index, quarter_index
from partner_forecast.data.export import Export

if TYPE_CHECKING:
    from partner_forecast.config import TimingSettings

MIN_EXCESS = 0.05
"""Smallest excess share of closes in the window (over the calendar's share) called bunching."""
ALPHA = 1e-3
"""Significance level of the one-sided binomial test."""


@dataclass(frozen=True)
class QuarterEndAudit:
    """How many closes fall in the last ``window_days`` of their quarter, against the calendar."""

    window_days: int
    closes: int
    """Closes in the complete quarters audited."""
    in_window: int
    """Of which dated in the last ``window_days`` of their quarter."""
    expected_share: float
    """Share the calendar alone gives: window / quarter length, averaged over the closes."""
    p_value: float
    """One-sided binomial test of more closes in the window than ``expected_share``."""
    bunched: bool
    """Significant (``p_value < ALPHA``) and material (excess >= ``MIN_EXCESS``)."""

    @property
    def share(self) -> float:
        """Share of the audited closes dated in the window (NaN without closes)."""
        return self.in_window / self.closes if self.closes else float("nan")

    def describe(self) -> str:
        """One line: the shares, the test and the verdict."""
        if not self.closes:
            return f"no closes in complete quarters to audit (window {self.window_days} days)"
        verdict = "bunched at quarter end" if self.bunched else "not bunched at quarter end"
        return (f"closes {verdict}: {self.share:.0%} of {self.closes:,} closes in the last "
                f"{self.window_days} days of their quarter, {self.expected_share:.0%} expected "
                f"from the calendar (p = {self.p_value:.2g})")


def in_quarter_end_window(dates: pd.Series | np.ndarray, window_days: int,
                          fiscal_year_start_month: int = 1) -> np.ndarray:
    """Whether each date lies in the last ``window_days`` of its fiscal quarter (NaT: False)."""
    d = pd.to_datetime(pd.Series(dates)).reset_index(drop=True)
    ok = d.notna().to_numpy()
    out = np.zeros(len(d), dtype=bool)
    if not ok.any():
        return out
    q = quarter_index(d[ok], fiscal_year_start_month).to_numpy(dtype=np.int64)
    ends = _quarter_bounds(q, fiscal_year_start_month)[1]
    days_left = (ends - d[ok].to_numpy()).astype("timedelta64[D]").astype(np.int64)
    out[ok] = days_left <= window_days
    return out


def quarter_start_of(dates: pd.Series | np.ndarray, fiscal_year_start_month: int = 1) -> np.ndarray:
    """First day of each date's fiscal quarter (datetime64[ns]; dates must not be NaT)."""
    d = pd.to_datetime(pd.Series(dates))
    q = quarter_index(d, fiscal_year_start_month).to_numpy(dtype=np.int64)
    return _quarter_bounds(q, fiscal_year_start_month)[0]


def _quarter_bounds(q: np.ndarray, fiscal_year_start_month: int) -> tuple[np.ndarray, np.ndarray]:
    """(start, exclusive end) of each quarter index, as datetime64[ns] arrays."""
    uniq, inv = np.unique(q, return_inverse=True)
    starts = np.array([quarter_from_index(int(u), fiscal_year_start_month).start.to_datetime64()
                       for u in uniq], dtype="datetime64[ns]")
    ends = np.array([quarter_from_index(int(u), fiscal_year_start_month).end.to_datetime64()
                     for u in uniq], dtype="datetime64[ns]")
    return starts[inv], ends[inv]


def quarter_end_audit(export: Export, window_days: int = 21, fiscal_year_start_month: int = 1,
                      min_excess: float = MIN_EXCESS, alpha: float = ALPHA) -> QuarterEndAudit:
    """Audit the closes of ``export`` (before its as-of date) for quarter-end bunching."""
    h = export.stage_history
    closes = pd.to_datetime(h.loc[h["stage"].isin(["won", "lost"]), "entered_on"]).dropna()
    as_of = pd.Timestamp(export.default_as_of)
    first = pd.to_datetime(h["entered_on"]).min() if len(h) else pd.NaT
    if len(closes) and pd.notna(first):
        q = quarter_index(closes, fiscal_year_start_month).to_numpy(dtype=np.int64)
        starts, ends = _quarter_bounds(q, fiscal_year_start_month)
        first_q = int(quarter_index(pd.Series([first]), fiscal_year_start_month).iloc[0])
        keep = (ends <= as_of.to_datetime64()) & (q > first_q)
        closes, starts, ends = closes[keep], starts[keep], ends[keep]
    else:
        starts = ends = np.array([], dtype="datetime64[ns]")
    n = len(closes)
    if n == 0:
        return QuarterEndAudit(window_days, 0, 0, float("nan"), 1.0, False)
    length = (ends - starts).astype("timedelta64[D]").astype(float)
    expected = float(np.mean(np.minimum(window_days, length) / length))
    k = int(in_quarter_end_window(closes, window_days, fiscal_year_start_month).sum())
    p = float(stats.binomtest(k, n, expected, alternative="greater").pvalue)
    bunched = p < alpha and k / n - expected >= min_excess
    return QuarterEndAudit(window_days, n, k, expected, p, bool(bunched))


def quarter_end_reading(export: Export, timing: TimingSettings, fiscal_year_start_month: int = 1
                        ) -> tuple[tuple[int, int] | None, str]:
    """Whether closes in the quarter-end window are read as interval-censored, and why.

    Returns ``((window_days, pull_days), reading)`` when they are, ``(None, reading)`` when
    every close is an exact stay; ``reading`` is the one line forecasts record.
    """
    t = timing
    window = (t.quarter_end_window_days, t.quarter_end_pull_days)
    if t.quarter_end == "off":
        return None, "off ([timing] quarter_end): every close read as an exact stay"
    audit = quarter_end_audit(export, t.quarter_end_window_days, fiscal_year_start_month)
    if t.quarter_end == "on" or audit.bunched:
        how = "on ([timing] quarter_end)" if t.quarter_end == "on" else "auto"
        return window, (f"{how}: {audit.describe()}; closes in the last {window[0]} days of a "
                        f"quarter read as due between the quarter's start and {window[1]} days "
                        "after their date")
    return None, f"auto: {audit.describe()}; every close read as an exact stay"


__all__ = ["ALPHA", "MIN_EXCESS", "QuarterEndAudit", "in_quarter_end_window",
           "quarter_end_audit", "quarter_end_reading", "quarter_start_of"]
