"""Benchmark the rolling-origin backtest: 6 quarters of data/sample on 2 worker processes.

Prints the wall time of the whole backtest (target: at most 4 minutes on 2 cores), each fold's
time with the models' recorded compile and sampling time, the time spent cutting the as-of
views, and the headline scores (P10-P90 coverage with
its Wilson interval, the model's CRPS against each baseline). Fits start cold: a fresh
temporary workspace is used unless ``--workspace`` is given (reuse it to time warm runs).

Usage: ``python benchmarks/backtest.py [--data data/sample] [--quarters 6] [--workers 2]
[--draws N] [--config FILE] [--workspace DIR] [--scheduler ADDRESS]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd

from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.evaluate.backtest import backtest
from partner_forecast.evaluate.folds import fold_quarters

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 240.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "sample")
    parser.add_argument("--quarters", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--draws", type=int, default=None)
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--scheduler", default=None)
    args = parser.parse_args()

    settings = load_settings(args.config)
    t = time.perf_counter()
    export = load_export(args.data, settings=settings)
    load_s = time.perf_counter() - t
    folds = fold_quarters(export, args.quarters, settings.calendar.fiscal_year_start_month)
    t = time.perf_counter()
    for q in folds:
        export.as_of(q.start)
    cut_s = time.perf_counter() - t
    print(f"data {args.data}: loaded in {load_s:.1f} s; {len(folds)} as-of views cut in {cut_s:.1f} s")

    with tempfile.TemporaryDirectory(prefix="pf-backtest-bench-") as tmp:
        workspace = args.workspace or Path(tmp)
        t = time.perf_counter()
        result = backtest(export, quarters=args.quarters, workers=args.workers,
                          scheduler=args.scheduler, draws=args.draws, config=settings,
                          workspace=workspace, progress=True)
        wall = time.perf_counter() - t
    print()
    per_model = []
    for out in result.outputs:
        diag = pd.DataFrame(out.meta.get("diagnostics", []))
        fit = 0.0
        if {"model", "compile_s", "sample_s"} <= set(diag.columns):
            per_model.append(diag[["model", "compile_s", "sample_s"]])
            fit = float(diag[["compile_s", "sample_s"]].sum().sum())
        status = "ok" if not out.meta.get("warnings") else "FAILED"
        print(f"  fold {out.quarters[0]}: {out.meta['seconds']:6.1f} s (fits {fit:6.1f} s: compile + "
              f"sample as recorded, 0 when loaded from the workspace)  diagnostics {status}")
    if per_model:
        table = pd.concat(per_model).groupby("model")[["compile_s", "sample_s"]].mean()
        print("  mean per fold and model (s):\n" + table.round(1).to_string())
    total = result.summary[(result.summary["segment"] == "total") & (result.summary["lead"] == 1)]
    model = total[total["method"] == "model"].iloc[0]
    print(f"\nP10-P90 coverage {model['coverage']:.0%} over {int(model['folds'])} folds "
          f"(95% Wilson {model['coverage_low']:.0%}-{model['coverage_high']:.0%}); "
          f"model CRPS {model['crps']:,.0f}")
    for row in total[total["method"] != "model"].itertuples(index=False):
        print(f"  {row.method:<24} CRPS {row.crps:>12,.0f}   baseline / model {row.crps_vs_model:5.2f}")
    verdict = "within" if wall <= TARGET_SECONDS else "OVER"
    print(f"\nwall time {wall:.1f} s for {len(folds)} folds on {args.workers} worker(s) "
          f"({verdict} the {TARGET_SECONDS:.0f} s target)")


if __name__ == "__main__":
    main()
