"""Block 4, partner productivity: ASR per partner, top partners, productivity by partner type."""

from __future__ import annotations

from functools import partial

from partner_forecast.report_service.productivity import ASR_INTERVAL, TOP_PARTNERS, ProductivityData
from partner_forecast.reports.charts.productivity import asr_caterpillar
from partner_forecast.reports.document import Block, Chart, Table
from partner_forecast.reports.readings import asr_reading, productivity_reading


def asr_note(data: ProductivityData) -> str:
    """What the ASR chart's dots and bars are: the posterior's, or observed with Wilson intervals."""
    paper = f"({data.paper_quarters}+ quarters with sellers and nobody active)"
    if data.posterior:
        return ("Dots and bars: the activation model's posterior ASR (mean, P10-P90), shrunk "
                "toward the partner's type and tier; crosses: observed ASR; red: paper "
                f"partnerships {paper}.")
    return (f"Observed ASR with {ASR_INTERVAL:.0%} Wilson intervals (the models offer no "
            f"posterior_activation(fits, export)); red: paper partnerships {paper}.")


def productivity_block(data: ProductivityData) -> Block:
    """Block 4 from the report service's productivity data."""
    q = data.quarter
    block = Block("productivity", "4. Partner productivity",
                  f"Active Seller Rate per partner in {q} (paper partnerships marked), the top "
                  f"{TOP_PARTNERS} partners by open pipeline, and win rate, deal size and ARR per "
                  "active partner and seller by partner type.")
    block.items.append(Chart("asr", f"{q}: Active Seller Rate per partner",
                             asr_reading(data.asr, data.asr_target, str(q)),
                             partial(asr_caterpillar, data.asr, data.asr_target), asr_note(data)))
    block.items.append(Table(
        "top_partners", f"Top {TOP_PARTNERS} partners by open pipeline (attributed ARR; win rate on "
        "deals closed so far)",
        data.top, {"deals": "count", "pipeline_arr": "money", "closed_deals": "count",
                   "win_rate": "pct", "asr": "pct"},
        labels={"partner_id": "Partner", "partner_name": "Name", "deals": "Open deals",
                "pipeline_arr": "Open pipeline", "asr": f"ASR {q}"}))
    block.items.append(Table(
        "productivity_by_type", f"{q}: productivity by partner type (attributed ARR; win rate and "
        "deal size: partner-sourced deals over the last four quarters, where attributed = gross)",
        data.by_type,
        {"partner_arr": "money", "active_partners": "count", "active_sellers": "count",
         "arr_per_active_partner": "money", "arr_per_active_seller": "money", "win_rate": "pct",
         "avg_deal_size": "money"}, productivity_reading(data.by_type, str(q)),
        labels={"partner_arr": "Partner ARR", "arr_per_active_partner": "ARR per active partner",
                "arr_per_active_seller": "ARR per active seller",
                "avg_deal_size": "Average deal size"}))
    return block


__all__ = ["asr_note", "productivity_block"]
