"""The report's readings: one sentence per chart or table, computed from the numbers it shows.

Each function takes the frames its chart draws (or the report service's data) and words what
an executive should see first: the level, the change, the gap to a target, the largest part.
Money is ARR in currency per year (:func:`~partner_forecast.formatting.money`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from partner_forecast.data.audit import DataQualityAudit
from partner_forecast.formatting import (
    change,
    count,
    money,
    multiple,
    ordinal,
    pct,
    signed_money,
    signed_pct,
)
from partner_forecast.report_service.forecasting import ForecastData


def headline(forecast: ForecastData) -> str:
    """The one sentence an executive reads first: next quarter's P50 and chance of target."""
    d = forecast.distribution
    if d is None:
        reason = forecast.left_out.reason if forecast.left_out is not None else "none was made"
        return (f"No forecast: the models could not forecast this data ({reason}); the dashboard "
                "shows the history only.")
    return "Partner-attributed ARR " + distribution_reading(d.p10, d.p50, d.p90, d.target,
                                                            d.p_at_least, d.quarter)


def distribution_reading(p10: float, p50: float, p90: float, target: float | None,
                         p_at_least: float | None, quarter: str) -> str:
    """``"P50 $4.2M, 62% chance of reaching the $4.0M target (P10 $3.1M, P90 $5.6M)"``."""
    spread = f"P10 {money(p10)}, P90 {money(p90)}"
    if target is not None and np.isfinite(target) and p_at_least is not None:
        return (f"{quarter}: P50 {money(p50)}, {pct(p_at_least)} chance of reaching the "
                f"{money(target)} target ({spread}).")
    return f"{quarter}: P50 {money(p50)} ({spread}); no ARR target for {quarter} in the targets file."


def fan_reading(history: pd.DataFrame, forecast: pd.DataFrame) -> str:
    """Last actual quarter and the forecast's P50 path with its P10-P90 range."""
    parts = []
    if len(history):
        last = history.iloc[-1]
        text = f"{money(last['actual'])} won in {last['quarter']}"
        if len(history) >= 2:
            text += f" ({signed_pct(change(last['actual'], history['actual'].iloc[-2]))} QoQ)"
        parts.append(text)
    if len(forecast):
        first = forecast.iloc[0]
        text = (f"forecast P50 {money(first['p50'])} in {first['quarter']} "
                f"(P10-P90 {money(first['p10'])}-{money(first['p90'])})")
        if len(forecast) > 1:
            end = forecast.iloc[-1]
            text += (f", {money(end['p50'])} by {end['quarter']} "
                     f"(P10-P90 {money(end['p10'])}-{money(end['p90'])})")
        parts.append(text)
    return ("Partner ARR: " + "; ".join(parts) + ".") if parts else "No partner ARR to show."


def split_reading(split: pd.DataFrame) -> str:
    """The first quarter's committed, upside and new-pipeline means and their shares."""
    if split.empty:
        return "No forecast quarter."
    r = split.iloc[0]
    total = max(float(r["mean"]), 1e-9)
    text = (f"{r['quarter']}: of a mean {money(r['mean'])}, committed {money(r['committed'])} "
            f"({pct(r['committed'] / total)}), upside {money(r['upside'])} "
            f"({pct(r['upside'] / total)}) of today's open pipeline, {money(r['new_pipeline'])} "
            f"from pipeline not yet created")
    if r["won_to_date"] > 0:
        text += f", {money(r['won_to_date'])} already won"
    return text + "."


