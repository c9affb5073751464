"""The channel team's call set beside the model, and scored by the model's rules.

A *call* (the optional ``calls`` table of the data contract) is what the channel team says a
quarter will bring: a ``commit`` and optionally a ``best_case`` of partner-attributed ARR
(currency per year), for the total (partner_type and partner_id blank), one partner type or
one partner, made on ``made_on`` by ``made_by``.

Scoring conventions (the same rules as the model's in :mod:`.backtest`, from :mod:`.scores`):

- *as a point forecast* the call is its ``commit``: its CRPS is that of a degenerate
  distribution, the absolute error ``|commit - actual|`` (:func:`.scores.crps_point`), on one
  scale with the model's CRPS;
- *as an interval*, where a best case is given, ``[commit, best_case]`` is read as the team's
  80% central interval -- commit as its P10 (what the team is 90% sure to reach), best case
  as its P90 -- and scored like the model's P10-P90: pinball loss at 0.1 and 0.9
  (:func:`.scores.pinball_loss`) and the interval score ``IS = (2 / 0.2) x (pinball_0.1 +
  pinball_0.9) = (best - commit) + 10 x the distance from the interval to the actual``
  (Gneiting and Raftery 2007; lower is better), plus whether the actual fell inside.

A call is known from the day it is made: a forecast as of ``D`` (the first day not yet known)
sees the calls made before ``D``, the same rule as every table of the as-of view. Calls made
on or after their quarter's end are not forecasts: they are left out of the scores.

When in the quarter a call was made: ``day`` (days from the quarter's start, negative before
it) and ``when``: ``before`` the quarter, or ``month 1`` / ``month 2`` / ``month 3`` of it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.evaluate import scores
from partner_forecast.formatting import money, ordinal
from partner_forecast.outcomes import realised

INTERVAL_LEVELS: tuple[float, float] = (0.1, 0.9)
"""The quantile levels the commit and the best case are read at (an 80% central interval)."""
INTERVAL_ALPHA = 1.0 - (INTERVAL_LEVELS[1] - INTERVAL_LEVELS[0])
"""Miss rate of the interval (0.2): the interval score weighs misses by ``2 / alpha``."""
WHEN: tuple[str, ...] = ("before", "month 1", "month 2", "month 3")
"""When in the quarter a call was made, in order."""
SCOPES: tuple[str, ...] = ("total", "partner_type", "partner")
"""What a call is of: the total, one partner type, one partner (the backtest's ``--by``)."""

CALLS_CONVENTION = ("commit scored as a point (absolute error = its CRPS); [commit, best case] "
                    "as the team's P10-P90 (pinball at 0.1 / 0.9, interval score); beside the "
                    "model's lead-1 forecast (as of the quarter's start)")
"""The scoring convention in one line, recorded in the outputs' metadata."""

CALL_COLUMNS = ["quarter", "scope", "segment", "made_by", "made_on", "day", "when", "commit",
                "best_case"]


def call_frame(export: Export, fiscal_year_start_month: int = 1) -> pd.DataFrame:
    """The export's calls in a flat form: scope, segment, day and when in the quarter.

    Columns :data:`CALL_COLUMNS`: ``scope`` is one of :data:`SCOPES`, ``segment`` the label the
    forecasts use for it (``total``, the type, the partner id), ``made_by`` blank as ``""``.
    Rows with an unreadable quarter or date (reported by ``validate``) are left out.
    """
    c = export.calls.dropna(subset=["quarter", "made_on", "commit"])
    if c.empty:
        return pd.DataFrame(columns=CALL_COLUMNS)
    has_type, has_partner = c["partner_type"].notna(), c["partner_id"].notna()
    scope = np.where(has_partner, "partner", np.where(has_type, "partner_type", "total"))
    segment = np.where(has_partner, c["partner_id"].astype(object),
                       np.where(has_type, c["partner_type"].astype(object), "total"))
    quarters = [Quarter.parse(str(q), fiscal_year_start_month) for q in c["quarter"]]
    starts = pd.DatetimeIndex([q.start for q in quarters])
    made = pd.DatetimeIndex(c["made_on"])
    months = (made.year - starts.year) * 12 + (made.month - starts.month)
    out = pd.DataFrame({
        "quarter": [str(q) for q in quarters], "scope": scope, "segment": segment,
        "made_by": c["made_by"].fillna("").astype(str).to_numpy(),
        "made_on": made, "day": (made - starts).days.to_numpy(dtype=np.int64),
        "when": [WHEN[0] if m < 0 else f"month {min(m, 2) + 1}" for m in months],
        "commit": c["commit"].to_numpy(dtype=np.float64),
        "best_case": c["best_case"].to_numpy(dtype=np.float64)})
    ends = pd.DatetimeIndex([q.end for q in quarters])
    return out[(made < ends)].reset_index(drop=True)


def latest_calls(calls: pd.DataFrame, quarter: str, as_of: pd.Timestamp) -> pd.DataFrame:
    """Each caller's latest call of ``quarter`` per scope and segment made before ``as_of``.

    ``calls`` is :func:`call_frame`'s; ``as_of`` the forecast's as-of date (the first day not
    yet known: a call made on it is not known yet). Rows ordered total first, then segment,
    then caller.
    """
    known = calls[(calls["quarter"] == quarter) & (calls["made_on"] < as_of)]
    if known.empty:
        return calls.iloc[0:0].copy()
    latest = known.sort_values("made_on", kind="stable").groupby(
        ["scope", "segment", "made_by"], sort=False).tail(1)
    order = latest["scope"].map({s: i for i, s in enumerate(SCOPES)})
    return (latest.assign(_o=order).sort_values(["_o", "segment", "made_by"], kind="stable")
            .drop(columns="_o").reset_index(drop=True))


def interval_score(actual: Any, lower: Any, upper: Any) -> np.ndarray:
    """Interval score of ``[lower, upper]`` read at :data:`INTERVAL_LEVELS` (lower is better).

    ``(2 / alpha) x (pinball at 0.1 of lower + pinball at 0.9 of upper)``, which equals
    ``(upper - lower) + (2 / alpha) x (lower - y if y < lower, y - upper if y > upper)``.
    """
    lo, hi = INTERVAL_LEVELS
    return (2.0 / INTERVAL_ALPHA) * (scores.pinball_loss(actual, lower, lo)
                                     + scores.pinball_loss(actual, upper, hi))


def score_call(actual: float, commit: float, best_case: float) -> dict[str, float]:
    """Scores of one call against the actual (see the module docstring for the conventions).

    Returns error (commit - actual), abs_error (= the CRPS of the commit as a point),
    pinball_p10 / pinball_p90 / interval_score / covered (NaN without a best case).
    """
    row = {"error": commit - actual, "abs_error": float(scores.crps_point(actual, commit))}
    if np.isfinite(best_case):
        lo, hi = INTERVAL_LEVELS
        row |= {"pinball_p10": float(scores.pinball_loss(actual, commit, lo)),
                "pinball_p90": float(scores.pinball_loss(actual, best_case, hi)),
                "interval_score": float(interval_score(actual, commit, best_case)),
                "covered": float(scores.interval_covered(actual, commit, best_case))}
    else:
        row |= dict.fromkeys(("pinball_p10", "pinball_p90", "interval_score", "covered"), np.nan)
    return row


PER_CALL_COLUMNS = [*CALL_COLUMNS, "actual", "error", "error_pct", "abs_error", "pinball_p10",
                    "pinball_p90", "interval_score", "covered", "model_p50", "model_crps",
                    "model_abs_error", "model_interval_score", "model_covered"]


def score_calls(export: Export, settings: Settings, per_quarter: pd.DataFrame,
                by: str | None = None) -> pd.DataFrame:
    """Score every call of the quarters the backtest scored, beside the model's scores.

    Parameters
    ----------
    export : Export
        The full export (its calls, and the truth).
    settings : Settings
        Attribution weights and calendar.
    per_quarter : pandas.DataFrame
        The backtest's :func:`~.scoring.score_folds` rows; the model's lead-1 rows (each
        quarter forecast from its start) are the ones set beside the calls.
    by : str, optional
        The backtest's segment dimension: calls of that scope (and of the total) get the
        model's score of their segment; the others are scored without one.

    Returns
    -------
    pandas.DataFrame
        One row per call (:data:`PER_CALL_COLUMNS`): the call, the actual partner-attributed
        ARR of its quarter and scope, its scores (:func:`score_call`), error_pct (error /
        actual, NaN when 0) and the model's P50, CRPS, |P50 - actual|, interval score of
        P10-P90 and coverage for the same quarter and segment (NaN where the backtest did not
        forecast that segment). ARR in currency per year.
    """
    fym = settings.calendar.fiscal_year_start_month
    calls = call_frame(export, fym)
    model = per_quarter[(per_quarter["method"] == "model") & (per_quarter["lead"] == 1)]
    calls = calls[calls["quarter"].isin(set(model["quarter"]))]
    if calls.empty:
        return pd.DataFrame(columns=PER_CALL_COLUMNS)
    by_key = {(str(r.quarter), str(r.segment)): r for r in model.itertuples(index=False)}
    actuals: dict[tuple[str, str], dict[str, float]] = {}
    rows = []
    for r in calls.itertuples(index=False):
        dim = None if r.scope == "total" else r.scope
        key = (r.quarter, r.scope)
        if key not in actuals:
            won = realised(export, settings, Quarter.parse(r.quarter, fym), by=dim)
            actuals[key] = dict(zip(won["segment"].astype(str), won["attributed_arr"], strict=True))
        y = float(actuals[key].get(str(r.segment), 0.0))
        row = {**r._asdict(), "actual": y, **score_call(y, r.commit, r.best_case)}
        row["error_pct"] = row["error"] / y if y else np.nan
        m = by_key.get((r.quarter, str(r.segment))) if r.scope in ("total", by) else None
        if m is not None:
            row |= {"model_p50": float(m.p50), "model_crps": float(m.crps),
                    "model_abs_error": float(scores.crps_point(y, m.p50)),
                    "model_interval_score": float(interval_score(y, m.p10, m.p90)),
                    "model_covered": float(bool(m.covered))}
        rows.append(row)
    return pd.DataFrame(rows).reindex(columns=PER_CALL_COLUMNS)


SUMMARY_COLUMNS = ["scope", "made_by", "when", "calls", "mean_day", "bias_pct", "abs_error",
                   "model_crps", "vs_model", "interval_calls", "interval_score",
                   "model_interval_score", "interval_vs_model", "coverage", "model_coverage"]


def summarise_calls(per_call: pd.DataFrame) -> pd.DataFrame:
    """Per scope, caller and time in the quarter (and over the whole quarter): who forecasts better.

    Returns
    -------
    pandas.DataFrame
        :data:`SUMMARY_COLUMNS`: calls, mean_day (days into the quarter), bias_pct (total
        commit - actual over total actual: +0.2 calls 20% high), abs_error (mean, = CRPS of
        the commit), model_crps (the model's mean CRPS on the same quarters and segments,
        as of each quarter's start), vs_model (abs_error / model_crps on the calls the model
        forecast: > 1 means the model scores better, as ``crps_vs_model`` of the backtest
        summary), interval_calls (calls with a best case) with their interval_score, the
        model's interval_score of P10-P90, interval_vs_model, coverage (share of actuals in
        [commit, best case]) and model_coverage (in P10-P90). ``when`` is ``all`` for the
        whole quarter, else one of :data:`WHEN`.
    """
    if per_call.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS)
    rows = []
    frames = [per_call.assign(when="all"), per_call]
    stacked = pd.concat(frames, ignore_index=True)
    order_when = {w: i for i, w in enumerate(("all", *WHEN))}
    for (scope, who, when), g in stacked.groupby(["scope", "made_by", "when"], sort=False):
        matched = g[g["model_crps"].notna()]
        ranged = g[g["interval_score"].notna()]
        ranged_m = ranged[ranged["model_interval_score"].notna()]
        actual = float(g["actual"].sum())
        rows.append({
            "scope": scope, "made_by": who, "when": when, "calls": len(g),
            "mean_day": float(g["day"].mean()),
            "bias_pct": float(g["error"].sum() / actual) if actual else np.nan,
            "abs_error": float(g["abs_error"].mean()),
            "model_crps": float(matched["model_crps"].mean()) if len(matched) else np.nan,
            "vs_model": _ratio(matched["abs_error"], matched["model_crps"]),
            "interval_calls": len(ranged),
            "interval_score": float(ranged["interval_score"].mean()) if len(ranged) else np.nan,
            "model_interval_score": (float(ranged_m["model_interval_score"].mean())
                                     if len(ranged_m) else np.nan),
            "interval_vs_model": _ratio(ranged_m["interval_score"],
                                        ranged_m["model_interval_score"]),
            "coverage": float(ranged["covered"].mean()) if len(ranged) else np.nan,
            "model_coverage": (float(matched["model_covered"].mean()) if len(matched)
                               else np.nan)})
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    out["_s"] = out["scope"].map({s: i for i, s in enumerate(SCOPES)})
    out["_w"] = out["when"].map(order_when)
    return (out.sort_values(["_s", "made_by", "_w"], kind="stable").drop(columns=["_s", "_w"])
            .reset_index(drop=True))


