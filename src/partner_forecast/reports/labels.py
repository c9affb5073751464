"""Column headers and value kinds in words for the executive report's tables.

The library's frames use snake_case column names (``attributed_pipeline_arr``); a reader of the
report sees ``Attributed pipeline ARR``. :func:`column_label` gives the header (a known label, or
the name's words with ARR, ASR, QoQ, P50, ... spelled as such) and :func:`infer_kind` the format
of a column the report did not give one (money for ``*_arr``, a percentage for ``*_rate``, ...).
"""

from __future__ import annotations

import pandas as pd

TOKENS: dict[str, str] = {
    "arr": "ARR", "asr": "ASR", "qoq": "QoQ", "yoy": "YoY", "p10": "P10", "p50": "P50",
    "p90": "P90", "crps": "CRPS", "mape": "MAPE", "pit": "PIT", "id": "ID", "ess": "ESS",
    "rhat": "R-hat", "pct": "%", "avg": "average", "co": "co", "p": "P",
}
"""Words spelled differently from their lower-case column token."""

COLUMN_LABELS: dict[str, str] = {
    "partner_type": "Partner type",
    "partner_id": "Partner",
    "opportunity_id": "Opportunity",
    "stage_at_origin": "Stage at forecast",
    "status_at_quarter_end": "Status at quarter end",
    "closed_on": "Closed on",
    "deals": "Deals",
    "closed_deals": "Closed deals",
    "win_rate": "Win rate",
    "model_rate": "Model rate",
    "actual_rate": "Actual rate",
    "expected_wins": "Expected wins",
    "actual_wins": "Actual wins",
    "active_partners": "Active partners",
    "active_sellers": "Active sellers",
    "engaged_sellers": "Engaged sellers",
    "qoq": "QoQ",
    "yoy": "YoY",
    # model diagnostics
    "max_rhat": "Max R-hat",
    "min_ess_bulk": "Min ESS (bulk)",
    "min_ess_tail": "Min ESS (tail)",
    "worst": "Worst parameter",
    "cells": "Data cells",
    "steps": "Mean leapfrog steps",
    "compile_s": "Compile",
    "sample_s": "Sampling",
    # report meta
    "as_of": "As of",
    "run_id": "Run ID",
    "diagnostics_ok": "Diagnostics OK",
    "variance": "Variance review",
}

DIAGNOSTICS_FORMATS: dict[str, str] = {
    "chains": "count", "draws": "count", "divergences": "count", "max_rhat": "rhat",
    "min_ess_bulk": "count", "min_ess_tail": "count", "parameters": "count", "cells": "count",
    "steps": "decimal", "compile_s": "seconds", "sample_s": "seconds",
}
"""Formats of the model diagnostics table's columns."""


def column_label(name: object) -> str:
    """A column name in words: ``pipeline_growth_qoq`` -> ``Pipeline growth QoQ``."""
    key = str(name)
    if key in COLUMN_LABELS:
        return COLUMN_LABELS[key]
    words = [TOKENS.get(w, w) for w in key.split("_") if w]
    if not words:
        return key
    first = words[0]
    words[0] = first if first != first.lower() else first[:1].upper() + first[1:]
    return " ".join(words).replace("co sell", "co-sell").replace("Co sell", "Co-sell")


def infer_kind(name: object, values: pd.Series) -> str | None:
    """The format kind of a column the report gave none, from its name and dtype.

    Returns
    -------
    str or None
        ``money`` for ``*_arr``, ``pct`` for rates, ratios and probabilities, ``count`` for
        integers, ``decimal`` for other numbers, None for text.
    """
    key = str(name)
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    if key.endswith("_arr") or key in {"arr", "crps", "bias", "avg_deal_size"}:
        return "money"
    if key.endswith(("_rate", "_ratio")) or key.startswith("p_") or key == "asr":
        return "pct"
    if pd.api.types.is_integer_dtype(values):
        return "count"
    return "decimal"


__all__ = ["COLUMN_LABELS", "DIAGNOSTICS_FORMATS", "TOKENS", "column_label", "infer_kind"]
