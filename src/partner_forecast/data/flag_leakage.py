"""Leakage audit of deal flags: which flags may be conversion covariates.

A flag's value in the export is its *latest* value. A flag set when a deal is created (or at
least before it reaches the stage being modelled) is fine as a covariate of a stage exit; a flag
filled in as the deal progresses (``technical_validation`` set on reaching proposal) is set on
every deal that got that far and unset on early losses, so a model reading it learns the
outcome. The rule: a covariate of a stage exit may only carry what was known when the deal
entered that stage. With a ``field_history`` of the flag, the model reads it as of each stage
entry (:func:`.field_history.value_at`) and the question does not arise. Without one, this
audit tells the two kinds of flag apart from the export alone.

The test, per open stage ``s``: the deals *currently open* at ``s`` are a sample of the deals
that entered ``s`` taken before they left it. A flag known on entering ``s`` has the same rate
among them as among the deals that entered ``s`` and have since *moved on* (advanced, won or
lost) -- even a flag that truly raises the odds of winning, since both groups entered ``s``
alike. A flag filled in later is (nearly) unset on the open deals while many of the moved-on
deals carry it; a flag cleared on a loss shows the opposite gap. The moved-on deals are taken
from about the same entry period as the open ones (entered at most a year before the 10th
percentile of the open deals' entry dates), so that a flag whose use grew over the years does
not look like a leak.

Each stage's 2x2 table (open / moved on x flag set / unset) gets an exact *minimum-effect*
test: the null hypothesis is that the odds ratio lies within ``[1/margin, margin]`` (default
2), tested with Fisher's noncentral hypergeometric distribution at the nearer bound, two-sided;
a big export therefore does not flag a tiny difference, and a small one does not flag noise.
The stages' p-values are Bonferroni-adjusted; the flag leaks when the smallest is below
``alpha`` (default 0.01). A flag whose stages all have fewer than ``min_deals`` open or moved-on
deals with a known value, or that never varies, is *untested*: it is not proven safe, so
:func:`usable_flags` leaves it out.

Audit the whole export rather than an as-of view: in a view, deals open at the cut carry the
flags filled in after it, which hides the leak. A view therefore carries the audit of the export
it was cut from (:attr:`~partner_forecast.data.export.Export.flag_audit`), and
:func:`usable_flags` of a view reads that verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import nchypergeom_fisher

from partner_forecast.data.field_history import has_history
from partner_forecast.data.schema import CLOSED_STAGES, OPEN_STAGES, STAGE_ORDER, TABLES

if TYPE_CHECKING:
    from partner_forecast.data.export import Export

__all__ = ["DEFAULT_FLAGS", "LEAKAGE_COLUMNS", "flag_leakage", "usable_flags"]

DEFAULT_FLAGS: tuple[str, ...] = ("technical_validation", "executive_sponsor")
#: Columns of the :func:`flag_leakage` table.
LEAKAGE_COLUMNS: tuple[str, ...] = (
    "flag", "source", "tested", "leaks", "stage", "open_deals", "open_rate", "moved_on_deals",
    "moved_on_rate", "odds_ratio", "p_value", "evidence",
)
MARGIN = 2.0  # odds ratios within [1/MARGIN, MARGIN] count as "no leak"
ALPHA = 0.01
MIN_DEALS = 10
COHORT_QUANTILE = 0.1
COHORT_LOOKBACK = pd.Timedelta(days=365)


@dataclass(frozen=True)
class _StageTest:
    """One stage's 2x2 table and its minimum-effect test."""

    stage: str
    open_set: int
    open_n: int
    moved_set: int
    moved_n: int
    p_value: float

    @property
    def open_rate(self) -> float:
        return self.open_set / self.open_n if self.open_n else np.nan

    @property
    def moved_rate(self) -> float:
        return self.moved_set / self.moved_n if self.moved_n else np.nan

    @property
    def odds_ratio(self) -> float:
        """Odds of the flag among open deals over moved-on deals (+0.5 on every cell)."""
        a, b = self.open_set + 0.5, self.open_n - self.open_set + 0.5
        c, d = self.moved_set + 0.5, self.moved_n - self.moved_set + 0.5
        return float((a * d) / (b * c))