def _ratio(num: pd.Series, den: pd.Series) -> float:
    """mean(num) / mean(den), NaN when empty or the denominator's mean is 0."""
    if not len(num):
        return np.nan
    d = float(den.mean())
    return float(num.mean()) / d if d > 0 else np.nan


def calls_reading(summary: pd.DataFrame) -> str:
    """One sentence: each caller's whole-quarter bias and error against the model's (total first)."""
    rows = summary[summary["when"] == "all"]
    if rows.empty:
        return "No calls of the backtested quarters."
    scope = "total" if (rows["scope"] == "total").any() else str(rows["scope"].iloc[0])
    rows = rows[rows["scope"] == scope]
    parts = []
    for r in rows.itertuples(index=False):
        who = r.made_by or "unnamed caller"
        text = f"{who}: {r.calls} call(s), bias {r.bias_pct:+.0%}" if np.isfinite(r.bias_pct) \
            else f"{who}: {r.calls} call(s)"
        if np.isfinite(r.vs_model):
            text += (f", error {r.vs_model:.2f}x the model's CRPS ("
                     + ("the model is better" if r.vs_model > 1 else "the call is better") + ")")
        parts.append(text)
    return f"Calls of the {scope.replace('_', ' ')}: " + "; ".join(parts) + "."


BESIDE_COLUMNS = ["scope", "segment", "made_by", "made_on", "day", "commit", "best_case", "p10",
                  "p50", "p90", "commit_percentile", "p_reach_commit", "actual", "call_error",
                  "model_error", "closer"]


