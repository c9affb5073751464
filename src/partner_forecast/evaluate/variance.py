"""Quarterly variance review: the ledger's forecast of a quarter against what actually closed.

:func:`variance_review` takes the forecast of quarter ``Q`` recorded in the ledger (the latest
run from the same data source whose as-of -- its *origin* -- is on or before ``Q``'s start, or
a given run: no fit then; when there is none it makes one as of ``Q``'s start and records it,
saying beforehand whether that fits models and how long it is likely to take), and reports

- actual partner-attributed ARR against P10/P50/P90 and the mean, with the actual's
  percentile in the forecast distribution, in total and per segment;
- a decomposition of *actual minus forecast mean* (total) into drivers that sums exactly:

  open pipeline (deals open at the origin, each with the run's win-in-Q probability
  ``p_i`` and attributed value ``v_i`` = ARR x attribution weight):
      won in Q -> ``(1 - p_i) v_i`` (conversion); lost by Q's end -> ``-p_i v_i`` (lost);
      still open at Q's end or closed in another quarter -> ``-p_i v_i`` (timing); plus the
      difference between the per-deal expectation ``sum p_i v_i`` and the simulated mean of
      the open pipeline (Monte Carlo and float rounding, or an attribution difference);
  deals won in Q that were created before the origin but are not in the run's open
      pipeline (their whole ARR: the forecast did not know them);
  ARR won before the origin inside Q (zero unless the data changed since the run);
  new pipeline (deals created on or after the origin): sequential substitution on
      ``active sellers x opportunities per active seller x wins per opportunity x gross ARR
      per win x attributed share``, expected factors from the run's driver means (ratios of
      means, whose product is exactly the expected new ARR) replaced by actual ones in that
      order -- activation, productivity, conversion, deal size, attribution mix. The lines
      telescope to actual minus expected new ARR; when a factor is undefined (no wins, no
      active sellers) its other side's value is used and the lines are rescaled so that they
      still sum exactly -- or, when that would take a factor outside :data:`RESCALE_RANGE`
      (the factors explain too little of the difference), the rest is its own line;
- conversion by partner type, model vs actual (and the seed stage table), for the deals open at
  the origin, and for the new pipeline as a whole;
- the largest misses: the most-expected deals that were not won in Q, and the largest
  unexpected wins, each with the required fields it lacks (incomplete records are the most
  common cause of misses, DOMAIN.md section 8);
- with a ``calls`` table: each caller's latest call of Q known at the run's as-of (made before
  it), beside the run's P10/P50/P90 and the actual (:func:`.calls.beside_model`).

ARR is partner-attributed, currency per year; probabilities in [0, 1]; percentiles 0-100.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast import __version__
from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export, calls_fingerprint
from partner_forecast.errors import PartnerForecastError
from partner_forecast.evaluate.record import percentile_of
from partner_forecast.formatting import money
from partner_forecast.metrics.attribution import attribution_weight
from partner_forecast.model_source import FITTED_MODELS, ModelSource
from partner_forecast.outcomes import realised, won_deals

OPEN_STATUSES: tuple[str, ...] = ("won", "lost", "slipped", "won_earlier", "missing")
"""Status at the quarter's end of a deal open at the origin (``missing``: no longer in the export)."""
NEW_FACTORS: tuple[tuple[str, str], ...] = (
    ("activation", "active sellers"),
    ("productivity", "opportunities per active seller"),
    ("conversion", "new deals won per opportunity"),
    ("deal size", "gross ARR per won deal"),
    ("attribution mix", "attributed share of won ARR"),
)
"""The new-pipeline factors, in substitution order: (driver, what the factor is)."""
NEW_MEASURES: tuple[str, ...] = ("active_sellers", "opportunities", "won_deals", "won_arr",
                                 "attributed_arr")
"""Totals behind the new-pipeline factors (won_arr gross, attributed_arr partner-attributed)."""
DRIVER_KEYS: dict[str, str] = {"active_sellers": "new_active_sellers",
                               "opportunities": "new_opportunities", "won_deals": "new_won_deals",
                               "won_arr": "new_won_arr"}
"""Simulation driver (``meta["drivers"]``) behind each new-pipeline total."""
TOP_MISSES = 10
RESCALE_RANGE: tuple[float, float] = (0.5, 2.0)
"""New-pipeline lines are rescaled to the exact difference only by a factor in this range;
beyond it the factors explain too little of it, and the rest is shown as its own line."""
MAX_LINE_OVER_SCALE = 1e6
"""A new-pipeline line larger than this multiple of the ARR involved means inconsistent totals."""


# -- pure decomposition -------------------------------------------------------------------------
def open_pipeline_lines(p_won: np.ndarray, value: np.ndarray, status: np.ndarray) -> dict[str, float]:
    """Conversion / lost / timing lines of the open pipeline.

    Parameters
    ----------
    p_won : array
        Forecast probability that each deal is won in the quarter.
    value : array
        Attributed value of each deal (currency per year).
    status : array of str
        Each deal's status at the quarter's end (:data:`OPEN_STATUSES`).

    Returns
    -------
    dict
        ``conversion`` = sum of (1 - p) v over won deals, ``lost`` = -sum p v over lost ones,
        ``timing`` = -sum p v over the rest; together: actual won value - sum p v.
    """
    p = np.asarray(p_won, dtype=np.float64)
    v = np.asarray(value, dtype=np.float64)
    s = np.asarray(status, dtype=object)
    won = s == "won"
    lost = s == "lost"
    other = ~(won | lost)
    # "+ 0.0" turns a negative zero into 0.0 for display.
    return {"conversion": float(((1.0 - p[won]) * v[won]).sum()) + 0.0,
            "lost": float(-(p[lost] * v[lost]).sum()) + 0.0,
            "timing": float(-(p[other] * v[other]).sum()) + 0.0}


