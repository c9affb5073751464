"""Sufficient statistics of the five models, built from an export (or its as-of view).

Each model is fitted on cells, not rows (DESIGN.md section 3), so a fit's cost grows with the
number of distinct cells:

- activation / productivity: one cell per partner x complete quarter of the activity window
  (pool, active sellers, opportunities created) - at most partners x quarters;
- conversion: stage exits grouped by (partner, stage, exit quarter, technical_validation,
  executive_sponsor, engagement level, duration bin); ``n`` exits, ``k`` advanced and the mean
  of ``log(days / 30)`` in the cell. Engagement is already discrete (``min(count, full_at) /
  full_at``: ``full_at + 1`` levels). Duration is binned at :data:`DURATION_BIN_EDGES_DAYS`
  (roughly doubling); using the cell's mean log-duration keeps the linear term exact, and the
  error in the log-likelihood is second order, at most ``gamma**2 var(log d) / 8`` per exit
  (< 0.01 nats for the bins here);
- time in stage: completed stays by (type, stage) as ``n``, ``sum log d``, ``sum (log d)**2``
  (exact for the normal model); stays still open at as-of right-censored, grouped by (type,
  stage, age in days);
- deal size: the won deals (rows; a Student-t has no sufficient statistics).

Definitions. The *activity window* runs from the quarter of the first recorded activity to the
last quarter ended by as-of: before the CRM logged activities every seller would look inactive.
A *stage exit* is a stage-history entry of an open stage followed by another entry: it
*advanced* unless the next entry is ``lost``; where it went (the next stage, a later one or won)
is counted by :func:`jump_counts` for the destination part of the conversion model (a skipped
stage contributes no exit). Consecutive entries of the same stage count as
one stay. Days in stage are floored at
:data:`~partner_forecast.data.views.DAY_FLOOR` (same-day moves). Open deals are
censored for conversion (they contribute nothing) but are right-censored stays for timing.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter, quarter_from_index, quarter_index
from partner_forecast.data import views
from partner_forecast.data.export import Export
from partner_forecast.data.field_history import has_history, value_at
from partner_forecast.data.flag_leakage import usable_flags
from partner_forecast.data.quarter_end import in_quarter_end_window, quarter_start_of
from partner_forecast.data.schema import (
    COVARIATES,
    DURATION_SCALE_DAYS,
    ENGAGEMENT_ACTIVITIES,
    OPEN_STAGES,
    ROLES,
    STAGE_ORDER,
)
from partner_forecast.metrics.asr import partner_quarter_activation

DURATION_BIN_EDGES_DAYS: tuple[float, ...] = (7.0, 14.0, 30.0, 60.0, 120.0)
"""Edges of the duration bins of the conversion cells (days): <7, 7-14, ..., >=120."""
FLAG_COVARIATES: tuple[str, ...] = ("technical_validation", "executive_sponsor")
"""The covariates that are deal flags (the rest, engagement, is counted from activities)."""


# -- activation and productivity ------------------------------------------------------------
def window_quarters(export: Export, fiscal_year_start_month: int = 1) -> list[Quarter]:
    """Complete quarters from the one of the first recorded activity to the last before as-of."""
    acts = export.activities
    if acts.empty or acts["occurred_on"].isna().all():
        return []
    first = Quarter.containing(acts["occurred_on"].min(), fiscal_year_start_month)
    last = Quarter.containing(export.default_as_of, fiscal_year_start_month).index - 1
    return [first + i for i in range(last - first.index + 1)]  # empty when last < first


def activation_cells(export: Export, fiscal_year_start_month: int = 1) -> pd.DataFrame:
    """Pool and active sellers per partner x complete quarter of the activity window.

    Returns
    -------
    pandas.DataFrame
        partner_id, quarter (label), quarter_index (absolute), q_index (0 = first window
        quarter), pool, active, tenure_q (whole quarters since the onboarding quarter, >= 0);
        only cells with a non-empty pool.
    """
    quarters = window_quarters(export, fiscal_year_start_month)
    cols = ["partner_id", "quarter", "quarter_index", "q_index", "pool", "active", "tenure_q"]
    if not quarters:
        return pd.DataFrame(columns=cols)
    cells = partner_quarter_activation(export, quarters, fiscal_year_start_month)
    cells = cells[cells["complete"] & (cells["pool"] > 0)].copy()
    onboard = export.partners.set_index("partner_id")["onboarded_on"]
    onboard_q = quarter_index(cells["partner_id"].map(onboard), fiscal_year_start_month)
    cells["q_index"] = (cells["quarter_index"] - quarters[0].index).astype(np.int64)
    cells["tenure_q"] = np.maximum(cells["quarter_index"].to_numpy() - onboard_q.to_numpy(dtype=np.int64), 0)
    cells["partner_id"] = cells["partner_id"].astype(str)
    return cells[cols].sort_values(["partner_id", "quarter_index"]).reset_index(drop=True)


def productivity_cells(export: Export, fiscal_year_start_month: int = 1) -> pd.DataFrame:
    """Opportunities created per partner x complete window quarter with active sellers.

    Returns
    -------
    pandas.DataFrame
        The columns of :func:`activation_cells` plus ``opportunities`` (count), keeping only
        cells with at least one active seller (with none the expected count is zero).
    """
    cells = activation_cells(export, fiscal_year_start_month)
    opps = export.opportunities
    created = pd.DataFrame({"partner_id": opps["partner_id"].astype(str).to_numpy(),
                            "quarter_index": quarter_index(opps["created_on"], fiscal_year_start_month)
                            .to_numpy(dtype=np.int64)})
    counts = created.groupby(["partner_id", "quarter_index"]).size().rename("opportunities")
    cells = cells.join(counts, on=["partner_id", "quarter_index"])
    cells["opportunities"] = cells["opportunities"].fillna(0).astype(np.int64)
    return cells[cells["active"] > 0].reset_index(drop=True)


# -- deals ------------------------------------------------------------------------------------
def engagement_before(export: Export, opportunity_ids: np.ndarray, dates: np.ndarray) -> np.ndarray:
    """Engagement activities of each deal strictly before the given date (int counts).

    What was known about a deal's engagement when it entered a stage: activities logged later
    (deal updates pile up on deals that progress) must not explain how the stage ended.
    """
    ids = np.asarray(opportunity_ids, dtype=object)
    when = pd.to_datetime(pd.Series(dates)).to_numpy()
    acts = export.activities
    eng = acts[acts["activity_type"].isin(ENGAGEMENT_ACTIVITIES) & acts["opportunity_id"].notna()
               & acts["occurred_on"].notna()]
    if eng.empty or len(ids) == 0:
        return np.zeros(len(ids), dtype=np.int64)
    ev = pd.DataFrame({"opp": eng["opportunity_id"].astype(str).to_numpy(dtype=object),
                       "date": eng["occurred_on"].to_numpy(), "kind": 1, "row": -1})
    q = pd.DataFrame({"opp": pd.Series(ids).astype(str).to_numpy(dtype=object), "date": when,
                      "kind": 0, "row": np.arange(len(ids))})
    # Queries sort before activities of the same day: "strictly before" the date.
    both = pd.concat([ev, q], ignore_index=True).sort_values(["opp", "date", "kind"], kind="stable")
    both["seen"] = both.groupby("opp", sort=False)["kind"].cumsum()
    hits = both[both["kind"] == 0]
    out = np.zeros(len(ids), dtype=np.int64)
    out[hits["row"].to_numpy(dtype=np.int64)] = hits["seen"].to_numpy(dtype=np.int64)
    return out


def flags_at(export: Export, opportunity_ids: np.ndarray, dates: np.ndarray,
             usable: Sequence[str] | None = None) -> pd.DataFrame:
    """The deal flags of :data:`COVARIATES` as known on the given dates (0/1 floats).

    A flag with a ``field_history`` is read as of each date (unknown = 0). Without one, the
    export holds only its latest value, which for a flag filled in as deals progress leaks the
    outcome: it is used only when the leakage audit passes it
    (:func:`~partner_forecast.data.flag_leakage.usable_flags`), otherwise it is 0 for every deal
    (the covariate drops out). ``usable`` overrides the audit (e.g. computed once).
    """
    ids = np.asarray(opportunity_ids, dtype=object)
    usable = tuple(usable_flags(export)) if usable is None else tuple(usable)
    out = {}
    for flag in FLAG_COVARIATES:
        if has_history(export, flag):
            values = value_at(export, flag, ids, dates)
        elif flag in usable:
            latest = export.opportunities.set_index("opportunity_id")[flag]
            values = pd.Series(ids).map(latest.fillna(False).astype(bool)).to_numpy(dtype=float)
        else:
            values = np.zeros(len(ids))
        out[flag] = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    return pd.DataFrame(out)


def stay_covariates(export: Export, stays: pd.DataFrame, engagement_full_at: int,
                    usable: Sequence[str] | None = None) -> pd.DataFrame:
    """The conversion covariates of each stage stay, as known when the deal entered the stage.

    Engagement counts activities before ``entered_on``; flags per :func:`flags_at` on that
    date. Columns :data:`COVARIATES` in [0, 1] and ``engagement_level``, aligned with ``stays``.
    """
    ids = stays["opportunity_id"].to_numpy(dtype=object)
    entered = stays["entered_on"].to_numpy()
    level = np.minimum(engagement_before(export, ids, entered), engagement_full_at)
    flags = flags_at(export, ids, entered, usable)
    out = pd.DataFrame({
        **{f: flags[f].to_numpy() for f in FLAG_COVARIATES},
        "engagement": level / float(engagement_full_at),
        "engagement_level": level.astype(np.int64),
    }, index=stays.index)
    return out[[*COVARIATES, "engagement_level"]]


def duration_bin(days: np.ndarray) -> np.ndarray:
    """Index of the duration bin (see :data:`DURATION_BIN_EDGES_DAYS`) of each stay."""
    return np.digitize(np.asarray(days, dtype=float), DURATION_BIN_EDGES_DAYS).astype(np.int64)


def conversion_cells(export: Export, engagement_full_at: int, fiscal_year_start_month: int = 1,
                     usable: Sequence[str] | None = None) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Completed stays aggregated into binomial cells for the continuation-ratio model.

    Returns
    -------
    cells : pandas.DataFrame
        partner_idx, stage_idx, quarter_idx (into the returned exit quarters),
        technical_validation, executive_sponsor, engagement (covariates in [0, 1]), dur_bin,
        n (exits), k (advanced), log_duration (mean ``log(days / 30)`` of the cell's exits).
    quarters : tuple of str
        Labels of the calendar quarters in which exits happened, sorted.
    """
    stays = views.stage_stays(export)
    done = stays[~stays["open"]]
    cov = stay_covariates(export, done, engagement_full_at, usable)
    pidx = views.partner_index(export)
    q_abs = quarter_index(pd.Series(done["left_on"].to_numpy()), fiscal_year_start_month
                          ).to_numpy(dtype=np.int64)
    quarters = np.unique(q_abs)
    frame = pd.DataFrame({
        "partner_idx": done["partner_id"].map(pidx).to_numpy(dtype=np.int64),
        "stage_idx": done["stage"].map({s: i for i, s in enumerate(OPEN_STAGES)}).to_numpy(dtype=np.int64),
        "quarter_idx": np.searchsorted(quarters, q_abs).astype(np.int64),
        "technical_validation": cov["technical_validation"].to_numpy(),
        "executive_sponsor": cov["executive_sponsor"].to_numpy(),
        "engagement_level": cov["engagement_level"].to_numpy(dtype=np.int64),
        "dur_bin": duration_bin(done["days"].to_numpy()),
        "k": done["advanced"].to_numpy(dtype=np.int64),
        "z": np.log(done["days"].to_numpy(dtype=float) / DURATION_SCALE_DAYS),
    })
    keys = ["partner_idx", "stage_idx", "quarter_idx", "technical_validation", "executive_sponsor",
            "engagement_level", "dur_bin"]
    cells = (frame.groupby(keys, sort=True)
             .agg(n=("k", "size"), k=("k", "sum"), log_duration=("z", "mean")).reset_index())
    cells["engagement"] = cells["engagement_level"] / float(engagement_full_at)
    cells["n"] = cells["n"].astype(np.int64)
    cells["k"] = cells["k"].astype(np.int64)
    labels = tuple(str(quarter_from_index(int(q), fiscal_year_start_month)) for q in quarters)
    cols = ["partner_idx", "stage_idx", "quarter_idx", *COVARIATES, "dur_bin", "n", "k",
            "log_duration"]
    return cells[cols], labels