def beside_model(latest: pd.DataFrame, forecast: pd.DataFrame, by: str | None,
                 percentile: Callable[[str, float], float] | None = None,
                 actual: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The calls set beside the model's forecast of their quarter, segment by segment.

    Parameters
    ----------
    latest : pandas.DataFrame
        :func:`latest_calls` (the calls known at the forecast's as-of).
    forecast : pandas.DataFrame
        The model's forecast of the quarter: segment, p10, p50, p90 (attributed ARR).
    by : str, optional
        The forecast's segment dimension: calls of the total, and of that scope, are shown;
        calls of other scopes have no forecast to be set beside and are left out.
    percentile : callable, optional
        ``percentile(segment, value)``: where a value falls in the model's distribution
        (0-100); its complement is the model's chance of reaching the commit. Default: read
        from P10/P50/P90 (:func:`.record.percentile_of`).
    actual : mapping, optional
        Actual attributed ARR by segment, once the quarter is over (variance reviews).

    Returns
    -------
    pandas.DataFrame
        :data:`BESIDE_COLUMNS`: the call, the model's P10/P50/P90, the commit's percentile in
        the model's distribution and the model's probability of reaching it, and, with
        ``actual``, each side's error (commit - actual, P50 - actual) and which was ``closer``.
    """
    from partner_forecast.ledger.percentiles import percentile_of

    model = forecast.set_index(forecast["segment"].astype(str))
    keep = latest[latest["scope"].isin({"total", by}) & latest["segment"].astype(str).isin(
        model.index)]
    rows = []
    for r in keep.itertuples(index=False):
        seg = str(r.segment)
        m = model.loc[seg]
        p10, p50, p90 = float(m["p10"]), float(m["p50"]), float(m["p90"])
        pct = (percentile(seg, r.commit) if percentile is not None
               else percentile_of(r.commit, (10, 50, 90), (p10, p50, p90)))
        row = {"scope": r.scope, "segment": seg, "made_by": r.made_by, "made_on": r.made_on,
               "day": r.day, "commit": r.commit, "best_case": r.best_case, "p10": p10, "p50": p50,
               "p90": p90, "commit_percentile": pct, "p_reach_commit": 1.0 - pct / 100.0}
        if actual is not None:
            y = float(actual.get(seg, 0.0))
            row |= {"actual": y, "call_error": r.commit - y, "model_error": p50 - y,
                    "closer": ("call" if abs(r.commit - y) < abs(p50 - y) else
                               "model" if abs(p50 - y) < abs(r.commit - y) else "tie")}
        rows.append(row)
    out = pd.DataFrame(rows, columns=BESIDE_COLUMNS)
    return out if actual is not None else out.drop(
        columns=["actual", "call_error", "model_error", "closer"])


def beside_reading(beside: pd.DataFrame, quarter: str) -> str:
    """One sentence per caller of the total: the commit, where it sits, the chance of reaching it."""
    rows = beside[beside["segment"] == "total"]
    if rows.empty:
        rows = beside
    if rows.empty:
        return f"No call of {quarter} known at the forecast's as-of date."
    parts = []
    for r in rows.itertuples(index=False):
        who = r.made_by or "the team"
        text = (f"{who}'s commit of {money(r.commit)} for {quarter}"
                + ("" if r.segment == "total" else f" ({r.segment})")
                + f", made {pd.Timestamp(r.made_on).date().isoformat()}, sits at the model's "
                f"{ordinal(r.commit_percentile)} percentile (P50 {money(r.p50)}): "
                + (f"{r.p_reach_commit:.0%} chance of reaching it"
                   if np.isfinite(r.p_reach_commit) else "chance of reaching it unknown"))
        if "actual" in beside.columns and np.isfinite(getattr(r, "actual", np.nan)):
            text += f"; actual {money(r.actual)}, the {r.closer} was closer"
        parts.append(text)
    return "; ".join(parts) + "."


__all__ = ["BESIDE_COLUMNS", "CALLS_CONVENTION", "CALL_COLUMNS", "INTERVAL_LEVELS",
           "PER_CALL_COLUMNS", "SCOPES", "SUMMARY_COLUMNS", "WHEN", "beside_model",
           "beside_reading", "call_frame", "calls_reading", "interval_score", "latest_calls",
           "score_call", "score_calls", "summarise_calls"]
