"""Forecast history: every ledger forecast of a quarter by as-of date, and what moved between runs.

:func:`forecast_history` reads the forecast ledger (no fit, no simulation) and the export as it
is now, and gives

- **runs**: each forecast run of the quarter (kind ``forecast``; scenarios are left out) in
  as-of order (ties: the earlier recorded first): P10/P50/P90 and mean of partner-attributed ARR,
  P(>= target) -- as the run recorded it for its headline quarter, else read off the run's
  recorded percentile grid --, the data and config fingerprints and code version, whether the
  model was refit since the run before, and, once the quarter is closed in the export, the actual
  with its percentile under the run's forecast (as ``variance`` computes them);
- **moves**: for each consecutive pair of runs (or one chosen pair), the change of the mean and
  of P10/P50/P90, and which inputs of the model changed (data, config, code: a refit) or of
  the simulation (seed, draws);
- **drivers**: what moved the *expected* (mean) attributed ARR between the two runs, from the
  ledger's per-deal win probabilities and the export: deals won, lost, won in another quarter,
  dropped, slipped, stage moves, new deals, new pipeline to come, won-to-date revisions and the
  simulation residual (:mod:`partner_forecast.evaluate.history_moves`). These rows add up
  exactly to ``mean_B - mean_A``; quantiles are not additive, so the P10/P50/P90 changes are
  shown beside the drivers but never split into them.

ARR is partner-attributed, currency per year; probabilities in [0, 1]; percentiles 0-100.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast import __version__
from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.errors import PartnerForecastError
from partner_forecast.evaluate.history_moves import RunSide, deal_values, run_side, what_moved
from partner_forecast.evaluate.recorded_run import forecast_table
from partner_forecast.formatting import money
from partner_forecast.ledger.percentiles import percentile_of
from partner_forecast.metrics.coverage import segment_targets
from partner_forecast.outcomes import realised


@dataclass(frozen=True)
class HistoryResult:
    """The forecast history of one quarter.

    Attributes
    ----------
    quarter : str
        The quarter, e.g. ``"2026Q4"``.
    runs : pandas.DataFrame
        One row per run (and segment with ``by``), in as-of order: run_id, as_of, created_at,
        segment, p10, p50, p90, mean, arr_target, p_at_least_target, target_source, actual,
        actual_minus_mean, percentile, band, refit, segment_by, data, data_fingerprint,
        config_fingerprint, version, draws, seed.
    moves : pandas.DataFrame
        One row per compared pair: from_run, to_run, from_as_of, to_as_of, mean_from, mean_to,
        mean_change, p10_change, p50_change, p90_change (quantile changes: not additive),
        refit (data, config or code changed), what_changed (those, and seed or draws).
    drivers : pandas.DataFrame
        from_run, to_run, move (``<earlier as-of> -> <later as-of>``), driver, deals, value,
        top_deals (the largest contributions), description; per pair the
        :data:`~partner_forecast.evaluate.history_moves.DRIVERS` rows then a
        :data:`~partner_forecast.evaluate.history_moves.TOTAL_DRIVER` row equal to their sum.
    meta : dict
        Quarter, ledger, export and config fingerprints, whether the quarter is closed, notes.
    """

    quarter: str
    runs: pd.DataFrame
    moves: pd.DataFrame
    drivers: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables the CLI renders."""
        return {"runs": self.runs, "moves": self.moves, "drivers": self.drivers}


def p_at_least(target: float, levels: Sequence[float], values: Sequence[float]) -> float:
    """P(X >= target) read off a forecast's quantile grid (``1 - percentile / 100``)."""
    pct = percentile_of(float(target), levels, values)
    return float("nan") if not np.isfinite(pct) else 1.0 - pct / 100.0


# -- reading the ledger and the export -----------------------------------------------------------
def _target_columns(record: Mapping[str, Any], label: str, segment: str,
                    targets: Mapping[str, float]) -> tuple[float, float, str]:
    """(arr_target, p_at_least_target, target_source) of one run and segment."""
    head = record["meta"].get("headline") or {}
    if (segment == "total" and head.get("quarter") == label
            and head.get("p_at_least_target") is not None):
        return float(head["arr_target"]), float(head["p_at_least_target"]), "recorded"
    target = targets.get(segment)
    if target is None:
        return np.nan, np.nan, ""
    grids = record["meta"].get("attributed_percentiles") or {}
    grid = grids.get("quarters", {}).get(label)
    if grid is None:
        return target, np.nan, "no percentile grid recorded"
    if segment == "total":
        values, levels = grid.get("total"), grids.get("total_levels")
    else:
        values, levels = grid.get("segments", {}).get(segment), grids.get("segment_levels")
    if values is None or levels is None:
        return target, np.nan, "no percentile grid recorded"
    return target, p_at_least(target, levels, values), "from recorded percentiles"


