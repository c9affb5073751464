"""Deterministic production models of partner ARR (DOMAIN.md section 3).

Seed 000 (referral model), one partner and quarter::

    ARR = addressable sellers x ASR x accounts per active seller x conversion rate x deal size

e.g. 100 x 15% x 4 x 20% x $4,200 = $50,400 per quarter; raising ASR 15% -> 20% raises it by a third.

Seed 001 (engagement model)::

    ARR = active sellers x engagement rate x deals per seller x deal size x win rate
    pipeline = effective sellers x deals per seller x deal size
    seller productivity = partner ARR / active sellers

e.g. 40 x 60% x 2 x $75k x 30% = $1.08M. Units: sellers are head counts in the quarter; rates per
quarter; deal size and ARR in currency per year (ARR added by the quarter's wins).

:func:`production_from_history` estimates every input per partner from a window of recent
quarters and applies both models, so the planning arithmetic can be checked against history.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics.periods import in_quarter
from partner_forecast.metrics.segments import label_partners
from partner_forecast.metrics.sellers import seller_quarter_activity

Number = float | npt.NDArray[np.floating]


def referral_model_arr(sellers: npt.ArrayLike, asr: npt.ArrayLike, accounts_per_active_seller: npt.ArrayLike,
                       conversion_rate: npt.ArrayLike, avg_deal_size: npt.ArrayLike) -> Number:
    """Quarterly partner-sourced ARR from the seed-000 referral model.

    Parameters
    ----------
    sellers : array_like
        Addressable sellers (head count).
    asr : array_like
        Active Seller Rate, 0-1 per quarter.
    accounts_per_active_seller : array_like
        Qualified referrals per active seller per quarter.
    conversion_rate : array_like
        Share of referrals that close won, 0-1.
    avg_deal_size : array_like
        Average ARR per won deal (currency per year).

    Returns
    -------
    float or numpy.ndarray
        ARR won in the quarter (currency per year).

    """
    out = (np.asarray(sellers, dtype=float) * np.asarray(asr, dtype=float)
           * np.asarray(accounts_per_active_seller, dtype=float)
           * np.asarray(conversion_rate, dtype=float) * np.asarray(avg_deal_size, dtype=float))
    return float(out) if out.ndim == 0 else out


def effective_sellers(active_sellers: npt.ArrayLike, engagement_rate: npt.ArrayLike) -> Number:
    """Effective sellers = active sellers x seller engagement rate (head count)."""
    out = np.asarray(active_sellers, dtype=float) * np.asarray(engagement_rate, dtype=float)
    return float(out) if out.ndim == 0 else out


def engagement_model_arr(active_sellers: npt.ArrayLike, engagement_rate: npt.ArrayLike,
                         deals_per_seller: npt.ArrayLike, avg_deal_size: npt.ArrayLike,
                         win_rate: npt.ArrayLike) -> Number:
    """Quarterly partner ARR from the seed-001 model.

    Parameters
    ----------
    active_sellers : array_like
        Active sellers in the quarter (head count).
    engagement_rate : array_like
        Engaged / active sellers, 0-1.
    deals_per_seller : array_like
        Opportunities created per engaged seller per quarter.
    avg_deal_size : array_like
        Average ARR per deal (currency per year).
    win_rate : array_like
        Share of deals won, 0-1.

    Returns
    -------
    float or numpy.ndarray
        ARR won in the quarter (currency per year).

    """
    out = (np.asarray(effective_sellers(active_sellers, engagement_rate), dtype=float)
           * np.asarray(deals_per_seller, dtype=float) * np.asarray(avg_deal_size, dtype=float)
           * np.asarray(win_rate, dtype=float))
    return float(out) if out.ndim == 0 else out


def pipeline_from_sellers(effective: npt.ArrayLike, deals_per_seller: npt.ArrayLike,
                          avg_deal_size: npt.ArrayLike) -> Number:
    """Pipeline created in a quarter = effective sellers x deals per seller x deal size (ARR)."""
    out = (np.asarray(effective, dtype=float) * np.asarray(deals_per_seller, dtype=float)
           * np.asarray(avg_deal_size, dtype=float))
    return float(out) if out.ndim == 0 else out


def seller_productivity(partner_arr: npt.ArrayLike, active_sellers: npt.ArrayLike) -> Number:
    """Partner ARR per active seller (currency per year per seller; NaN with no active seller)."""
    a = np.asarray(active_sellers, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(a > 0, np.asarray(partner_arr, dtype=float) / np.where(a > 0, a, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def _safe_div(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype(float)


def production_from_history(export: Export, settings: Settings, quarter: Quarter,
                            window: int = 4, by: str | None = None) -> pd.DataFrame:
    """Both production models per partner, inputs estimated from ``window`` quarters to ``quarter``.

    Inputs per partner, pooled over the window (quarters ``quarter - window + 1`` .. ``quarter``):
    asr = active / pool seller-quarters; engagement_rate = engaged / active seller-quarters;
    accounts_per_active_seller = partner-sourced deals created / active seller-quarters;
    deals_per_seller = sourced deals created / engaged seller-quarters; conversion_rate and
    win_rate = won / closed among sourced deals closed in the window; avg_deal_size = mean ARR of
    those won deals. ``sellers`` and ``active_sellers`` are the pool and active count in
    ``quarter`` itself. The models then give one quarter's ARR (currency per year); actual_arr is
    the sourced ARR won in ``quarter``.

    With ``by`` (a partner-level segment: partner_type, tier, partner, region), the inputs are
    pooled per segment instead of per partner.

    Returns
    -------
    pandas.DataFrame
        One row per partner (or segment, first column named ``by``) with sellers in
        ``quarter`` plus a final ``"all"`` row (inputs pooled over every partner): the inputs
        above, referral_model_arr, engagement_model_arr, model_pipeline_arr,
        seller_productivity and actual_arr.

    """
    quarters = [quarter - i for i in range(window - 1, -1, -1)]
    fy = settings.calendar.fiscal_year_start_month
    sq = seller_quarter_activity(export, quarters, fy)
    win = sq.groupby("partner_id").agg(pool_sq=("seller_id", "size"), active_sq=("active", "sum"),
                                       engaged_sq=("engaged", "sum"))
    now = sq[sq["quarter_index"] == quarter.index].groupby("partner_id").agg(
        sellers=("seller_id", "size"), active_sellers=("active", "sum"))
    opps = export.opportunities
    sourced = opps[opps["partner_role"].eq("sourced")]
    start, end = quarters[0].start, min(quarter.end, export.default_as_of)
    created = sourced[(sourced["created_on"] >= start) & (sourced["created_on"] < end)]
    closed = sourced[sourced["closed_on"].notna() & (sourced["closed_on"] >= start)
                     & (sourced["closed_on"] < end) & sourced["stage"].isin(("won", "lost"))]
    won = closed[closed["stage"].eq("won")]
    actual = sourced[in_quarter(sourced["closed_on"], export, quarter) & sourced["stage"].eq("won")]
    per = pd.DataFrame({
        "created": created.groupby("partner_id").size(),
        "closed": closed.groupby("partner_id").size(),
        "won": won.groupby("partner_id").size(),
        "won_arr": won.groupby("partner_id")["arr"].sum(),
        "actual_arr": actual.groupby("partner_id")["arr"].sum(),
    })
    frame = now.join(win, how="left").join(per, how="left").fillna(0.0)
    key = "partner_id"
    if by is not None:
        labels = label_partners(export, by, frame.rename_axis("partner_id").reset_index())
        frame = frame.groupby(labels.to_numpy()).sum()
        key = by
    frame.loc["all"] = frame.sum(numeric_only=True)
    frame.index.name = key
    out = pd.DataFrame(index=frame.index)
    out["sellers"] = frame["sellers"].astype(np.int64)
    out["active_sellers"] = frame["active_sellers"].astype(np.int64)
    out["asr"] = _safe_div(frame["active_sq"], frame["pool_sq"])
    out["engagement_rate"] = _safe_div(frame["engaged_sq"], frame["active_sq"])
    out["accounts_per_active_seller"] = _safe_div(frame["created"], frame["active_sq"])
    out["deals_per_seller"] = _safe_div(frame["created"], frame["engaged_sq"])
    out["conversion_rate"] = _safe_div(frame["won"], frame["closed"])
    out["win_rate"] = out["conversion_rate"]
    out["avg_deal_size"] = _safe_div(frame["won_arr"], frame["won"])
    out["referral_model_arr"] = referral_model_arr(out["sellers"], out["asr"],
                                                   out["accounts_per_active_seller"],
                                                   out["conversion_rate"], out["avg_deal_size"])
    out["engagement_model_arr"] = engagement_model_arr(out["sellers"] * out["asr"],
                                                       out["engagement_rate"], out["deals_per_seller"],
                                                       out["avg_deal_size"], out["win_rate"])
    out["model_pipeline_arr"] = pipeline_from_sellers(
        effective_sellers(out["sellers"] * out["asr"], out["engagement_rate"]),
        out["deals_per_seller"], out["avg_deal_size"])
    out["seller_productivity"] = seller_productivity(frame["actual_arr"], out["active_sellers"])
    out["actual_arr"] = frame["actual_arr"].astype(float)
    return out.reset_index()


__all__ = ["referral_model_arr", "effective_sellers", "engagement_model_arr", "pipeline_from_sellers",
           "seller_productivity", "production_from_history"]
