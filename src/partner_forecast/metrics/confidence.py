"""Deal confidence score and the committed-forecast rule (DOMAIN.md section 6).

Each open partner deal gets six factor scores in [0, 1], combined with the ``[confidence]``
weights into a 0-100 score:

========================  ======  =========================================================
factor                    weight  factor score (0-1)
========================  ======  =========================================================
stage                     25%     ``stage_score[stage]`` (discovery .25 ... negotiation 1)
tier                      20%     ``tier_score[tier]`` of the deal's partner
partner_history           20%     the partner's win rate on deals closed before as-of, shrunk
                                  toward the overall win rate (:data:`HISTORY_PRIOR_DEALS`)
engagement                15%     min(engagement activities on the deal / engagement_full_at, 1)
technical_validation      10%     1 if POC done / technical fit confirmed, else 0
executive_sponsor         10%     1 if a customer executive sponsor is identified, else 0
========================  ======  =========================================================

Committed-forecast rule: score > ``full_above`` (70) -> full probability (factor 1);
``discounted_from`` (40) <= score <= 70 -> probability discounted by ``discount`` (25%, factor
0.75); score < 40 -> excluded from the committed forecast and tracked as upside (factor 0).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from partner_forecast.config import ConfidenceSettings, Settings
from partner_forecast.data.export import Export
from partner_forecast.data.schema import OPEN_STAGES
from partner_forecast.data.views import deal_engagement

FACTORS: tuple[str, ...] = ("stage", "tier", "partner_history", "engagement",
                            "technical_validation", "executive_sponsor")
HISTORY_PRIOR_DEALS = 10.0
"""Pseudo-deals of shrinkage: a partner's win rate counts as (won + k * overall) / (closed + k)."""
NEUTRAL_WIN_RATE = 0.5
"""Win rate used as the prior when the export has no closed deal at all."""
COMMIT_CATEGORIES: tuple[str, ...] = ("full", "discounted", "upside")
SCORE_DECIMALS = 6  # scores are rounded so that sums of weights land exactly on the 40/70 edges


def _confidence(settings: Settings | ConfidenceSettings) -> ConfidenceSettings:
    return settings.confidence if isinstance(settings, Settings) else settings


def commit_factor(score: npt.ArrayLike, settings: Settings | ConfidenceSettings) -> np.ndarray:
    """Share of a deal's probability that counts toward the committed forecast.

    Parameters
    ----------
    score : array_like
        Deal confidence score(s), 0-100.
    settings : Settings or ConfidenceSettings
        ``full_above``, ``discounted_from`` and ``discount`` of the ``[confidence]`` table.

    Returns
    -------
    numpy.ndarray
        1.0 where score > full_above; 1 - discount where discounted_from <= score <= full_above;
        0.0 below discounted_from (upside). Same shape as ``score`` (0-d for a scalar).

    """
    c = _confidence(settings)
    s = np.asarray(score, dtype=float)
    return np.where(s > c.full_above, 1.0, np.where(s >= c.discounted_from, 1.0 - c.discount, 0.0))


def commit_category(score: npt.ArrayLike, settings: Settings | ConfidenceSettings) -> np.ndarray:
    """``"full"``, ``"discounted"`` or ``"upside"`` for each score (same rule as :func:`commit_factor`)."""
    c = _confidence(settings)
    s = np.asarray(score, dtype=float)
    return np.where(s > c.full_above, "full", np.where(s >= c.discounted_from, "discounted", "upside"))


def partner_win_rates(export: Export, prior_deals: float = HISTORY_PRIOR_DEALS) -> pd.DataFrame:
    """Each partner's win rate on deals closed before as-of, shrunk toward the overall rate.

    Parameters
    ----------
    export : Export
        The export (or its as-of view); deals with ``closed_on`` before ``default_as_of`` count.
    prior_deals : float
        Strength of the shrinkage, in pseudo-deals at the overall win rate.

    Returns
    -------
    pandas.DataFrame
        One row per partner: partner_id, closed, won (counts), raw_win_rate (NaN when none
        closed) and win_rate = (won + prior_deals * overall) / (closed + prior_deals), 0-1.

    """
    opps = export.opportunities
    closed = opps[opps["stage"].isin(("won", "lost")) & opps["closed_on"].notna()
                  & (opps["closed_on"] < export.default_as_of)]
    n_closed = len(closed)
    overall = float((closed["stage"] == "won").mean()) if n_closed else NEUTRAL_WIN_RATE
    per = (closed.assign(is_won=closed["stage"].eq("won"))
           .groupby("partner_id")["is_won"].agg(closed="size", won="sum"))
    out = per.reindex(export.partners["partner_id"], fill_value=0).reset_index()
    out.columns = ["partner_id", "closed", "won"]
    out["closed"] = out["closed"].astype(np.int64)
    out["won"] = out["won"].astype(np.int64)
    out["raw_win_rate"] = np.where(out["closed"] > 0, out["won"] / out["closed"].clip(lower=1), np.nan)
    out["win_rate"] = (out["won"] + prior_deals * overall) / (out["closed"] + prior_deals)
    return out