def coverage_reading(coverage: pd.DataFrame, quarter: str) -> str:
    """Overall coverage against its requirement and the partner types below theirs."""
    rows = coverage.set_index("partner_type")
    overall = rows.loc["all"] if "all" in rows.index else None
    typed = coverage[(coverage["partner_type"] != "all") & coverage["coverage"].notna()]
    if overall is None or not np.isfinite(overall["coverage"]):
        pipe = money(overall["pipeline_arr"]) if overall is not None else "n/a"
        return (f"No overall ARR target for {quarter}: coverage cannot be measured; open partner "
                f"pipeline is {pipe} (attributed).")
    text = (f"Attributed open pipeline {money(overall['pipeline_arr'])} covers "
            f"{multiple(overall['coverage'])} "
            f"the {money(overall['target_arr'])} {quarter} target ({multiple(overall['required_coverage'])} "
            f"required")
    short = typed[typed["coverage"] < typed["required_coverage"]]
    if len(typed):
        text += f"); {len(short)} of {len(typed)} partner types below their requirement"
        if len(short):
            text += ": " + ", ".join(
                f"{r.partner_type} {multiple(r.coverage)} ({multiple(r.required_coverage)})"
                for r in short.itertuples(index=False))
        return text + "."
    return text + ")."


def pipeline_reading(trend: pd.DataFrame) -> str:
    """Latest pipeline, its QoQ growth, sourced ratio and influence rate."""
    if trend.empty:
        return "No pipeline history."
    last = trend.iloc[-1]
    growth = last["pipeline_growth_qoq"]
    verdict = ("" if not np.isfinite(growth)
               else " (growing)" if growth > 0 else " (shrinking: it must grow)")
    return (f"Open partner pipeline {money(last['pipeline_arr'])} (gross) at "
            f"{pd.Timestamp(last['cut']).date()}, "
            f"{signed_pct(growth)} QoQ{verdict}; partner-sourced {pct(last['sourced_ratio'])} of "
            f"{'company' if last['total_pipeline_basis'] == 'company' else 'partner'} pipeline; "
            f"influence rate {pct(last['influence_rate'])} of closed deals in {last['quarter']}.")


def waterfall_reading(fva: pd.Series, drivers: Sequence[tuple[str, float]], quarter: str) -> str:
    """Actual vs the forecast, its percentile, and the largest drivers either way."""
    text = (f"{quarter}: actual {money(fva['actual'])} vs forecast mean {money(fva['mean'])} "
            f"(P10-P90 {money(fva['p10'])}-{money(fva['p90'])}")
    if np.isfinite(fva.get("percentile", np.nan)):
        text += f", actual at the {ordinal(fva['percentile'])} percentile"
    text += ")"
    if drivers:
        down = min(drivers, key=lambda d: d[1])
        up = max(drivers, key=lambda d: d[1])
        bits = []
        if down[1] < 0:
            bits.append(f"{down[0]} {signed_money(down[1])}")
        if up[1] > 0:
            bits.append(f"{up[0]} {signed_money(up[1])}")
        if bits:
            text += "; largest drivers: " + ", ".join(bits)
    return text + "."


def history_reading(runs: pd.DataFrame, quarter: str, actual: float | None) -> str:
    """One sentence on how a quarter's forecast moved over its ledger runs (and the actual)."""
    first, last = runs.iloc[0], runs.iloc[-1]
    if len(runs) == 1:
        text = (f"{quarter}: one forecast in the ledger, as of {first['as_of']}: P50 "
                f"{money(first['p50'])} (P10-P90 {money(first['p10'])}-{money(first['p90'])})")
    else:
        text = (f"{quarter}: P50 moved from {money(first['p50'])} (as of {first['as_of']}) to "
                f"{money(last['p50'])} (as of {last['as_of']}) over {len(runs)} forecasts")
    if actual is not None:
        where = ("below the P10" if actual < last["p10"] else
                 "above the P90" if actual > last["p90"] else "inside the P10-P90")
        text += f"; actual {money(actual)}, {where} of the last one"
    return text + "."


def pacing_reading(summary: pd.Series) -> str:
    """One sentence on a quarter's pace: won so far against the expected band, P(>= target)."""
    text = (f"{summary['quarter']}, day {summary['day']} of {summary['days']}: "
            f"{money(summary['won_to_date'])} won, the forecast expected P50 "
            f"{money(summary['expected_p50'])} by now (P10-P90 {money(summary['expected_p10'])}"
            f"-{money(summary['expected_p90'])}): {summary['position']}")
    if np.isfinite(summary["p_at_least_target"]):
        text += (f"; P(>= target {money(summary['arr_target'])}) given what is won "
                 f"{pct(summary['p_at_least_target'])}")
        if np.isfinite(summary["p_at_least_target_at_start"]):
            text += f" ({pct(summary['p_at_least_target_at_start'])} at the quarter's start)"
    return text + "."