def factor_text(driver: str, value: float) -> str:
    """A new-pipeline factor in words: money for deal size, a percentage for shares and rates.

    ``deal size`` -> ``$25.9k``; ``conversion`` / ``attribution mix`` -> ``2.3%``; counts and
    per-seller ratios with two significant decimals at most (never scientific notation).
    """
    v = float(value)
    if not np.isfinite(v):
        return "n/a"
    if driver == "deal size":
        return money(v)
    if driver in ("conversion", "attribution mix"):
        return f"{100 * v:.1f}%"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}".rstrip("0").rstrip(".")


def _factors(totals: Mapping[str, float], fallback: list[float] | None = None) -> list[float]:
    """Factor values (active, opps/active, wins/opp, ARR/win, attributed/ARR) of some totals.

    A ratio with a zero denominator takes ``fallback``'s value (the other side's), or 0.
    """
    a, o, w, g, x = (float(totals[k]) for k in NEW_MEASURES)
    nums, dens = (o, w, g, x), (a, o, w, g)
    out = [a]
    for k, (num, den) in enumerate(zip(nums, dens, strict=True)):
        if den != 0:
            out.append(num / den)
        else:
            out.append(fallback[k + 1] if fallback is not None else 0.0)
    return out


def sequential_substitution(expected: list[float], actual: list[float]) -> np.ndarray:
    """Lines of replacing each expected factor by its actual value, in order.

    Line ``k`` = prod(actual[:k+1]) prod(expected[k+1:]) - prod(actual[:k]) prod(expected[k:]);
    the lines sum to prod(actual) - prod(expected).
    """
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    chain = [float(np.prod(np.concatenate([a[:k], e[k:]]))) for k in range(len(e) + 1)]
    return np.diff(np.asarray(chain))


def new_pipeline_lines(expected: Mapping[str, float] | None, actual: Mapping[str, float],
                       expected_arr: float) -> pd.DataFrame:
    """Driver lines of the new pipeline, summing exactly to actual - expected attributed ARR.

    Parameters
    ----------
    expected : mapping or None
        Expected totals of the quarter (:data:`NEW_MEASURES` but ``attributed_arr``): mean
        active sellers, opportunities, new wins, gross won ARR. None when the run did not
        record them.
    actual : mapping
        Actual totals of :data:`NEW_MEASURES`.
    expected_arr : float
        The forecast mean of attributed ARR from new pipeline (currency per year).

    Returns
    -------
    pandas.DataFrame
        driver, factor (what it measures), expected, actual (factor values) and value
        (currency per year); an ``other`` line appears only when the factors cannot explain the
        difference (see :data:`RESCALE_RANGE`), or a single line when no drivers were recorded.
    """
    target = float(actual["attributed_arr"]) - float(expected_arr)
    cols = ["driver", "factor", "expected", "actual", "value"]
    if expected is None:
        return pd.DataFrame([("new pipeline", "drivers not recorded in this run", np.nan, np.nan,
                              target)], columns=cols)
    exp_totals = {**{k: float(expected[k]) for k in DRIVER_KEYS}, "attributed_arr": float(expected_arr)}
    with np.errstate(all="ignore"):
        raw_e = _factors(exp_totals)
        f_a = _factors(actual, fallback=raw_e)
        f_e = _factors(exp_totals, fallback=f_a)
        lines = sequential_substitution(f_e, f_a)
    scale = max(1.0, abs(float(actual["attributed_arr"])), abs(float(expected_arr)))
    if not np.all(np.isfinite(lines)) or np.abs(lines).max() > MAX_LINE_OVER_SCALE * scale:
        # Inconsistent totals (e.g. a vanishing expected count with a finite ARR): the
        # substitution is numerically meaningless, the whole difference is unexplained.
        lines = np.zeros(len(NEW_FACTORS))
    explained = float(lines.sum())
    rest = 0.0
    if abs(explained - target) > 1e-9 * scale:
        ratio = target / explained if explained != 0.0 else np.nan
        if np.isfinite(ratio) and RESCALE_RANGE[0] <= ratio <= RESCALE_RANGE[1]:
            lines = lines * ratio
        else:
            rest = target - explained
    frame = pd.DataFrame({"driver": [d for d, _ in NEW_FACTORS], "factor": [f for _, f in NEW_FACTORS],
                          "expected": f_e, "actual": f_a, "value": lines})
    if rest != 0.0:
        frame = pd.concat([frame, pd.DataFrame([("other", "not explained by the factors", np.nan,
                                                 np.nan, rest)], columns=cols)], ignore_index=True)
    # Absorb float rounding so the lines sum to the target as closely as floats allow.
    frame.loc[frame.index[-1], "value"] += target - float(frame["value"].sum())
    return frame[cols]


