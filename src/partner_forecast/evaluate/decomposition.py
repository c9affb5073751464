"""The exact decomposition of a quarter's actual minus forecast mean into drivers.

Pure functions of numbers and small tables (the variance review,
:func:`partner_forecast.evaluate.variance.variance_review`, reads them off the ledger and the
export). The lines of :func:`decompose` sum exactly to actual minus forecast mean (total
partner-attributed ARR of a quarter):

open pipeline (deals open at the origin, each with the run's win-in-Q probability ``p_i`` and
    attributed value ``v_i`` = ARR x attribution weight): won in Q -> ``(1 - p_i) v_i``
    (conversion); lost by Q's end -> ``-p_i v_i`` (lost); still open at Q's end or closed in
    another quarter -> ``-p_i v_i`` (timing); plus the difference between the per-deal
    expectation ``sum p_i v_i`` and the simulated mean of the open pipeline (model residual);
    deals won in Q created before the origin but not in the run's pipeline (not in forecast);
won before origin: ARR won before the origin inside Q, now minus as recorded (data revisions);
new pipeline (deals created on or after the origin): sequential substitution on ``active
    sellers x opportunities per active seller x wins per opportunity x gross ARR per win x
    attributed share`` (:func:`new_pipeline_lines`), expected factors replaced by actual ones in
    the order of :data:`NEW_FACTORS`; the lines telescope to actual minus expected new ARR.

ARR is partner-attributed, currency per year; probabilities in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from partner_forecast.formatting import money

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
RESCALE_RANGE: tuple[float, float] = (0.5, 2.0)
"""New-pipeline lines are rescaled to the exact difference only by a factor in this range;
beyond it the factors explain too little of it, and the rest is shown as its own line."""
MAX_LINE_OVER_SCALE = 1e6
"""A new-pipeline line larger than this multiple of the ARR involved means inconsistent totals."""


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


__all__ = ["DRIVER_KEYS", "MAX_LINE_OVER_SCALE", "NEW_FACTORS", "NEW_MEASURES", "OPEN_STATUSES",
           "RESCALE_RANGE", "decompose", "factor_text", "new_pipeline_lines", "open_pipeline_lines",
           "sequential_substitution"]