def backtest_reading(model: pd.Series, best_baseline: pd.Series | None, folds: int) -> str:
    """Coverage of the P10-P90 interval with its interval, and CRPS against the best baseline."""
    text = (f"Over {folds} backtest quarter{'s' if folds != 1 else ''} the P10-P90 interval held "
            f"{pct(model['coverage'])} of actuals (95% interval {pct(model['coverage_low'])}-"
            f"{pct(model['coverage_high'])}; 80% is calibrated), mean PIT {model['pit_mean']:.2f}")
    if best_baseline is not None and np.isfinite(best_baseline["crps_vs_model"]):
        ratio = float(best_baseline["crps_vs_model"])
        text += (f"; CRPS {abs(1 - 1 / ratio):.0%} {'lower' if ratio > 1 else 'higher'} than the best "
                 f"baseline ({best_baseline['method']})")
    return text + "."


def conversion_reading(curves: pd.DataFrame) -> str:
    """The largest gap between a learned rate and the seed table."""
    if curves.empty:
        return "No conversion curves."
    gap = (curves["learned_rate"] - curves["table_rate"]).abs()
    r = curves.loc[gap.idxmax()]
    return (f"Largest gap from the seed table: {r['partner_type']} at {r['stage']}, learned "
            f"{pct(r['learned_rate'])} vs seed {pct(r['table_rate'])} P(won); mean absolute gap "
            f"{100 * gap.mean():.0f} points.")


def asr_reading(asr: pd.DataFrame, target: float, quarter: str) -> str:
    """Median partner ASR, partners at target, paper partnerships."""
    if asr.empty:
        return f"No partner had sellers in {quarter}."
    at = int((asr["asr"] >= target).sum())
    paper = int(asr["paper"].sum())
    return (f"{quarter}: median partner ASR {pct(asr['asr'].median())} (target {pct(target)}); "
            f"{at} of {len(asr)} partners at or above target; {paper} paper "
            f"partnership{'s' if paper != 1 else ''} (sellers, nobody selling).")


def audit_reading(audit: DataQualityAudit, labels: dict[str, str]) -> str:
    """How many required fields are incomplete, the worst ones, on how many deals."""
    window = (f"{audit.deals:,} partner deal(s) closed in the {audit.window_days} days before "
              f"{audit.as_of.date()}")
    if not audit.deals:
        return (f"No partner deal closed in the {audit.window_days} days before "
                f"{audit.as_of.date()}: nothing to audit.")
    table = audit.table.dropna(subset=["completeness_pct"])
    gaps = table[table["completeness_pct"] < 100].sort_values("completeness_pct")
    if gaps.empty:
        return f"{window}: every required field complete."
    worst = ", ".join(f"{labels.get(r.field, r.field)} {r.completeness_pct:.1f}%"
                      for r in gaps.head(3).itertuples(index=False))
    return (f"{window}: {len(gaps)} of {len(table)} required fields incomplete ({worst}); incomplete "
            "records are the most common cause of forecast misses.")


