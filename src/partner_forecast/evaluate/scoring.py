"""Scoring backtest folds against what closed, and summarising the scores over folds.

:func:`score_folds` scores every reported quarter of every fold that is complete in the full
export against the partner-attributed ARR actually won (:func:`partner_forecast.outcomes.realised`):
CRPS, pinball loss at P10/P50/P90, P10-P90 coverage, PIT, bias, absolute percentage error of P50
and P50/actual -- the model's draws and the point baselines as degenerate distributions (the
cohort baseline by its draws in its first quarter); and, for deals open at the origin, the Brier
score and expected calibration error of the probability of winning in the quarter (the model's,
against the stage-table, learned stage and cohort probabilities). :func:`summarise` and
:func:`summarise_deals` pool them per lead, segment and method.

ARR is currency per year; probabilities, coverage and PIT in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.evaluate import scores
from partner_forecast.evaluate.baselines import BASELINES
from partner_forecast.evaluate.folds import FoldOutput
from partner_forecast.outcomes import realised

MODEL = "model"
METHODS: tuple[str, ...] = (MODEL, *BASELINES)
DEAL_METHODS: dict[str, str] = {MODEL: "p_model", "stage_table": "p_table",
                                "stage_learned": "p_learned", "cohort": "p_cohort"}
"""Deal-probability forecasts scored with Brier / ECE, and their column in the deal table."""


def _segment_draws(out: FoldOutput, h: int, segment: str) -> np.ndarray:
    x = out.draws[:, h, :]
    if segment == "total":
        return x.sum(axis=1)
    if segment in out.segments:
        return x[:, out.segments.index(segment)]
    return np.zeros(x.shape[0])


def _baseline_draws(out: FoldOutput, method: str, h: int, segment: str) -> np.ndarray | None:
    """A baseline's draws for a segment of the fold's first quarter (None: score its point)."""
    frame = out.baseline_draws.get(method) if h == 0 else None
    if frame is None:
        return None
    if segment in frame.columns:
        return frame[segment].to_numpy(dtype=np.float64)
    return np.zeros(len(frame))


def _score_row(actual: float, draws: np.ndarray | None, point: float | None) -> dict[str, float]:
    """Scores of one forecast (an ensemble of draws, or a point) against one actual."""
    if draws is not None:
        q10, q50, q90 = scores.ensemble_quantiles(draws)
        row = {"mean": float(draws.mean()), "p10": float(q10), "p50": float(q50), "p90": float(q90),
               "crps": float(scores.crps_ensemble(actual, draws)),
               "pit": float(scores.pit(actual, draws))}
    else:
        assert point is not None
        row = {"mean": point, "p10": point, "p50": point, "p90": point,
               "crps": float(scores.crps_point(actual, point)),
               "pit": float(scores.pit(actual, np.array([point])))}
    for level, name in zip(scores.QUANTILE_LEVELS, ("p10", "p50", "p90"), strict=True):
        row[f"pinball_{name}"] = float(scores.pinball_loss(actual, row[name], level))
    row["covered"] = bool(scores.interval_covered(actual, row["p10"], row["p90"]))
    row["error"] = row["mean"] - actual
    row["ape_p50"] = float(abs(row["p50"] - actual) / abs(actual)) if actual else np.nan
    row["ratio_p50"] = float(row["p50"] / actual) if actual else np.nan
    return row


def score_folds(outputs: Sequence[FoldOutput], export: Export, settings: Settings,
                by: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Score every fold's forecasts and deal probabilities against the full export.

    Parameters
    ----------
    outputs : sequence of FoldOutput
        The folds' results.
    export : Export
        The full export (the truth); only quarters complete in it are scored.
    settings : Settings
        Attribution weights and calendar.
    by : str, optional
        The segment dimension the folds used.

    Returns
    -------
    per_quarter : pandas.DataFrame
        One row per fold, reported quarter, segment and method: fold (first quarter), quarter,
        lead (1 = the fold's first quarter), segment, method, actual, mean, p10, p50, p90,
        crps, pinball_p10/p50/p90, covered, pit, error (mean - actual), ape_p50 and ratio_p50
        (NaN when the actual is 0). ARR in currency per year.
    deals : pandas.DataFrame
        One row per fold, reported quarter and deal-probability method: fold, quarter, lead,
        method, deals, wins, mean_p, win_rate, brier, ece. Stage probabilities (eventual
        wins) and cohort probabilities (wins within the origin's quarter) are scored in the
        first quarter only.
    """
    fym = settings.calendar.fiscal_year_start_month
    as_of = export.default_as_of
    opps = export.opportunities.set_index("opportunity_id")
    rows: list[dict[str, Any]] = []
    deal_rows: list[dict[str, Any]] = []
    for out in outputs:
        for h, label in enumerate(out.quarters):
            q = Quarter.parse(label, fym)
            if q.end > as_of:
                continue  # not complete in the export: nothing to score against
            won = realised(export, settings, q, by=by)
            actual = {str(s): float(v) for s, v in zip(won["segment"], won["attributed_arr"],
                                                       strict=True)}
            base = out.baselines[out.baselines["quarter"] == label]
            segments = ["total"]
            if by is not None:
                segments += sorted((set(out.segments) | set(actual) | set(base["segment"]))
                                   - {"total"})
            points = {(m, s): p for m, s, p in zip(base["method"], base["segment"], base["point"],
                                                     strict=True)}
            for seg in segments:
                y = actual.get(seg, 0.0)
                common = {"fold": out.quarters[0], "quarter": label, "lead": h + 1, "segment": seg,
                          "actual": y}
                rows.append({**common, "method": MODEL, **_score_row(y, _segment_draws(out, h, seg), None)})
                for method in BASELINES:
                    p = points.get((method, seg), np.nan)
                    if p is None or not np.isfinite(p):
                        continue
                    ens = _baseline_draws(out, method, h, seg)
                    rows.append({**common, "method": method,
                                 **_score_row(y, ens, None if ens is not None else float(p))})
            deal_rows += _deal_rows(out, h, q, opps)
    per_quarter = pd.DataFrame(rows, columns=[
        "fold", "quarter", "lead", "segment", "method", "actual", "mean", "p10", "p50", "p90",
        "crps", "pinball_p10", "pinball_p50", "pinball_p90", "covered", "pit", "error", "ape_p50",
        "ratio_p50"])
    deals = pd.DataFrame(deal_rows, columns=["fold", "quarter", "lead", "method", "deals", "wins",
                                             "mean_p", "win_rate", "brier", "ece"])
    return per_quarter, deals


