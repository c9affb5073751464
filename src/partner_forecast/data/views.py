"""Views of an export that the models, the simulation inputs and the metrics all read.

Partners with integer codes for type and tier, each deal's partner type, engagement and
conversion covariates, and every stay of a deal in an open stage. Each is computed **once per
export object** and then shared: the fits of the five models, the simulation inputs and the
summaries all ask for them, often several times, for the same export (or the same as-of view,
:meth:`~partner_forecast.data.export.Export.as_of`, which is a new export with its own views).
An :class:`~partner_forecast.data.export.Export` is immutable, so a view never goes stale; the
cache holds views only as long as the export lives.

The returned frames and series are shared between callers: treat them as read-only (derive
new frames with ``assign``, ``set_index``, boolean masks and the like; pandas' copy-on-write
keeps those apart from the cached view).
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Concatenate

import numpy as np
import pandas as pd

from partner_forecast.data.export import Export
from partner_forecast.data.schema import (
    COVARIATES,
    ENGAGEMENT_ACTIVITIES,
    OPEN_STAGES,
    STAGE_ORDER,
    PartnerType,
    Tier,
)

DAY_FLOOR = 1.0
"""Shortest stay in days (a same-day move counts as one day), so that log-duration is finite."""

_MEMO: dict[int, tuple[weakref.ref[Export], dict[Hashable, Any]]] = {}
"""id(export) -> (weak reference to it, its computed views by (view name, arguments))."""


def _memo_of(export: Export) -> dict[Hashable, Any]:
    """The views computed so far for ``export`` (a new, empty memo for a new export)."""
    key = id(export)
    entry = _MEMO.get(key)
    if entry is not None and entry[0]() is export:
        return entry[1]
    memo: dict[Hashable, Any] = {}
    _MEMO[key] = (weakref.ref(export, lambda _ref: _MEMO.pop(key, None)), memo)
    return memo


def per_export[**P, R](func: Callable[Concatenate[Export, P], R]
                       ) -> Callable[Concatenate[Export, P], R]:
    """Compute ``func(export, *args)`` once per export object and arguments (see module docs)."""

    @functools.wraps(func)
    def cached(export: Export, *args: P.args, **kwargs: P.kwargs) -> R:
        memo = _memo_of(export)
        key = (func.__name__, args, tuple(sorted(kwargs.items())))
        if key not in memo:
            memo[key] = func(export, *args, **kwargs)
        return memo[key]

    return cached


# -- partners -----------------------------------------------------------------------------------
@per_export
def present_types(export: Export) -> tuple[str, ...]:
    """Partner types present in the export, in :class:`PartnerType` order."""
    seen = set(export.partners["partner_type"].dropna())
    return tuple(t.value for t in PartnerType if t.value in seen)


@per_export
def present_tiers(export: Export) -> tuple[str, ...]:
    """Tiers present in the export, in :class:`Tier` order."""
    seen = set(export.partners["tier"].dropna())
    return tuple(t.value for t in Tier if t.value in seen)


@per_export
def partner_frame(export: Export) -> pd.DataFrame:
    """Partners of the export sorted by id, with integer codes for type and tier.

    Returns
    -------
    pandas.DataFrame
        partner_id, partner_type, tier, onboarded_on, offboarded_on, type_idx (into
        :func:`present_types`), tier_idx (into :func:`present_tiers`).
    """
    p = export.partners.sort_values("partner_id", kind="stable").reset_index(drop=True)
    types, tiers = present_types(export), present_tiers(export)
    out = pd.DataFrame({
        "partner_id": p["partner_id"].astype(str).to_numpy(dtype=object),
        "partner_type": p["partner_type"].to_numpy(dtype=object),
        "tier": p["tier"].to_numpy(dtype=object),
        "onboarded_on": p["onboarded_on"].to_numpy(),
        "offboarded_on": p["offboarded_on"].to_numpy(),
    })
    out["type_idx"] = out["partner_type"].map({t: i for i, t in enumerate(types)}).astype(np.int64)
    out["tier_idx"] = out["tier"].map({t: i for i, t in enumerate(tiers)}).astype(np.int64)
    return out


@per_export
def partner_index(export: Export) -> pd.Series:
    """partner_id -> position in :func:`partner_frame`."""
    ids = partner_frame(export)["partner_id"]
    return pd.Series(np.arange(len(ids)), index=ids.to_numpy())


# -- deals --------------------------------------------------------------------------------------
@per_export
def deal_partner_type(export: Export) -> pd.Series:
    """The partner type of each opportunity (aligned with ``export.opportunities``)."""
    types = export.partners.set_index("partner_id")["partner_type"]
    return export.opportunities["partner_id"].map(types)


@per_export
def deal_engagement(export: Export) -> pd.Series:
    """Engagement activities (joint calls, deal updates, deal registrations) per opportunity.

    Returns
    -------
    pandas.Series
        Count (int) indexed by opportunity_id, for every opportunity of the export (0 when none).
        Only activities before the export's as-of date are known to an as-of view.
    """
    acts = export.activities
    eng = acts[acts["activity_type"].isin(ENGAGEMENT_ACTIVITIES) & acts["opportunity_id"].notna()]
    counts = eng.groupby("opportunity_id").size()
    ids = export.opportunities["opportunity_id"]
    out = counts.reindex(ids, fill_value=0).astype(np.int64)
    out.index.name = "opportunity_id"
    out.name = "engagement_activities"
    return out


@per_export
def deal_covariates(export: Export, engagement_full_at: int) -> pd.DataFrame:
    """The conversion covariates of every opportunity, indexed by opportunity_id.

    Columns :data:`~partner_forecast.data.schema.COVARIATES` in [0, 1]: the two flags as 0/1
    (missing = 0) and ``engagement = min(activities before as-of / full_at, 1)``; plus
    ``engagement_level`` (``min(count, full_at)``, int).
    """
    opps = export.opportunities
    level = np.minimum(deal_engagement(export).to_numpy(), engagement_full_at)
    out = pd.DataFrame({
        "technical_validation": opps["technical_validation"].fillna(False).astype(bool)
        .to_numpy(dtype=float),
        "executive_sponsor": opps["executive_sponsor"].fillna(False).astype(bool).to_numpy(dtype=float),
        "engagement": level / float(engagement_full_at),
        "engagement_level": level.astype(np.int64),
    }, index=pd.Index(opps["opportunity_id"].to_numpy(dtype=object), name="opportunity_id"))
    return out[[*COVARIATES, "engagement_level"]]


@per_export
def stage_stays(export: Export) -> pd.DataFrame:
    """Every stay of a deal in an open stage, completed or still running at as-of.

    A stay is a stage-history entry of an open stage (consecutive entries of the same stage
    are one stay); it ends when the next entry begins. It *advanced* unless the next entry is
    ``lost``.

    Returns
    -------
    pandas.DataFrame
        opportunity_id, partner_id, stage, entered_on, left_on (NaT while open), days (in the
        stage until it left, or until as-of while open; floored at :data:`DAY_FLOOR`), open
        (bool), advanced (bool; False while open), next_stage (the stage entered next; None
        while open).
    """
    cols = ["opportunity_id", "partner_id", "stage", "entered_on", "left_on", "days", "open",
            "advanced", "next_stage"]
    h = export.stage_history[["opportunity_id", "stage", "entered_on"]].dropna()
    if h.empty:  # typed, so that boolean masks on "open" stay masks (no history before as-of)
        return pd.DataFrame({
            "opportunity_id": pd.Series(dtype=object), "partner_id": pd.Series(dtype=object),
            "stage": pd.Series(dtype=object), "entered_on": pd.Series(dtype="datetime64[ns]"),
            "left_on": pd.Series(dtype="datetime64[ns]"), "days": pd.Series(dtype=float),
            "open": pd.Series(dtype=bool), "advanced": pd.Series(dtype=bool),
            "next_stage": pd.Series(dtype=object)})[cols]
    h = h.assign(_order=h["stage"].map(STAGE_ORDER)).sort_values(
        ["opportunity_id", "entered_on", "_order"], kind="stable")
    same = (h["opportunity_id"].eq(h["opportunity_id"].shift())
            & h["stage"].eq(h["stage"].shift()))
    h = h[~same]
    nxt = h.groupby("opportunity_id", sort=False)[["stage", "entered_on"]].shift(-1)
    h = h.assign(next_stage=nxt["stage"], left_on=nxt["entered_on"])
    h = h[h["stage"].isin(OPEN_STAGES)]
    is_open = h["next_stage"].isna().to_numpy()
    end = h["left_on"].where(~h["next_stage"].isna(), export.default_as_of)
    days = (end - h["entered_on"]).dt.days.to_numpy(dtype=float)
    partner = export.opportunities.set_index("opportunity_id")["partner_id"]
    out = pd.DataFrame({
        "opportunity_id": h["opportunity_id"].to_numpy(dtype=object),
        "partner_id": h["opportunity_id"].map(partner).astype(str).to_numpy(dtype=object),
        "stage": h["stage"].to_numpy(dtype=object),
        "entered_on": h["entered_on"].to_numpy(),
        "left_on": h["left_on"].to_numpy(),
        "days": np.maximum(days, DAY_FLOOR),
        "open": is_open,
        "advanced": (~is_open) & (h["next_stage"] != "lost").to_numpy(),
        "next_stage": h["next_stage"].to_numpy(dtype=object),
    })
    return out[cols].reset_index(drop=True)


__all__ = ["DAY_FLOOR", "per_export", "present_types", "present_tiers", "partner_frame",
           "partner_index", "deal_partner_type", "deal_engagement", "deal_covariates",
           "stage_stays"]
