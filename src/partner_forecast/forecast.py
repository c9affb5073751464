"""The product's main job: quarterly partner ARR distributions from a CRM export.

:func:`forecast` loads the export as of a date, fits (or loads from the workspace cache) the
five models, simulates the coming quarters and returns a :class:`ForecastResult`: P10/P50/P90
and mean of partner-attributed ARR per quarter and segment, the same for gross ARR, split
from-open-pipeline vs from-new-pipeline, committed vs upside, marketplace and expansion lines,
and P(attributed ARR >= target) where targets exist. Every run is appended to the forecast
ledger. The CLI's ``forecast`` command is a thin layer over this function.

ARR is currency per year, counted in the quarter a deal is won. When the as-of date falls inside
a quarter, ARR already won in that quarter before as-of is added to the simulated remainder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from partner_forecast import __version__
from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings, load_settings
from partner_forecast.data.export import Export, load_export
from partner_forecast.errors import PartnerForecastError
from partner_forecast.model_source import FITTED_MODELS, Fits, ModelSource
from partner_forecast.outcomes import realised
from partner_forecast.simulate.result import SimulationResult

if TYPE_CHECKING:
    from partner_forecast.recalibration import Recalibration

DEFAULT_WORKSPACE = Path(".partner_forecast")
SUMMARY_MEASURES = ("attributed", "gross", "attributed_open", "attributed_new", "committed",
                    "upside", "marketplace", "expansion")
WON_TO_DATE_MEASURES = {"attributed": "attributed_arr", "gross": "gross_arr",
                        "marketplace": "marketplace_arr", "expansion": "expansion_arr"}


@dataclass(frozen=True)
class ForecastResult:
    """A forecast: draws, quantile tables and what produced them.

    Attributes
    ----------
    run_id : str or None
        Ledger run id (None when not recorded).
    quarters : tuple of Quarter
        The reported quarters.
    segment_by : str or None
        Segment dimension (None: the total only).
    simulation : SimulationResult
        The raw draws (D, H, G) of every measure, without ARR won before as-of.
    won_to_date : pandas.DataFrame
        ARR already won before as-of in the as-of quarter, per segment (added to the first
        quarter's attributed, gross, marketplace and expansion figures).
    quantiles : pandas.DataFrame
        Tidy table: quarter, segment, measure, p10, p50, p90, mean (currency per year).
    targets : pandas.DataFrame
        quarter, segment, arr_target, p_at_least_target (empty without a targets file).
    meta : dict
        as-of, quarters, data and config fingerprints, code version, seed, draws, model
        diagnostics and warnings.
    """

    run_id: str | None
    quarters: tuple[Quarter, ...]
    segment_by: str | None
    simulation: SimulationResult
    won_to_date: pd.DataFrame
    quantiles: pd.DataFrame
    targets: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def draws(self, measure: str = "attributed") -> np.ndarray:
        """(D, H, G) draws of ``measure`` for the reported quarters, won-to-date included."""
        sim = self.simulation
        arr = sim.measure(measure)[:, -len(self.quarters):, :].astype(np.float64)
        column = WON_TO_DATE_MEASURES.get(measure)
        if column is not None and sim.quarters[0] == self.quarters[0]:
            add = _won_by_segment(self.won_to_date, sim.segments, column)
            arr[:, 0, :] += add
        return arr

    def to_frame(self) -> pd.DataFrame:
        """Wide summary: one row per quarter and segment.

        P10/P50/P90/mean of attributed and gross ARR, means of the open/new split, committed,
        upside, marketplace and expansion, and the target with P(>= target) where one exists.
        """
        q = self.quantiles
        wide = q.pivot_table(index=["quarter", "segment"], columns="measure",
                             values=["p10", "p50", "p90", "mean"], sort=False)
        out = pd.DataFrame(index=wide.index)
        for measure in ("attributed", "gross"):
            for stat in ("p10", "p50", "p90", "mean"):
                out[f"{measure}_{stat}"] = wide[(stat, measure)]
        for measure in ("attributed_open", "attributed_new", "committed", "upside", "marketplace",
                        "expansion"):
            out[f"{measure}_mean"] = wide[("mean", measure)]
        out = out.reset_index()
        if not self.targets.empty:
            out = out.merge(self.targets, on=["quarter", "segment"], how="left")
        return out

    def recalibrated(self, recal: Recalibration) -> pd.DataFrame:
        """The forecast table with recalibrated attributed P10/P50/P90 beside the model's.

        ARR won before as-of (first quarter) is certain and left out of the correction.
        """
        from partner_forecast.recalibration import recalibrate_table

        table = self.tables()["forecast"].reset_index(drop=True)
        first = str(self.quarters[0])
        won = dict(zip(self.won_to_date["segment"], self.won_to_date["attributed_arr"],
                       strict=True)) if len(self.won_to_date) else {}
        certain = pd.Series([float(won.get(s, 0.0)) if q == first else 0.0
                             for q, s in zip(table["quarter"], table["segment"], strict=True)])
        return recalibrate_table(table, recal, certain)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables the CLI renders."""
        summary = self.to_frame()
        cols = ["quarter", "segment", "attributed_p10", "attributed_p50", "attributed_p90",
                "attributed_mean", "gross_p50", "attributed_open_mean", "attributed_new_mean",
                "committed_mean", "upside_mean"]
        if "arr_target" in summary:
            cols += ["arr_target", "p_at_least_target"]
        return {"forecast": summary[cols], "quantiles": self.quantiles,
                "diagnostics": pd.DataFrame(self.meta.get("diagnostics", []))}


def _won_by_segment(won: pd.DataFrame, segments: tuple[str, ...], column: str) -> np.ndarray:
    lookup = dict(zip(won["segment"], won[column], strict=True)) if len(won) else {}
    return np.array([float(lookup.get(s, 0.0)) for s in segments])


def load_inputs(data: str | Path | Export,
                config: str | Path | Settings | None = None) -> tuple[Settings, Export]:
    """Settings and export from paths or already loaded objects (what every entry point takes)."""
    settings = config if isinstance(config, Settings) else load_settings(config)
    export = data if isinstance(data, Export) else load_export(data, settings=settings)
    return settings, export


def as_of_view(export: Export, as_of: str | pd.Timestamp | None = None) -> Export:
    """The export as every fitting command sees it: cut at ``as_of`` (default: its default as-of).

    ``forecast``, ``fit`` and the commands built on them go through this one function, so the
    same data and as-of give the same fitted data and the same workspace cache key.
    """
    cut = export.default_as_of if as_of is None else pd.Timestamp(as_of).normalize()
    return export.as_of(cut)


def resolve_quarters(as_of: pd.Timestamp, quarter: str | Quarter | None, horizon: int,
                     fiscal_year_start_month: int = 1) -> tuple[list[Quarter], list[Quarter]]:
    """Quarters to simulate (from the as-of quarter) and quarters to report.

    Raises :class:`PartnerForecastError` when the requested quarter ended before as-of.
    """
    if not 1 <= horizon <= 8:
        raise PartnerForecastError(f"--horizon must be between 1 and 8, got {horizon}")
    current = Quarter.containing(as_of, fiscal_year_start_month)
    first = current if quarter is None else (
        quarter if isinstance(quarter, Quarter) else Quarter.parse(quarter, fiscal_year_start_month))
    if first < current:
        raise PartnerForecastError(
            f"quarter {first} ended before the as-of date {as_of.date()}: forecast it with "
            f"--as-of {first.start.date()} (or review it with `partner-forecast variance`)")
    report = [first + i for i in range(horizon)]
    simulate = [current + i for i in range(int(report[-1] - current) + 1)]
    return simulate, report


def target_table(export: Export, result: SimulationResult, report: list[Quarter],
                 won_to_date: pd.DataFrame, segment_by: str | None) -> pd.DataFrame:
    """P(attributed ARR >= target) per reported quarter and segment that has a target.

    The total uses targets with a blank partner_type; per-type targets apply when segmenting by
    partner_type.
    """
    targets = export.targets
    cols = ["quarter", "segment", "arr_target", "p_at_least_target"]
    if targets.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    offset = len(result.quarters) - len(report)
    attributed = result.attributed.astype(np.float64)
    for h, q in enumerate(report):
        draws = attributed[:, offset + h, :]
        if h + offset == 0:
            draws = draws + _won_by_segment(won_to_date, result.segments, "attributed_arr")
        tq = targets[targets["quarter"] == str(q)]
        overall = tq[tq["partner_type"].isna()]
        if len(overall):
            target = float(overall["arr_target"].sum())
            rows.append((str(q), "total", target, float((draws.sum(axis=1) >= target).mean())))
        if segment_by == "partner_type":
            for _, row in tq[tq["partner_type"].notna()].iterrows():
                if row["partner_type"] in result.segments:
                    g = result.segments.index(row["partner_type"])
                    rows.append((str(q), row["partner_type"], float(row["arr_target"]),
                                 float((draws[:, g] >= row["arr_target"]).mean())))
    return pd.DataFrame(rows, columns=cols)


def partner_region(export: Export, partner_ids: np.ndarray) -> np.ndarray:
    """Each partner's region as written in the export (``unknown`` when missing)."""
    region = export.partners.set_index("partner_id")["region"]
    return np.array([str(region.get(p)) if isinstance(region.get(p), str) and region.get(p)
                     else "unknown" for p in partner_ids], dtype=object)


def segment_spec(inputs, export: Export, by: str | None):
    """The simulation's segments for ``--by`` (partners not in the export count as ``unknown``)."""
    from partner_forecast.simulate import SegmentSpec

    if by is None:
        return SegmentSpec.total(inputs)
    if by == "revenue_motion":
        return SegmentSpec.by(inputs, by, partner_motion=partner_motion(export, inputs.partner_ids))
    if by == "region":
        return SegmentSpec.by(inputs, by, partner_region=partner_region(export, inputs.partner_ids))
    return SegmentSpec.by(inputs, by)


def partner_motion(export: Export, partner_ids: np.ndarray) -> np.ndarray:
    """Each partner's most common revenue motion in its deal history (``resell`` if none)."""
    opps = export.opportunities.dropna(subset=["revenue_motion"])
    mode = opps.groupby("partner_id")["revenue_motion"].agg(lambda s: s.value_counts().index[0])
    return np.array([mode.get(p, "resell") for p in partner_ids], dtype=object)


@dataclass
class ForecastContext:
    """Everything a forecast needs before simulation: fitted once, simulated many times.

    Scenarios and lever sweeps simulate the same context with different levers and the same
    seed (common random numbers), so their differences from the baseline are sharp.
    """

    settings: Settings
    export: Export
    as_of: pd.Timestamp
    sim_quarters: list[Quarter]
    report: list[Quarter]
    segment_by: str | None
    inputs: Any  # SimulationInputs
    segments: Any  # SegmentSpec
    won_to_date: pd.DataFrame
    fits: Fits
    n_draws: int
    seed: int
    workspace: Path


def prepare(data: str | Path | Export, *, as_of: str | pd.Timestamp | None = None,
            quarter: str | Quarter | None = None, horizon: int = 1, by: str | None = None,
            draws: int | None = None, seed: int | None = None,
            config: str | Path | Settings | None = None, workspace: str | Path | None = None,
            progress: bool = True, models: ModelSource = FITTED_MODELS) -> ForecastContext:
    """Load the export as of a date, fit or load the models, build the simulation inputs.

    Parameters are those of :func:`forecast`.
    """
    settings, export = load_inputs(data, config)
    export = as_of_view(export, as_of)
    cut = export.default_as_of
    fym = settings.calendar.fiscal_year_start_month
    sim_quarters, report = resolve_quarters(cut, quarter, horizon, fym)
    n_draws = int(draws or settings.simulation.draws)
    seed = settings.simulation.seed if seed is None else int(seed)
    workspace = Path(workspace) if workspace is not None else DEFAULT_WORKSPACE

    fits = models.fit_all(export, settings, workspace, progress=progress)
    inputs = models.simulation_inputs(fits, export, settings, sim_quarters, n_draws, seed)
    segments = segment_spec(inputs, export, by)
    won = realised(export, settings, Quarter.containing(cut, fym), by=by, until=cut)
    if by is None:
        won = won[won["segment"] == "total"]
    return ForecastContext(settings=settings, export=export, as_of=cut, sim_quarters=sim_quarters,
                           report=report, segment_by=by, inputs=inputs, segments=segments,
                           won_to_date=won.reset_index(drop=True), fits=fits, n_draws=n_draws,
                           seed=seed, workspace=workspace)


def run(context: ForecastContext, *, levers=None, record: bool = True, progress: bool = True,
        kind: str = "forecast", name: str | None = None, content_hash: str | None = None,
        keep_open: bool = False, baseline: ForecastResult | None = None) -> ForecastResult:
    """Simulate a prepared context (optionally with scenario levers) and record it.

    With the same context and no levers (or no-op levers) the draws are identical, run after run.
    ``keep_open`` keeps the open pipeline's share of the run for scenarios; a scenario run
    given such a ``baseline`` reuses it when its changes cannot reach the open deals (see
    :func:`partner_forecast.simulate.simulate`), with the same result as a full run.
    """
    from partner_forecast.ledger.run_record import record_forecast
    from partner_forecast.ledger.store import Ledger, LedgerRun
    from partner_forecast.simulate import simulate

    ctx = context
    bar = _progress_bar(ctx.n_draws, "simulating") if progress else None
    try:
        sim = simulate(ctx.inputs, seed=ctx.seed, segments=ctx.segments,
                       chunk_draws=ctx.settings.simulation.chunk_draws, levers=levers,
                       attribution=ctx.settings.attribution, keep_open=keep_open,
                       reuse=baseline.simulation if baseline is not None else None,
                       pace_quarter=ctx.report[0] if kind == "forecast" else None,
                       progress=(lambda done, total: bar.update(done - bar.n)) if bar else None)
    finally:
        if bar is not None:
            bar.close()
    quantiles = _quantiles(sim, ctx.report, ctx.won_to_date)
    targets = target_table(ctx.export, sim, ctx.report, ctx.won_to_date, ctx.segment_by)
    diagnostics = ctx.fits.diagnostics_table()
    warnings = list(ctx.inputs.warnings)
    meta: dict[str, Any] = {
        **failed_fit_alert(warnings),
        "as_of": ctx.as_of.date().isoformat(), "quarters": [str(q) for q in ctx.report],
        "segment_by": ctx.segment_by or "total", "data": ctx.export.source,
        "data_fingerprint": ctx.export.fingerprint, "config": ctx.settings.source,
        "config_fingerprint": ctx.settings.fingerprint, "version": __version__,
        "draws": ctx.n_draws, "seed": ctx.seed,
        "diagnostics_ok": not warnings,
        "diagnostics": diagnostics.to_dict(orient="records"),
        "warnings": warnings,
    }
    if ctx.inputs.notes:  # what the fits chose from the data (e.g. quarter-end closes)
        meta["fit_notes"] = " | ".join(ctx.inputs.notes)
    meta["drivers"] = sim.driver_means().to_dict(orient="records")
    meta["headline"] = headline(quantiles, targets, ctx.report[0])
    if name is not None:
        meta["scenario"] = name
        meta["scenario_hash"] = content_hash
    run_id = None
    if record:
        run_id, repeat = record_forecast(
            Ledger(ctx.workspace),
            LedgerRun(kind=kind, as_of=meta["as_of"], quarters=meta["quarters"],
                      data_fingerprint=ctx.export.fingerprint,
                      config_fingerprint=ctx.settings.fingerprint, version=__version__,
                      draws=ctx.n_draws, seed=ctx.seed, segment_by=ctx.segment_by, name=name,
                      content_hash=content_hash, meta=dict(meta)),
            sim, quantiles, report=ctx.report, won_to_date=ctx.won_to_date, as_of=ctx.as_of,
            open_deals=ctx.inputs.open_deals)
        meta["run_id"] = run_id
        if repeat:  # the same forecast again (e.g. for another format): not a new forecast
            meta["repeat_of"] = run_id
    return ForecastResult(run_id=run_id, quarters=tuple(ctx.report), segment_by=ctx.segment_by,
                          simulation=sim, won_to_date=ctx.won_to_date, quantiles=quantiles,
                          targets=targets, meta=meta)


def failed_fit_alert(warnings: list[str]) -> dict[str, str]:
    """``{"alert": ...}`` when fits failed their diagnostics (else empty).

    Outputs put it first in every format (text banner, CSV comment, JSON meta, xlsx meta) and
    the CLI exits 1, so a forecast from a failed fit never looks like a good one.
    """
    if not warnings:
        return {}
    models = sorted({w.split(":", 1)[0] for w in warnings})
    return {"alert": "UNRELIABLE: the " + ", ".join(models) + " model(s) failed their "
            "sampler diagnostics after retries; read these figures as indicative only "
            "(see warnings)"}


def forecast(data: str | Path | Export, *, as_of: str | pd.Timestamp | None = None,
             quarter: str | Quarter | None = None, horizon: int = 1, by: str | None = None,
             draws: int | None = None, seed: int | None = None,
             config: str | Path | Settings | None = None,
             workspace: str | Path | None = None, record: bool = True,
             progress: bool = True, levers=None, models: ModelSource = FITTED_MODELS
             ) -> ForecastResult:
    """Forecast partner ARR for ``horizon`` quarters from ``quarter`` (default: as-of's quarter).

    Parameters
    ----------
    data : path or Export
        Export folder (CSV/Parquet per the data contract) or an already loaded export.
    as_of : date, optional
        View the data as it stood on this date (default: the day after its latest date).
    quarter : str, optional
        First reported quarter, e.g. ``"2026Q4"``.
    horizon : int
        Number of reported quarters (1-8).
    by : str, optional
        Segment dimension: partner_type, tier, partner, partner_role or revenue_motion.
    draws, seed : int, optional
        Monte Carlo draws and seed (defaults from ``[simulation]``).
    config : path or Settings, optional
        Configuration merged over the defaults.
    workspace : path, optional
        Where fitted posteriors and the ledger live (default ``.partner_forecast``).
    record : bool
        Append the run to the forecast ledger.
    progress : bool
        Show progress on stderr.
    levers : Levers, optional
        Scenario adjustments passed to the simulation (see ``partner_forecast.scenarios``).
    models : ModelSource
        Where the fitted models come from (default: fit with PyMC or load from the workspace;
        tests pass :class:`partner_forecast.testing.fits.DegenerateModels`).
    """
    context = prepare(data, as_of=as_of, quarter=quarter, horizon=horizon, by=by, draws=draws,
                      seed=seed, config=config, workspace=workspace, progress=progress,
                      models=models)
    return run(context, levers=levers, record=record, progress=progress,
               kind="forecast" if levers is None else "scenario")


def headline(quantiles: pd.DataFrame, targets: pd.DataFrame, quarter: Quarter) -> dict[str, Any]:
    """The run's headline: P50 of total partner-attributed ARR in ``quarter`` and P(>= target).

    ``arr_target`` and ``p_at_least_target`` are None without an overall target.
    """
    q = quantiles[(quantiles["quarter"] == str(quarter)) & (quantiles["segment"] == "total")
                  & (quantiles["measure"] == "attributed")]
    t = targets[(targets["quarter"] == str(quarter)) & (targets["segment"] == "total")] \
        if not targets.empty else targets
    return {"quarter": str(quarter),
            "attributed_p50": float(q["p50"].iloc[0]) if len(q) else None,
            "arr_target": float(t["arr_target"].iloc[0]) if len(t) else None,
            "p_at_least_target": float(t["p_at_least_target"].iloc[0]) if len(t) else None}


def _quantiles(sim: SimulationResult, report: list[Quarter], won: pd.DataFrame) -> pd.DataFrame:
    """Quantile table of the reported quarters with ARR won before as-of added to the first.

    A split run also gets a ``total`` row per quarter and measure, after its segments: the
    quantiles of the per-draw sum over segments (segment quantiles do not add up).
    """
    q = sim.quantiles(measures=SUMMARY_MEASURES)
    if tuple(sim.segments) != ("total",):
        q = pd.concat([q, sim.total().quantiles(measures=SUMMARY_MEASURES)], ignore_index=True)
        order = {m: i for i, m in enumerate(SUMMARY_MEASURES)}
        quarter_order = {str(x): i for i, x in enumerate(sim.quarters)}
        q = q.assign(_m=q["measure"].map(order), _q=q["quarter"].map(quarter_order),
                     _t=q["segment"].eq("total")).sort_values(["_m", "_q", "_t"], kind="stable")
        q = q.drop(columns=["_m", "_q", "_t"]).reset_index(drop=True)
    q = q[q["quarter"].isin([str(x) for x in report])].copy()
    first = str(sim.quarters[0])
    for measure, column in WON_TO_DATE_MEASURES.items():
        add = dict(zip(won["segment"], won[column], strict=True)) if len(won) else {}
        mask = (q["quarter"] == first) & (q["measure"] == measure)
        shift = q.loc[mask, "segment"].map(lambda s, add=add: float(add.get(s, 0.0))).astype(float)
        for stat in ("p10", "p50", "p90", "mean"):
            q.loc[mask, stat] = q.loc[mask, stat] + shift
    if str(sim.quarters[0]) in [str(x) for x in report] and len(won):
        rows = pd.DataFrame({"quarter": first, "segment": won["segment"], "measure": "won_to_date",
                             "p10": won["attributed_arr"], "p50": won["attributed_arr"],
                             "p90": won["attributed_arr"], "mean": won["attributed_arr"]})
        q = pd.concat([q, rows], ignore_index=True)
    return q.reset_index(drop=True)


def _progress_bar(total: int, desc: str):
    from partner_forecast.simulate.progress import progress_bar

    return progress_bar(total, desc, unit="draw")