def jump_counts(export: Export) -> np.ndarray:
    """Advances from each open stage by destination, per partner type: (T, S, S) counts.

    ``counts[t, s, j]`` counts completed stays in open stage ``s`` (deals of type ``t``) that
    advanced to destination ``s + 1 + j``: the next open stage (``j = 0``), a later one, or won
    (``j = S - 1 - s``). A move back to an earlier or the same stage (a CRM re-opening a deal)
    counts as an advance to the next stage: the model has no backward moves.
    """
    types = views.present_types(export)
    S = len(OPEN_STAGES)
    out = np.zeros((len(types), S, S), dtype=np.int64)
    stays = views.stage_stays(export)
    adv = stays[stays["advanced"]]
    if adv.empty:
        return out
    pos = {st: i for i, st in enumerate(OPEN_STAGES)} | {"won": S}
    s_idx = adv["stage"].map(pos).to_numpy(dtype=np.int64)
    dest = adv["next_stage"].map(pos).fillna(-1).to_numpy(dtype=np.int64)
    dest = np.where(dest > s_idx, dest, s_idx + 1)
    pf = views.partner_frame(export).set_index("partner_id")
    t_idx = adv["partner_id"].map(pf["type_idx"]).to_numpy(dtype=np.int64)
    np.add.at(out, (t_idx, s_idx, dest - s_idx - 1), 1)
    return out