def confidence_scores(export: Export, settings: Settings) -> pd.DataFrame:
    """Confidence score (0-100) and commit category of every open opportunity.

    Parameters
    ----------
    export : Export
        The export, usually its as-of view: open = stage in discovery..negotiation.
    settings : Settings
        Uses the ``[confidence]`` table (weights, factor scores, commit rule).

    Returns
    -------
    pandas.DataFrame
        One row per open opportunity: opportunity_id, partner_id, partner_type, tier,
        partner_role, revenue_motion, stage, arr (currency per year), the six factor scores
        in [0, 1] (columns ``<factor>_score`` for each name in :data:`FACTORS`, e.g.
        ``stage_score``), engagement_activities
        (count), confidence_score (0-100), commit_factor (1, 1 - discount or 0) and
        commit_category ("full", "discounted", "upside").

    """
    c = settings.confidence
    opps = export.opportunities
    open_ = opps[opps["stage"].isin(OPEN_STAGES)]
    partners = export.partners.set_index("partner_id")
    out = pd.DataFrame({
        "opportunity_id": open_["opportunity_id"].to_numpy(dtype=object),
        "partner_id": open_["partner_id"].to_numpy(dtype=object),
    })
    out["partner_type"] = out["partner_id"].map(partners["partner_type"])
    out["tier"] = out["partner_id"].map(partners["tier"])
    out["partner_role"] = open_["partner_role"].to_numpy(dtype=object)
    out["revenue_motion"] = open_["revenue_motion"].to_numpy(dtype=object)
    out["stage"] = open_["stage"].to_numpy(dtype=object)
    out["arr"] = open_["arr"].to_numpy(dtype=float)

    out["stage_factor"] = out["stage"].map(c.stage_score).astype(float).fillna(0.0)
    out["tier_factor"] = out["tier"].map(c.tier_score).astype(float).fillna(0.0)
    rates = partner_win_rates(export).set_index("partner_id")["win_rate"]
    out["partner_history_factor"] = out["partner_id"].map(rates).astype(float).fillna(NEUTRAL_WIN_RATE)
    engagement = deal_engagement(export)
    out["engagement_activities"] = out["opportunity_id"].map(engagement).fillna(0).astype(np.int64)
    out["engagement_factor"] = np.minimum(out["engagement_activities"] / c.engagement_full_at, 1.0)
    for flag in ("technical_validation", "executive_sponsor"):
        out[f"{flag}_factor"] = (open_[flag].fillna(False).astype(bool).to_numpy(dtype=float))

    score = sum(c.weights[f] * out[f"{f}_factor"] for f in FACTORS) * 100.0
    out["confidence_score"] = np.round(np.asarray(score, dtype=float), SCORE_DECIMALS)
    out["commit_factor"] = commit_factor(out["confidence_score"], c)
    out["commit_category"] = commit_category(out["confidence_score"], c).astype(object)
    out = out.rename(columns={f"{f}_factor": f"{f}_score" for f in FACTORS})
    cols = ["opportunity_id", "partner_id", "partner_type", "tier", "partner_role", "revenue_motion",
            "stage", "arr",
            *(f"{f}_score" for f in FACTORS),
            "engagement_activities", "confidence_score", "commit_factor", "commit_category"]
    return out[cols].reset_index(drop=True)


FACTOR_COLUMNS: tuple[str, ...] = tuple(f"{f}_score" for f in FACTORS)

__all__ = ["FACTORS", "FACTOR_COLUMNS", "COMMIT_CATEGORIES", "commit_factor", "commit_category",
           "partner_win_rates", "confidence_scores"]
