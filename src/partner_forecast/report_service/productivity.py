"""Block 4's data: Active Seller Rate per partner with intervals, top partners, productivity by type."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.export import Export
from partner_forecast.forecast import ForecastContext
from partner_forecast.report_service.inputs import ReportInputs

ASR_INTERVAL = 0.8
"""Coverage of the ASR intervals (80%, like P10-P90)."""
TOP_PARTNERS = 10
"""Partners in the top-partners table (by open pipeline)."""


@dataclass
class ProductivityData:
    """Partner productivity in the last closed quarter.

    Attributes
    ----------
    quarter : Quarter
        The last closed quarter.
    asr : pandas.DataFrame
        One row per partner with sellers: partner_id, pool, active, asr, paper, asr_p10,
        asr_p90 and, with a posterior, observed (the raw ASR; ``asr`` is then the posterior
        mean).
    posterior : bool
        The intervals are the activation model's posterior P10-P90 (else
        :data:`ASR_INTERVAL` Wilson intervals around the observed ASR).
    asr_target : float
        The ASR target (0-1).
    paper_quarters : int
        Quarters with sellers and nobody active that make a paper partnership.
    top : pandas.DataFrame
        The :data:`TOP_PARTNERS` partners by open attributed pipeline: partner_id, partner_name,
        partner_type, tier, deals, pipeline_arr, closed_deals, win_rate, asr.
    by_type : pandas.DataFrame
        Per partner type then ``all``: partner_arr, active partners and sellers, ARR per
        active partner and seller, win_rate, avg_deal_size.
    """

    quarter: Quarter
    asr: pd.DataFrame
    posterior: bool
    asr_target: float
    paper_quarters: int
    top: pd.DataFrame
    by_type: pd.DataFrame


def productivity_data(inp: ReportInputs, context: ForecastContext | None) -> ProductivityData:
    """Block 4's data for the last closed quarter."""
    from partner_forecast.metrics.activation import paper_partnerships
    from partner_forecast.metrics.asr import partner_quarter_activation

    q = inp.last_closed
    s = inp.settings
    pq = partner_quarter_activation(inp.export, [q], s.calendar.fiscal_year_start_month)
    pq = pq[pq["pool"] > 0]
    paper = paper_partnerships(inp.export, s, q).set_index("partner_id")["paper_partnership"]
    asr = pd.DataFrame({"partner_id": pq["partner_id"].astype(str).to_numpy(),
                        "pool": pq["pool"].to_numpy(), "active": pq["active"].to_numpy(),
                        "asr": pq["asr"].to_numpy(dtype=float)})
    asr["paper"] = asr["partner_id"].map(paper).fillna(False).astype(bool).to_numpy()
    posterior = posterior_asr(inp, context, asr)
    asr = posterior if posterior is not None else wilson_asr(asr)
    return ProductivityData(quarter=q, asr=asr, posterior=posterior is not None,
                            asr_target=s.activation.asr_target,
                            paper_quarters=s.activation.paper_partnership_quarters,
                            top=top_partners(inp, asr), by_type=productivity_by_type(inp))


def posterior_asr(inp: ReportInputs, context: ForecastContext | None, asr: pd.DataFrame
                  ) -> pd.DataFrame | None:
    """``asr`` with the activation model's posterior mean and P10-P90 (None: not available).

    None without a forecast, when the models offer no
    :meth:`~partner_forecast.model_source.ModelSource.posterior_activation`, when it misses a
    partner's interval, or when it is of another quarter than the last closed one.
    """
    post = (inp.models.posterior_activation(context.fits, inp.export)
            if context is not None else None)
    if post is None:
        return None
    post = post.assign(partner_id=post["partner_id"].astype(str)).set_index("partner_id")
    out = asr.assign(observed=asr["asr"],
                     asr=asr["partner_id"].map(post["posterior_mean"]).to_numpy(dtype=float),
                     asr_p10=asr["partner_id"].map(post["p10"]).to_numpy(dtype=float),
                     asr_p90=asr["partner_id"].map(post["p90"]).to_numpy(dtype=float))
    quarters = set(post["quarter"].dropna().astype(str)) if "quarter" in post else set()
    complete = bool((out["asr_p10"].notna() & out["asr_p90"].notna()).all())
    return out if complete and quarters <= {str(inp.last_closed)} else None


def wilson_asr(asr: pd.DataFrame) -> pd.DataFrame:
    """``asr`` with :data:`ASR_INTERVAL` Wilson intervals of active / pool as asr_p10, asr_p90."""
    from partner_forecast.evaluate.scores import wilson_interval

    bounds = [wilson_interval(int(a), int(n), ASR_INTERVAL)
              for a, n in zip(asr["active"], asr["pool"], strict=True)]
    return asr.assign(asr_p10=[b[0] for b in bounds], asr_p90=[b[1] for b in bounds])


def top_partners(inp: ReportInputs, asr: pd.DataFrame) -> pd.DataFrame:
    """The :data:`TOP_PARTNERS` partners by open attributed pipeline, with win rate and ASR."""
    from partner_forecast.metrics.confidence import partner_win_rates
    from partner_forecast.metrics.pipeline import open_pipeline

    pipe = open_pipeline(inp.export, inp.settings)
    info = inp.export.partners.set_index("partner_id")
    top = (pipe.groupby("partner_id").agg(deals=("arr", "size"), pipeline_arr=("attributed_arr", "sum"))
           .sort_values("pipeline_arr", ascending=False).head(TOP_PARTNERS).reset_index())
    wins = partner_win_rates(inp.export).set_index("partner_id")
    asr_by = asr.set_index("partner_id")["observed" if "observed" in asr else "asr"]
    top.insert(1, "partner_name", top["partner_id"].map(info["partner_name"]).astype(object))
    top.insert(2, "partner_type", top["partner_id"].map(info["partner_type"]).astype(object))
    top.insert(3, "tier", top["partner_id"].map(info["tier"]).astype(object))
    top["closed_deals"] = top["partner_id"].map(wins["closed"]).to_numpy()
    top["win_rate"] = top["partner_id"].map(wins["raw_win_rate"]).to_numpy(dtype=float)
    top["asr"] = top["partner_id"].map(asr_by).to_numpy(dtype=float)
    return top


def productivity_by_type(inp: ReportInputs) -> pd.DataFrame:
    """ARR per active partner and seller, win rate and deal size by partner type, then ``all``."""
    from partner_forecast.metrics.arr import core_arr_metrics
    from partner_forecast.metrics.production import production_from_history
    from partner_forecast.metrics.segments import by_segment

    q, s = inp.last_closed, inp.settings

    def per_type(e: Export) -> pd.DataFrame:
        arr = core_arr_metrics(e, s, q)[["partner_arr", "active_partners", "active_sellers",
                                         "arr_per_active_partner", "arr_per_active_seller"]]
        prod = production_from_history(e, s, q)
        prod = prod[prod["partner_id"] == "all"][["win_rate", "avg_deal_size"]].reset_index(drop=True)
        return pd.concat([arr.reset_index(drop=True), prod], axis=1)

    by_type = by_segment(inp.export, "partner_type", per_type)
    overall = per_type(inp.export).assign(partner_type="all")
    return pd.concat([by_type, overall[by_type.columns]], ignore_index=True)


__all__ = ["ASR_INTERVAL", "ProductivityData", "TOP_PARTNERS", "posterior_asr",
           "productivity_by_type", "productivity_data", "top_partners", "wilson_asr"]