def _what_changed(prev: Mapping[str, Any] | None, cur: Mapping[str, Any],
                  simulation: bool = False) -> str:
    """What changed since ``prev``, e.g. ``"data, config"`` (``""``: nothing).

    The model's inputs ``data, config, code`` (a change means a refit), and with
    ``simulation`` also the Monte Carlo settings ``seed, draws``.
    """
    if prev is None:
        return ""
    keys = [("data", "data_fingerprint"), ("config", "config_fingerprint"), ("code", "version")]
    if simulation:
        keys += [("seed", "seed"), ("draws", "draws")]
    return ", ".join(name for name, key in keys if str(prev[key]) != str(cur[key]))


def _refit_text(changed: str) -> str:
    return f"refit: {changed} changed" if changed else "no refit: same data, config and code"


def _ledger_error(ledger: Any, workspace: Path) -> str:
    return (f"no forecast ledger at {ledger.path}: run `partner-forecast forecast` first, or "
            f"point --workspace at the folder holding ledger.sqlite (got {workspace})")


def forecast_history(data: str | Path | Export, quarter: str | Quarter | None = None, *,
                     by: str | None = None, between: Sequence[str] | None = None,
                     workspace: str | Path | None = None,
                     config: str | Path | Settings | None = None) -> HistoryResult:
    """Every ledger forecast of ``quarter`` by as-of date, and what moved between runs.

    Parameters
    ----------
    data : path or Export
        The export as it is now: the actual, and what happened to each deal between runs.
    quarter : str or Quarter, optional
        The quarter (default: the one containing the export's as-of date).
    by : str, optional
        Show each run's segments of this dimension (only runs segmented by it are listed);
        the drivers are of the total.
    between : pair of run ids, optional
        Compare these two runs instead of each consecutive pair: the move runs from the
        earlier of the two (by as-of date) to the later.
    workspace : path, optional
        Workspace holding ``ledger.sqlite`` (default ``.partner_forecast``).
    config : path or Settings, optional
        Configuration (calendar and attribution weights).

    Returns
    -------
    HistoryResult

    Raises
    ------
    PartnerForecastError
        No ledger, no forecast run of the quarter (the message lists the quarters it has), or a
        ``between`` run that is unknown, a scenario, or does not forecast the quarter.
    """
    from partner_forecast.forecast import DEFAULT_WORKSPACE, load_inputs
    from partner_forecast.ledger.store import LEDGER_FILE, Ledger

    workspace = Path(workspace) if workspace is not None else DEFAULT_WORKSPACE
    ledger = Ledger(workspace)
    if not (workspace / LEDGER_FILE).is_file():
        raise PartnerForecastError(_ledger_error(ledger, workspace))
    settings, export = load_inputs(data, config)
    fym = settings.calendar.fiscal_year_start_month
    as_of = export.default_as_of
    if quarter is None:
        q = Quarter.containing(as_of, fym)
    else:
        q = quarter if isinstance(quarter, Quarter) else Quarter.parse(str(quarter), fym)
    label = str(q)
    runs = ledger.forecasts_of(label, q.end)
    every = ledger.runs()
    if (every["kind"] == "forecast").sum() == 0:
        raise PartnerForecastError(f"the ledger at {ledger.path} holds no forecast runs: run "
                                   "`partner-forecast forecast` first (--workspace)")
    if runs.empty:
        forecasts = every[every["kind"] == "forecast"]
        known = sorted({x for s in forecasts["quarters"] for x in str(s).split(",") if x},
                       key=lambda s: Quarter.parse(s, fym).index)
        raise PartnerForecastError(f"no forecast run of {label} in the ledger at {ledger.path} "
                                   f"(--quarter): it holds forecasts of {', '.join(known)}")
    notes: list[str] = []
    if by is not None:
        other = runs[runs["segment_by"] != by]
        runs = runs[runs["segment_by"] == by].reset_index(drop=True)
        if runs.empty:
            raise PartnerForecastError(
                f"no forecast run of {label} segmented by {by} in the ledger at {ledger.path} "
                f"(--by): its runs are segmented by {', '.join(sorted(set(other['segment_by'])))}")
        if len(other):
            notes.append(f"{len(other)} run(s) of {label} segmented otherwise are not listed "
                         f"(without --by every run is, with its total)")
    records = {str(r): ledger.run(str(r)) for r in runs["run_id"]}
    pairs = _pairs(runs, between, ledger, label, records, every, notes)

    closed = q.end <= as_of
    won_now = realised(export, settings, q, by=by, until=None if closed else as_of)
    actual = {str(s): float(v) for s, v in zip(won_now["segment"], won_now["attributed_arr"],
                                               strict=True)}
    if not closed:
        notes.append(f"{label} is not closed in the data (as of {as_of.date()}): no actual yet; "
                     f"won so far {money(actual.get('total', 0.0))}")
    targets = segment_targets(export, label, by)
    rows = []
    previous = None
    for run_id in runs["run_id"]:
        rec = records[str(run_id)]
        changed = _what_changed(previous, rec)
        refit = ("first run" if previous is None else
                 f"yes ({changed})" if changed else "no")
        previous = rec
        table = forecast_table(rec, label, actual, by)
        for r in table.to_dict(orient="records"):
            target, p_target, source = _target_columns(rec, label, r["segment"], targets)
            rows.append({
                "run_id": str(run_id), "as_of": pd.Timestamp(rec["as_of"]).date().isoformat(),
                "created_at": str(rec["created_at"]), "segment": r["segment"],
                "p10": r["p10"], "p50": r["p50"], "p90": r["p90"], "mean": r["mean"],
                "arr_target": target, "p_at_least_target": p_target, "target_source": source,
                "actual": r["actual"] if closed else np.nan,
                "actual_minus_mean": r["actual_minus_mean"] if closed else np.nan,
                "percentile": r["percentile"] if closed else np.nan,
                "band": r["band"] if closed else "", "refit": refit,
                "segment_by": str(rec.get("segment_by") or "total"),
                "data": str(rec["meta"].get("data") or ""),
                "data_fingerprint": str(rec["data_fingerprint"]),
                "config_fingerprint": str(rec["config_fingerprint"]),
                "version": str(rec["version"]), "draws": int(rec["draws"]),
                "seed": rec["seed"]})
    run_table = pd.DataFrame(rows)
    if len(set(run_table["data"]) - {""}) > 1:
        notes.append("the runs were made from more than one export folder: the drivers read "
                     f"each deal's fate from this one ({export.source or 'in memory'})")
    for rec in records.values():
        dp = rec["deal_probabilities"]
        if not (dp["quarter"] == label).any():
            notes.append(f"run {rec['run_id']} recorded no per-deal win probabilities for "
                         f"{label}: its open pipeline shows in the simulation residual")

    moves, drivers = _moves(pairs, records, label, q, export, settings)
    unknown = _unknown_deals(records, label, export)
    if unknown:
        notes.append(f"{unknown} deal(s) in the runs' pipelines are no longer in the export: "
                     "their value is unknown (taken as 0), their expectation shows in the "
                     "simulation residual")
    meta = {"quarter": label, "ledger": str(ledger.path), "runs": int(runs["run_id"].nunique()),
            "segment_by": by or "total", "quarter_closed": closed,
            "actual_total": actual.get("total", 0.0) if closed else None,
            "won_so_far": None if closed else actual.get("total", 0.0),
            "drivers_additive": "the driver rows of each move add up to its change in expected "
                                "(mean) ARR; P10/P50/P90 changes are not additive and are not split",
            "as_of": as_of.date().isoformat(), "data": export.source,
            "data_fingerprint": export.fingerprint, "config": settings.source,
            "config_fingerprint": settings.fingerprint, "version": __version__,
            "warnings": notes}
    return HistoryResult(quarter=label, runs=run_table, moves=moves, drivers=drivers, meta=meta)