def deal_outcomes(opps: pd.DataFrame, ids: pd.Series, quarter: Quarter) -> np.ndarray:
    """Whether each deal was won inside ``quarter`` according to the (full) export (0/1)."""
    stage = ids.map(opps["stage"]).astype(object)
    closed = pd.to_datetime(ids.map(opps["closed_on"]))
    won = (stage == "won") & (closed >= quarter.start) & (closed < quarter.end)
    return won.fillna(False).to_numpy(dtype=np.float64)


def _deal_rows(out: FoldOutput, h: int, q: Quarter, opps: pd.DataFrame) -> list[dict[str, Any]]:
    label = out.quarters[h]
    model = out.deal_probabilities
    frame = out.deals.merge(
        model[["opportunity_id", label]].rename(columns={label: "p_model"})
        if label in model.columns else pd.DataFrame(columns=["opportunity_id", "p_model"]),
        on="opportunity_id", how="outer")
    frame["won"] = deal_outcomes(opps, frame["opportunity_id"], q)
    rows = []
    for method, column in DEAL_METHODS.items():
        if method != MODEL and h > 0:
            continue
        sub = frame[frame[column].notna()]
        p = sub[column].to_numpy(dtype=np.float64)
        y = sub["won"].to_numpy(dtype=np.float64)
        rows.append({"fold": out.quarters[0], "quarter": label, "lead": h + 1, "method": method,
                     "deals": len(sub), "wins": int(y.sum()),
                     "mean_p": float(p.mean()) if len(p) else np.nan,
                     "win_rate": float(y.mean()) if len(y) else np.nan,
                     "brier": scores.brier_score(p, y),
                     "ece": scores.expected_calibration_error(p, y)})
    return rows


