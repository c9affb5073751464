"""Segments for ``--by``: split an export into one sub-export per segment value.

Partner-level segments (partner_type, tier, partner, region) keep a segment's partners with
their sellers, activities and deals; targets are kept only for ``partner_type`` (the rows of
that type become the segment's overall target). Deal-level segments (partner_role,
revenue_motion) keep every partner and seller but only the segment's deals: seller- and
partner-level metrics are then the same in every segment. Company figures are company-wide
and kept as they are (so a segment's contribution % is its share of the company total).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from partner_forecast.data.export import Export

PARTNER_SEGMENTS: dict[str, str] = {"partner_type": "partner_type", "tier": "tier",
                                    "partner": "partner_id", "region": "region"}
DEAL_SEGMENTS: dict[str, str] = {"partner_role": "partner_role", "revenue_motion": "revenue_motion"}
SEGMENTS: tuple[str, ...] = (*PARTNER_SEGMENTS, *DEAL_SEGMENTS)
UNKNOWN = "(none)"  # segment value for a blank label


def _check(by: str) -> None:
    if by not in SEGMENTS:
        raise ValueError(f"unknown segment {by!r}; expected one of {', '.join(SEGMENTS)}")


def segment_column(export: Export, by: str) -> pd.Series:
    """The segment value of every partner (partner segments) or deal (deal segments)."""
    _check(by)
    if by in PARTNER_SEGMENTS:
        frame = export.partners
        values = frame[PARTNER_SEGMENTS[by]]
    else:
        frame = export.opportunities
        values = frame[DEAL_SEGMENTS[by]]
    return values.astype(object).where(values.notna(), UNKNOWN)


def label_deals(export: Export, by: str, deals: pd.DataFrame) -> pd.Series:
    """Segment value of each row of a deals frame (any frame with partner_id and the deal labels)."""
    _check(by)
    if by in PARTNER_SEGMENTS:
        partner_label = pd.Series(segment_column(export, by).to_numpy(),
                                  index=export.partners["partner_id"].to_numpy())
        values = deals["partner_id"].map(partner_label)
    else:
        values = deals[DEAL_SEGMENTS[by]]
    return values.astype(object).where(values.notna(), UNKNOWN)


def label_partners(export: Export, by: str, frame: pd.DataFrame) -> pd.Series:
    """Segment value of each row of a frame with a partner_id column (partner segments only)."""
    if by not in PARTNER_SEGMENTS:
        raise ValueError(f"{by!r} is not a partner-level segment")
    return label_deals(export, by, frame)


def segment_values(export: Export, by: str) -> list[str]:
    """The distinct values of segment ``by`` in the export, sorted."""
    return sorted(set(segment_column(export, by)))


def _row_labels(export: Export, by: str) -> dict[str, np.ndarray]:
    """The segment value of every row of each frame that a split must cut."""
    if by in DEAL_SEGMENTS:
        opp_label = segment_column(export, by)
        by_opp = pd.Series(opp_label.to_numpy(), index=export.opportunities["opportunity_id"].to_numpy())
        return {"opportunities": opp_label.to_numpy(dtype=object),
                "stage_history": export.stage_history["opportunity_id"].map(by_opp).to_numpy(dtype=object)}
    partner_label = pd.Series(segment_column(export, by).to_numpy(),
                              index=export.partners["partner_id"].to_numpy())
    seller_label = export.sellers["partner_id"].map(partner_label)
    by_seller = pd.Series(seller_label.to_numpy(), index=export.sellers["seller_id"].to_numpy())
    opp_label = export.opportunities["partner_id"].map(partner_label)
    by_opp = pd.Series(opp_label.to_numpy(), index=export.opportunities["opportunity_id"].to_numpy())
    return {"partners": partner_label.to_numpy(dtype=object),
            "sellers": seller_label.to_numpy(dtype=object),
            "activities": export.activities["seller_id"].map(by_seller).to_numpy(dtype=object),
            "opportunities": opp_label.to_numpy(dtype=object),
            "stage_history": export.stage_history["opportunity_id"].map(by_opp).to_numpy(dtype=object)}


def split_export(export: Export, by: str) -> dict[str, Export]:
    """One sub-export per value of segment ``by`` (see the module docs), in one pass.

    Every part keeps the whole export's as-of date (its own latest date may be earlier).
    """
    _check(by)
    labels = _row_labels(export, by)
    positions = {name: pd.Series(np.arange(len(lab))).groupby(lab, dropna=True).indices
                 if len(lab) else {} for name, lab in labels.items()}
    as_of = export.default_as_of
    parts: dict[str, Export] = {}
    for value in segment_values(export, by):
        frames: dict[str, pd.DataFrame] = {}
        for name, index in positions.items():
            frame = getattr(export, name)
            frames[name] = frame.iloc[index.get(value, np.empty(0, dtype=np.int64))].reset_index(drop=True)
        if by in PARTNER_SEGMENTS:
            targets = export.targets.iloc[0:0]
            if by == "partner_type" and len(export.targets):
                targets = export.targets[export.targets["partner_type"].eq(value)].copy()
                targets["partner_type"] = None
            frames["targets"] = targets.reset_index(drop=True)
        parts[value] = replace(export, **frames, as_of_date=as_of)
    return parts


def filter_export(export: Export, by: str, value: str) -> Export:
    """The part of ``export`` in segment ``by == value`` (see :func:`split_export`)."""
    return split_export(export, by)[value]


def by_segment(export: Export, by: str | None, compute: Callable[[Export], pd.DataFrame],
               parts: dict[str, Export] | None = None) -> pd.DataFrame:
    """Run ``compute`` on the whole export (``by`` None) or on each segment's sub-export.

    Parameters
    ----------
    export : Export
        The whole export.
    by : str or None
        Segment (one of :data:`SEGMENTS`) or None.
    compute : callable
        Export -> DataFrame.
    parts : dict, optional
        The result of :func:`split_export` for ``by``, to reuse one split for several tables.

    Returns
    -------
    pandas.DataFrame
        ``compute``'s rows; with ``by``, the rows of every segment stacked, with the segment
        value in a first column named ``by``.

    """
    if by is None:
        return compute(export)
    if parts is None:
        parts = split_export(export, by)
    frames = []
    for value, sub in parts.items():
        part = compute(sub)
        part.insert(0, by, value)
        frames.append(part)
    if not frames:
        empty = compute(export).iloc[0:0]
        empty.insert(0, by, pd.Series(dtype=object))
        return empty
    return pd.concat(frames, ignore_index=True)


__all__ = ["SEGMENTS", "PARTNER_SEGMENTS", "DEAL_SEGMENTS", "UNKNOWN", "segment_column", "label_deals",
           "label_partners", "segment_values",
           "split_export", "filter_export", "by_segment"]
