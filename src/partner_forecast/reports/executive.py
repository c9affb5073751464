"""The executive report: DOMAIN.md section 8's five dashboard blocks, with charts and readings.

:func:`build_report` loads the export as of a date, forecasts the coming quarters (the same
:func:`~partner_forecast.forecast.prepare` / :func:`~partner_forecast.forecast.run` as the
``forecast`` command), and gathers every figure from the library's public functions:

1. **Partner revenue contribution**: fan chart of quarterly partner ARR (actuals from
   :func:`~partner_forecast.outcomes.realised`, P10-P90 and P50 of the forecast), next quarter's
   distribution with the target, ARR by partner type with marketplace as its own line, and the
   contribution trend (QoQ, YoY) from :func:`~partner_forecast.metrics.arr.core_arr_metrics`.
2. **Pipeline health**: coverage of the target by partner type
   (:func:`~partner_forecast.metrics.coverage.pipeline_coverage`) and the pipeline mix and growth
   (:func:`~partner_forecast.metrics.pipeline.pipeline_trend`).
3. **Forecast accuracy**: the variance waterfall of the last closed quarter
   (:func:`~partner_forecast.evaluate.variance.variance_review`), the P10-P90 band of its
   ledger forecasts over their run dates with the actual
   (:func:`~partner_forecast.evaluate.history.forecast_history`; and the current quarter's from
   two runs), backtest calibration when asked for
   (:func:`~partner_forecast.evaluate.backtest.backtest`), learned conversion curves vs the seed
   table.
4. **Partner productivity**: ASR per partner with intervals (paper partnerships marked), top 10
   partners by pipeline, win rate, deal size and ARR per active partner/seller by type.
5. **Ecosystem growth**: partners with their first pipeline, engaged sellers, marketplace and
   expansion ARR per quarter.

Plus scenario deltas (:mod:`partner_forecast.scenarios`) when scenario files are given. Every
chart carries a one-line reading computed from its numbers. Optional parts degrade to a sentence
saying why they are missing (a module not installed, a quarter with nothing to review, ...);
the report's meta (as-of, fingerprints, config, diagnostics, warnings) goes in its footer.
ARR is partner-attributed (DOMAIN.md section 4) unless a column says gross, currency per year.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from partner_forecast import __version__
from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.data.schema import OPEN_STAGES
from partner_forecast.errors import PartnerForecastError
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
from partner_forecast.metrics.cache import cached_metrics
from partner_forecast.reports import charts
from partner_forecast.reports.calls_block import call_items, variance_call_items

HISTORY_QUARTERS = 8
"""Complete quarters of history shown before the forecast (fan chart, ARR by type)."""
TREND_QUARTERS = 4
"""Quarters in the pipeline and ecosystem trends."""
ASR_INTERVAL = 0.8
"""Coverage of the ASR intervals (80%, like P10-P90)."""
TOP_PARTNERS = 10

Notify = Callable[[str], None]


# -- the report's content -----------------------------------------------------------------------
@dataclass
class Chart:
    """A chart, its one-line reading (computed from its numbers) and an optional method note.

    ``draw`` makes the figure for a :class:`~partner_forecast.reports.charts.Layout` (the wide
    desktop one or the narrow phone one); each is drawn once, on first use.
    """

    key: str
    title: str
    reading: str
    draw: Callable[[charts.Layout], Figure]
    note: str = ""
    _figures: dict[str, Figure] = field(default_factory=dict, repr=False)

    def figure_for(self, layout: charts.Layout) -> Figure:
        """The figure drawn for ``layout`` (cached)."""
        if layout.name not in self._figures:
            self._figures[layout.name] = self.draw(layout=layout)
        return self._figures[layout.name]

    @property
    def figure(self) -> Figure:
        """The wide (desktop, PDF) figure."""
        return self.figure_for(charts.WIDE)

    def close(self) -> None:
        """Release the figures drawn so far."""
        for fig in self._figures.values():
            fig.clear()
        self._figures.clear()


@dataclass
class Table:
    """A table shown under a block.

    ``formats`` maps columns to a kind of :func:`partner_forecast.reports.html.format_value`
    (money, pct, multiple, count, ...; the rest is inferred from the column's name);
    ``labels`` maps columns to their header in words (the rest come from
    :func:`partner_forecast.reports.labels.column_label`).
    """

    key: str
    title: str
    frame: pd.DataFrame
    formats: dict[str, str] = field(default_factory=dict)
    reading: str = ""
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class Note:
    """A sentence in place of a missing part (why it is missing, how to get it)."""

    text: str


Item = Chart | Table | Note


@dataclass
class Block:
    """One dashboard block: a title, what it shows, and its charts, tables and notes."""

    key: str
    title: str
    summary: str
    items: list[Item] = field(default_factory=list)

    def charts(self) -> list[Chart]:
        """The block's charts, in order."""
        return [i for i in self.items if isinstance(i, Chart)]


@dataclass
class ExecutiveReport:
    """The assembled report, ready for :func:`partner_forecast.reports.html.render_html`.

    Attributes
    ----------
    title : str
        Report title.
    headline : str
        The one sentence an executive reads first (next quarter's P50 and chance of target).
    blocks : list of Block
        The five dashboard blocks, then scenarios when given.
    meta : dict
        as-of, quarters, data and config (path and fingerprint), version, seed, draws, run id.
    diagnostics : pandas.DataFrame
        Model fit diagnostics (one row per model; empty without a forecast).
    warnings : list of str
        Fit, data-quality and review warnings.
    degraded : list of str
        Parts left out and why.
    """

    title: str
    headline: str
    blocks: list[Block]
    meta: dict[str, Any]
    diagnostics: pd.DataFrame
    warnings: list[str]
    degraded: list[str]

    def charts(self) -> list[Chart]:
        """Every chart, block by block."""
        return [c for b in self.blocks for c in b.charts()]

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by key (e.g. to write them as a workbook)."""
        return {i.key: i.frame for b in self.blocks for i in b.items if isinstance(i, Table)}

    def readings(self) -> dict[str, str]:
        """Each chart's reading by chart key."""
        return {c.key: c.reading for c in self.charts()}

    def close(self) -> None:
        """Release the charts' figures."""
        for c in self.charts():
            c.close()


# -- optional modules ---------------------------------------------------------------------------
def optional_attr(module: str, name: str) -> Any | None:
    """``module.name`` when the module imports and has it, else None."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return None
    return getattr(mod, name, None)


def model_summary(name: str) -> Any | None:
    """A summary function of the fitted models (``partner_forecast.posterior.summaries``), if offered."""
    return optional_attr("partner_forecast.posterior.summaries", name)


def _missing(what: str, exc: BaseException) -> str:
    return f"{what} is left out: {exc}"


# -- readings -----------------------------------------------------------------------------------
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


def asr_reading(asr: pd.DataFrame, target: float, quarter: str) -> str:
    """Median partner ASR, partners at target, paper partnerships."""
    if asr.empty:
        return f"No partner had sellers in {quarter}."
    at = int((asr["asr"] >= target).sum())
    paper = int(asr["paper"].sum())
    return (f"{quarter}: median partner ASR {pct(asr['asr'].median())} (target {pct(target)}); "
            f"{at} of {len(asr)} partners at or above target; {paper} paper "
            f"partnership{'s' if paper != 1 else ''} (sellers, nobody selling).")


def conversion_reading(curves: pd.DataFrame) -> str:
    """The largest gap between a learned rate and the seed table."""
    if curves.empty:
        return "No conversion curves."
    gap = (curves["learned_rate"] - curves["table_rate"]).abs()
    r = curves.loc[gap.idxmax()]
    return (f"Largest gap from the seed table: {r['partner_type']} at {r['stage']}, learned "
            f"{pct(r['learned_rate'])} vs seed {pct(r['table_rate'])} P(won); mean absolute gap "
            f"{100 * gap.mean():.0f} points.")


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


# -- helpers ------------------------------------------------------------------------------------
def _first_pipeline_partners(export: Export, quarters: Sequence[Quarter]) -> list[int]:
    """Partners whose first opportunity was created in each quarter (new partners generating pipeline).

    Not (yet) a function of :mod:`partner_forecast.metrics`: counted here from the export.
    """
    first = export.opportunities.groupby("partner_id")["created_on"].min()
    return [int(((first >= q.start) & (first < min(q.end, export.default_as_of))).sum())
            for q in quarters]


def _normalise_interval_frame(frame: pd.DataFrame, value: str, low: str, high: str) -> pd.DataFrame:
    """Rename a models-provided frame's point / interval columns to ``value``, ``low``, ``high``."""
    aliases = {value: (value, "posterior_mean", "p_won", "p50", "median", "mean"),
               low: (low, "p10", "lower", "low", "hdi_low", "p5"),
               high: (high, "p90", "upper", "high", "hdi_high", "p95")}
    out = frame.copy()
    for target, names in aliases.items():
        for name in names:
            if name in out.columns:
                out[target] = out[name]
                break
        else:
            out[target] = np.nan
    return out


def waterfall_steps(drivers: pd.DataFrame, forecast_mean: float, small: float = 0.01
                    ) -> list[tuple[str, float]]:
    """A variance review's driver lines as waterfall steps, forecast mean to actual.

    Parameters
    ----------
    drivers : pandas.DataFrame
        :attr:`VarianceResult.drivers <partner_forecast.evaluate.variance.VarianceResult>`
        (component, driver, value; the closing ``total`` row is left out).
    forecast_mean : float
        The forecast mean the waterfall starts from (currency per year).
    small : float
        Lines smaller than this share of the scale (the larger of the forecast mean and the
        largest line) are pooled into one ``other (small)`` step, so the steps still sum exactly.

    Returns
    -------
    list of (str, float)
        (label, ARR change) in the review's order.
    """
    lines = drivers[drivers["component"] != "total"]
    scale = max(abs(forecast_mean), float(lines["value"].abs().max()) if len(lines) else 0.0, 1.0)
    steps: list[tuple[str, float]] = []
    other = 0.0
    for r in lines.itertuples(index=False):
        if abs(r.value) < small * scale:
            other += float(r.value)
            continue
        prefix = {"open pipeline": "open", "new pipeline": "new"}.get(r.component, r.component)
        steps.append((f"{prefix}: {r.driver}", float(r.value)))
    if other != 0.0:
        steps.append(("other (small)", other))
    return steps


def _interval_mask(frame: pd.DataFrame) -> pd.Series:
    return frame["lower"].notna() & frame["upper"].notna()


# -- the builder --------------------------------------------------------------------------------
@dataclass
class _Inputs:
    settings: Settings
    export: Export  # the as-of view
    as_of: pd.Timestamp
    current: Quarter
    last_closed: Quarter
    history: list[Quarter]
    workspace: Path
    draws: int | None
    seed: int | None
    progress: bool
    notify: Notify
    degraded: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # extra footer meta from the blocks


def build_report(data: str | Path | Export, *, as_of: str | pd.Timestamp | None = None,
                 quarter: str | Quarter | None = None, horizon: int = 4,
                 scenario_files: Sequence[str | Path] = (), backtest_quarters: int = 0,
                 config: str | Path | Settings | None = None, workspace: str | Path | None = None,
                 draws: int | None = None, seed: int | None = None, record: bool = True,
                 progress: bool = False, notify: Notify | None = None,
                 history_quarters: int = HISTORY_QUARTERS, variance: bool = True) -> ExecutiveReport:
    """Gather the executive report: forecast, the five dashboard blocks, scenarios, meta.

    Parameters
    ----------
    data : path or Export
        Export folder (the data contract) or a loaded export.
    as_of : date, optional
        View the data as it stood on this date (default: the day after its latest date).
    quarter : str, optional
        First forecast quarter (default: the one containing as-of).
    horizon : int
        Forecast quarters shown in the fan chart (1-8).
    scenario_files : sequence of path
        Scenario TOML files compared with the baseline (read and checked before any fit).
    backtest_quarters : int
        Run a rolling-origin backtest of this many past quarters for the calibration chart
        (0: none; each quarter is one more fit).
    config : path or Settings, optional
        Configuration merged over the defaults.
    workspace : path, optional
        Cached fits and the forecast ledger (default ``.partner_forecast``).
    draws, seed : int, optional
        Monte Carlo draws and seed (defaults from ``[simulation]``).
    record : bool
        Record the forecast in the ledger (scenario runs are never recorded by the report).
    progress : bool
        Progress bars on stderr.
    notify : callable, optional
        Receives progress notes (default: stderr).
    history_quarters : int
        Complete quarters of history in the revenue charts.
    variance : bool
        Review the last closed quarter (the variance block). It reuses the ledger's forecast
        of that quarter made on or before its start; without one it forecasts as of the
        quarter's start, which fits the models on that data unless cached (said beforehand).

    Returns
    -------
    ExecutiveReport
    """
    from partner_forecast.forecast import DEFAULT_WORKSPACE, load_inputs

    say = notify or (lambda msg: print(msg, file=sys.stderr, flush=True))
    settings, export = load_inputs(data, config)
    cut = export.default_as_of if as_of is None else pd.Timestamp(as_of).normalize()
    view = export.as_of(cut) if as_of is not None else export
    fym = settings.calendar.fiscal_year_start_month
    current = Quarter.containing(cut, fym)
    scenarios = _read_scenarios(scenario_files)  # bad files fail before any fit
    first_data = _first_data_quarter(view, fym)
    last_closed = current - 1
    history = [q for q in (last_closed - i for i in range(history_quarters - 1, -1, -1))
               if first_data is not None and q >= first_data]
    inp = _Inputs(settings=settings, export=view, as_of=cut, current=current,
                  last_closed=last_closed, history=history,
                  workspace=Path(workspace) if workspace is not None else DEFAULT_WORKSPACE,
                  draws=draws, seed=seed, progress=progress, notify=say)

    context, result = _forecast(inp, quarter, horizon, record)
    first_quarter = (result.quarters[0] if result is not None else
                     (Quarter.parse(str(quarter), fym) if quarter is not None else current))
    with cached_metrics():  # the blocks share seller-quarter activity and open pipelines
        core = {str(q): _core_metrics(inp, q) for q in _with_year_before(history)}
        blocks = [
            _revenue_block(inp, result, core),
            _pipeline_block(inp, first_quarter),
            _accuracy_block(inp, context, backtest_quarters, variance),
            _productivity_block(inp, context),
            _growth_block(inp),
            _quality_block(inp),
        ]
    if scenario_files:
        blocks.append(_scenario_block(inp, context, scenarios))

    meta: dict[str, Any] = {"as_of": cut.date().isoformat(), "data": view.source,
                            "data_fingerprint": view.fingerprint, "config": settings.source,
                            "config_fingerprint": settings.fingerprint, "version": __version__}
    diagnostics = pd.DataFrame()
    if result is not None:
        for key in ("quarters", "draws", "seed", "run_id", "diagnostics_ok", "fit_notes"):
            if key in result.meta:
                meta[key] = result.meta[key]
        diagnostics = pd.DataFrame(result.meta.get("diagnostics", []))
        inp.warnings[:0] = [str(w) for w in result.meta.get("warnings", [])]
    else:
        meta["quarters"] = [str(first_quarter + i) for i in range(horizon)]
    if view.warnings:
        shown = [str(w) for w in view.warnings[:10]]
        more = len(view.warnings) - len(shown)
        inp.warnings += [f"data quality: {w}" for w in shown]
        if more:
            inp.warnings.append(f"data quality: ... and {more} more (see `partner-forecast validate`)")
    meta["scenario_files"] = [str(f) for f in scenario_files]
    meta["backtest_quarters"] = backtest_quarters
    meta["variance"] = variance
    meta.update(inp.facts)
    headline = _headline(result, inp)
    title = f"Partner revenue forecast {first_quarter}" + (
        f"-{first_quarter + (horizon - 1)}" if horizon > 1 else "")
    return ExecutiveReport(title=title, headline=headline, blocks=blocks, meta=meta,
                           diagnostics=diagnostics, warnings=inp.warnings, degraded=inp.degraded)


def _read_scenarios(files: Sequence[str | Path]) -> list[Any] | None:
    if not files:
        return []
    load = optional_attr("partner_forecast.scenarios", "load_scenario_files")
    if load is None:
        return None
    return list(load([Path(f) for f in files]))


def _first_data_quarter(export: Export, fym: int) -> Quarter | None:
    dates = pd.concat([export.opportunities["created_on"], export.activities["occurred_on"]]).dropna()
    return Quarter.containing(dates.min(), fym) if len(dates) else None


def _with_year_before(quarters: list[Quarter]) -> list[Quarter]:
    if not quarters:
        return []
    return [quarters[0] - i for i in range(4, 0, -1)] + quarters


def _core_metrics(inp: _Inputs, q: Quarter) -> pd.Series:
    from partner_forecast.metrics.arr import core_arr_metrics

    return core_arr_metrics(inp.export, inp.settings, q).iloc[0]


def _forecast(inp: _Inputs, quarter: str | Quarter | None, horizon: int, record: bool
              ) -> tuple[Any, Any]:
    """The forecast context and result (None, None when the models are not available)."""
    from partner_forecast.evaluate.fit_cost import fit_announcement
    from partner_forecast.forecast import prepare, run

    fitting = fit_announcement(inp.export, inp.settings, inp.workspace, inp.as_of)
    if fitting is not None:
        inp.notify(f"forecast: no saved fits in {inp.workspace} for the data as of "
                   f"{inp.as_of.date()}: {fitting}")
    try:
        context = prepare(inp.export, as_of=inp.as_of, quarter=quarter, horizon=horizon,
                          draws=inp.draws, seed=inp.seed, config=inp.settings,
                          workspace=inp.workspace, progress=inp.progress)
    except ImportError as exc:
        inp.degraded.append(_missing("The forecast (fan chart, distribution, model-based curves)", exc))
        return None, None
    return context, run(context, record=record, progress=inp.progress)


def _headline(result: Any, inp: _Inputs) -> str:
    if result is None:
        return ("No forecast: the fitted models are not available in this installation; the "
                "dashboard shows the history only.")
    q = str(result.quarters[0])
    draws = result.draws("attributed")[:, 0, :].sum(axis=1)
    p10, p50, p90 = np.quantile(draws, (0.1, 0.5, 0.9))
    target, p_at = _target(result, q)
    return "Partner-attributed ARR " + distribution_reading(p10, p50, p90, target, p_at, q)


def _target(result: Any, quarter: str) -> tuple[float | None, float | None]:
    t = result.targets
    if t is None or t.empty:
        return None, None
    rows = t[(t["quarter"] == quarter) & (t["segment"] == "total")]
    if rows.empty:
        return None, None
    return float(rows["arr_target"].iloc[0]), float(rows["p_at_least_target"].iloc[0])


# -- block 1 ------------------------------------------------------------------------------------
ROLES = ("sourced", "co_sell", "influenced")


def _won(inp: _Inputs, quarters: Sequence[Quarter]) -> dict[str, dict[str, pd.DataFrame]]:
    """ARR won per quarter by partner type and by partner role (:func:`outcomes.realised`)."""
    from partner_forecast.outcomes import realised

    return {str(q): {by: realised(inp.export, inp.settings, q, by=by)
                     for by in ("partner_type", "partner_role")} for q in quarters}


def _total(won: pd.DataFrame, column: str = "attributed_arr") -> float:
    return float(won.loc[won["segment"] == "total", column].iloc[0])


def _segment(won: pd.DataFrame, segment: str, column: str = "attributed_arr") -> float:
    rows = won.loc[won["segment"] == segment, column]
    return float(rows.iloc[0]) if len(rows) else 0.0


def outcome_split(result: Any) -> pd.DataFrame:
    """Per forecast quarter, the mean partner-attributed ARR split by where it comes from.

    won_to_date (ARR already won in the first quarter before as-of), committed and upside of
    the open pipeline (the confidence-score commit rule, DOMAIN.md section 6), new_pipeline
    (deals not created yet); they sum to the forecast mean. p10, p90: of the total.
    """
    q = result.quantiles
    q = q[q["segment"] == "total"]
    rows = []
    for quarter in [str(x) for x in result.quarters]:
        stats = q[q["quarter"] == quarter].set_index("measure")

        def mean(measure: str, stats: pd.DataFrame = stats) -> float:
            return float(stats.loc[measure, "mean"]) if measure in stats.index else 0.0

        rows.append({"quarter": quarter, "won_to_date": mean("won_to_date"),
                     "committed": mean("committed"), "upside": mean("upside"),
                     "new_pipeline": mean("attributed_new"), "mean": mean("attributed"),
                     "p10": float(stats.loc["attributed", "p10"]),
                     "p90": float(stats.loc["attributed", "p90"])})
    return pd.DataFrame(rows)


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


def _revenue_block(inp: _Inputs, result: Any, core: dict[str, pd.Series]) -> Block:
    block = Block("revenue", "1. Partner revenue contribution",
                  "Partner-attributed ARR won per quarter and its forecast, committed vs upside, the "
                  "share of company ARR from partners, ARR by partner type with marketplace ARR as its "
                  "own line. Attributed ARR: each deal's ARR times its partner role's weight.")
    won = _won(inp, _with_year_before(inp.history))
    history = pd.DataFrame({"quarter": [str(q) for q in inp.history],
                            "actual": [_total(won[str(q)]["partner_type"]) for q in inp.history]})
    if result is not None:
        q = result.quantiles
        fc = q[(q["measure"] == "attributed") & (q["segment"] == "total")]
        fc = fc.set_index("quarter").reindex([str(x) for x in result.quarters]).reset_index()
        targets = result.targets[result.targets["segment"] == "total"] if not result.targets.empty \
            else None
        join = bool(inp.history) and result.quarters[0] == inp.history[-1] + 1
        block.items.append(Chart("fan", "Quarterly partner ARR (attributed): actuals and forecast",
                                 fan_reading(history, fc),
                                 partial(charts.fan_chart, history, fc, targets, join)))
        first = str(result.quarters[0])
        draws = result.draws("attributed")[:, 0, :].sum(axis=1)
        p10, p50, p90 = np.quantile(draws, (0.1, 0.5, 0.9))
        target, p_at = _target(result, first)
        block.items.append(Chart("distribution", f"{first}: distribution of partner ARR (attributed)",
                                 distribution_reading(p10, p50, p90, target, p_at, first),
                                 partial(charts.distribution_chart, draws, first, target, p_at,
                                         (p10, p50, p90))))
        block.items += call_items(inp.export, inp.settings, result, inp.as_of)
        split = outcome_split(result)
        block.items.append(Chart(
            "committed", "Committed vs upside by forecast quarter (attributed ARR, means)",
            split_reading(split), partial(charts.outcome_split_chart, split),
            "Committed: won ARR of today's open deals counted by the commit rule (confidence score "
            "above 70 in full, 40-70 at 75%, below 40 not at all; DOMAIN.md section 6); upside: the "
            "rest of their won ARR; new pipeline: deals created after the as-of date. Whisker: "
            "P10-P90 of the quarter's total."))
    else:
        block.items.append(Note("No forecast in this report (see the footer): the fan chart and "
                                "next quarter's distribution need the fitted models."))
    if inp.history:
        wide = pd.DataFrame({str(q): won[str(q)]["partner_type"].pipe(
            lambda w: w[w["segment"] != "total"].set_index("segment")["attributed_arr"])
            for q in inp.history}).T.fillna(0.0)
        wide = wide[wide.sum().sort_values(ascending=False).index] if len(wide.columns) else wide
        market = pd.Series({str(q): _total(won[str(q)]["partner_type"], "marketplace_arr")
                            for q in inp.history})
        last = inp.history[-1]
        m = core[str(last)]
        top = wide.loc[str(last)].sort_values(ascending=False) if len(wide.columns) else pd.Series()
        reading = (f"{last}: partner ARR {money(m['partner_arr'])}"
                   + (f", {pct(m['contribution_pct'])} of company ARR" if np.isfinite(m["contribution_pct"])
                      else "") + ", "
                   + f"{signed_pct(change(m['partner_arr'], core[str(last - 1)]['partner_arr']))} QoQ, "
                   + f"{signed_pct(change(m['partner_arr'], core[str(last - 4)]['partner_arr']))} YoY")
        if len(top) and top.iloc[0] > 0:
            reading += (f"; largest type {top.index[0]} ({money(top.iloc[0])}, "
                        f"{pct(top.iloc[0] / max(top.sum(), 1e-9))})")
        reading += f"; marketplace {money(market.iloc[-1])}."
        block.items.append(Chart("arr_by_type", "Partner ARR by partner type, marketplace line "
                                 "(attributed ARR)", reading,
                                 partial(charts.arr_by_type_chart, wide, market)))
        rows = []
        for q in inp.history:
            m = core[str(q)]
            by_role = won[str(q)]["partner_role"]
            rows.append({"quarter": str(q), "partner_arr": m["partner_arr"],
                         "qoq": change(m["partner_arr"], core[str(q - 1)]["partner_arr"]),
                         "yoy": change(m["partner_arr"], core[str(q - 4)]["partner_arr"]),
                         "total_arr": m["total_arr"], "contribution_pct": m["contribution_pct"],
                         **{f"{role}_arr": _segment(by_role, role) for role in ROLES},
                         "marketplace_arr": _total(by_role, "marketplace_arr"),
                         "expansion_arr": _total(by_role, "expansion_arr")})
        block.items.append(Table(
            "contribution", "Partner ARR contribution by quarter (attributed ARR; company ARR as "
            "reported)", pd.DataFrame(rows),
            {"partner_arr": "money", "qoq": "signed_pct", "yoy": "signed_pct", "total_arr": "money",
             "contribution_pct": "pct", "sourced_arr": "money", "co_sell_arr": "money",
             "influenced_arr": "money", "marketplace_arr": "money", "expansion_arr": "money"},
            labels={"partner_arr": "Partner ARR", "total_arr": "Company ARR",
                    "contribution_pct": "Share of company ARR", "sourced_arr": "Sourced",
                    "co_sell_arr": "Co-sell", "influenced_arr": "Influenced",
                    "marketplace_arr": "Marketplace", "expansion_arr": "Expansion"}))
    else:
        block.items.append(Note("No complete quarter of history before the as-of date."))
    return block


# -- block 2 ------------------------------------------------------------------------------------
def attributed_coverage(cov: pd.DataFrame) -> pd.DataFrame:
    """Coverage rows on one ARR basis: partner-attributed open pipeline / partner ARR target.

    The targets are partner-attributed ARR (the forecast's P(>= target) compares attributed
    ARR with them), so the pipeline they are measured against is attributed too (DOMAIN.md
    section 5); the gross pipeline stays beside it in the table, labelled.

    Parameters
    ----------
    cov : pandas.DataFrame
        :func:`partner_forecast.metrics.coverage.pipeline_coverage` rows.

    Returns
    -------
    pandas.DataFrame
        partner_type, deals, pipeline_arr (attributed), gross_pipeline_arr, target_arr,
        coverage, required_coverage, pipeline_gap_arr (attributed pipeline still needed to reach
        the required multiple, >= 0).
    """
    target = cov["target_arr"].to_numpy(dtype=float)
    pipe = cov["pipeline_arr"].to_numpy(dtype=float)  # attributed, expected in the quarter
    required = cov["required_coverage"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = np.where(target > 0, pipe / target, np.nan)
    gap = np.where(np.isfinite(target), np.clip(required * target - pipe, 0, None), np.nan)
    return pd.DataFrame({"partner_type": cov["partner_type"].astype(str).to_numpy(),
                         "deals": cov["deals"].to_numpy(), "pipeline_arr": pipe,
                         "gross_pipeline_arr": cov["gross_pipeline_arr"].to_numpy(dtype=float),
                         "target_arr": target, "coverage": coverage, "required_coverage": required,
                         "pipeline_gap_arr": gap})


def _pipeline_block(inp: _Inputs, quarter: Quarter) -> Block:
    from partner_forecast.metrics.coverage import pipeline_coverage
    from partner_forecast.metrics.pipeline import pipeline_trend

    block = Block("pipeline", "2. Pipeline health",
                  "Open partner pipeline against the quarter's partner ARR target by partner type "
                  "(attributed ARR), the sourced / co-sell / influenced split and quarter-on-quarter "
                  "growth (gross ARR: the deals' full ARR).")
    raw = pipeline_coverage(inp.export, inp.settings, quarter)
    cov = attributed_coverage(raw)
    with_target = cov[cov["coverage"].notna()]  # "all" first, then the types with a target
    if len(with_target):
        draw = partial(charts.coverage_chart, with_target)
    else:
        draw = partial(charts.pipeline_bars, cov[cov["partner_type"] != "all"])
    block.items.append(Chart("coverage", f"{quarter}: pipeline coverage of the partner ARR target by "
                             "partner type (attributed ARR)", coverage_reading(cov, str(quarter)), draw,
                             "Coverage: partner-attributed open pipeline / partner ARR target." if
                             len(with_target) else "No targets: attributed open pipeline by type shown."))
    last = Quarter.containing(inp.as_of - pd.Timedelta(days=1), inp.settings.calendar.fiscal_year_start_month)
    trend = pipeline_trend(inp.export, inp.settings, [last - i for i in range(TREND_QUARTERS - 1, -1, -1)])
    block.items.append(Chart("pipeline_mix", "Open partner pipeline by role and QoQ growth (gross ARR)",
                             pipeline_reading(trend), partial(charts.pipeline_mix_chart, trend)))
    block.items.append(Table(
        "coverage_by_type", f"{quarter}: coverage by partner type (attributed ARR; pipeline at "
        f"{pd.Timestamp(raw['snapshot'].iloc[0]).date()}, gross beside it)", cov,
        {"deals": "count", "pipeline_arr": "money", "gross_pipeline_arr": "money",
         "target_arr": "money", "coverage": "multiple", "required_coverage": "multiple",
         "pipeline_gap_arr": "money"},
        labels={"deals": "Open deals", "pipeline_arr": "Pipeline (attributed)",
                "gross_pipeline_arr": "Pipeline (gross)", "target_arr": "Partner ARR target",
                "required_coverage": "Required", "pipeline_gap_arr": "Pipeline gap (attributed)"}))
    block.items.append(Table(
        "pipeline_trend", "Pipeline trend (gross ARR)",
        trend[["quarter", "pipeline_arr", "sourced_pipeline_arr", "co_sell_pipeline_arr",
               "influenced_pipeline_arr", "sourced_ratio", "influence_rate", "pipeline_growth_qoq"]],
        {"pipeline_arr": "money", "sourced_pipeline_arr": "money", "influenced_pipeline_arr": "money",
         "co_sell_pipeline_arr": "money", "sourced_ratio": "pct", "influence_rate": "pct",
         "pipeline_growth_qoq": "signed_pct"},
        labels={"pipeline_arr": "Open pipeline", "sourced_pipeline_arr": "Sourced",
                "co_sell_pipeline_arr": "Co-sell", "influenced_pipeline_arr": "Influenced",
                "sourced_ratio": "Sourced share", "influence_rate": "Influence rate",
                "pipeline_growth_qoq": "QoQ growth"}))
    return block


# -- block 3 ------------------------------------------------------------------------------------
def _accuracy_block(inp: _Inputs, context: Any, backtest_quarters: int, variance: bool) -> Block:
    block = Block("accuracy", "3. Forecast accuracy",
                  "Forecast vs actual for the last closed quarter and where it missed (variance "
                  "review), how its forecast moved over the ledger's runs (history), the current "
                  "quarter's ARR won so far against the path its forecast expected (pacing), "
                  "calibration "
                  "over past quarters (backtest), conversion by partner type: model vs the seed "
                  "table. Attributed ARR throughout.")
    if variance:
        _variance_items(inp, block)
    else:
        inp.facts["variance_forecast"] = "skipped (--no-variance)"
        block.items.append(Note(f"Skipped: the variance review of {inp.last_closed} (--no-variance). "
                                "Run the report without --no-variance to include it, or review "
                                "the quarter alone with: partner-forecast variance DATA --quarter "
                                f"{inp.last_closed}."))
    _history_items(inp, block)
    _pacing_items(inp, block)
    if backtest_quarters > 0:
        _backtest_items(inp, block, backtest_quarters)
    else:
        block.items.append(Note("Skipped: backtest calibration (PIT, P10-P90 coverage; "
                                "--no-backtest, the default). Add --backtest-quarters K to "
                                "forecast the last K quarters from their start and score them "
                                "(one fit of the models per quarter), or run: partner-forecast "
                                "backtest DATA --quarters K."))
    _conversion_items(inp, block, context)
    return block


def _variance_items(inp: _Inputs, block: Block) -> None:
    quarter = inp.last_closed
    try:
        from partner_forecast.evaluate.variance import variance_review

        review = variance_review(inp.export, quarter, config=inp.settings, workspace=inp.workspace,
                                 draws=inp.draws, seed=inp.seed, progress=inp.progress,
                                 notify=inp.notify,
                                 fit_hint="--no-variance leaves the review out")
    except (ImportError, PartnerForecastError) as exc:
        text = _missing(f"The variance review of {quarter}", exc)
        inp.degraded.append(text)
        block.items.append(Note(text))
        return
    inp.warnings += [f"variance {quarter}: {w}" for w in review.meta.get("warnings", [])]
    inp.facts["variance_forecast"] = review.source
    fva = review.forecast_vs_actual.set_index("segment").loc["total"]
    steps = waterfall_steps(review.drivers, float(fva["mean"]))
    block.items.append(Chart(
        "waterfall", f"{quarter}: variance waterfall, forecast mean to actual (attributed ARR)",
        waterfall_reading(fva, steps, str(quarter)),
        partial(charts.waterfall_chart, "forecast mean", float(fva["mean"]), steps, "actual",
                float(fva["actual"])),
        f"Forecast: {review.source}"
        + (" (by this report: the ledger had none)." if review.created else ".")))
    block.items += variance_call_items(review)
    block.items.append(Table(
        "variance_drivers", f"{quarter}: drivers of actual minus forecast mean (attributed ARR)",
        review.drivers[["component", "driver", "description", "value"]], {"value": "signed_money"},
        labels={"value": "Change"}))
    block.items.append(Table(
        "conversion_by_type", f"{quarter}: conversion by partner type, model vs actual vs seed table "
        "(attributed ARR)", review.conversion_by_type,
        {"deals": "count", "expected_wins": "decimal", "actual_wins": "count", "model_rate": "pct",
         "actual_rate": "pct", "stage_table_rate": "pct", "expected_arr": "money",
         "actual_arr": "money"},
        labels={"expected_arr": "Expected ARR", "actual_arr": "Actual ARR",
                "stage_table_rate": "Seed table rate"}))
    misses = review.largest_misses.groupby("kind", sort=False).head(5)
    block.items.append(Table(
        "largest_misses", f"{quarter}: largest misses (most-expected deals not won, largest "
        "unexpected wins; attributed ARR)", misses,
        {"p_won": "pct", "value": "money", "contribution": "signed_money"},
        labels={"p_won": "P(won)", "value": "ARR", "contribution": "Effect on the miss",
                "missing_fields": "Missing audit fields"}))


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


def _history_items(inp: _Inputs, block: Block) -> None:
    """Forecast-history charts: the last closed quarter's, and the current one's from two runs.

    Read from the ledger only (no fit): the last closed quarter with its actual, the current
    quarter when the ledger holds forecasts of it as of two dates or more.
    """
    from partner_forecast.evaluate.history import forecast_history

    for quarter, least in ((inp.last_closed, 1), (inp.current, 2)):
        try:
            hist = forecast_history(inp.export, quarter, workspace=inp.workspace,
                                    config=inp.settings)
        except PartnerForecastError:
            if least == 1:
                block.items.append(Note(f"No forecast history of {quarter}: the ledger at "
                                        f"{inp.workspace} holds no forecast of it."))
            continue
        runs = hist.runs[hist.runs["segment"] == "total"]
        if runs["as_of"].nunique() < least:  # the current quarter: from two run dates on
            continue
        actual = hist.meta.get("actual_total")
        target = runs["arr_target"].dropna()
        block.items.append(Chart(
            f"history_{quarter}", f"{quarter}: the forecast over its run dates, P10-P90 and P50 "
            "(attributed ARR)" + (" with the actual" if actual is not None else ""),
            history_reading(runs, str(quarter), actual),
            partial(charts.history_band_chart, runs, actual,
                    float(target.iloc[-1]) if len(target) else None),
            "Every forecast of the quarter in the ledger (scenarios left out), at its as-of date; "
            f"what moved between runs: partner-forecast history DATA --quarter {quarter}."))


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


def _pacing_items(inp: _Inputs, block: Block) -> None:
    """The current quarter's pacing chart, from the ledger only (no fit, no simulation)."""
    from partner_forecast.evaluate.pacing import pacing

    q = inp.current
    if inp.as_of <= q.start:
        return
    try:
        result = pacing(inp.export, q, as_of=inp.as_of, workspace=inp.workspace,
                        config=inp.settings, forecast_missing=False)
    except PartnerForecastError:
        block.items.append(Note(f"No pacing of {q}: the ledger at {inp.workspace} holds no "
                                f"forecast of it made on or before its start; run: "
                                f"partner-forecast pacing DATA --quarter {q}."))
        return
    row = result.summary.iloc[0]
    target = float(row["arr_target"]) if np.isfinite(row["arr_target"]) else None
    block.items.append(Chart(
        f"pacing_{q}", f"{q}: partner ARR won so far against the forecast's expected path "
        "(attributed, cumulative)", pacing_reading(row),
        partial(charts.pacing_chart, result.daily, int(row["day"]), target),
        f"Expected path: forecast {row['baseline_run']} as of {row['baseline_as_of']} "
        f"(every draw's simulated close dates); P(>= target): won to date plus the rest of "
        f"the quarter from the forecast as of {row['as_of']}. Table: partner-forecast pacing "
        f"DATA --quarter {q}."))


def _backtest_items(inp: _Inputs, block: Block, k: int) -> None:
    try:
        from partner_forecast.evaluate.backtest import backtest
        from partner_forecast.evaluate.scoring import MODEL

        result = backtest(inp.export, quarters=k, draws=inp.draws, seed=inp.seed, config=inp.settings,
                          workspace=inp.workspace, progress=inp.notify if inp.progress else False,
                          fit_hint="--no-backtest leaves the backtest out")
    except (ImportError, PartnerForecastError) as exc:
        text = _missing("Backtest calibration", exc)
        inp.degraded.append(text)
        block.items.append(Note(text))
        return
    inp.warnings += [f"backtest: {w}" for w in result.meta.get("warnings", [])]
    pq = result.per_quarter
    model_rows = pq[(pq["method"] == MODEL) & (pq["segment"] == "total") & (pq["lead"] == 1)]
    summary = result.summary[(result.summary["segment"] == "total") & (result.summary["lead"] == 1)]
    if model_rows.empty or summary.empty:
        block.items.append(Note(f"Backtest of {k} quarter(s): no complete quarter to score."))
        return
    model = summary[summary["method"] == MODEL].iloc[0]
    baselines = summary[(summary["method"] != MODEL) & summary["crps_vs_model"].notna()]
    best = baselines.loc[baselines["crps_vs_model"].idxmin()] if len(baselines) else None
    draw = partial(charts.backtest_chart, model_rows, model_rows["pit"].to_numpy(dtype=float),
                   summary[summary["method"] == MODEL].assign(method="model"),
                   float(result.meta.get("coverage_target", 0.8)))
    block.items.append(Chart("backtest", f"Backtest calibration over {len(model_rows)} quarter(s) "
                             "(attributed ARR)", backtest_reading(model, best, len(model_rows)), draw))
    block.items.append(Table(
        "backtest_summary", "Backtest scores, model vs baselines (first quarter of each fold; "
        "attributed ARR)",
        summary[["method", "folds", "crps", "crps_vs_model", "coverage", "bias", "mape_p50"]],
        {"folds": "count", "crps": "money", "crps_vs_model": "ratio", "coverage": "pct",
         "bias": "signed_money", "mape_p50": "pct"},
        labels={"crps": "CRPS", "crps_vs_model": "CRPS / model's", "coverage": "P10-P90 coverage",
                "mape_p50": "MAPE of P50"}))


def _conversion_items(inp: _Inputs, block: Block, context: Any) -> None:
    from partner_forecast.metrics.stage_forecast import learned_conversion_table

    present = set(inp.export.partners["partner_type"].dropna().astype(str))
    hook = model_summary("conversion_curves")
    curves = None
    note = ""
    if hook is not None and context is not None:
        curves = _normalise_interval_frame(hook(context.fits, inp.export, inp.settings),
                                           "learned_rate", "learned_low", "learned_high")
        curves["table_rate"] = [inp.settings.conversion_probability(str(t), str(s)) for t, s in
                                zip(curves["partner_type"], curves["stage"], strict=True)]
        note = ("Learned: the conversion model's P(won | stage), posterior mean with its P10-P90 "
                "band (averaged over each type's deals, partner effects and stage durations).")
    if curves is None:
        table = learned_conversion_table(inp.export, inp.settings)
        curves = table[table["partner_type"].isin(present)].assign(learned_low=np.nan, learned_high=np.nan)
        note = ("Learned: share of closed deals won from each stage, shrunk toward the seed table "
                "(metrics.stage_forecast); the models offer no conversion_curves(fits, export) "
                "with posterior intervals" + ("" if context is not None else " (no forecast)") + ".")
    curves = curves[curves["partner_type"].isin(present)] if present else curves
    block.items.append(Chart("conversion", "Conversion curves: P(won | stage), learned vs seed table",
                             conversion_reading(curves),
                             partial(charts.conversion_chart, curves, OPEN_STAGES), note))


# -- block 4 ------------------------------------------------------------------------------------
def _productivity_block(inp: _Inputs, context: Any) -> Block:
    from partner_forecast.metrics.activation import paper_partnerships
    from partner_forecast.metrics.arr import core_arr_metrics
    from partner_forecast.metrics.asr import partner_quarter_activation
    from partner_forecast.metrics.confidence import partner_win_rates
    from partner_forecast.metrics.pipeline import open_pipeline
    from partner_forecast.metrics.production import production_from_history
    from partner_forecast.metrics.segments import by_segment

    q = inp.last_closed
    s = inp.settings
    block = Block("productivity", "4. Partner productivity",
                  f"Active Seller Rate per partner in {q} (paper partnerships marked), the top "
                  f"{TOP_PARTNERS} partners by open pipeline, and win rate, deal size and ARR per "
                  "active partner and seller by partner type.")
    fym = s.calendar.fiscal_year_start_month
    pq = partner_quarter_activation(inp.export, [q], fym)
    pq = pq[pq["pool"] > 0]
    paper = paper_partnerships(inp.export, s, q).set_index("partner_id")["paper_partnership"]
    asr = pd.DataFrame({"partner_id": pq["partner_id"].astype(str).to_numpy(),
                        "pool": pq["pool"].to_numpy(), "active": pq["active"].to_numpy(),
                        "asr": pq["asr"].to_numpy(dtype=float)})
    asr["paper"] = asr["partner_id"].map(paper).fillna(False).astype(bool).to_numpy()
    asr, note = _asr_intervals(inp, context, asr)
    block.items.append(Chart("asr", f"{q}: Active Seller Rate per partner", asr_reading(
        asr, s.activation.asr_target, str(q)),
        partial(charts.asr_caterpillar, asr, s.activation.asr_target), note))

    pipe = open_pipeline(inp.export, s)
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
    block.items.append(Table(
        "top_partners", f"Top {TOP_PARTNERS} partners by open pipeline (attributed ARR; win rate on "
        "deals closed so far)",
        top, {"deals": "count", "pipeline_arr": "money", "closed_deals": "count", "win_rate": "pct",
              "asr": "pct"},
        labels={"partner_id": "Partner", "partner_name": "Name", "deals": "Open deals",
                "pipeline_arr": "Open pipeline", "asr": f"ASR {q}"}))

    def per_type(e: Export) -> pd.DataFrame:
        arr = core_arr_metrics(e, s, q)[["partner_arr", "active_partners", "active_sellers",
                                         "arr_per_active_partner", "arr_per_active_seller"]]
        prod = production_from_history(e, s, q)
        prod = prod[prod["partner_id"] == "all"][["win_rate", "avg_deal_size"]].reset_index(drop=True)
        return pd.concat([arr.reset_index(drop=True), prod], axis=1)

    by_type = by_segment(inp.export, "partner_type", per_type)
    overall = per_type(inp.export).assign(partner_type="all")
    by_type = pd.concat([by_type, overall[by_type.columns]], ignore_index=True)
    typed = by_type[by_type["partner_type"] != "all"]
    reading = (f"{q}: partner ARR per active seller {money(overall['arr_per_active_seller'].iloc[0])}, per "
               f"active partner {money(overall['arr_per_active_partner'].iloc[0])}")
    if typed["win_rate"].notna().any():
        best = typed.loc[typed["win_rate"].idxmax()]
        reading += f"; highest win rate {best['partner_type']} {pct(best['win_rate'])}"
    if typed["avg_deal_size"].notna().any():
        big = typed.loc[typed["avg_deal_size"].idxmax()]
        reading += f"; largest deals {big['partner_type']} {money(big['avg_deal_size'])}"
    block.items.append(Table(
        "productivity_by_type", f"{q}: productivity by partner type (attributed ARR; win rate and "
        "deal size: partner-sourced deals over the last four quarters, where attributed = gross)",
        by_type,
        {"partner_arr": "money", "active_partners": "count", "active_sellers": "count",
         "arr_per_active_partner": "money", "arr_per_active_seller": "money", "win_rate": "pct",
         "avg_deal_size": "money"}, reading + ".",
        labels={"partner_arr": "Partner ARR", "arr_per_active_partner": "ARR per active partner",
                "arr_per_active_seller": "ARR per active seller",
                "avg_deal_size": "Average deal size"}))
    return block


def _asr_intervals(inp: _Inputs, context: Any, asr: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """ASR intervals: the activation model's posterior when offered, else Wilson intervals."""
    from partner_forecast.evaluate.scores import wilson_interval

    hook = model_summary("posterior_activation")
    if hook is not None and context is not None:
        post = _normalise_interval_frame(hook(context.fits, inp.export), "asr_post", "lower", "upper")
        post = post.assign(partner_id=post["partner_id"].astype(str)).set_index("partner_id")
        out = asr.assign(observed=asr["asr"],
                         asr=asr["partner_id"].map(post["asr_post"]).to_numpy(dtype=float),
                         lower=asr["partner_id"].map(post["lower"]).to_numpy(dtype=float),
                         upper=asr["partner_id"].map(post["upper"]).to_numpy(dtype=float))
        quarters = set(post["quarter"].dropna().astype(str)) if "quarter" in post else set()
        if _interval_mask(out).all() and quarters <= {str(inp.last_closed)}:
            return out, ("Dots and bars: the activation model's posterior ASR (mean, P10-P90), shrunk "
                         "toward the partner's type and tier; crosses: observed ASR; red: paper "
                         f"partnerships ({inp.settings.activation.paper_partnership_quarters}+ "
                         "quarters with sellers and nobody active).")
    bounds = [wilson_interval(int(a), int(n), ASR_INTERVAL) for a, n in zip(asr["active"], asr["pool"],
                                                                              strict=True)]
    out = asr.assign(lower=[b[0] for b in bounds], upper=[b[1] for b in bounds])
    return out, (f"Observed ASR with {ASR_INTERVAL:.0%} Wilson intervals (the models offer no "
                 "posterior_activation(fits, export)); red: paper partnerships "
                 f"({inp.settings.activation.paper_partnership_quarters}+ quarters with sellers and "
                 "nobody active).")


# -- block 5 ------------------------------------------------------------------------------------
def _growth_block(inp: _Inputs) -> Block:
    from partner_forecast.metrics.scorecard import activation_trend
    from partner_forecast.outcomes import realised

    block = Block("growth", "5. Ecosystem growth",
                  "New partners generating pipeline, seller engagement, marketplace and expansion ARR "
                  "(attributed) per quarter.")
    quarters = inp.history[-TREND_QUARTERS:]
    if not quarters:
        block.items.append(Note("No complete quarter of history before the as-of date."))
        return block
    trend = activation_trend(inp.export, inp.settings, quarters[-1], len(quarters)).set_index("quarter")
    won = {str(q): realised(inp.export, inp.settings, q) for q in quarters}
    frame = pd.DataFrame({
        "quarter": [str(q) for q in quarters],
        "new_pipeline_partners": _first_pipeline_partners(inp.export, quarters),
        "engaged_sellers": [int(trend["engaged"].get(str(q), 0)) for q in quarters],
        "active_sellers": [int(trend["active"].get(str(q), 0)) for q in quarters],
        "asr": [float(trend["asr"].get(str(q), np.nan)) for q in quarters],
        "marketplace_arr": [_total(won[str(q)], "marketplace_arr") for q in quarters],
        "expansion_arr": [_total(won[str(q)], "expansion_arr") for q in quarters],
    })
    last = frame.iloc[-1]
    prev = frame.iloc[-2] if len(frame) > 1 else None

    def vs(col: str) -> str:
        return "" if prev is None else f" ({signed_pct(change(last[col], prev[col]))} QoQ)"

    reading = (f"{last['quarter']}: {count(last['new_pipeline_partners'])} partner(s) generated their "
               f"first pipeline" + ("" if prev is None else f" ({count(prev['new_pipeline_partners'])} "
                                    f"the quarter before)")
               + f"; {count(last['engaged_sellers'])} engaged sellers{vs('engaged_sellers')}; "
               f"marketplace ARR {money(last['marketplace_arr'])}{vs('marketplace_arr')}; expansion "
               f"ARR {money(last['expansion_arr'])}{vs('expansion_arr')} (attributed).")
    block.items.append(Chart("growth", "Ecosystem growth per quarter (attributed ARR)", reading,
                             partial(charts.growth_chart, frame),
                             "Marketplace and expansion: partner-attributed ARR of won deals; new "
                             "partners: first opportunity created in the quarter."))
    block.items.append(Table(
        "ecosystem", "Ecosystem growth (attributed ARR)", frame,
        {"new_pipeline_partners": "count", "engaged_sellers": "count", "active_sellers": "count",
         "asr": "pct", "marketplace_arr": "money", "expansion_arr": "money"},
        labels={"new_pipeline_partners": "Partners with first pipeline", "asr": "ASR",
                "marketplace_arr": "Marketplace ARR", "expansion_arr": "Expansion ARR"}))
    return block


# -- data quality -------------------------------------------------------------------------------
def audit_reading(audit: Any, labels: dict[str, str]) -> str:
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


def _quality_block(inp: _Inputs) -> Block:
    from partner_forecast.data.audit import FIELD_LABELS, audit_export

    a = inp.settings.audit
    block = Block("quality", "6. Data quality",
                  f"Completeness of the fields a partner forecast needs on the partner deals closed in "
                  f"the {a.window_days} days before the as-of date (DOMAIN.md section 8); "
                  "`partner-forecast validate` lists the rows lacking each.")
    audit = audit_export(inp.export, inp.as_of, a.window_days, a.required_fields)
    labels = {f: FIELD_LABELS.get(f, f.replace("_", " ")) for f in audit.table["field"]}
    table = audit.table.assign(label=audit.table["field"].map(labels),
                               completeness=audit.table["completeness_pct"] / 100.0)
    reading = audit_reading(audit, labels)
    if audit.deals:
        block.items.append(Chart("quality", "Required fields filled on recently closed partner deals",
                                 reading, partial(charts.completeness_chart, table)))
    else:
        block.items.append(Note(reading))
    block.items.append(Table(
        "data_quality", f"Data-quality audit: partner deals closed {audit.window_start.date()} to "
        f"{(audit.as_of - pd.Timedelta(days=1)).date()}",
        table[["label", "field", "filled", "total", "completeness"]],
        {"filled": "count", "total": "count", "completeness": "pct"},
        labels={"label": "Field", "field": "Column", "filled": "Deals with it",
                "total": "Deals audited", "completeness": "Complete"}))
    return block


# -- scenarios ----------------------------------------------------------------------------------
def _scenario_block(inp: _Inputs, context: Any, scenarios: list[Any] | None) -> Block:
    block = Block("scenarios", "What-if scenarios",
                  "Each scenario simulated with the baseline's posterior draws and seed (common "
                  "random numbers): the change in partner ARR, draw by draw.")
    compare = optional_attr("partner_forecast.scenarios", "compare_scenarios")
    if scenarios is None or compare is None:
        text = ("Scenario deltas are left out: partner_forecast.scenarios (load_scenario_files, "
                "compare_scenarios) is not available in this installation.")
    elif context is None:
        text = "Scenario deltas are left out: they need the forecast, which is not available."
    else:
        comparison = compare(context, scenarios, record=False, progress=inp.progress)
        inp.warnings += [f"scenario: {n}" for n in comparison.notes]
        table = comparison.table
        rows = table[(table["segment"] == "total") & (table["scenario"] != "baseline")]
        order = {name: i for i, name in enumerate(dict.fromkeys(rows["scenario"]))}
        others = (rows.assign(_o=rows["scenario"].map(order)).sort_values(["_o", "quarter"], kind="stable")
                  .drop(columns="_o").reset_index(drop=True))
        block.items.append(Chart("scenarios", "Scenario deltas from the baseline, by quarter "
                                 "(attributed ARR)", scenario_reading(others),
                                 partial(charts.scenario_chart, others)))
        cols = [c for c in ("quarter", "scenario", "p10", "p50", "p90", "delta_p50", "delta_mean_pct",
                            "p_above_baseline", "arr_target", "p_at_least_target")
                if c in table and not table[c].isna().all()]
        block.items.append(Table(
            "scenarios", "Scenarios by quarter (total partner ARR, attributed)",
            table[table["segment"] == "total"][cols],
            {"p10": "money", "p50": "money", "p90": "money", "delta_p50": "signed_money",
             "delta_mean_pct": "signed_points", "p_above_baseline": "pct", "arr_target": "money",
             "p_at_least_target": "pct"},
            labels={"delta_p50": "Change in P50", "delta_mean_pct": "Change in mean",
                    "p_above_baseline": "P(above baseline)", "arr_target": "ARR target",
                    "p_at_least_target": "P(>= target)"}))
        return block
    inp.degraded.append(text)
    block.items.append(Note(text))
    return block


__all__ = ["ASR_INTERVAL", "Block", "Chart", "ExecutiveReport", "HISTORY_QUARTERS", "Note", "Table",
           "asr_reading", "backtest_reading", "build_report", "conversion_reading", "coverage_reading",
           "distribution_reading", "fan_reading", "optional_attr", "pipeline_reading",
           "scenario_reading", "waterfall_reading", "waterfall_steps"]