def summarise(per_quarter: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """Scores per lead, segment and method over the folds.

    Returns
    -------
    pandas.DataFrame
        lead, segment, method, folds, crps (mean), crps_vs_model (the method's mean CRPS over
        the model's on the same folds: > 1 means the model is better), pinball_p10/p50/p90 and
        pinball_mean, coverage (share of actuals inside P10-P90) with its Wilson interval
        (coverage_low, coverage_high), pit_mean, bias (mean forecast - actual, currency per
        year), bias_pct (total error / total actual), mape_p50, ratio_p50 (mean P50 / actual).
    """
    cols = ["lead", "segment", "method", "folds", "crps", "crps_vs_model", "pinball_p10",
            "pinball_p50", "pinball_p90", "pinball_mean", "coverage", "coverage_low",
            "coverage_high", "pit_mean", "bias", "bias_pct", "mape_p50", "ratio_p50"]
    if per_quarter.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    model = per_quarter[per_quarter["method"] == MODEL].set_index(["fold", "lead", "segment"])["crps"]
    order = {m: i for i, m in enumerate(METHODS)}
    for (lead, segment, method), g in per_quarter.groupby(["lead", "segment", "method"], sort=False):
        keys = pd.MultiIndex.from_frame(g[["fold", "lead", "segment"]])
        model_crps = model.reindex(keys).to_numpy(dtype=np.float64)
        ok = np.isfinite(model_crps)
        n = len(g)
        covered = int(g["covered"].sum())
        low, high = scores.wilson_interval(covered, n, confidence)
        total_actual = float(g["actual"].sum())
        rows.append({
            "lead": int(lead), "segment": segment, "method": method, "folds": n,
            "crps": float(g["crps"].mean()),
            "crps_vs_model": (float(g["crps"].to_numpy()[ok].mean() / model_crps[ok].mean())
                              if ok.any() and model_crps[ok].mean() > 0 else np.nan),
            "pinball_p10": float(g["pinball_p10"].mean()), "pinball_p50": float(g["pinball_p50"].mean()),
            "pinball_p90": float(g["pinball_p90"].mean()),
            "pinball_mean": float(g[["pinball_p10", "pinball_p50", "pinball_p90"]].to_numpy().mean()),
            "coverage": covered / n, "coverage_low": low, "coverage_high": high,
            "pit_mean": float(g["pit"].mean()), "bias": float(g["error"].mean()),
            "bias_pct": float(g["error"].sum() / total_actual) if total_actual else np.nan,
            "mape_p50": float(g["ape_p50"].mean()) if g["ape_p50"].notna().any() else np.nan,
            "ratio_p50": float(g["ratio_p50"].mean()) if g["ratio_p50"].notna().any() else np.nan,
        })
    out = pd.DataFrame(rows, columns=cols)
    out["_seg"] = out["segment"].ne("total")
    out["_m"] = out["method"].map(order)
    out = out.sort_values(["lead", "_seg", "segment", "_m"]).drop(columns=["_seg", "_m"])
    return out.reset_index(drop=True)


def summarise_deals(deals: pd.DataFrame, outcomes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Deal-probability scores pooled over folds, per lead and method.

    Pooled Brier score = deal-weighted mean of the folds' Brier scores; the ECE is the
    deal-weighted mean of the folds' ECEs (each fold's bins), an approximation of the pooled
    ECE. Columns: lead, method, folds, deals, wins, mean_p, win_rate, brier, ece.
    """
    cols = ["lead", "method", "folds", "deals", "wins", "mean_p", "win_rate", "brier", "ece"]
    if deals.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for (lead, method), g in deals.groupby(["lead", "method"], sort=False):
        w = g["deals"].to_numpy(dtype=np.float64)
        n = float(w.sum())

        def wmean(col: str, g: pd.DataFrame = g, w: np.ndarray = w, n: float = n) -> float:
            v = g[col].to_numpy(dtype=np.float64)
            ok = np.isfinite(v) & (w > 0)
            return float((v[ok] * w[ok]).sum() / w[ok].sum()) if ok.any() else np.nan

        rows.append({"lead": int(lead), "method": method, "folds": len(g), "deals": int(n),
                     "wins": int(g["wins"].sum()), "mean_p": wmean("mean_p"),
                     "win_rate": float(g["wins"].sum() / n) if n else np.nan,
                     "brier": wmean("brier"), "ece": wmean("ece")})
    return pd.DataFrame(rows, columns=cols)


__all__ = ["DEAL_METHODS", "METHODS", "MODEL", "deal_outcomes", "score_folds", "summarise",
           "summarise_deals"]
