"""Stage-weighted partner forecast, with seed or learned conversion rates (DOMAIN.md section 3).

Partner forecast ARR = sum over stages of (pipeline at stage x conversion rate x average deal
size) = sum over open deals at a stage of ARR x P(won | stage), per partner type. Two versions:

- ``rates="table"``: the seed ``[conversion_table]`` of the config (types without a column use
  its ``default`` column);
- ``rates="learned"``: learned from the history's closed deals. For partner type t and stage s,
  among deals closed (won or lost) before as-of that entered s, the share won, shrunk toward
  the seed table with :data:`LEARNED_PRIOR_DEALS` pseudo-deals so a sparse cell stays sane:
  ``(won + k * table) / (reached + k)``.

A deterministic baseline: rates have no uncertainty here and are not forced to rise with stage
(the Bayesian conversion model does both).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.data.schema import OPEN_STAGES, PartnerType
from partner_forecast.metrics.pipeline import open_pipeline

LEARNED_PRIOR_DEALS = 5.0


def table_rate(settings: Settings, partner_type: str, stage: str) -> float:
    """Seed-table P(won | stage) for a partner type (the ``default`` column when it has none)."""
    return settings.conversion_probability(partner_type, stage)


def learned_conversion_table(export: Export, settings: Settings,
                             prior_deals: float = LEARNED_PRIOR_DEALS) -> pd.DataFrame:
    """P(won | reached stage) per partner type and open stage, learned from closed deals.

    Parameters
    ----------
    export : Export
        The export (or its as-of view); deals closed before its as-of date are the evidence.
    settings : Settings
        Supplies the seed table used as the shrinkage target.
    prior_deals : float
        Pseudo-deals at the seed rate added to every cell.

    Returns
    -------
    pandas.DataFrame
        One row per (partner_type, stage) for every partner type: partner_type, stage,
        reached (closed deals that entered the stage), won, observed_rate (NaN when none),
        table_rate and learned_rate (0-1).

    """
    opps = export.opportunities
    closed = opps[opps["stage"].isin(("won", "lost")) & opps["closed_on"].notna()
                  & (opps["closed_on"] < export.default_as_of)]
    types = closed["partner_id"].map(export.partners.set_index("partner_id")["partner_type"])
    won = closed["stage"].eq("won")
    deal = pd.DataFrame({"opportunity_id": closed["opportunity_id"].to_numpy(dtype=object),
                         "partner_type": types.to_numpy(dtype=object), "won": won.to_numpy()})
    hist = export.stage_history[export.stage_history["stage"].isin(OPEN_STAGES)]
    reached = (hist[["opportunity_id", "stage"]].drop_duplicates()
               .merge(deal, on="opportunity_id", how="inner"))
    counts = reached.groupby(["partner_type", "stage"]).agg(reached=("won", "size"), won=("won", "sum"))
    index = pd.MultiIndex.from_product([[t.value for t in PartnerType], list(OPEN_STAGES)],
                                       names=["partner_type", "stage"])
    out = counts.reindex(index, fill_value=0).reset_index()
    out["reached"] = out["reached"].astype(np.int64)
    out["won"] = out["won"].astype(np.int64)
    out["observed_rate"] = np.where(out["reached"] > 0, out["won"] / out["reached"].clip(lower=1), np.nan)
    out["table_rate"] = [table_rate(settings, t, s) for t, s in zip(out["partner_type"], out["stage"],
                                                                    strict=True)]
    out["learned_rate"] = (out["won"] + prior_deals * out["table_rate"]) / (out["reached"] + prior_deals)
    return out


def open_deal_rates(export: Export, settings: Settings, date: pd.Timestamp | str | None = None
                    ) -> pd.DataFrame:
    """Open deals with their seed-table and learned P(won | stage).

    Returns
    -------
    pandas.DataFrame
        :func:`pipeline.open_pipeline`'s rows (stage on ``date``) plus table_rate and
        learned_rate (0-1), the learned rates coming from the whole export's closed deals.

    """
    pipe = open_pipeline(export, settings, date)
    learned = learned_conversion_table(export, settings).set_index(["partner_type", "stage"])["learned_rate"]
    pipe["table_rate"] = np.array([table_rate(settings, t, s) for t, s in
                                   zip(pipe["partner_type"], pipe["stage"], strict=True)], dtype=float)
    keys = pd.MultiIndex.from_arrays([pipe["partner_type"], pipe["stage"]])
    pipe["learned_rate"] = learned.reindex(keys).to_numpy(dtype=float)
    return pipe


def summarise_stage_forecast(deals: pd.DataFrame, rate: str, group: list[str] | None = None
                             ) -> pd.DataFrame:
    """Stage-weighted forecast of a deal frame, per (group..., partner_type, stage).

    Parameters
    ----------
    deals : pandas.DataFrame
        Open deals with arr, attributed_arr, partner_type, stage and a rate column.
    rate : str
        The column holding each deal's P(won | stage).
    group : list of str, optional
        Leading grouping columns (e.g. a segment).

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`stage_weighted_forecast`, after the ``group`` columns.

    """
    keys = [*(group or []), "partner_type", "stage"]
    grouped = (deals.groupby(keys)
               .agg(deals=("arr", "size"), pipeline_arr=("arr", "sum"),
                    attributed_pipeline_arr=("attributed_arr", "sum"), conversion_rate=(rate, "first"))
               .reset_index())
    grouped["avg_deal_size"] = grouped["pipeline_arr"] / grouped["deals"]
    grouped["forecast_arr"] = grouped["deals"] * grouped["conversion_rate"] * grouped["avg_deal_size"]
    grouped["attributed_forecast_arr"] = grouped["attributed_pipeline_arr"] * grouped["conversion_rate"]
    grouped["stage_order"] = grouped["stage"].map({s: i for i, s in enumerate(OPEN_STAGES)})
    grouped = grouped.sort_values([*(group or []), "partner_type", "stage_order"], kind="stable")
    cols = [*keys, "deals", "pipeline_arr", "avg_deal_size", "conversion_rate", "forecast_arr",
            "attributed_forecast_arr"]
    return grouped[cols].reset_index(drop=True)


def stage_weighted_forecast(export: Export, settings: Settings,
                            rates: Literal["table", "learned"] = "table",
                            date: pd.Timestamp | str | None = None) -> pd.DataFrame:
    """Stage-weighted forecast of the open partner pipeline per partner type and stage.

    Parameters
    ----------
    export : Export
        The export (or its as-of view).
    settings : Settings
        Conversion table and attribution weights.
    rates : {"table", "learned"}
        Seed conversion table, or rates learned from closed deals
        (:func:`learned_conversion_table`).
    date : Timestamp, optional
        Pipeline snapshot date (default: the export's as-of date).

    Returns
    -------
    pandas.DataFrame
        One row per (partner_type, stage) with open deals: partner_type, stage, deals,
        pipeline_arr, avg_deal_size, conversion_rate (0-1), forecast_arr (= deals x rate x
        average deal size) and attributed_forecast_arr (ARR in currency per year).

    """
    if rates not in ("table", "learned"):
        raise ValueError(f"rates must be 'table' or 'learned', got {rates!r}")
    return summarise_stage_forecast(open_deal_rates(export, settings, date), f"{rates}_rate")


__all__ = ["LEARNED_PRIOR_DEALS", "table_rate", "learned_conversion_table", "open_deal_rates",
           "summarise_stage_forecast", "stage_weighted_forecast"]