def entry_counts(export: Export) -> np.ndarray:
    """Deals by the open stage they were created in, per partner type: (T, S) counts.

    The first stage-history entry of each deal; deals whose first entry is won or lost
    (recorded only at closing) are left out.
    """
    types = views.present_types(export)
    S = len(OPEN_STAGES)
    out = np.zeros((len(types), S), dtype=np.int64)
    h = export.stage_history[["opportunity_id", "stage", "entered_on"]].dropna()
    if h.empty:
        return out
    h = h.assign(_order=h["stage"].map(STAGE_ORDER)).sort_values(
        ["opportunity_id", "entered_on", "_order"], kind="stable")
    first = h.drop_duplicates("opportunity_id", keep="first")
    first = first[first["stage"].isin(OPEN_STAGES)]
    partner = export.opportunities.set_index("opportunity_id")["partner_id"].astype(str)
    pf = views.partner_frame(export).set_index("partner_id")
    t_idx = first["opportunity_id"].map(partner).map(pf["type_idx"])
    ok = t_idx.notna().to_numpy()
    s_idx = first["stage"].map({st: i for i, st in enumerate(OPEN_STAGES)}).to_numpy(dtype=np.int64)
    np.add.at(out, (t_idx.to_numpy()[ok].astype(np.int64), s_idx[ok]), 1)
    return out