def decompose(deals: pd.DataFrame, *, forecast_open: float, forecast_new: float,
              forecast_won_to_date: float, forecast_total: float, actual_won_to_date: float,
              actual_unlisted: float, new_expected: Mapping[str, float] | None,
              new_actual: Mapping[str, float]) -> pd.DataFrame:
    """Decompose actual minus forecast mean (total attributed ARR of a quarter) into drivers.

    Parameters
    ----------
    deals : pandas.DataFrame
        Deals open at the origin: p_won, value (attributed, currency per year), status.
    forecast_open, forecast_new, forecast_won_to_date, forecast_total : float
        The run's means: open pipeline, new pipeline, won before the origin in the quarter,
        and the total (which should equal their sum up to rounding).
    actual_won_to_date : float
        Attributed ARR won in the quarter before the origin, per today's export.
    actual_unlisted : float
        Attributed ARR won in the quarter by deals created before the origin that are not in
        the run's open pipeline.
    new_expected, new_actual : mapping
        See :func:`new_pipeline_lines`.

    Returns
    -------
    pandas.DataFrame
        component, driver, description, value (currency per year); the values sum to
        ``actual total - forecast_total`` where actual total = won value of ``deals`` +
        ``actual_won_to_date`` + ``actual_unlisted`` + ``new_actual["attributed_arr"]``.
    """
    p = deals["p_won"].to_numpy(dtype=np.float64)
    v = deals["value"].to_numpy(dtype=np.float64)
    open_lines = open_pipeline_lines(p, v, deals["status"].to_numpy(dtype=object))
    expected_open = float((p * v).sum())
    residual = expected_open + forecast_new + forecast_won_to_date - forecast_total
    rows = [
        ("open pipeline", "conversion", "open deals won in the quarter: (1 - p) x value",
         open_lines["conversion"]),
        ("open pipeline", "lost", "open deals lost by the quarter's end: -p x value", open_lines["lost"]),
        ("open pipeline", "timing", "open deals still open at the quarter's end (slipped) or closed "
         "in another quarter: -p x value", open_lines["timing"]),
        ("open pipeline", "model residual", "per-deal expectation (sum of p x value) minus the "
         "simulated mean, incl. rounding", residual),
        ("open pipeline", "not in forecast", "won deals created before the origin but absent from "
         "the run's open pipeline", float(actual_unlisted)),
        ("won before origin", "data revisions", "ARR won in the quarter before the origin: actual "
         "now minus recorded then", float(actual_won_to_date) - float(forecast_won_to_date)),
    ]
    new = new_pipeline_lines(new_expected, new_actual, forecast_new)
    for driver, factor, e, a, value in new.itertuples(index=False):
        desc = (factor if not np.isfinite(e) else
                f"{factor}: expected {factor_text(driver, e)}, actual {factor_text(driver, a)}")
        rows.append(("new pipeline", driver, desc, float(value)))
    out = pd.DataFrame(rows, columns=["component", "driver", "description", "value"])
    for c in ("component", "driver", "description"):
        out[c] = out[c].astype("str")
    return out


# -- reading the export and the ledger -----------------------------------------------------------
def deal_status(opps: pd.DataFrame, ids: pd.Series, quarter: Quarter) -> np.ndarray:
    """Status at the end of ``quarter`` of each deal in ``ids`` (:data:`OPEN_STATUSES`)."""
    known = ids.isin(opps.index)
    stage = ids.map(opps["stage"]).astype(object)
    closed = pd.to_datetime(ids.map(opps["closed_on"]))
    in_q = (closed >= quarter.start) & (closed < quarter.end)
    status = np.full(len(ids), "slipped", dtype=object)
    status[((stage == "won") & in_q).to_numpy()] = "won"
    status[((stage == "won") & (closed < quarter.start)).to_numpy()] = "won_earlier"
    status[((stage == "lost") & (closed < quarter.end)).to_numpy()] = "lost"
    status[~known.to_numpy()] = "missing"
    return status


def actual_new_pipeline(export: Export, settings: Settings, quarter: Quarter,
                        origin: pd.Timestamp) -> dict[str, float]:
    """Actual totals of :data:`NEW_MEASURES` for ``quarter``, new pipeline = created on/after ``origin``.

    Active sellers: sellers with at least one qualified selling action in the quarter (all
    partners); opportunities: created in the quarter on/after the origin; wins and ARR: deals
    created on/after the origin and won in the quarter (gross and attributed ARR).
    """
    from partner_forecast.data.schema import SELLING_ACTIVITIES

    acts = export.activities
    selling = acts[acts["activity_type"].isin(SELLING_ACTIVITIES)
                   & (acts["occurred_on"] >= quarter.start) & (acts["occurred_on"] < quarter.end)]
    opps = export.opportunities
    created = opps[(opps["created_on"] >= max(origin, quarter.start)) & (opps["created_on"] < quarter.end)]
    won = won_deals(export, settings, quarter.start, quarter.end)
    won = won[won["created_on"] >= origin]
    return {"active_sellers": float(selling["seller_id"].nunique()),
            "opportunities": float(len(created)), "won_deals": float(len(won)),
            "won_arr": float(won["arr"].sum()), "attributed_arr": float(won["attributed_arr"].sum())}


