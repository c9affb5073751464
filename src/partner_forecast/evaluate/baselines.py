"""Baselines the Bayesian forecast must beat, computed from the as-of view only.

Five forecasts of a quarter's partner-attributed ARR per segment (currency per year):

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
``cohort``
    An empirical cohort forecast with no model: for each deal open at the origin, the share of
    deals in the same stage and age-in-stage bucket that were won within a quarter-length
    window, read off fortnightly snapshots of the past year (:mod:`.cohort`), times its
    attributed ARR; plus new pipeline = the attributed ARR won in the same quarter last year
    from deals created in that quarter. Besides its point (the expected value) it has draws
    (:func:`cohort_draws`: each open deal won or not, independently, with its cohort
    probability; new pipeline fixed), so it is scored as a distribution.

A naive baseline whose source quarter lies before the first deal in the history (or is not
complete at the origin) has no value (NaN) rather than a misleading zero.

The stage-weighted forecasts have no timing: they forecast the open pipeline's eventual wins,
so they are used for the first quarter of a fold only (NaN later); so is the cohort forecast
(its rates are for the quarter starting at the origin), which is NaN also when the history
does not reach back to the same quarter last year or has no snapshot to learn rates from.
Every baseline reads the as-of view it is given and nothing else, so it cannot see past the
origin.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.evaluate.cohort import age_bucket, cohort_rates, stage_entries
from partner_forecast.metrics.pipeline import open_pipeline
from partner_forecast.metrics.stage_forecast import learned_conversion_table, table_rate
from partner_forecast.outcomes import realised, segment_labels, won_deals

BASELINES: tuple[str, ...] = ("stage_table", "stage_learned", "last_quarter", "same_quarter_last_year",
                              "cohort")
"""Names of the baselines, in report order."""

DISTRIBUTION_BASELINES: tuple[str, ...] = ("cohort",)
"""Baselines that also have draws (scored as distributions in their first quarter)."""

OPEN_DEAL_COLUMNS: tuple[str, ...] = ("opportunity_id", "partner_id", "partner_type", "tier",
                                      "partner_role", "revenue_motion", "stage", "arr",
                                      "attribution", "attributed_arr", "p_table", "p_learned",
                                      "age_days", "age_bucket", "p_cohort")


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
        currency per year; ``p_table`` / ``p_learned`` = P(won eventually | stage, type) from
        the seed table / the rates learned from history, in [0, 1]; ``age_days`` = days in its
        current stage at the origin, ``age_bucket`` its bucket and ``p_cohort`` = P(won before
        the end of the origin's quarter | stage, age bucket) from :func:`.cohort.cohort_rates`,
        NaN when the history has no snapshot to learn from), plus ``region``.
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
    origin = view.default_as_of
    entered = stage_entries(view.stage_history, origin)["entered_on"]
    out["age_days"] = ((origin - pd.to_datetime(out["opportunity_id"].map(entered))).dt.days
                       .to_numpy(dtype=np.float64))
    out["age_bucket"] = age_bucket(out["age_days"].to_numpy()) if len(out) else np.array([], dtype=object)
    fym = settings.calendar.fiscal_year_start_month
    window = Quarter.containing(origin, fym).end - origin
    rates = cohort_rates(view, window)
    out["p_cohort"] = rates.rate(out["stage"], out["age_bucket"]) if len(out) else np.zeros(0)
    return out


def _by_segment(values: pd.Series, labels: pd.Series, by: str | None) -> dict[str, float]:
    sums = values.groupby(labels.to_numpy()).sum()
    out = {str(k): float(v) for k, v in sums.items()} if by is not None else {}
    out["total"] = float(values.sum())
    return out


def _covered(view: Export, settings: Settings, quarter: Quarter) -> bool:
    """Whether the view's history covers all of ``quarter`` (from the first deal to as-of)."""
    created = view.opportunities["created_on"]
    if created.isna().all():
        return False
    first = Quarter.containing(created.min(), settings.calendar.fiscal_year_start_month)
    return not (quarter < first or quarter.end > view.default_as_of)


def _realised_points(view: Export, settings: Settings, quarter: Quarter,
                     by: str | None) -> dict[str, float]:
    """Won attributed ARR per segment in ``quarter``; empty when the history does not cover it."""
    if not _covered(view, settings, quarter):
        return {}
    won = realised(view, settings, quarter, by=by)
    return {str(s): float(v) for s, v in zip(won["segment"], won["attributed_arr"], strict=True)}


