"""Benchmark scenarios and the lever sensitivity table at mid size; print figures (no assertions).

Targets (issue 11, 2 cores): <= 1 s per scenario after the baseline and <= 15 s for ``levers``
at 4,000 draws, mid size (300 partners, ~15,000 sellers). Two modes:

- ``--fit``: prepare a real context from ``--data`` (default the bundled sample), fitting the
  models or loading them from ``--workspace`` (run ``partner-forecast fit`` first so the fit
  is cached and not timed);
- default: a fabricated mid-size posterior (:func:`partner_forecast.testing.posteriors.random_inputs`)
  wrapped in a context over the tiny export (which only supplies calendar, targets and
  settings), so it runs before the models exist.

For each example scenario in ``configs/scenarios`` it prints the wall time to apply the scenario
(build its plan), to simulate it after the baseline (reusing the baseline's open pipeline when
the scenario cannot reach it) and the whole per-scenario cost with ledger recording; then the
baseline alone, the engine alone (``simulate``) and the tornado table, each also in CPU seconds
(all threads: on a shared machine the honest figure; / threads for idle cores). ``--only
levers`` (or ``scenarios``) times just that part, for whole-process timings.

Usage: ``python benchmarks/scenarios.py [--draws 4000] [--partners 300] [--sellers 15051]
[--deals 4000] [--horizon 1] [--threads N] [--only levers|scenarios]
[--fit --data DIR --workspace DIR]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numba
import numpy as np
import pandas as pd

from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.forecast import ForecastContext, run
from partner_forecast.scenarios import compare_scenarios, lever_sensitivity, load_scenario_files
from partner_forecast.scenarios.run import plan_for, run_plan
from partner_forecast.simulate import SegmentSpec, simulate
from partner_forecast.testing.exports import write_tiny_export
from partner_forecast.testing.posteriors import random_inputs

ROOT = Path(__file__).resolve().parents[1]


def fabricated_context(args: argparse.Namespace, workspace: Path) -> ForecastContext:
    """A context around a random mid-size posterior (no models needed)."""
    inputs = random_inputs(1, n_draws=args.draws, n_partners=args.partners, n_open=args.deals,
                           horizon=args.horizon, sellers=args.sellers, mid_quarter=False)
    export = load_export(write_tiny_export(workspace / "tiny"))
    won = pd.DataFrame({"segment": pd.Series([], dtype="str"), "attributed_arr": [],
                        "gross_arr": [], "marketplace_arr": [], "expansion_arr": [],
                        "deals_won": []})
    return ForecastContext(settings=load_settings(), export=export, as_of=inputs.as_of,
                           sim_quarters=list(inputs.quarters), report=list(inputs.quarters),
                           segment_by="partner_type", inputs=inputs,
                           segments=SegmentSpec.by(inputs, "partner_type"), won_to_date=won,
                           fits=None, n_draws=args.draws, seed=20261123, workspace=workspace)


def fitted_context(args: argparse.Namespace) -> ForecastContext:
    """A context from the data, with the fit loaded from the workspace cache (or fitted)."""
    from partner_forecast.forecast import prepare

    return prepare(args.data, by="partner_type", horizon=args.horizon, draws=args.draws,
                   workspace=args.workspace, progress=False)


CPU: list[float] = [0.0]  # CPU seconds of the last ``clock`` call (all threads)


def clock(fn, *a, **k):
    """(result, wall seconds); the call's CPU seconds go to ``CPU[0]``.

    The machine may be shared: CPU seconds / threads is what the call would take on idle
    cores, the figure to compare with the targets.
    """
    t, c = time.perf_counter(), time.process_time()
    out = fn(*a, **k)
    CPU[0] = time.process_time() - c
    return out, time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=4000)
    parser.add_argument("--partners", type=int, default=300)
    parser.add_argument("--sellers", type=int, default=15_051)
    parser.add_argument("--deals", type=int, default=4000)
    parser.add_argument("--horizon", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--fit", action="store_true", help="use a real (cached) fit of --data")
    parser.add_argument("--data", default=str(ROOT / "data" / "sample"))
    parser.add_argument("--workspace", default=".partner_forecast")
    parser.add_argument("--only", choices=("levers", "scenarios"), default=None,
                        help="time only the tornado table or only the scenarios")
    args = parser.parse_args()
    if args.threads:
        numba.set_num_threads(args.threads)
    simulate(random_inputs(0, n_draws=4, n_partners=3, n_open=5, horizon=1), seed=0)  # load kernels

    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp)
        ctx, t_prep = clock(fitted_context if args.fit else fabricated_context,
                            *((args,) if args.fit else (args, ws)))
        ctx.workspace = ws  # record to a throw-away ledger
        inputs = ctx.inputs
        print(f"threads {numba.get_num_threads()}; {'fitted' if args.fit else 'fabricated'} context "
              f"in {t_prep:.1f} s: {inputs.n_draws} draws, {len(inputs.partner_ids)} partners, "
              f"{int(np.asarray(inputs.pool)[:, 0].sum())} sellers, {len(inputs.open_deals)} open "
              f"deals, horizon {inputs.horizon}")
        if args.only != "levers":
            _, t_engine = clock(simulate, inputs, seed=ctx.seed, segments=ctx.segments,
                                chunk_draws=ctx.settings.simulation.chunk_draws)
            c_engine = CPU[0]
            base, t_base = clock(run, ctx, record=False, progress=False, keep_open=True)
            print(f"  engine alone (simulate)            {t_engine:6.2f} s  cpu {c_engine:6.2f} s")
            print(f"  baseline run (simulate + tables)   {t_base:6.2f} s  cpu {CPU[0]:6.2f} s")

            scenarios = load_scenario_files(sorted((ROOT / "configs" / "scenarios").glob("*.toml")))
            print(f"  {'scenario after the baseline':<30} {'apply':>7} {'simulate':>9} {'total':>7}"
                  f" {'cpu':>7}  (with ledger write)")
            per, per_cpu = [], []
            for s in scenarios:
                plan, t_apply = clock(plan_for, ctx, s)
                c_apply = CPU[0]
                _, t_run = clock(run_plan, ctx, plan, record=True, baseline=base)
                per.append(t_apply + t_run)
                per_cpu.append(c_apply + CPU[0])
                print(f"  {s.name:<30} {t_apply:6.2f}s {t_run:8.2f}s {t_apply + t_run:6.2f}s "
                      f"{per_cpu[-1]:6.2f}s")
            comparison, t_all = clock(compare_scenarios, ctx, scenarios, record=False)
            print(f"  compare_scenarios ({len(scenarios)} + baseline)      {t_all:6.2f} s  "
                  f"(per scenario after the baseline {np.mean(per):.2f} s, cpu "
                  f"{np.mean(per_cpu):.2f} s; target <= 1 s)")
            asr = comparison.table
            row = asr[(asr["scenario"] == "asr_15_to_20") & (asr["segment"] == "total")].iloc[0]
            print(f"  asr_15_to_20: delta mean {row['delta_mean_pct']:.1f}% of the baseline mean")
        if args.only != "scenarios":
            (table, _), t_levers = clock(lever_sensitivity, ctx)
            print(f"  levers (7 steps + baseline)         {t_levers:6.2f} s  cpu {CPU[0]:6.2f} s  "
                  "(target <= 15 s)")
            total = table[table["segment"] == "total"][["rank", "lever", "step", "delta_p50",
                                                        "delta_mean_pct"]]
            print(total.to_string(index=False))


if __name__ == "__main__":
    main()