def same_data_source(run: Mapping[str, Any], export: Export) -> bool:
    """Whether a ledger run was made from the same data source as ``export``.

    Yes when the run recorded no source (older runs, exports built in memory), when its
    recorded source folder is ``export``'s (resolved), or when its data fingerprint is that
    of ``export``'s files as of the run's as-of (the same bytes, moved or renamed).
    """
    recorded = str(run.get("data") or "")
    if not recorded or not export.source:
        return True
    if _resolved(recorded) == _resolved(export.source):
        return True
    if not export.source_fingerprint:
        return False
    then = replace(export, as_of_date=pd.Timestamp(run["as_of"]).normalize())
    return str(run.get("data_fingerprint") or "") == then.fingerprint


def _resolved(path: str) -> str:
    try:
        return str(Path(path).expanduser().resolve())
    except (OSError, RuntimeError):
        return path


@dataclass(frozen=True)
class RunChoice:
    """The ledger run a review would use, and the runs it passed over.

    Attributes
    ----------
    run : dict or None
        The chosen run's row of :meth:`Ledger.forecasts_of` (None: no usable run).
    other_sources : pandas.DataFrame
        Runs of the quarter with the right origin and segmentation, made from another data
        source (not used unless asked for with ``run_id``).
    """

    run: dict[str, Any] | None
    other_sources: pd.DataFrame

    @property
    def run_id(self) -> str | None:
        """The chosen run's id."""
        return None if self.run is None else str(self.run["run_id"])


def choose_run(ledger: Any, quarter: Quarter, by: str | None,
               export: Export | None = None) -> RunChoice:
    """The latest forecast run of ``quarter`` made on or before its start, segmented by ``by``.

    With ``export``, only runs from its data source count (:func:`same_data_source`); the
    others are listed in :attr:`RunChoice.other_sources`.
    """
    runs = ledger.forecasts_of(str(quarter), quarter.start)
    runs = runs[runs["segment_by"] == (by or "total")]
    if export is not None and len(runs):
        same = runs.apply(lambda r: same_data_source(r, export), axis=1).astype(bool)
    else:
        same = pd.Series(True, index=runs.index)
    usable, others = runs[same], runs[~same].reset_index(drop=True)
    run = usable.iloc[-1].to_dict() if len(usable) else None
    return RunChoice(run=run, other_sources=others)


def select_run(ledger: Any, quarter: Quarter, by: str | None,
               export: Export | None = None) -> str | None:
    """Id of the run :func:`choose_run` picks (None when the ledger holds none)."""
    return choose_run(ledger, quarter, by, export).run_id


def record_gaps(record: Mapping[str, Any], quarter: str) -> list[str]:
    """What a ledger run lacks for a full review of ``quarter``, and what is used instead.

    A run recorded by an older version (or by hand) may hold only its quantiles; the review
    then works from what it has (P10/P50/P90, the per-segment figures) and says so.
    """
    gaps = []
    run_id = record.get("run_id", "?")
    dp = record["deal_probabilities"]
    if not (dp["quarter"] == quarter).any():
        gaps.append(f"run {run_id} recorded no per-deal win probabilities for {quarter}: the "
                    "open pipeline is not split into conversion, lost and timing (the deals won "
                    "show as 'not in forecast', its expectation as the model residual)")
    q = record["quantiles"]
    measures = set(q.loc[q["quarter"] == quarter, "measure"])
    if not {"attributed_open", "attributed_new"} <= measures:
        gaps.append(f"run {run_id} recorded no open/new pipeline split for {quarter}: the new "
                    "pipeline's expectation is taken as zero and the difference shows in the "
                    "model residual")
    grids = (record["meta"].get("attributed_percentiles") or {}).get("quarters", {})
    if quarter not in grids:
        gaps.append(f"run {run_id} recorded no percentile grid for {quarter}: the actual's "
                    "percentile is interpolated from P10/P50/P90")
    drivers = {str(r.get("quarter")) for r in record["meta"].get("drivers", []) or []}
    if quarter not in drivers:
        gaps.append(f"run {run_id} did not record driver means: the new pipeline is one line")
    return gaps