def scenario_reading(rows: pd.DataFrame) -> str:
    """The scenario with the largest median gain in the last quarter, first and last quarter.

    ``rows``: the comparison table's scenario rows of one segment (no baseline), one per
    scenario and quarter, quarters in order.
    """
    if rows.empty:
        return "No scenario to compare."
    quarters = list(dict.fromkeys(rows["quarter"]))
    last = rows[rows["quarter"] == quarters[-1]]
    best = last.loc[last["delta_p50"].idxmax()]
    text = (f"'{best['scenario']}' moves partner ARR most: P50 {signed_money(best['delta_p50'])} in "
            f"{best['quarter']} (P10-P90 {signed_money(best['delta_p10'])} to "
            f"{signed_money(best['delta_p90'])}), better than the baseline in "
            f"{pct(best['p_above_baseline'])} of draws")
    if np.isfinite(best.get("p_at_least_target", np.nan)):
        text += (f"; P(>= target) {pct(best['baseline_p_at_least_target'])} -> "
                 f"{pct(best['p_at_least_target'])}")
    if len(quarters) > 1:
        first = rows[(rows["quarter"] == quarters[0]) & (rows["scenario"] == best["scenario"])]
        if len(first):
            text += f"; {signed_money(first['delta_p50'].iloc[0])} in {quarters[0]}"
    return text + "."


def arr_by_type_reading(contribution: pd.DataFrame, by_type: pd.DataFrame,
                        marketplace: pd.Series) -> str:
    """The last quarter's partner ARR, company share, QoQ and YoY, largest type, marketplace."""
    m = contribution.iloc[-1]
    last = m["quarter"]
    top = by_type.loc[last].sort_values(ascending=False) if len(by_type.columns) else pd.Series()
    reading = (f"{last}: partner ARR {money(m['partner_arr'])}"
               + (f", {pct(m['contribution_pct'])} of company ARR"
                  if np.isfinite(m["contribution_pct"]) else "") + ", "
               + f"{signed_pct(m['qoq'])} QoQ, {signed_pct(m['yoy'])} YoY")
    if len(top) and top.iloc[0] > 0:
        reading += (f"; largest type {top.index[0]} ({money(top.iloc[0])}, "
                    f"{pct(top.iloc[0] / max(top.sum(), 1e-9))})")
    return reading + f"; marketplace {money(marketplace.iloc[-1])}."


def productivity_reading(by_type: pd.DataFrame, quarter: str) -> str:
    """ARR per active seller and partner overall, the best win rate and the largest deals by type.

    ``by_type``: productivity per partner type, the overall row (``all``) last.
    """
    overall = by_type.iloc[-1]
    typed = by_type[by_type["partner_type"] != "all"]
    reading = (f"{quarter}: partner ARR per active seller {money(overall['arr_per_active_seller'])}, "
               f"per active partner {money(overall['arr_per_active_partner'])}")
    if typed["win_rate"].notna().any():
        best = typed.loc[typed["win_rate"].idxmax()]
        reading += f"; highest win rate {best['partner_type']} {pct(best['win_rate'])}"
    if typed["avg_deal_size"].notna().any():
        big = typed.loc[typed["avg_deal_size"].idxmax()]
        reading += f"; largest deals {big['partner_type']} {money(big['avg_deal_size'])}"
    return reading + "."


def growth_reading(frame: pd.DataFrame) -> str:
    """The last quarter's new pipeline partners, engaged sellers, marketplace and expansion ARR."""
    last = frame.iloc[-1]
    prev = frame.iloc[-2] if len(frame) > 1 else None

    def vs(col: str) -> str:
        return "" if prev is None else f" ({signed_pct(change(last[col], prev[col]))} QoQ)"

    return (f"{last['quarter']}: {count(last['new_pipeline_partners'])} partner(s) generated their "
            f"first pipeline" + ("" if prev is None else f" ({count(prev['new_pipeline_partners'])} "
                                 f"the quarter before)")
            + f"; {count(last['engaged_sellers'])} engaged sellers{vs('engaged_sellers')}; "
            f"marketplace ARR {money(last['marketplace_arr'])}{vs('marketplace_arr')}; expansion "
            f"ARR {money(last['expansion_arr'])}{vs('expansion_arr')} (attributed).")


__all__ = ["arr_by_type_reading", "asr_reading", "audit_reading", "backtest_reading",
           "conversion_reading", "coverage_reading", "distribution_reading", "fan_reading",
           "growth_reading", "headline", "history_reading", "pacing_reading", "pipeline_reading",
           "productivity_reading", "scenario_reading", "split_reading", "waterfall_reading"]