def _pairs(runs: pd.DataFrame, between: Sequence[str] | None, ledger: Any, label: str,
           records: dict[str, dict[str, Any]], every: pd.DataFrame,
           notes: list[str]) -> list[tuple[str, str]]:
    """The (earlier, later) run pairs to compare: consecutive ones, or ``between`` (ordered)."""
    if between is None:
        ids = [str(r) for r in runs["run_id"]]
        return list(zip(ids[:-1], ids[1:], strict=True))
    if len(between) != 2:
        raise PartnerForecastError(f"--between takes two run ids, got {len(between)}")
    listed = every.set_index("run_id")
    for run_id in between:
        if run_id in records:
            continue
        if run_id not in listed.index:
            raise PartnerForecastError(f"--between: no run {run_id!r} in the ledger at "
                                       f"{ledger.path} (`partner-forecast ledger` lists them)")
        row = listed.loc[run_id]
        if row["kind"] != "forecast":
            raise PartnerForecastError(f"--between: run {run_id} is a {row['kind']} run, not a "
                                       "forecast")
        if label not in str(row["quarters"]).split(","):
            raise PartnerForecastError(f"--between: run {run_id} does not forecast {label} (it "
                                       f"covers {row['quarters']})")
        records[run_id] = ledger.run(run_id)
    first, second = (str(r) for r in between)
    order = {r: i for i, r in enumerate(every["run_id"])}  # recorded order breaks as-of ties
    key = {r: (pd.Timestamp(records[r]["as_of"]), order.get(r, 0)) for r in (first, second)}
    if key[second] < key[first]:
        notes.append(f"--between: run {second} is the earlier of the two: the move is from it "
                     f"to {first}")
        first, second = second, first
    return [(first, second)]


