"""Partner activation score: a composite 0-100 readiness score (seed 003, DOMAIN.md section 7).

Six components, each in [0, 1], measured per partner over a quarter and saturating at a
"full" level (component = min(observed / full_at, 1)):

=====================  ======  ==========================================================  =======
component              weight  observed                                                   full at
=====================  ======  ==========================================================  =======
certifications         0.20    share of pool sellers certified (any time before the cut)  0.5
training               0.15    share of pool sellers with training / enablement sessions   0.5
deal_submissions       0.20    deals created in the quarter per pool seller                0.5
pipeline_progression   0.20    share of the partner's deals in play that moved stage       0.5
marketing              0.10    share of pool sellers downloading content (marketing)       0.5
portal                 0.15    share of pool sellers logging in to the portal              0.5
=====================  ======  ==========================================================  =======

Score = 100 x weighted sum. Bands from ``[activation]``: score >= ``fully_enabled_from`` (70)
"fully enabled", >= ``partially_ready_from`` (40) "partially ready", else "needs support".
The trend compares with the previous quarter's score. Weights and saturation levels are
judgement calls (the seed names the inputs, not their weights), kept here as constants.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics.asr import seller_quarter_pool
from partner_forecast.metrics.periods import quarter_cut

COMPONENTS: dict[str, tuple[float, float]] = {  # name -> (weight, full_at)
    "certifications": (0.20, 0.5),
    "training": (0.15, 0.5),
    "deal_submissions": (0.20, 0.5),
    "pipeline_progression": (0.20, 0.5),
    "marketing": (0.10, 0.5),
    "portal": (0.15, 0.5),
}
BANDS: tuple[str, ...] = ("fully enabled", "partially ready", "needs support")
TREND_FLAT_POINTS = 5.0  # score changes smaller than this (points) read as "flat"


def activation_band(score: npt.ArrayLike, settings: Settings) -> np.ndarray:
    """Band of each 0-100 score: "fully enabled", "partially ready" or "needs support"."""
    s = np.asarray(score, dtype=float)
    a = settings.activation
    return np.where(s >= a.fully_enabled_from, BANDS[0],
                    np.where(s >= a.partially_ready_from, BANDS[1], BANDS[2]))


def _share_of_pool(pool: pd.DataFrame, acts: pd.DataFrame, types: tuple[str, ...]) -> pd.Series:
    sellers = set(acts.loc[acts["activity_type"].isin(types), "seller_id"])
    return pool.assign(hit=pool["seller_id"].isin(sellers)).groupby("partner_id")["hit"].mean()


def activation_components(export: Export, settings: Settings, quarter: Quarter) -> pd.DataFrame:
    """Observed inputs and component scores (0-1) of every partner with sellers in ``quarter``.

    Returns
    -------
    pandas.DataFrame
        partner_id, pool, then for each component ``<name>_observed`` (share or rate as in the
        module table) and ``<name>`` (0-1), and activation_score (0-100).

    """
    start, cut = quarter.start, quarter_cut(export, quarter)
    pool = seller_quarter_pool(export, [quarter])
    acts = export.activities
    ever = acts[acts["occurred_on"] < cut]
    in_q = ever[ever["occurred_on"] >= start]
    out = pool.groupby("partner_id").size().rename("pool").to_frame()
    obs = pd.DataFrame(index=out.index)
    obs["certifications"] = _share_of_pool(pool, ever, ("certification",))
    obs["training"] = _share_of_pool(pool, in_q, ("training", "enablement_session"))
    obs["marketing"] = _share_of_pool(pool, in_q, ("content_download",))
    obs["portal"] = _share_of_pool(pool, in_q, ("portal_login",))
    opps = export.opportunities
    created = opps[(opps["created_on"] >= start) & (opps["created_on"] < cut)]
    submitted = created.groupby("partner_id").size().reindex(out.index, fill_value=0)
    obs["deal_submissions"] = submitted / out["pool"]
    # deals in play: created before the cut and not closed before the quarter started
    in_play = opps[(opps["created_on"] < cut) & ~(opps["closed_on"].notna() & (opps["closed_on"] < start))]
    # moved = entered a stage inside the quarter other than the one it was created in
    hist = export.stage_history
    first_on = hist.groupby("opportunity_id")["entered_on"].transform("min")
    moves = hist[(hist["entered_on"] > first_on) & (hist["entered_on"] >= start) & (hist["entered_on"] < cut)]
    moved_ids = set(moves["opportunity_id"])
    progressed = in_play.assign(moved=in_play["opportunity_id"].isin(moved_ids))
    obs["pipeline_progression"] = progressed.groupby("partner_id")["moved"].mean()
    obs = obs.reindex(out.index).fillna(0.0)
    score = np.zeros(len(out))
    for name, (weight, full_at) in COMPONENTS.items():
        out[f"{name}_observed"] = obs[name].astype(float)
        out[name] = np.minimum(obs[name].astype(float) / full_at, 1.0)
        score += weight * out[name].to_numpy(dtype=float)
    out["activation_score"] = np.round(100.0 * score, 6)
    return out.reset_index()


def activation_scores(export: Export, settings: Settings, quarter: Quarter) -> pd.DataFrame:
    """Activation score, band and trend of every partner with sellers in ``quarter``.

    Returns
    -------
    pandas.DataFrame
        partner_id, partner_name, partner_type, tier, pool, the six component scores (0-1),
        activation_score (0-100), band, previous_score (previous quarter, NaN when the partner
        had no sellers then), score_change (points) and trend ("rising", "falling", "flat",
        "new").

    """
    now = activation_components(export, settings, quarter)
    before = activation_components(export, settings, quarter - 1)[["partner_id", "activation_score"]]
    out = now.merge(before.rename(columns={"activation_score": "previous_score"}), on="partner_id",
                    how="left")
    out["band"] = activation_band(out["activation_score"], settings).astype(object)
    out["score_change"] = out["activation_score"] - out["previous_score"]
    out["trend"] = np.select(
        [out["previous_score"].isna(), out["score_change"] >= TREND_FLAT_POINTS,
         out["score_change"] <= -TREND_FLAT_POINTS], ["new", "rising", "falling"], default="flat")
    out["trend"] = out["trend"].astype(object)
    info = export.partners.set_index("partner_id")
    for col in ("partner_name", "partner_type", "tier"):
        out[col] = out["partner_id"].map(info[col]).astype(object)
    cols = ["partner_id", "partner_name", "partner_type", "tier", "pool", *COMPONENTS,
            "activation_score", "band", "previous_score", "score_change", "trend"]
    return out[cols].sort_values(["activation_score", "partner_id"], ascending=[False, True]
                                 ).reset_index(drop=True)


def band_summary(scores: pd.DataFrame) -> pd.DataFrame:
    """Partners per band (count and share) from :func:`activation_scores`' table."""
    n = len(scores)
    counts = scores["band"].value_counts().reindex(list(BANDS), fill_value=0)
    return pd.DataFrame({"band": list(BANDS), "partners": counts.to_numpy(dtype=np.int64),
                         "share": counts.to_numpy(dtype=float) / n if n else np.nan})


__all__ = ["COMPONENTS", "BANDS", "activation_band", "activation_components", "activation_scores",
           "band_summary"]