@dataclass(frozen=True)
class VarianceResult:
    """A variance review of one quarter.

    Attributes
    ----------
    quarter : str
        The reviewed quarter.
    run_id : str
        The ledger run reviewed.
    origin : pandas.Timestamp
        The run's as-of date.
    created : bool
        Whether the run was made by this review (none existed).
    source : str
        Where the reviewed forecast came from, in words: ``ledger run <id> as of <origin>
        (recorded <date>)``, ``fitted now as of <origin> (...)`` or ``made from saved fits now
        as of <origin> (...)``.
    forecast_vs_actual : pandas.DataFrame
        segment, actual, p10, p50, p90, mean, actual_minus_mean, percentile, band,
        percentile_method.
    drivers : pandas.DataFrame
        :func:`decompose` lines (sum to actual - mean of the total).
    new_pipeline : pandas.DataFrame
        measure, expected, actual for the new-pipeline totals.
    conversion_by_type : pandas.DataFrame
        Per partner type: open deals, expected and actual wins, model/actual/table rates,
        expected and actual attributed ARR; plus a new-pipeline row.
    largest_misses : pandas.DataFrame
        The most-expected deals not won and the largest unexpected wins, with the required
        audit fields each lacks.
    meta : dict
        Quarter, run, origin, fingerprints, the reviewed run's fit diagnostics, notes.
    calls : pandas.DataFrame
        Each caller's latest call of the quarter made before the run's as-of, of the total
        or the run's segments, beside its P10/P50/P90 and the actual
        (:func:`~partner_forecast.evaluate.calls.beside_model`; empty without calls).
    """

    quarter: str
    run_id: str
    origin: pd.Timestamp
    created: bool
    forecast_vs_actual: pd.DataFrame
    drivers: pd.DataFrame
    new_pipeline: pd.DataFrame
    conversion_by_type: pd.DataFrame
    largest_misses: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    calls: pd.DataFrame = field(default_factory=pd.DataFrame)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables the CLI renders (``calls`` only when the data hold calls of the quarter)."""
        calls = {"calls": self.calls} if len(self.calls) else {}
        return {"forecast_vs_actual": self.forecast_vs_actual, **calls, "drivers": self.drivers,
                "new_pipeline": self.new_pipeline, "conversion_by_type": self.conversion_by_type,
                "largest_misses": self.largest_misses}


def _band(actual: float, p10: float, p50: float, p90: float) -> str:
    if not np.isfinite(p10):
        return ""
    if actual < p10:
        return "below P10"
    if actual > p90:
        return "above P90"
    return "P10-P50" if actual <= p50 else "P50-P90"


def _forecast_table(record: dict[str, Any], quarter: str, actual: dict[str, float],
                    segment_by: str | None) -> pd.DataFrame:
    q = record["quantiles"]
    q = q[(q["quarter"] == quarter) & (q["measure"] == "attributed")]
    grids = (record["meta"].get("attributed_percentiles") or {}).get("quarters", {}).get(quarter)
    levels_total = (record["meta"].get("attributed_percentiles") or {}).get("total_levels")
    levels_seg = (record["meta"].get("attributed_percentiles") or {}).get("segment_levels")
    rows = []
    by_seg = {str(r.segment): r for r in q.itertuples(index=False)}
    segments = ["total"]
    if segment_by is not None:
        segments += sorted((set(by_seg) | set(actual)) - {"total"})
    for seg in segments:
        y = actual.get(seg, 0.0)
        grid, levels = None, None
        if seg == "total" and "total" not in by_seg:
            mean = float(q["mean"].sum())
            if grids is not None:
                grid, levels = grids["total"], levels_total
                p10, p50, p90 = (float(np.interp(x, levels, grid)) for x in (10, 50, 90))
            else:
                p10 = p50 = p90 = np.nan
        elif seg in by_seg:
            r = by_seg[seg]
            p10, p50, p90, mean = float(r.p10), float(r.p50), float(r.p90), float(r.mean)
            if grids is not None:
                grid, levels = ((grids["total"], levels_total) if seg == "total"
                                else (grids["segments"].get(seg), levels_seg))
        else:  # a segment the run did not forecast (e.g. a partner recruited since)
            p10 = p50 = p90 = mean = 0.0
        if grid is not None and levels is not None:
            pct, method = percentile_of(y, levels, grid), "recorded percentiles"
        elif np.isfinite(p10):
            pct, method = percentile_of(y, (10, 50, 90), (p10, p50, p90)), "interpolated P10/P50/P90"
        else:
            pct, method = np.nan, "not available"
        rows.append({"segment": seg, "actual": y, "p10": p10, "p50": p50, "p90": p90, "mean": mean,
                     "actual_minus_mean": y - mean, "percentile": pct,
                     "band": _band(y, p10, p50, p90), "percentile_method": method})
    return pd.DataFrame(rows)


def _sum_measure(record: dict[str, Any], quarter: str, measure: str) -> float:
    q = record["quantiles"]
    q = q[(q["quarter"] == quarter) & (q["measure"] == measure)]
    if "total" in set(q["segment"]):
        q = q[q["segment"] == "total"]
    return float(q["mean"].sum())


def variance_review(data: str | Path | Export, quarter: str | Quarter, *, run_id: str | None = None,
                    by: str | None = None, config: str | Path | Settings | None = None,
                    workspace: str | Path | None = None, draws: int | None = None,
                    seed: int | None = None, progress: bool = True,
                    notify: Callable[[str], None] | None = None, fit_hint: str = "",
                    forecaster: Callable[..., Any] | None = None,
                    models: ModelSource = FITTED_MODELS) -> VarianceResult:
    """Compare the ledger's forecast of ``quarter`` with what actually closed, and explain the gap.

    Parameters
    ----------
    data : path or Export
        The export as it is now (the truth for the quarter).
    quarter : str or Quarter
        The quarter to review, e.g. ``"2026Q3"``.
    run_id : str, optional
        The ledger run to review (default: the latest forecast of the quarter, segmented by
        ``by``, whose as-of is on or before the quarter's start and made from the same data
        source, :func:`choose_run`; made and recorded now if none).
    by : str, optional
        Segment dimension of the per-segment rows.
    config : path or Settings, optional
        Configuration (attribution weights, calendar, and the forecast if one is made).
    workspace : path, optional
        Workspace with the ledger (default ``.partner_forecast``).
    draws, seed : int, optional
        For a forecast made by the review.
    progress : bool
        Progress on stderr while making a forecast.
    notify : callable, optional
        Receives notes for the user (default: printed on stderr): which run is reviewed, or,
        before a forecast is made, whether it fits models and how long that is likely to take.
    fit_hint : str
        Appended to the note announcing a fit (e.g. how to skip the review).
    forecaster : callable, optional
        Makes the forecast when the ledger has none (default
        :func:`partner_forecast.forecast.forecast` with ``models``, same keyword arguments).
    models : ModelSource
        Where the forecast made by the review gets its fitted models.

    Returns
    -------
    VarianceResult
    """
    from partner_forecast.evaluate.fit_cost import describe_fit, missing_fits
    from partner_forecast.forecast import DEFAULT_WORKSPACE, load_inputs
    from partner_forecast.ledger import Ledger

    say = notify or (lambda msg: print(msg, file=sys.stderr, flush=True))
    make_forecast = forecaster
    if make_forecast is None:
        from partner_forecast.forecast import forecast

        make_forecast = partial(forecast, models=models)
    settings, export = load_inputs(data, config)
    fym = settings.calendar.fiscal_year_start_month
    q = quarter if isinstance(quarter, Quarter) else Quarter.parse(str(quarter), fym)
    label = str(q)
    as_of = export.default_as_of
    if q.start >= as_of:
        raise PartnerForecastError(f"quarter {label} has not started in the data (it is as of "
                                   f"{as_of.date()}): nothing to review yet")
    notes: list[str] = []
    if q.end > as_of:
        notes.append(f"quarter {label} is not complete in the data (as of {as_of.date()}): the "
                     f"actual is ARR won so far")
    workspace = Path(workspace) if workspace is not None else DEFAULT_WORKSPACE
    ledger = Ledger(workspace)
    created = False
    source = ""
    other_sources: list[str] = []
    if run_id is None:
        choice = choose_run(ledger, q, by, export)
        if len(choice.other_sources):
            other = choice.other_sources
            other_sources = [str(r) for r in other["run_id"]]
            say(f"note: the ledger holds {len(other)} forecast(s) of {label} made from other data "
                f"({', '.join(sorted(set(other['data'])))}): not used (`partner-forecast "
                f"variance DATA --quarter {label} --run {other_sources[-1]}` reviews one anyway)")
        run_id = choice.run_id
        if run_id is None:
            missing = missing_fits(export, settings, workspace, q.start)
            how = ("" if missing is None else
                   ": from the fits saved in the workspace (seconds)" if not missing else
                   f": {describe_fit(missing, workspace, q.start)}"
                   + (f"; {fit_hint}" if fit_hint else ""))
            say(f"variance review of {label}: the ledger at {ledger.path} has no forecast of it "
                f"made on or before {q.start.date()}" + (f" segmented by {by}" if by else "")
                + f" from this data: making one now, as of {q.start.date()}{how}")
            result = make_forecast(export, as_of=q.start, quarter=q, by=by, draws=draws, seed=seed,
                                   config=settings, workspace=workspace, record=True,
                                   progress=progress)
            run_id = str(result.run_id)
            created = True
            made = "fitted" if missing else "made from saved fits" if missing == [] else "made"
            source = f"{made} now as of {q.start.date()} (recorded as ledger run {run_id})"
            say(f"note: recorded forecast run {run_id}")
    record = ledger.run(run_id)
    if not source:
        source = (f"ledger run {run_id} as of {pd.Timestamp(record['as_of']).date()} "
                  f"(recorded {str(record['created_at'])[:10]})")
        say(f"variance review of {label}: reusing {source}: no fit")
    if label not in record["quarters"]:
        raise PartnerForecastError(f"run {run_id} does not forecast {label} (it covers "
                                   f"{', '.join(record['quarters'])})")
    origin = pd.Timestamp(record["as_of"])
    if origin > q.end:
        raise PartnerForecastError(f"run {run_id} is as of {origin.date()}, after {label} ended")
    notes += record_gaps(record, label)
    run_warnings = list(record["meta"].get("warnings", []) or [])
    if run_warnings:
        notes.append(f"run {run_id} was made from fits that failed their diagnostics: "
                     + "; ".join(run_warnings))
    run_by = record.get("segment_by")
    run_by = None if run_by in (None, "", "total") or pd.isna(run_by) else str(run_by)
    if by is not None and run_by != by:
        notes.append(f"run {run_id} is segmented by {run_by or 'nothing (total only)'}, not {by}: "
                     f"its segments are shown")

    # Forecast vs actual, total and per segment.
    won_now = realised(export, settings, q, by=run_by)
    actual = {str(s): float(v) for s, v in zip(won_now["segment"], won_now["attributed_arr"], strict=True)}
    fva = _forecast_table(record, label, actual, run_by)

    # Decomposition of the total.
    opps = export.opportunities.set_index("opportunity_id")
    weights = attribution_weight(export.opportunities["partner_role"],
                                 export.opportunities["influence_pct"], settings.attribution)
    value_of = pd.Series((export.opportunities["arr"].astype(float) * weights).to_numpy(),
                         index=export.opportunities["opportunity_id"].to_numpy())
    dp = record["deal_probabilities"]
    dp = dp[dp["quarter"] == label][["opportunity_id", "p_won"]].reset_index(drop=True)
    deals = pd.DataFrame({"opportunity_id": dp["opportunity_id"].astype(str),
                          "p_won": dp["p_won"].to_numpy(dtype=np.float64)})
    deals["value"] = deals["opportunity_id"].map(value_of).fillna(0.0).to_numpy(dtype=np.float64)
    deals["status"] = deal_status(opps, deals["opportunity_id"], q)
    listed = set(deals["opportunity_id"])
    won = won_deals(export, settings, q.start, q.end)
    before_origin = won["closed_on"] < origin
    is_new = won["created_on"] >= origin
    in_run = won["opportunity_id"].astype(str).isin(listed)
    actual_wtd = float(won.loc[before_origin, "attributed_arr"].sum())
    actual_unlisted = float(won.loc[~before_origin & ~is_new & ~in_run, "attributed_arr"].sum())
    new_actual = actual_new_pipeline(export, settings, q, origin)
    drivers_meta = {str(r.get("quarter")): r for r in record["meta"].get("drivers", []) or []}
    new_expected = ({k: float(drivers_meta[label][v]) for k, v in DRIVER_KEYS.items()}
                    if label in drivers_meta else None)
    forecast_total = float(fva.loc[fva["segment"] == "total", "mean"].iloc[0])
    lines = decompose(deals, forecast_open=_sum_measure(record, label, "attributed_open"),
                      forecast_new=_sum_measure(record, label, "attributed_new"),
                      forecast_won_to_date=_sum_measure(record, label, "won_to_date"),
                      forecast_total=forecast_total, actual_won_to_date=actual_wtd,
                      actual_unlisted=actual_unlisted, new_expected=new_expected,
                      new_actual=new_actual)
    actual_total = float(won["attributed_arr"].sum())
    lines = pd.concat([lines, pd.DataFrame([{
        "component": "total", "driver": "actual - forecast mean",
        "description": f"actual {money(actual_total)} - forecast mean {money(forecast_total)}",
        "value": actual_total - forecast_total}])], ignore_index=True)
    new_table = pd.DataFrame({
        "measure": list(NEW_MEASURES),
        "expected": [new_expected[k] if new_expected else np.nan for k in DRIVER_KEYS]
        + [_sum_measure(record, label, "attributed_new")],
        "actual": [new_actual[k] for k in NEW_MEASURES]})

    calls = _calls_beside(export, fym, label, origin, fva, run_by, record, actual)
    view = export.as_of(min(origin, as_of))
    conversion = _conversion_by_type(deals, view, export, settings, new_expected, new_actual)
    misses = _largest_misses(deals, export, view, settings)
    meta = {"quarter": label, "forecast_source": source, "run_id": run_id,
            "origin": origin.date().isoformat(), "created_run": created,
            "other_source_runs": other_sources, "segment_by": run_by or "total",
            "run_data_fingerprint": record.get("data_fingerprint"),
            "data": export.source, "data_fingerprint": export.fingerprint,
            "as_of": as_of.date().isoformat(), "config": settings.source,
            "config_fingerprint": settings.fingerprint, "version": __version__,
            "actual_total": actual_total, "forecast_mean_total": forecast_total,
            "decomposition_check": float(lines["value"].iloc[:-1].sum() - (actual_total - forecast_total)),
            "diagnostics": record["meta"].get("diagnostics", []), "warnings": notes}
    if len(calls):
        meta["calls_fingerprint"] = calls_fingerprint(export)
    return VarianceResult(quarter=label, run_id=run_id, origin=origin, created=created,
                          forecast_vs_actual=fva, drivers=lines, new_pipeline=new_table,
                          conversion_by_type=conversion, largest_misses=misses, meta=meta,
                          source=source, calls=calls)


def _calls_beside(export: Export, fym: int, quarter: str, origin: pd.Timestamp,
                  fva: pd.DataFrame, run_by: str | None, record: dict[str, Any],
                  actual: Mapping[str, float]) -> pd.DataFrame:
    """The latest calls of ``quarter`` made before the run's as-of, beside the run and the actual.

    The commit's percentile in the run's distribution reads its recorded percentile grid when
    there is one (as the actual's does), else P10/P50/P90.
    """
    from partner_forecast.evaluate.calls import beside_model, call_frame, latest_calls

    latest = latest_calls(call_frame(export, fym), quarter, origin)
    if latest.empty:
        return pd.DataFrame()
    stored = record["meta"].get("attributed_percentiles") or {}
    grids = stored.get("quarters", {}).get(quarter)
    by_seg = fva.set_index("segment")

    def percentile(segment: str, value: float) -> float:
        grid = None
        if grids is not None:
            grid, levels = ((grids["total"], stored.get("total_levels")) if segment == "total"
                            else (grids["segments"].get(segment), stored.get("segment_levels")))
        if grid is not None and levels is not None:
            return percentile_of(value, levels, grid)
        r = by_seg.loc[segment]
        return percentile_of(value, (10, 50, 90), (r["p10"], r["p50"], r["p90"]))

    return beside_model(latest, fva, run_by, percentile, actual)


def _conversion_by_type(deals: pd.DataFrame, view: Export, export: Export, settings: Settings,
                        new_expected: Mapping[str, float] | None,
                        new_actual: Mapping[str, float]) -> pd.DataFrame:
    from partner_forecast.evaluate.baselines import open_deals_at_origin

    at_origin = open_deals_at_origin(view, settings).set_index("opportunity_id")
    ptype = export.opportunities.set_index("opportunity_id")["partner_id"].map(
        export.partners.set_index("partner_id")["partner_type"])
    frame = deals.assign(
        partner_type=deals["opportunity_id"].map(ptype).astype(object).fillna("unknown"),
        p_table=deals["opportunity_id"].map(at_origin["p_table"]).to_numpy(dtype=np.float64),
        won=(deals["status"] == "won").astype(float),
        expected_arr=deals["p_won"] * deals["value"])
    frame["actual_arr"] = frame["won"] * frame["value"]
    rows = []
    for ptype_label, g in frame.groupby("partner_type", sort=True):
        n = len(g)
        rows.append({"partner_type": str(ptype_label), "pipeline": "open at origin", "deals": n,
                     "expected_wins": float(g["p_won"].sum()), "actual_wins": int(g["won"].sum()),
                     "model_rate": float(g["p_won"].mean()), "actual_rate": float(g["won"].mean()),
                     "stage_table_rate": float(g["p_table"].mean()) if g["p_table"].notna().any() else np.nan,
                     "expected_arr": float(g["expected_arr"].sum()),
                     "actual_arr": float(g["actual_arr"].sum())})
    e_opps = new_expected["opportunities"] if new_expected else np.nan
    e_wins = new_expected["won_deals"] if new_expected else np.nan
    rows.append({"partner_type": "all", "pipeline": "new", "deals": int(new_actual["opportunities"]),
                 "expected_wins": e_wins, "actual_wins": int(new_actual["won_deals"]),
                 "model_rate": e_wins / e_opps if new_expected and e_opps else np.nan,
                 "actual_rate": (new_actual["won_deals"] / new_actual["opportunities"]
                                 if new_actual["opportunities"] else np.nan),
                 "stage_table_rate": np.nan, "expected_arr": np.nan,
                 "actual_arr": float(new_actual["attributed_arr"])})
    return pd.DataFrame(rows)


def missing_fields(export: Export, ids: pd.Series, required: list[str]) -> np.ndarray:
    """The required audit fields (DOMAIN.md section 8) each deal lacks, comma-separated.

    Deal fields come from the opportunity, ``partner_type`` and ``tier`` from its partner;
    ``influence_pct`` counts only for influenced deals (as in the data-quality audit).
    """
    opps = export.opportunities.set_index("opportunity_id")
    partners = export.partners.set_index("partner_id")
    pid = ids.map(opps["partner_id"])
    role = ids.map(opps["partner_role"]).astype(object)
    blank = {}
    for name in required:
        if name in opps.columns:
            values = ids.map(opps[name])
        elif name in partners.columns:
            values = pid.map(partners[name])
        else:
            continue
        miss = values.isna() | values.astype(object).map(lambda v: isinstance(v, str) and not v.strip())
        if name == "influence_pct":
            miss &= role.eq("influenced")
        blank[name] = miss.to_numpy(dtype=bool)
    out = [", ".join(n for n, m in blank.items() if m[i]) for i in range(len(ids))]
    return np.array(out, dtype=object)


def _largest_misses(deals: pd.DataFrame, export: Export, view: Export, settings: Settings,
                    top: int = TOP_MISSES) -> pd.DataFrame:
    from partner_forecast.metrics.pipeline import stage_on

    opps = export.opportunities.set_index("opportunity_id")
    ptype = opps["partner_id"].map(export.partners.set_index("partner_id")["partner_type"])
    stage_then = stage_on(view, view.default_as_of)
    frame = deals.assign(expected=deals["p_won"] * deals["value"],
                         surprise=(1.0 - deals["p_won"]) * deals["value"])
    missed = frame[frame["status"] != "won"].nlargest(top, "expected").assign(
        kind="expected, not won", contribution=lambda f: 0.0 - f["expected"])
    wins = frame[frame["status"] == "won"].nlargest(top, "surprise").assign(
        kind="unexpected win", contribution=lambda f: f["surprise"])
    out = pd.concat([missed, wins], ignore_index=True)
    ids = out["opportunity_id"]
    out = out.assign(partner_id=ids.map(opps["partner_id"]).astype(object),
                     partner_type=ids.map(ptype).astype(object),
                     stage_at_origin=ids.map(stage_then).astype(object),
                     closed_on=ids.map(opps["closed_on"]),
                     missing_fields=missing_fields(export, ids, settings.audit.required_fields))
    cols = ["kind", "opportunity_id", "partner_id", "partner_type", "stage_at_origin", "status",
            "closed_on", "p_won", "value", "contribution", "missing_fields"]
    return out[cols].rename(columns={"status": "status_at_quarter_end"}).reset_index(drop=True)


__all__ = ["DRIVER_KEYS", "NEW_FACTORS", "NEW_MEASURES", "OPEN_STATUSES", "RESCALE_RANGE", "RunChoice",
           "VarianceResult", "actual_new_pipeline", "choose_run", "decompose", "deal_status",
           "missing_fields", "new_pipeline_lines", "open_pipeline_lines", "record_gaps",
           "same_data_source", "select_run", "sequential_substitution", "variance_review"]