def minimum_effect_p(open_set: int, open_n: int, moved_set: int, moved_n: int,
                     margin: float = MARGIN) -> float:
    """Two-sided exact p-value of "the odds ratio lies within [1/margin, margin]".

    Conditional on the table's margins, the count of flagged open deals follows Fisher's
    noncentral hypergeometric distribution with the odds ratio as its odds; the p-value is
    twice the smaller tail probability at the nearer bound of the null interval.
    """
    total, flagged = open_n + moved_n, open_set + moved_set
    low = nchypergeom_fisher(total, flagged, open_n, 1.0 / margin).cdf(open_set)
    high = nchypergeom_fisher(total, flagged, open_n, margin).sf(open_set - 1)
    return float(min(1.0, 2.0 * min(low, high)))


def _flag_frame(export: Export, flag: str) -> pd.DataFrame:
    """One row per deal: current stage and the flag (NA when unknown)."""
    o = export.opportunities.dropna(subset=["opportunity_id"]).drop_duplicates("opportunity_id")
    return pd.DataFrame({"stage": o["stage"].to_numpy(dtype=object),
                         "flag": o[flag].astype("boolean").to_numpy()},
                        index=pd.Index(o["opportunity_id"].to_numpy(dtype=object)))


def _stage_tests(export: Export, deals: pd.DataFrame, min_deals: int,
                 margin: float) -> list[_StageTest]:
    h = export.stage_history.dropna(subset=["opportunity_id", "stage", "entered_on"])
    h = h[h["opportunity_id"].isin(deals.index)].drop_duplicates(["opportunity_id", "stage"])
    out: list[_StageTest] = []
    for stage in OPEN_STAGES:
        entered = h[h["stage"] == stage].set_index("opportunity_id")["entered_on"]
        cur = deals.loc[entered.index]
        known = cur["flag"].notna().to_numpy(dtype=bool)
        entered, cur = entered[known], cur[known]
        is_open = (cur["stage"] == stage).to_numpy(dtype=bool)
        if is_open.sum() < min_deals:
            continue
        since = entered[is_open].quantile(COHORT_QUANTILE) - COHORT_LOOKBACK
        moved = ~is_open & (entered >= since).to_numpy(dtype=bool)
        flag = cur["flag"].to_numpy(dtype=bool, na_value=False)
        open_n, moved_n = int(is_open.sum()), int(moved.sum())
        open_set, moved_set = int(flag[is_open].sum()), int(flag[moved].sum())
        if moved_n < min_deals or open_set + moved_set in (0, open_n + moved_n):
            continue
        out.append(_StageTest(stage, open_set, open_n, moved_set, moved_n,
                              minimum_effect_p(open_set, open_n, moved_set, moved_n, margin)))
    return out


def _furthest_rates(export: Export, deals: pd.DataFrame) -> str:
    """The flag's rate among closed deals by how far they got ("lost at qualified 4%, ...")."""
    h = export.stage_history.dropna(subset=["opportunity_id", "stage"])
    h = h[h["stage"].isin(OPEN_STAGES)]
    furthest = h.assign(_o=h["stage"].map(STAGE_ORDER)).sort_values("_o").groupby(
        "opportunity_id")["stage"].last()
    closed = deals[deals["stage"].isin(CLOSED_STAGES) & deals["flag"].notna()]
    group = np.where(closed["stage"] == "won", "won",
                     "lost at " + furthest.reindex(closed.index).fillna("?").astype(str))
    parts = []
    for name in [f"lost at {s}" for s in OPEN_STAGES] + ["lost at ?", "won"]:
        sel = group == name
        if sel.any():
            rate = closed["flag"].to_numpy(dtype=bool, na_value=False)[sel].mean()
            parts.append(f"{name} {rate:.0%} of {int(sel.sum()):,}")
    return ", ".join(parts)


