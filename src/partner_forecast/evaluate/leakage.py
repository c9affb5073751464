"""Checks that a backtest fold cannot see past its origin.

A fold must depend only on what was known before its origin. :func:`check_fold_leakage`
runs the same fold twice -- on the export and on :func:`perturb_after` of it, a copy in which
everything dated on or after the origin is changed (outcomes flipped, later rows altered, new
events planted on the origin day itself) and nothing before it -- and lists every difference
in the as-of view or in the fold's outputs. An empty list means no leak was found; a planted
leak (e.g. keeping a deal's current stage instead of rebuilding it, or cutting a day late)
shows up as differences.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.convert import ROW_COLUMN
from partner_forecast.data.export import Export, current_stage
from partner_forecast.data.schema import OPEN_STAGES
from partner_forecast.evaluate.digests import view_digests
from partner_forecast.evaluate.folds import make_fold_task, run_fold
from partner_forecast.model_source import FITTED_MODELS, ModelSource

_FLIP = {"won": "lost", "lost": "won"}


def _append(frame: pd.DataFrame, template: pd.Series, **values: object) -> pd.DataFrame:
    row = template.copy()
    for k, v in values.items():
        row[k] = v
    new = pd.DataFrame([row.to_dict()])
    for c in frame.columns:
        new[c] = new[c].astype(frame[c].dtype) if len(frame) else new[c]
    return pd.concat([frame, new[frame.columns]], ignore_index=True)


def perturb_after(export: Export, cut: pd.Timestamp | str) -> Export:
    """A copy of ``export`` in which everything dated on or after ``cut`` differs, and nothing else.

    Changes: outcomes of deals closed on/after ``cut`` flipped (won <-> lost, in the deal and
    its closing stage-history entry) for half of them, and removed for the other half (still
    open at the end of the export); ARR and role of deals created on/after it; activity
    types on/after it; partners and sellers appearing on/after it moved or retyped; later
    ``left_on`` / ``offboarded_on`` / ``expected_close_on`` dates moved (still after the cut);
    company figures of quarters ending after it doubled. Planted *on* the cut day: a stage
    advance of up to three open deals, a selling activity, a new opportunity and a new
    seller. Undated fields of earlier rows (ARR of a deal created before the cut, roles,
    flags) are left alone: the contract has no history for them.

    Parameters
    ----------
    export : Export
        A full export (not already cut before ``cut``).
    cut : date
        The origin: first day not known.

    Returns
    -------
    Export
        The perturbed export, with a different ``source_fingerprint`` (so no cache keyed on
        the data can return the original's fits).
    """
    cut = pd.Timestamp(cut).normalize()
    later = pd.Timedelta(days=30)
    opps = export.opportunities.copy()
    hist = export.stage_history.copy()
    acts = export.activities.copy()
    sellers = export.sellers.copy()
    partners = export.partners.copy()
    company = export.company.copy()

    def after(s: pd.Series) -> pd.Series:
        return s.notna() & (s >= cut)

    # Outcomes decided on/after the cut: half flipped (won <-> lost), half never closed.
    closing_ids = sorted(opps.loc[after(opps["closed_on"]) & opps["stage"].isin(tuple(_FLIP)),
                                  "opportunity_id"])
    flipped, reopened = set(closing_ids[1::2]), set(closing_ids[0::2])
    closing_entry = hist["stage"].isin(tuple(_FLIP)) & after(hist["entered_on"])
    h_flip = hist["opportunity_id"].isin(flipped) & closing_entry
    hist.loc[h_flip, "stage"] = hist.loc[h_flip, "stage"].map(_FLIP)
    hist = hist[~(hist["opportunity_id"].isin(reopened) & closing_entry)].reset_index(drop=True)
    m = opps["opportunity_id"].isin(flipped)
    opps.loc[m, "stage"] = opps.loc[m, "stage"].map(_FLIP)
    m = opps["opportunity_id"].isin(reopened)
    last_open = current_stage(hist[hist["opportunity_id"].isin(reopened)])
    opps.loc[m, "stage"] = opps.loc[m, "opportunity_id"].map(last_open).to_numpy()
    opps.loc[m, "closed_on"] = pd.NaT
    # Deals created on/after the cut: other sizes and roles.
    new = after(opps["created_on"])
    opps.loc[new, "arr"] = opps.loc[new, "arr"] * 3.0 + 1000.0
    opps.loc[new, "partner_role"] = np.where(opps.loc[new, "partner_role"].eq("sourced"),
                                             "co_sell", "sourced")
    for col in ("expected_close_on", "first_contact_on", "lead_submitted_on"):
        m = after(opps[col])
        opps.loc[m, col] = opps.loc[m, col] + later
    # Later activities, sellers and partners.
    late_acts = after(acts["occurred_on"])
    types = sorted(acts["activity_type"].dropna().unique())
    if types:
        shift = {t: types[(i + 1) % len(types)] for i, t in enumerate(types)}
        acts.loc[late_acts, "activity_type"] = acts.loc[late_acts, "activity_type"].map(shift)
    pids = sorted(partners["partner_id"])
    rot = {p: pids[(i + 1) % len(pids)] for i, p in enumerate(pids)}
    late_sellers = after(sellers["joined_on"])
    sellers.loc[late_sellers, "partner_id"] = sellers.loc[late_sellers, "partner_id"].map(rot)
    m = after(sellers["left_on"])
    sellers.loc[m, "left_on"] = sellers.loc[m, "left_on"] + later
    late_partners = after(partners["onboarded_on"])
    partners.loc[late_partners, "tier"] = np.where(
        partners.loc[late_partners, "tier"].eq("strategic"), "transactional", "strategic")
    m = after(partners["offboarded_on"])
    partners.loc[m, "offboarded_on"] = partners.loc[m, "offboarded_on"] + later
    if len(company):
        ends = company["quarter"].map(lambda q: Quarter.parse(q).end)
        num = [c for c in company.columns if c not in ("quarter", ROW_COLUMN)
               and pd.api.types.is_numeric_dtype(company[c])]
        company.loc[ends > cut, num] = company.loc[ends > cut, num] * 2.0

    # Events planted on the cut day itself (caught only if the cut is exact).
    known_hist = hist[hist["entered_on"] < cut]
    last_entry = known_hist.groupby("opportunity_id")["entered_on"].max()
    candidates = opps[(opps["created_on"] < cut) & opps["stage"].isin(OPEN_STAGES[:-1])
                      & ~after(opps["closed_on"])]
    candidates = candidates[candidates["opportunity_id"].map(last_entry).notna()
                            & ~candidates["opportunity_id"].isin(hist.loc[after(hist["entered_on"]),
                                                                          "opportunity_id"])]
    for _, deal in candidates.head(3).iterrows():
        nxt = OPEN_STAGES[OPEN_STAGES.index(deal["stage"]) + 1]
        template = hist[hist["opportunity_id"] == deal["opportunity_id"]].iloc[-1]
        hist = _append(hist, template, stage=nxt, entered_on=cut)
        opps.loc[opps["opportunity_id"] == deal["opportunity_id"], "stage"] = nxt
    employed = sellers[(sellers["joined_on"] < cut)
                       & (sellers["left_on"].isna() | (sellers["left_on"] >= cut))]
    if len(acts) and len(employed):
        acts = _append(acts, acts.iloc[0], activity_id="PLANTED-ACT", seller_id=employed.iloc[0]["seller_id"],
                       occurred_on=cut, activity_type="pitch", opportunity_id=None)
    if len(opps) and len(hist):
        live = partners[partners["onboarded_on"] < cut]
        if len(live):
            pid = live.iloc[0]["partner_id"]
            opps = _append(opps, opps.iloc[0], opportunity_id="PLANTED-OPP", partner_id=pid,
                           referring_seller_id=None, stage="discovery", created_on=cut,
                           closed_on=pd.NaT, expected_close_on=cut + later, arr=12345.0)
            hist = _append(hist, hist.iloc[0], opportunity_id="PLANTED-OPP", stage="discovery",
                           entered_on=cut)
            if len(sellers):
                sellers = _append(sellers, sellers.iloc[0], seller_id="PLANTED-SELLER",
                                  partner_id=pid, joined_on=cut, left_on=pd.NaT)
    return replace(export, opportunities=opps, stage_history=hist, activities=acts, sellers=sellers,
                   partners=partners, company=company,
                   source_fingerprint=f"{export.source_fingerprint}:perturbed-after-{cut.date()}")


def _frame_differs(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    if a.shape != b.shape or list(a.columns) != list(b.columns):
        return True
    try:
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                      check_exact=True)
    except AssertionError:
        return True
    return False


def check_fold_leakage(export: Export, quarter: Quarter | str, settings: Settings, *,
                       horizon: int = 1, by: str | None = None, draws: int | None = 200,
                       seed: int = 0, workspace: str | Path = ".partner_forecast",
                       perturbed: Export | None = None,
                       models: ModelSource = FITTED_MODELS) -> list[str]:
    """Run the backtest fold of ``quarter`` on the export and on a perturbed copy; list differences.

    Parameters
    ----------
    export : Export
        The full export.
    quarter : Quarter or str
        The fold's first quarter (its start is the origin).
    settings : Settings
        Configuration of the fold.
    horizon, by, draws, seed, workspace
        As for :func:`partner_forecast.evaluate.backtest.backtest`.
    perturbed : Export, optional
        The changed export (default :func:`perturb_after` at the origin).
    models : ModelSource
        Where the folds' fitted models come from (default: fit or load from the workspace).

    Returns
    -------
    list of str
        One entry per difference found (as-of view tables, forecast draws, per-deal
        probabilities, open deals, baselines and baseline draws); empty when the fold is
        leak-free.
    """
    fym = settings.calendar.fiscal_year_start_month
    q = quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter, fym)
    if perturbed is None:
        perturbed = perturb_after(export, q.start)
    task_a, task_b = (make_fold_task(data, q, index=0, horizon=horizon, by=by, draws=draws,
                                     seed=seed, workspace=workspace, settings=settings,
                                     models=models)
                      for data in (export, perturbed))
    differences = []
    da, db = view_digests(task_a.view), view_digests(task_b.view)
    differences += [f"as-of view: {name} differs" for name in da if da[name] != db[name]]
    a, b = run_fold(task_a), run_fold(task_b)
    if a.segments != b.segments or a.draws.shape != b.draws.shape or not np.array_equal(a.draws, b.draws):
        differences.append("fold output: forecast draws differ")
    for name in ("deal_probabilities", "deals", "baselines"):
        if _frame_differs(getattr(a, name), getattr(b, name)):
            differences.append(f"fold output: {name} differ")
    for method in sorted(set(a.baseline_draws) | set(b.baseline_draws)):
        x, y = a.baseline_draws.get(method), b.baseline_draws.get(method)
        if x is None or y is None or _frame_differs(x, y):
            differences.append(f"fold output: {method} baseline draws differ")
    return differences


__all__ = ["check_fold_leakage", "perturb_after"]