def _views(records: Mapping[str, Mapping[str, Any]], export: Export) -> dict[str, Export]:
    """The export as of each run's as-of date (at most the export's own), by as-of date."""
    out: dict[str, Export] = {}
    for rec in records.values():
        cut = min(pd.Timestamp(rec["as_of"]).normalize(), export.default_as_of)
        key = cut.date().isoformat()
        if key not in out:
            out[key] = export.as_of(cut) if export.as_of_date is None or cut < export.as_of_date \
                else export
    return out


def _view_of(views: Mapping[str, Export], rec: Mapping[str, Any], export: Export) -> Export:
    cut = min(pd.Timestamp(rec["as_of"]).normalize(), export.default_as_of)
    return views[cut.date().isoformat()]


def _moves(pairs: list[tuple[str, str]], records: Mapping[str, Mapping[str, Any]], label: str,
           q: Quarter, export: Export, settings: Settings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The moves and drivers tables of the pairs."""
    move_cols = ["from_run", "to_run", "from_as_of", "to_as_of", "mean_from", "mean_to",
                 "mean_change", "p10_change", "p50_change", "p90_change", "refit", "what_changed"]
    driver_cols = ["from_run", "to_run", "move", "driver", "deals", "value", "top_deals", "description"]
    if not pairs:
        return pd.DataFrame(columns=move_cols), pd.DataFrame(columns=driver_cols)
    views = _views({k: records[k] for pair in pairs for k in pair}, export)
    sides: dict[str, RunSide] = {}
    for pair in pairs:
        for run_id in pair:
            if run_id not in sides:
                rec = records[run_id]
                sides[run_id] = run_side(rec, label, _view_of(views, rec, export), settings)
    moves, drivers = [], []
    for first, second in pairs:
        a, b = sides[first], sides[second]
        ra, rb = records[first], records[second]
        changed = _what_changed(ra, rb)
        values_b = deal_values(_view_of(views, rb, export), settings)
        drivers.append(what_moved(a, b, q, export, values_b, _refit_text(changed)))
        qa, qb = (_total_quantiles(r, label) for r in (ra, rb))
        moves.append({"from_run": first, "to_run": second,
                      "from_as_of": a.as_of.date().isoformat(), "to_as_of": b.as_of.date().isoformat(),
                      "mean_from": a.mean, "mean_to": b.mean, "mean_change": b.mean - a.mean,
                      "p10_change": qb["p10"] - qa["p10"], "p50_change": qb["p50"] - qa["p50"],
                      "p90_change": qb["p90"] - qa["p90"], "refit": bool(changed),
                      "what_changed": _what_changed(ra, rb, simulation=True) or "nothing"})
    return pd.DataFrame(moves, columns=move_cols), pd.concat(drivers, ignore_index=True)[driver_cols]


def _total_quantiles(record: Mapping[str, Any], label: str) -> dict[str, float]:
    """P10/P50/P90 of total attributed ARR (NaN when the run recorded no total row)."""
    q = record["quantiles"]
    row = q[(q["quarter"] == label) & (q["measure"] == "attributed") & (q["segment"] == "total")]
    if row.empty:
        return {"p10": np.nan, "p50": np.nan, "p90": np.nan}
    return {k: float(row[k].iloc[0]) for k in ("p10", "p50", "p90")}


def _unknown_deals(records: Mapping[str, Mapping[str, Any]], label: str, export: Export) -> int:
    known = set(export.opportunities["opportunity_id"].astype(str))
    ids: set[str] = set()
    for rec in records.values():
        dp = rec["deal_probabilities"]
        ids |= set(dp.loc[dp["quarter"] == label, "opportunity_id"].astype(str))
    return len(ids - known)


__all__ = ["HistoryResult", "forecast_history", "p_at_least"]
