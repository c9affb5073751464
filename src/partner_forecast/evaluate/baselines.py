"""Point baselines the Bayesian forecast must beat, computed from the as-of view only.

Four forecasts of a quarter's partner-attributed ARR per segment (currency per year):

``stage_table``
    DOMAIN.md section 3's stage-weighted forecast with the seed conversion table
    (``[conversion_table]``): sum over deals open at the origin of attributed ARR x
    P(won | stage, partner type) (:mod:`partner_forecast.metrics.stage_forecast`).
``stage_learned``
    The same with rates learned from the deals closed before the origin (shrunk to the seed
    table, :func:`~partner_forecast.metrics.stage_forecast.learned_conversion_table`).
``last_quarter``
    The attributed ARR won in the last complete quarter before the origin.
``same_quarter_last_year``
    The attributed ARR won in the same fiscal quarter a year earlier (or the latest earlier
    year known at the origin when the horizon reaches beyond a year).

A naive baseline whose source quarter lies before the first deal in the history (or is not
complete at the origin) has no value (NaN) rather than a misleading zero.

The stage-weighted forecasts have no timing: they forecast the open pipeline's eventual wins,
so they are used for the first quarter of a fold only (NaN later). Every baseline reads the
as-of view it is given and nothing else, so it cannot see past the origin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.metrics.pipeline import open_pipeline
from partner_forecast.metrics.stage_forecast import learned_conversion_table, table_rate
from partner_forecast.outcomes import realised, segment_labels

BASELINES: tuple[str, ...] = ("stage_table", "stage_learned", "last_quarter", "same_quarter_last_year")
"""Names of the point baselines, in report order."""

OPEN_DEAL_COLUMNS: tuple[str, ...] = ("opportunity_id", "partner_id", "partner_type", "tier",
                                      "partner_role", "revenue_motion", "stage", "arr",
                                      "attribution", "attributed_arr", "p_table", "p_learned")


def open_deals_at_origin(view: Export, settings: Settings) -> pd.DataFrame:
    """Deals open at the view's as-of date with their stage-table win probabilities.

    Parameters
    ----------
    view : Export
        The as-of view (its ``default_as_of`` is the origin).
    settings : Settings
        Seed conversion table and attribution weights.

    Returns
    -------
    pandas.DataFrame
        One row per open deal: :data:`OPEN_DEAL_COLUMNS` (``arr`` and ``attributed_arr`` in
        currency per year; ``p_table`` / ``p_learned`` = P(won | stage, type) from the seed
        table / the rates learned from history, in [0, 1]), plus ``region``.
    """
    pipe = open_pipeline(view, settings)
    learned = learned_conversion_table(view, settings).set_index(["partner_type", "stage"])["learned_rate"]
    region = view.partners.set_index("partner_id")["region"]
    out = pd.DataFrame({c: pipe[c].to_numpy(dtype=object) for c in
                        ("opportunity_id", "partner_id", "partner_type", "tier", "partner_role",
                         "revenue_motion", "stage")})
    out["arr"] = pipe["arr"].to_numpy(dtype=np.float64)
    out["attribution"] = pipe["attribution"].to_numpy(dtype=np.float64)
    out["attributed_arr"] = pipe["attributed_arr"].to_numpy(dtype=np.float64)
    out["p_table"] = np.array([table_rate(settings, t, s) for t, s in
                               zip(out["partner_type"], out["stage"], strict=True)], dtype=np.float64)
    keys = pd.MultiIndex.from_arrays([out["partner_type"], out["stage"]])
    out["p_learned"] = (learned.reindex(keys).to_numpy(dtype=np.float64) if len(out)
                        else np.zeros(0))
    out["region"] = out["partner_id"].map(region).to_numpy(dtype=object)
    return out


def _by_segment(values: pd.Series, labels: pd.Series, by: str | None) -> dict[str, float]:
    sums = values.groupby(labels.to_numpy()).sum()
    out = {str(k): float(v) for k, v in sums.items()} if by is not None else {}
    out["total"] = float(values.sum())
    return out


def _realised_points(view: Export, settings: Settings, quarter: Quarter,
                     by: str | None) -> dict[str, float]:
    """Won attributed ARR per segment in ``quarter``; empty when the history does not cover it."""
    created = view.opportunities["created_on"]
    if created.isna().all():
        return {}
    first = Quarter.containing(created.min(), settings.calendar.fiscal_year_start_month)
    if quarter < first or quarter.end > view.default_as_of:
        return {}
    won = realised(view, settings, quarter, by=by)
    return {str(s): float(v) for s, v in zip(won["segment"], won["attributed_arr"], strict=True)}


def same_quarter_last_year(quarter: Quarter, origin_quarter: Quarter) -> Quarter:
    """The latest quarter with ``quarter``'s fiscal quarter number that ended before the origin."""
    q = quarter - 4
    while not q < origin_quarter:
        q = q - 4
    return q


def baseline_points(view: Export, settings: Settings, quarters: list[Quarter],
                    by: str | None = None, deals: pd.DataFrame | None = None) -> pd.DataFrame:
    """Point forecasts of every baseline for each quarter of a fold.

    Parameters
    ----------
    view : Export
        The as-of view at the fold's origin (the start of ``quarters[0]``).
    settings : Settings
        Conversion table, attribution and calendar.
    quarters : list of Quarter
        The fold's reported quarters, the first one containing the origin.
    by : str, optional
        Segment dimension (labels as in :func:`partner_forecast.outcomes.realised`).
    deals : pandas.DataFrame, optional
        :func:`open_deals_at_origin` of the view, if already computed.

    Returns
    -------
    pandas.DataFrame
        quarter, segment, method, point (attributed ARR, currency per year; NaN where a
        baseline does not apply), source_quarter (the quarter a naive baseline copies).
        Segments: ``total`` and, with ``by``, every segment a baseline has a value for;
        a segment missing from one baseline's output has a point of 0.
    """
    if deals is None:
        deals = open_deals_at_origin(view, settings)
    fym = settings.calendar.fiscal_year_start_month
    origin_quarter = Quarter.containing(view.default_as_of, fym)
    last = origin_quarter - 1
    labels = segment_labels(deals, by)
    stage = {"stage_table": _by_segment(deals["attributed_arr"] * deals["p_table"], labels, by),
             "stage_learned": _by_segment(deals["attributed_arr"] * deals["p_learned"], labels, by)}
    last_points = _realised_points(view, settings, last, by)
    rows = []
    for h, q in enumerate(quarters):
        lag = same_quarter_last_year(q, origin_quarter)
        per_method: dict[str, tuple[dict[str, float], str]] = {
            "stage_table": (stage["stage_table"] if h == 0 else {}, ""),
            "stage_learned": (stage["stage_learned"] if h == 0 else {}, ""),
            "last_quarter": (last_points, str(last)),
            "same_quarter_last_year": (_realised_points(view, settings, lag, by), str(lag)),
        }
        segments = sorted({s for pts, _ in per_method.values() for s in pts} | {"total"})
        for method in BASELINES:
            pts, source = per_method[method]
            applicable = bool(pts)
            for seg in segments:
                value = pts.get(seg, 0.0) if applicable else np.nan
                rows.append((str(q), seg, method, value, source))
    out = pd.DataFrame(rows, columns=["quarter", "segment", "method", "point", "source_quarter"])
    for col in ("quarter", "segment", "method", "source_quarter"):
        out[col] = out[col].astype("str")
    return out


__all__ = ["BASELINES", "OPEN_DEAL_COLUMNS", "baseline_points", "open_deals_at_origin",
           "same_quarter_last_year"]
