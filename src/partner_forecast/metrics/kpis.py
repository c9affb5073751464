"""Seller-level activation KPIs (seed 000) and partner adoption KPIs (seed 002), DOMAIN.md 7.

Every KPI is one row: kpi, value, unit, target, meets_target, numerator, denominator, cadence
and a one-line definition. Measured over a quarter (its days before as-of); a "cut" is the
quarter's end or the as-of date if earlier.

Seller KPIs
    seller_activation_rate   active sellers / addressable pool (the ASR), target >= 15%
    lead_response_time       mean days from lead submission to first vendor contact, over
                             leads submitted in the quarter that were contacted, target < 3
    pipeline_visibility      share of partner-sourced deals in play (open at the cut, or closed
                             in the quarter) with a current status: closed, or a stage change or
                             engagement action (joint call, deal update, registration) in the
                             last :data:`VISIBILITY_DAYS` days before the cut; target 100%
    conversion_rate          referred deals (with a referring seller) closed won / closed in
                             the quarter, target >= 20%
    seller_engagement        partner sellers attending an enablement session in the quarter,
                             target >= 50

Adoption KPIs
    pct_activated_partners       partners with a won deal in the last 90 days / partners
    pipeline_contribution        open pipeline sourced, influenced or co-sold by partners /
                                 company total pipeline (NaN without the company file)
    partner_sourced_revenue      ARR of sourced deals won in the quarter
    deal_registration_velocity   mean days from lead submission (the registration) to
                                 opportunity creation, registered deals created in the quarter
    enablement_completion_rate   pool sellers certified by the cut / pool
    active_partner_rate          partners with any portal, tool, enablement or selling activity
                                 in the quarter / partners in the program
    partner_sourced_win_rate     sourced deals won / sourced deals closed in the quarter
    avg_deal_size_vs_direct      mean ARR of partner deals won in the quarter / company
                                 direct_avg_deal_size (NaN without it)
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.data.schema import ENGAGEMENT_ACTIVITIES
from partner_forecast.metrics.activation import partner_activation, program_partners
from partner_forecast.metrics.periods import in_quarter, quarter_cut
from partner_forecast.metrics.pipeline import closed_in, company_figure, open_pipeline
from partner_forecast.metrics.sellers import seller_quarter_activity

VISIBILITY_DAYS = 30  # a status is "current" if it changed in the last month (monthly cadence)
KPI_COLUMNS: tuple[str, ...] = ("kpi", "value", "unit", "target", "meets_target", "numerator",
                                "denominator", "cadence", "definition")
SELLER_KPIS: tuple[str, ...] = ("seller_activation_rate", "lead_response_time", "pipeline_visibility",
                                "conversion_rate", "seller_engagement")
ADOPTION_KPIS: tuple[str, ...] = ("pct_activated_partners", "pipeline_contribution",
                                  "partner_sourced_revenue", "deal_registration_velocity",
                                  "enablement_completion_rate", "active_partner_rate",
                                  "partner_sourced_win_rate", "avg_deal_size_vs_direct")


def _ratio(num: float, den: float) -> float:
    return float(num) / float(den) if den and np.isfinite(den) else float("nan")


def _kpi(kpi: str, value: float, unit: str, *, target: float = np.nan, rule: str = ">=",
         numerator: float = np.nan, denominator: float = np.nan, cadence: str = "quarterly",
         definition: str = "") -> dict[str, object]:
    meets: object = pd.NA
    if np.isfinite(target) and np.isfinite(value):
        meets = bool({">=": value >= target, "<": value < target, "<=": value <= target}[rule])
    return {"kpi": kpi, "value": float(value), "unit": unit, "target": float(target),
            "meets_target": meets, "numerator": float(numerator), "denominator": float(denominator),
            "cadence": cadence, "definition": definition}


def _frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=list(KPI_COLUMNS))
    out["meets_target"] = pd.array(out["meets_target"], dtype="boolean")
    return out


def seller_kpis(export: Export, settings: Settings, quarter: Quarter) -> pd.DataFrame:
    """The five seller-level KPIs of seed 000 for ``quarter`` (see the module docs).

    Returns
    -------
    pandas.DataFrame
        Five rows, columns :data:`KPI_COLUMNS`; value units: share (0-1), days or sellers.

    """
    a = settings.activation
    cut = quarter_cut(export, quarter)
    opps = export.opportunities
    sq = seller_quarter_activity(export, [quarter], settings.calendar.fiscal_year_start_month)
    pool, active = len(sq), int(sq["active"].sum())
    rows = [_kpi("seller_activation_rate", _ratio(active, pool), "share", target=a.asr_target,
                 numerator=active, denominator=pool,
                 definition="sellers with >= 1 qualified selling action / addressable pool")]

    leads = opps[in_quarter(opps["lead_submitted_on"], export, quarter)]
    contacted = leads[leads["first_contact_on"].notna() & (leads["first_contact_on"] < cut)]
    days = (contacted["first_contact_on"] - contacted["lead_submitted_on"]).dt.days.astype(float)
    rows.append(_kpi("lead_response_time", float(days.mean()) if len(days) else np.nan, "days",
                     target=a.lead_response_target_days, rule="<", numerator=float(days.sum()),
                     denominator=len(days), cadence="per lead",
                     definition=f"mean days lead submitted -> first vendor contact "
                                f"({len(leads) - len(contacted)} lead(s) not yet contacted)"))

    sourced = opps[opps["partner_role"].eq("sourced")]
    open_now = open_pipeline(export, settings, cut)
    open_sourced = set(open_now.loc[open_now["partner_role"].eq("sourced"), "opportunity_id"])
    closed_sourced = set(closed_in(export, quarter)["opportunity_id"]) & set(sourced["opportunity_id"])
    in_play = open_sourced | closed_sourced
    since = cut - pd.Timedelta(days=VISIBILITY_DAYS)
    hist = export.stage_history
    fresh = set(hist.loc[(hist["entered_on"] >= since) & (hist["entered_on"] < cut), "opportunity_id"])
    acts = export.activities
    touched = acts[acts["activity_type"].isin(ENGAGEMENT_ACTIVITIES) & (acts["occurred_on"] >= since)
                   & (acts["occurred_on"] < cut)]
    fresh |= set(touched["opportunity_id"].dropna())
    visible = closed_sourced | (open_sourced & fresh)
    rows.append(_kpi("pipeline_visibility", _ratio(len(visible), len(in_play)), "share", target=1.0,
                     numerator=len(visible), denominator=len(in_play), cadence="monthly",
                     definition=f"partner-sourced deals in play with a status change in the last "
                                f"{VISIBILITY_DAYS} days (or closed)"))

    closed = closed_in(export, quarter)
    referred = closed[closed["referring_seller_id"].notna()]
    won = int(referred["stage"].eq("won").sum())
    rows.append(_kpi("conversion_rate", _ratio(won, len(referred)), "share", target=a.conversion_target,
                     numerator=won, denominator=len(referred),
                     definition="referred deals closed won / referred deals closed"))

    attended = int((sq["enablement_sessions"] > 0).sum())
    rows.append(_kpi("seller_engagement", attended, "sellers", target=a.seller_engagement_target,
                     numerator=attended, denominator=pool,
                     definition="partner sellers attending an enablement session"))
    return _frame(rows)


def adoption_kpis(export: Export, settings: Settings, quarter: Quarter) -> pd.DataFrame:
    """The eight partner adoption KPIs of seed 002 for ``quarter`` (see the module docs).

    Returns
    -------
    pandas.DataFrame
        Eight rows, columns :data:`KPI_COLUMNS`; value units: share (0-1), ARR (currency per
        year), days or ratio.

    """
    cut = quarter_cut(export, quarter)
    opps = export.opportunities
    act = partner_activation(export, settings, cut)
    n_partners = len(act)
    activated = int(act["deal_in_window"].sum())
    days = settings.activation.activated_within_days
    rows = [_kpi("pct_activated_partners", _ratio(activated, n_partners), "share",
                 numerator=activated, denominator=n_partners,
                 definition=f"partners with >= 1 won deal in the last {days} days / partners")]

    pipe = open_pipeline(export, settings, cut)
    partner_pipe = float(pipe.loc[pipe["partner_role"].isin(("sourced", "influenced", "co_sell")),
                                  "arr"].sum())
    total = company_figure(export, quarter, "total_pipeline")
    rows.append(_kpi("pipeline_contribution", _ratio(partner_pipe, total), "share",
                     numerator=partner_pipe, denominator=total,
                     definition="open pipeline sourced, influenced or co-sold by partners / "
                                "company total pipeline"))

    won = closed_in(export, quarter, won_only=True)
    sourced_arr = float(won.loc[won["partner_role"].eq("sourced"), "arr"].sum())
    rows.append(_kpi("partner_sourced_revenue", sourced_arr, "arr",
                     numerator=sourced_arr, definition="ARR of partner-sourced deals won"))

    created = opps[in_quarter(opps["created_on"], export, quarter) & opps["deal_registration_id"].notna()
                   & opps["lead_submitted_on"].notna()]
    velocity = (created["created_on"] - created["lead_submitted_on"]).dt.days.astype(float)
    rows.append(_kpi("deal_registration_velocity", float(velocity.mean()) if len(velocity) else np.nan,
                     "days", numerator=float(velocity.sum()), denominator=len(velocity),
                     definition="mean days registration (lead submitted) -> opportunity created"))

    sq = seller_quarter_activity(export, [quarter], settings.calendar.fiscal_year_start_month)
    acts = export.activities
    certified = set(acts.loc[acts["activity_type"].eq("certification") & (acts["occurred_on"] < cut),
                             "seller_id"])
    n_cert = int(sq["seller_id"].isin(certified).sum())
    rows.append(_kpi("enablement_completion_rate", _ratio(n_cert, len(sq)), "share",
                     numerator=n_cert, denominator=len(sq),
                     definition="pool sellers certified / addressable pool"))

    program = program_partners(export, cut)
    q_acts = acts[in_quarter(acts["occurred_on"], export, quarter)]
    seller_partner = export.sellers.set_index("seller_id")["partner_id"]
    active_partners = set(q_acts["seller_id"].map(seller_partner).dropna()) & set(program["partner_id"])
    rows.append(_kpi("active_partner_rate", _ratio(len(active_partners), len(program)), "share",
                     numerator=len(active_partners), denominator=len(program),
                     definition="partners with any portal, tool, enablement or selling activity / "
                                "partners"))

    closed = closed_in(export, quarter)
    closed_sourced = closed[closed["partner_role"].eq("sourced")]
    n_won = int(closed_sourced["stage"].eq("won").sum())
    rows.append(_kpi("partner_sourced_win_rate", _ratio(n_won, len(closed_sourced)), "share",
                     numerator=n_won, denominator=len(closed_sourced),
                     definition="partner-sourced deals won / closed"))

    direct = company_figure(export, quarter, "direct_avg_deal_size")
    avg = float(won["arr"].mean()) if len(won) else np.nan
    rows.append(_kpi("avg_deal_size_vs_direct", _ratio(avg, direct) if np.isfinite(avg) else np.nan,
                     "ratio", numerator=avg, denominator=direct,
                     definition="mean ARR of partner deals won / direct average deal size"))
    return _frame(rows)


__all__ = ["VISIBILITY_DAYS", "KPI_COLUMNS", "SELLER_KPIS", "ADOPTION_KPIS", "seller_kpis",
           "adoption_kpis"]
