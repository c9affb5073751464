"""Segment plumbing shared by the metric tables: labelling rows, splitting, per-segment tables.

``--by``: per-partner and per-seller tables are computed once and labelled with the partner's
segment (:func:`label_rows`); deal tables label each deal (deal-level segments included,
:func:`deal_group`) and aggregate; the seller and adoption KPI tables are computed on each
segment's sub-export (:func:`splitter`, via :func:`~partner_forecast.metrics.segments.split_export`).
Deal-level segments (partner_role, revenue_motion) do not split seller- or partner-level tables.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from partner_forecast.data.export import Export
from partner_forecast.metrics.segments import (
    DEAL_SEGMENTS,
    UNKNOWN,
    by_segment,
    label_deals,
    split_export,
)

SEGMENT = "_segment"  # working column holding a deal's segment label


def segment_column(by: str | None) -> str | None:
    """The column a segment's label is in (``partner`` -> ``partner_id``)."""
    return {"partner": "partner_id"}.get(by or "", by)


Split = Callable[[Callable[[Export], pd.DataFrame]], pd.DataFrame]


def splitter(export: Export, by: str | None) -> Split:
    """A function running a table's computation on the whole export or per segment.

    The export is split once (per command) and the parts reused by every table; a computed
    column that clashes with the segment column is dropped.
    """
    parts = split_export(export, by) if by is not None else None

    def run(compute: Callable[[Export], pd.DataFrame]) -> pd.DataFrame:
        if by is None:
            return compute(export)

        def inner(sub: Export) -> pd.DataFrame:
            frame = compute(sub)
            return frame.drop(columns=[c for c in (by, segment_column(by)) if c in frame])

        return by_segment(export, by, inner, parts)

    return run


def label_rows(export: Export, by: str | None, frame: pd.DataFrame) -> pd.DataFrame:
    """Per-partner (or per-seller) rows with their partner's segment as a first column.

    Deal-level segments do not apply to partner rows: the frame is returned unchanged.
    """
    if by is None or by in DEAL_SEGMENTS:
        return frame
    if by == "partner":
        return frame.rename(columns={"partner_id": "partner"})[
            ["partner", *(c for c in frame.columns if c != "partner_id")]]
    labels = export.partners.set_index("partner_id")[by].astype(object)
    out = frame.drop(columns=[by], errors="ignore")
    out.insert(0, by, out["partner_id"].map(labels).where(lambda v: v.notna(), UNKNOWN).to_numpy())
    return out


def partner_info(export: Export, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with partner_name, partner_type and tier after its partner_id (when missing)."""
    info = export.partners.set_index("partner_id")
    out = frame.copy()
    pos = list(out.columns).index("partner_id") + 1
    for i, col in enumerate(("partner_name", "partner_type", "tier")):
        if col not in out:
            out.insert(pos + i, col, out["partner_id"].map(info[col]).astype(object))
    return out


def program_row(frame: pd.DataFrame) -> pd.DataFrame:
    """The ``all`` row of a per-partner table, without the partner columns."""
    row = frame[frame["partner_id"] == "all"]
    return row.drop(columns=[c for c in ("partner_id", "partner_name", "partner_type", "tier")
                             if c in row]).reset_index(drop=True)


def deal_group(export: Export, by: str | None, deals: pd.DataFrame
               ) -> tuple[pd.DataFrame, list[str]]:
    """Deals labelled with their segment (any ``by``, deal-level ones included).

    Returns the frame and the grouping columns: none for the whole or ``partner_type``
    (deal tables already have it), else the working :data:`SEGMENT` column.
    """
    if by is None or by == "partner_type":
        return deals, []
    return deals.assign(**{SEGMENT: label_deals(export, by, deals).to_numpy()}), [SEGMENT]


def per_group(deals: pd.DataFrame, by: str, combine: Callable[[pd.DataFrame], pd.DataFrame],
              values: list[str]) -> pd.DataFrame:
    """``combine`` on each segment's rows of a labelled frame (all ``values``, empty ones too)."""
    parts = []
    for value in values:
        frame = combine(deals[deals[SEGMENT] == value].drop(columns=SEGMENT))
        frame.insert(0, by, value)
        parts.append(frame)
    if not parts:
        frame = combine(deals.drop(columns=SEGMENT)).iloc[0:0]
        frame.insert(0, by, pd.Series(dtype=object))
        return frame
    return pd.concat(parts, ignore_index=True)


def per_segment(by: str | None, frames: dict[str, pd.DataFrame],
                combine: Callable[..., pd.DataFrame]) -> pd.DataFrame:
    """``combine(**frames)`` overall, or per value of the (already labelled) segment column."""
    if by is None or by in DEAL_SEGMENTS:
        return combine(**frames)
    values = sorted(set().union(*(set(f[by]) for f in frames.values())))
    rows = []
    for v in values:
        part = combine(**{k: f[f[by] == v].drop(columns=by) for k, f in frames.items()})
        part.insert(0, by, v)
        rows.append(part)
    return pd.concat(rows, ignore_index=True)


__all__ = ["SEGMENT", "Split", "deal_group", "label_rows", "partner_info", "per_group",
           "per_segment", "program_row", "segment_column", "splitter"]
