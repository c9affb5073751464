"""The channel team's calls of a synthetic export, with a known bias per caller.

Each caller calls every quarter of the window at fixed points (:data:`POINTS`: the eve of the
quarter, mid-quarter and late in it), per partner type and for the total, from the partner-
attributed ARR the quarter actually realised (the generator's truth):

    commit[caller, point, type] = round(actual[type] x (1 + bias[caller]) x exp(sigma[point] x z))
    best_case = round(commit x (1 + u)), u ~ Uniform(UPSIDE)

with ``z`` standard normal per call, noise shrinking as the quarter goes on (a late call knows
more), and the caller's total call the sum of their type calls (commit and best case); a
type call of nothing (no ARR in the quarter: a commit rounding to 0) is not made. Bias
``+0.2`` is a caller who calls 20% high; ``0`` an unbiased one, right in the median. The draws
come from their own stream (``SeedSequence(seed, spawn_key=(CALLS_STREAM,))``), so the other
tables are the same with or without calls. ARR is currency per year.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.data.sample.common import Calendar

CALLERS: dict[str, float] = {"Channel chief": 0.0, "Sales VP": 0.20}
"""Caller name -> planted bias (relative: +0.2 calls 20% above the actual)."""
POINTS: dict[str, tuple[int, float]] = {"start": (-1, 0.25), "mid": (45, 0.15), "late": (75, 0.08)}
"""Point in the quarter -> (day from the quarter's start, noise sigma of the log commit)."""
UPSIDE: tuple[float, float] = (0.15, 0.40)
"""Best case = commit x (1 + u), u uniform on this range."""
CALLS_STREAM = 2000
"""``spawn_key`` of the calls' random stream (profiles use 1000 + k)."""
ROUND_TO = 100.0
"""Calls are round numbers: commit and best case to the nearest 100."""


def calls_frame(seed: int, cal: Calendar, types: tuple[str, ...], by_type_attr: np.ndarray
                ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The ``calls`` table and its truth (callers' biases, points, noise, upside).

    Parameters
    ----------
    seed
        The sample's seed (the calls' own stream is spawned from it).
    cal
        The window's calendar.
    types
        Partner type labels, the rows of ``by_type_attr``.
    by_type_attr
        (types, quarters) realised partner-attributed ARR won per type and window quarter.

    Returns
    -------
    calls, truth
        One row per call (quarter, partner_type blank for the total, partner_id blank,
        made_on, commit, best_case, made_by), ordered by day, caller and type; and the
        parameters for ``truth.json``. Calls dated on or after the export date are not made.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(CALLS_STREAM,)))
    labels = cal.labels()
    rows: list[dict[str, Any]] = []
    for qi, label in enumerate(labels):
        start = int(cal.bounds[qi])
        actual = by_type_attr[:, qi]
        for point, (day, sigma) in POINTS.items():
            made = start + day
            if made >= cal.export_day:
                continue
            for who, bias in CALLERS.items():
                z = rng.standard_normal(len(types))
                u = rng.uniform(*UPSIDE, size=len(types))
                commit = np.round(actual * (1.0 + bias) * np.exp(sigma * z) / ROUND_TO) * ROUND_TO
                best = np.round(commit * (1.0 + u) / ROUND_TO) * ROUND_TO
                date = cal.dates(np.array([made]))[0]
                common = {"quarter": label, "partner_id": None, "made_on": date, "made_by": who,
                          "_point": point}
                rows.append({**common, "partner_type": None, "commit": float(commit.sum()),
                             "best_case": float(best.sum())})
                rows += [{**common, "partner_type": t, "commit": float(c), "best_case": float(b)}
                         for t, c, b in zip(types, commit, best, strict=True) if c > 0]
    frame = pd.DataFrame(rows, columns=["quarter", "partner_type", "partner_id", "made_on",
                                        "commit", "best_case", "made_by", "_point"])
    frame["made_on"] = frame["made_on"].astype("datetime64[s]")
    for col in ("commit", "best_case"):  # whole hundreds: written without a decimal point
        frame[col] = frame[col].round().astype(np.int64)
    truth = {
        "callers": {who: {"bias": bias} for who, bias in CALLERS.items()},
        "points": {p: {"day": d, "noise_sigma": s} for p, (d, s) in POINTS.items()},
        "best_case_upside": list(UPSIDE),
        "form": "commit = round(actual x (1 + bias[caller]) x exp(noise_sigma[point] x z), -2) "
                "per partner type, actual = realised won_arr_attributed_by_type; best_case = "
                "round(commit x (1 + u), -2), u ~ Uniform(best_case_upside); the total call is "
                "the sum of the caller's type calls; day = days from the quarter's start",
        "rows": len(frame),
    }
    return frame.drop(columns="_point"), truth


__all__ = ["CALLERS", "CALLS_STREAM", "POINTS", "UPSIDE", "calls_frame"]
