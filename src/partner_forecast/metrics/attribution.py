"""Attribution of a deal's ARR to the partner channel by partner role (DOMAIN.md section 4).

Sourced 100%, co-sell 50%, influenced 20-30% (default 25%, or the deal's influence_pct when
given), fulfillment 0% (operational only). Weights come from the ``[attribution]`` config table.
"""

from __future__ import annotations

import pandas as pd

from partner_forecast.config import AttributionSettings


def attribution_weight(role: pd.Series, influence_pct: pd.Series | None,
                       settings: AttributionSettings) -> pd.Series:
    """Share (0-1) of each deal's ARR attributed to the partner channel.

    ``influence_pct`` (0-100) replaces the default influenced share where given (and where
    ``use_influence_pct`` is on); it is ignored for other roles.
    """
    weights = {"sourced": settings.sourced, "co_sell": settings.co_sell,
               "influenced": settings.influenced, "fulfillment": settings.fulfillment}
    w = role.map(weights).astype(float)
    if influence_pct is not None and settings.use_influence_pct:
        pct = pd.to_numeric(influence_pct, errors="coerce") / 100.0
        use = role.eq("influenced") & pct.notna()
        w = w.where(~use, pct)
    return w.fillna(0.0)


def attributed_arr(arr: pd.Series, role: pd.Series, influence_pct: pd.Series | None,
                   settings: AttributionSettings) -> pd.Series:
    """Partner-attributed ARR (currency per year) of each deal."""
    return arr.astype(float) * attribution_weight(role, influence_pct, settings)


__all__ = ["attribution_weight", "attributed_arr"]
