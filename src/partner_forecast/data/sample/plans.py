"""Targets and company figures of the sample: plausible against what the partners realised."""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.data.sample.common import Calendar
from partner_forecast.data.sample.params import TYPES


def plans(r: np.random.Generator, cal: Calendar, attr_by_type: np.ndarray, won_arr: np.ndarray,
          open_arr_end: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Targets (window + 4 quarters) and company figures (window) plausible against the data.

    A type's target for a window quarter is its realised attributed ARR smoothed over three
    quarters times a little ambition (lognormal, median +5%); the next four quarters grow the
    last four quarters' mean by 5% per quarter. Company figures add a direct business to the
    partner channel: total new ARR won in the quarter, total open pipeline at quarter end and
    the direct average deal size (currency per year).
    """
    T, Q = attr_by_type.shape
    horizon = 4
    pad = np.pad(attr_by_type, ((0, 0), (1, 1)), mode="edge")
    smooth = (pad[:, :-2] + pad[:, 1:-1] + pad[:, 2:]) / 3
    window = smooth * np.exp(r.normal(0.05, 0.12, (T, Q)))
    base = attr_by_type[:, max(0, Q - 4):].mean(axis=1)
    future = base[:, None] * 1.05 ** np.arange(1, horizon + 1)[None, :] * np.exp(
        r.normal(0.0, 0.08, (T, horizon)))
    target = np.round(np.concatenate([window, future], axis=1), -3)
    labels = cal.labels(Q + horizon)
    rows: list[tuple[str, str | None, float]] = [
        (lbl, None, float(target[:, j].sum())) for j, lbl in enumerate(labels)]
    rows += [(lbl, TYPES[i], float(target[i, j])) for j, lbl in enumerate(labels) for i in range(T)]
    targets = pd.DataFrame(rows, columns=["quarter", "partner_type", "arr_target"])
    targets["partner_type"] = targets["partner_type"].astype(object)
    targets["arr_target"] = pd.array(targets["arr_target"].round().astype(np.int64), dtype="Int64")

    level = max(float(won_arr[max(0, Q - 4):].mean()), 100_000.0)
    growth = 1.03 ** np.arange(Q)
    direct = 1.8 * level * growth * np.exp(r.normal(0, 0.08, Q))
    direct_pipe = 3.2 * direct * np.exp(r.normal(0, 0.1, Q))
    deal = 42_000 * 1.01 ** np.arange(Q) * np.exp(r.normal(0, 0.05, Q))
    company = pd.DataFrame({
        "quarter": cal.labels(),
        "total_arr": pd.array(np.rint(won_arr + direct).astype(np.int64), dtype="Int64"),
        "total_pipeline": pd.array(np.rint(open_arr_end + direct_pipe).astype(np.int64),
                                   dtype="Int64"),
        "direct_avg_deal_size": pd.array(np.rint(deal).astype(np.int64), dtype="Int64"),
    })
    return targets, company