def _row(flag: str, source: str, tests: list[_StageTest], furthest: str,
         alpha: float, margin: float, min_deals: int) -> dict[str, object]:
    row: dict[str, object] = {"flag": flag, "source": source, "tested": bool(tests),
                              "leaks": False, "stage": None, "open_deals": 0,
                              "open_rate": np.nan, "moved_on_deals": 0, "moved_on_rate": np.nan,
                              "odds_ratio": np.nan, "p_value": np.nan}
    if tests:
        best = min(tests, key=lambda t: (t.p_value, -abs(np.log(t.odds_ratio))))
        p_adj = min(1.0, best.p_value * len(tests))
        row.update(stage=best.stage, open_deals=best.open_n, open_rate=best.open_rate,
                   moved_on_deals=best.moved_n, moved_on_rate=best.moved_rate,
                   odds_ratio=best.odds_ratio, p_value=p_adj,
                   leaks=source == "audit" and p_adj < alpha)
        gap = (f"at {best.stage}, {best.open_rate:.0%} of {best.open_n:,} open deals carry it "
               f"against {best.moved_rate:.0%} of {best.moved_n:,} deals that moved on from it "
               f"(odds ratio {best.odds_ratio:.2f}, p = {p_adj:.2g} against a ratio within "
               f"{1 / margin:.2g}-{margin:g})")
        if p_adj >= alpha:
            verdict = "no sign that it changes as deals progress"
        elif best.open_rate < best.moved_rate:
            verdict = ("it is filled in as deals progress: its latest value tells how far a "
                       "deal got, and would leak the outcome")
        else:
            verdict = ("it is cleared as deals move on or close: its latest value tells how "
                       "far a deal got, and would leak the outcome")
    else:
        gap = (f"not tested: no stage has {min_deals} open and {min_deals} moved-on deals "
               "with a known value, or the flag never varies")
        verdict = ""
    if source == "field_history":
        lead = ("read as of each date from field_history, so it cannot leak; the export's "
                "latest values: ")
    else:
        lead = ""
    parts = [lead + gap] + ([verdict] if verdict else []) + (
        [f"rate by furthest stage: {furthest}"] if furthest else [])
    row["evidence"] = "; ".join(parts)
    return row


def flag_leakage(export: Export, flags: Sequence[str] = DEFAULT_FLAGS, *, alpha: float = ALPHA,
                 margin: float = MARGIN, min_deals: int = MIN_DEALS) -> pd.DataFrame:
    """Audit each flag for outcome leakage (see the module docstring for the test).

    Parameters
    ----------
    export
        The whole export (an as-of view hides leaks: see the module docstring).
    flags
        Boolean opportunity columns to audit.
    alpha
        Significance level of the Bonferroni-adjusted minimum-effect test.
    margin
        Odds ratios within ``[1/margin, margin]`` between open and moved-on deals count as no
        leak (> 1).
    min_deals
        Open and moved-on deals with a known flag a stage needs to be tested.

    Returns
    -------
    pandas.DataFrame
        One row per flag with :data:`LEAKAGE_COLUMNS`: ``source`` ("field_history" when the
        flag has history, else "audit"), ``tested``, ``leaks`` (always ``False`` with history),
        the most telling stage's counts and rates, the odds ratio of the flag among open over
        moved-on deals, the adjusted p-value and a sentence of ``evidence``.

    """
    if margin <= 1:
        raise ValueError(f"margin must be above 1, got {margin}")
    columns = TABLES["opportunities"]
    for flag in flags:
        if flag not in {c.name for c in columns.columns if c.kind == "bool"}:
            raise ValueError(f"{flag!r} is not a boolean opportunity column")
    rows = []
    for flag in flags:
        deals = _flag_frame(export, flag)
        source = "field_history" if has_history(export, flag) else "audit"
        tests = _stage_tests(export, deals, min_deals, margin)
        rows.append(_row(flag, source, tests, _furthest_rates(export, deals), alpha, margin,
                         min_deals))
    table = pd.DataFrame(rows, columns=list(LEAKAGE_COLUMNS))
    return table.astype({"tested": bool, "leaks": bool, "open_deals": np.int64,
                         "moved_on_deals": np.int64, "open_rate": float, "moved_on_rate": float,
                         "odds_ratio": float, "p_value": float})


def usable_flags(export: Export, flags: Sequence[str] = DEFAULT_FLAGS) -> tuple[str, ...]:
    """The flags a conversion model may use as covariates.

    A flag with ``field_history`` always (read it as of each stage entry with
    :func:`.field_history.value_at`); without, only when :func:`flag_leakage` tested it and
    found no leak (an untested flag is not proven safe). The verdict is the export's
    :attr:`~partner_forecast.data.export.Export.leakage_audit`, computed once per export; for an
    as-of view it is that of the whole export it was cut from, not of the view, whose open deals
    carry flags filled in after its cut and so hide the leak (a flag that audit did not cover,
    outside :data:`DEFAULT_FLAGS`, is audited on the export given).
    """
    audit = export.leakage_audit
    audited = set(audit["flag"])
    known = [f for f in flags if f in audited]
    rest = [f for f in flags if f not in known]
    parts = ([audit.set_index("flag").loc[known].reset_index()] if known else []) + (
        [flag_leakage(export, rest)] if rest else [])
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=list(LEAKAGE_COLUMNS))
    ok = (table["source"] == "field_history") | (table["tested"] & ~table["leaks"])
    return tuple(table.loc[ok, "flag"])