def new_pipeline_points(view: Export, settings: Settings, quarter: Quarter,
                        by: str | None) -> dict[str, float]:
    """Attributed ARR won in ``quarter`` from deals created in it, per segment and ``total``.

    The cohort baseline's new-pipeline term (taken from the same quarter last year). Empty
    when the view's history does not cover the quarter.
    """
    if not _covered(view, settings, quarter):
        return {}
    won = won_deals(view, settings, quarter.start, quarter.end)
    won = won[(won["created_on"] >= quarter.start) & (won["created_on"] < quarter.end)]
    return _by_segment(won["attributed_arr"], segment_labels(won, by), by)


def _cohort_parts(view: Export, settings: Settings, quarter: Quarter, by: str | None,
                  deals: pd.DataFrame) -> tuple[dict[str, float], Quarter] | None:
    """The cohort baseline's new-pipeline points and source quarter; None when it does not apply."""
    origin_quarter = Quarter.containing(view.default_as_of, settings.calendar.fiscal_year_start_month)
    lag = same_quarter_last_year(quarter, origin_quarter)
    new = new_pipeline_points(view, settings, lag, by)
    if not new or not np.isfinite(deals["p_cohort"].to_numpy(dtype=np.float64)).all():
        return None
    return new, lag


def cohort_draws(view: Export, settings: Settings, quarter: Quarter, by: str | None = None,
                 deals: pd.DataFrame | None = None, n_draws: int = 4000, seed: int = 0,
                 chunk: int = 1000) -> pd.DataFrame | None:
    """Draws of the cohort baseline for the quarter starting at the view's as-of date.

    Each deal open at the origin is won (its attributed ARR counts) or not, independently,
    with its cohort probability ``p_cohort``; the new-pipeline term is added as a constant.
    The spread therefore only reflects which open deals close: no deal-size, timing or
    new-pipeline uncertainty and no correlation between deals, so its intervals are narrower
    than an honest forecast's. Reproducible for a seed.

    Returns
    -------
    pandas.DataFrame or None
        ``n_draws`` rows, one column per segment and ``total`` (attributed ARR, currency per
        year); None when the baseline does not apply (see :func:`baseline_points`).
    """
    if deals is None:
        deals = open_deals_at_origin(view, settings)
    parts = _cohort_parts(view, settings, quarter, by, deals)
    if parts is None:
        return None
    new, _ = parts
    labels = segment_labels(deals, by).to_numpy(dtype=object)
    segments = sorted(set(labels) | (set(new) - {"total"})) if by is not None else []
    columns = [*segments, "total"]
    value = deals["attributed_arr"].to_numpy(dtype=np.float64)
    p = deals["p_cohort"].to_numpy(dtype=np.float64)
    weights = np.zeros((len(deals), len(columns)))
    weights[:, -1] = value
    for j, seg in enumerate(segments):
        weights[:, j] = np.where(labels == seg, value, 0.0)
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, 5])
    out = np.empty((n_draws, len(columns)))
    for start in range(0, n_draws, chunk):
        stop = min(n_draws, start + chunk)
        won = rng.random((stop - start, len(deals))) < p
        out[start:stop] = won.astype(np.float64) @ weights
    out += np.array([new.get(c, 0.0) for c in columns])
    return pd.DataFrame(out, columns=columns)


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
        baseline does not apply), source_quarter (the quarter a naive baseline copies; for
        ``cohort``, the quarter its new pipeline is taken from).
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
    cohort: tuple[dict[str, float], str] = ({}, "")
    parts = _cohort_parts(view, settings, quarters[0], by, deals) if quarters else None
    if parts is not None:
        new, new_from = parts
        open_part = _by_segment(deals["attributed_arr"] * deals["p_cohort"], labels, by)
        cohort = ({s: open_part.get(s, 0.0) + new.get(s, 0.0) for s in set(open_part) | set(new)},
                  str(new_from))
    rows = []
    for h, q in enumerate(quarters):
        lag = same_quarter_last_year(q, origin_quarter)
        per_method: dict[str, tuple[dict[str, float], str]] = {
            "stage_table": (stage["stage_table"] if h == 0 else {}, ""),
            "stage_learned": (stage["stage_learned"] if h == 0 else {}, ""),
            "last_quarter": (last_points, str(last)),
            "same_quarter_last_year": (_realised_points(view, settings, lag, by), str(lag)),
            "cohort": cohort if h == 0 else ({}, ""),
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


__all__ = ["BASELINES", "DISTRIBUTION_BASELINES", "OPEN_DEAL_COLUMNS", "baseline_points",
           "cohort_draws", "new_pipeline_points", "open_deals_at_origin", "same_quarter_last_year"]