def timing_stats(export: Export, quarter_end: tuple[int, int] | None = None,
                 fiscal_year_start_month: int = 1
                 ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Sufficient statistics of log days in stage: completed, right- and interval-censored.

    With ``quarter_end = (window_days, pull_days)`` a stay that ended in a close (won or lost)
    dated in the last ``window_days`` of its fiscal quarter is not an exact stay: the close may
    have been moved there from earlier in the quarter or pulled in from up to ``pull_days``
    later (:mod:`partner_forecast.data.quarter_end`). Its true length lies between the days
    from stage entry to the quarter's start (at least
    :data:`~partner_forecast.data.views.DAY_FLOOR`) and its recorded days
    plus ``pull_days``.

    Returns
    -------
    completed : pandas.DataFrame
        type_idx, stage_idx, n, sum_y, sum_y2 over exact completed stays (``y = log days``), one
        row per (type, stage) with at least one stay.
    censored : pandas.DataFrame
        type_idx, stage_idx, y (log of the days spent so far), w (number of open stays with
        that age) for the stays still open at as-of.
    windowed : pandas.DataFrame
        type_idx, stage_idx, lo, hi (log days bounding the stay), w (number of stays with those
        bounds): the interval-censored closes; empty without ``quarter_end``.
    """
    stays = views.stage_stays(export)
    pf = views.partner_frame(export).set_index("partner_id")
    stays = stays.assign(
        type_idx=stays["partner_id"].map(pf["type_idx"]).to_numpy(dtype=np.int64),
        stage_idx=stays["stage"].map({s: i for i, s in enumerate(OPEN_STAGES)}).to_numpy(dtype=np.int64),
        y=np.log(stays["days"].to_numpy(dtype=float)))
    windowed = pd.DataFrame({"type_idx": pd.Series(dtype=np.int64),
                             "stage_idx": pd.Series(dtype=np.int64),
                             "lo": pd.Series(dtype=float), "hi": pd.Series(dtype=float),
                             "w": pd.Series(dtype=np.int64)})
    in_window = np.zeros(len(stays), dtype=bool)
    if quarter_end is not None and len(stays):
        window_days, pull_days = quarter_end
        closing = (~stays["open"] & stays["next_stage"].isin(["won", "lost"])).to_numpy()
        in_window = closing & in_quarter_end_window(stays["left_on"], window_days,
                                                    fiscal_year_start_month)
        if in_window.any():
            w = stays[in_window]
            q_start = quarter_start_of(w["left_on"], fiscal_year_start_month)
            before = (q_start - w["entered_on"].to_numpy()).astype("timedelta64[D]").astype(float)
            lo = np.log(np.maximum(before, views.DAY_FLOOR))
            hi = np.log(w["days"].to_numpy(dtype=float) + pull_days + 0.5)
            windowed = (pd.DataFrame({"type_idx": w["type_idx"].to_numpy(dtype=np.int64),
                                      "stage_idx": w["stage_idx"].to_numpy(dtype=np.int64),
                                      "lo": lo, "hi": np.maximum(hi, lo + 0.01)})
                        .groupby(["type_idx", "stage_idx", "lo", "hi"]).size()
                        .rename("w").reset_index())
            windowed["w"] = windowed["w"].astype(np.int64)
    done = stays[~stays["open"].to_numpy() & ~in_window].assign(y2=lambda d: d["y"] ** 2)
    completed = (done.groupby(["type_idx", "stage_idx"])
                 .agg(n=("y", "size"), sum_y=("y", "sum"), sum_y2=("y2", "sum")).reset_index())
    censored = (stays[stays["open"]].groupby(["type_idx", "stage_idx", "y"]).size()
                .rename("w").reset_index())
    completed["n"] = completed["n"].astype(np.int64)
    censored["w"] = censored["w"].astype(np.int64)
    return completed, censored, windowed


def won_deals(export: Export) -> pd.DataFrame:
    """Won deals closed before as-of with positive ARR: partner_idx, role_idx, log_arr."""
    opps = export.opportunities
    won = opps[opps["stage"].eq("won") & opps["closed_on"].notna()
               & (opps["closed_on"] < export.default_as_of) & (opps["arr"] > 0)]
    pidx = views.partner_index(export)
    return pd.DataFrame({
        "partner_idx": won["partner_id"].astype(str).map(pidx).to_numpy(dtype=np.int64),
        "role_idx": won["partner_role"].map({r: i for i, r in enumerate(ROLES)}).to_numpy(dtype=np.int64),
        "log_arr": np.log(won["arr"].to_numpy(dtype=float)),
    })


__all__ = ["DURATION_BIN_EDGES_DAYS", "FLAG_COVARIATES", "window_quarters", "activation_cells",
           "productivity_cells", "engagement_before", "flags_at", "stay_covariates", "duration_bin",
           "conversion_cells", "jump_counts", "entry_counts", "timing_stats", "won_deals"]
