"""Benchmark the five model fits and print figures (no assertions; not part of ``make test``).

For each export size (generated with ``partner-forecast sample``, or ``--data DIR``) it runs
``partner-forecast fit`` as a child process, as users do, three times:

- ``cold``: an empty PyTensor/numba compile cache (a fresh ``base_compiledir``), as on a new
  machine or a fresh CI runner;
- ``cached``: the same data again (``--refit``) with the compile cache the cold run filled;
- ``new-as-of``: one quarter earlier (a backtest fold, next week's export, the report's
  variance fit), same cache: what "compile once" must make cheap.

Per model it prints cells, compile and sampling seconds, mean leapfrog steps per draw, draws
kept, attempts, divergences, max R-hat, min bulk ESS and bulk ESS per sampling second; per run
the wall time and peak memory (max RSS of the child); and, when two sizes are given, the
scaling ratio of fit time between them (issue 11's target: 10x the partners <= 2x the time).

Usage::

    python benchmarks/fit.py [--partners 60 300 3000] [--quarters 12] [--seed 2026]
        [--data DIR] [--modes cold cached new-as-of] [--draws N --tune N] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

CLI = [sys.executable, "-m", "partner_forecast"]
MODES = ("cold", "cached", "new-as-of")


def generate(partners: int, quarters: int, seed: int, out: Path) -> Path:
    """Write a generated export of ``partners`` partners to ``out`` (quietly)."""
    subprocess.run([*CLI, "sample", str(out), "--partners", str(partners), "--quarters",
                    str(quarters), "--seed", str(seed)], check=True, capture_output=True)
    return out


def export_date(data: Path) -> pd.Timestamp:
    """The day after the latest date in the export's stage history (the default as-of)."""
    frame = pd.read_csv(data / "stage_history.csv", usecols=["entered_on"])
    return pd.Timestamp(frame["entered_on"].max()) + pd.Timedelta(days=1)


def run_fit(data: Path, workspace: Path, compiledir: Path, as_of: str | None,
            config: Path | None) -> dict[str, Any]:
    """One ``partner-forecast fit --refit`` in a child process: its JSON, wall time, max RSS."""
    out = workspace / "fit.json"
    cmd = [*CLI, "fit", str(data), "--workspace", str(workspace), "--refit", "--format", "json",
           "-o", str(out)]
    if as_of:
        cmd += ["--as-of", as_of]
    if config:
        cmd += ["--config", str(config)]
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={compiledir}")
    t0 = time.perf_counter()
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - t0
    stderr = child.stderr.read() if child.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1) or not out.exists():
        raise SystemExit(f"fit failed (exit {code}):\n{stderr[-2000:]}")
    result = json.loads(out.read_text())
    return {"wall_s": wall, "max_rss_mb": usage.ru_maxrss / 1024, "exit_code": code,
            "diagnostics": result["diagnostics"]}


def print_run(label: str, run: dict[str, Any]) -> None:
    """One table per run: a row per model, then the totals."""
    print(f"\n{label}: wall {run['wall_s']:.1f} s, peak memory {run['max_rss_mb']:.0f} MB, "
          f"exit {run['exit_code']}")
    head = (f"{'model':<13}{'cells':>8}{'compile s':>10}{'sample s':>9}{'steps':>7}{'draws':>7}"
            f"{'tries':>6}{'div':>5}{'R-hat':>7}{'ESS':>7}{'ESS/s':>7}")
    print(head)
    tot_c = tot_s = 0.0
    for d in run["diagnostics"]:
        tot_c += d["compile_s"]
        tot_s += d["sample_s"]
        ess_s = d["min_ess_bulk"] / d["sample_s"] if d["sample_s"] else float("nan")
        print(f"{d['model']:<13}{d['cells']:>8,}{d['compile_s']:>10.1f}{d['sample_s']:>9.1f}"
              f"{d['steps']:>7.0f}{d['draws']:>7}{d['attempts']:>6}{d['divergences']:>5}"
              f"{d['max_rhat']:>7.3f}{d['min_ess_bulk']:>7.0f}{ess_s:>7.1f}")
    print(f"{'total':<13}{'':>8}{tot_c:>10.1f}{tot_s:>9.1f}")


def fit_seconds(run: dict[str, Any]) -> float:
    """Compile + sampling seconds over the five models."""
    return sum(d["compile_s"] + d["sample_s"] for d in run["diagnostics"])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--partners", type=int, nargs="+", default=[60, 300, 3000])
    ap.add_argument("--quarters", type=int, default=12)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--data", type=Path, help="fit this export instead of generated ones")
    ap.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    ap.add_argument("--draws", type=int, help="[sampler] draws (default: the config's)")
    ap.add_argument("--tune", type=int, help="[sampler] tune (default: the config's)")
    ap.add_argument("--json", type=Path, help="also write every figure to this file")
    args = ap.parse_args(argv)

    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="pf-bench-fit-") as tmp:
        root = Path(tmp)
        config = None
        if args.draws or args.tune:
            config = root / "sampler.toml"
            lines = ["[sampler]"] + [f"{k} = {v}" for k, v in
                                     (("draws", args.draws), ("tune", args.tune)) if v]
            config.write_text("\n".join(lines) + "\n")
        sizes = [("data", args.data)] if args.data else [(n, None) for n in args.partners]
        for size, data in sizes:
            label = f"{size} partners" if data is None else str(data)
            if data is None:
                t0 = time.perf_counter()
                data = generate(int(size), args.quarters, args.seed, root / f"export-{size}")
                print(f"generated {label} in {time.perf_counter() - t0:.1f} s", flush=True)
            compiledir = root / f"compiled-{size}"
            compiledir.mkdir()
            earlier = (export_date(data) - pd.offsets.QuarterBegin(startingMonth=1)).date()
            runs: dict[str, Any] = {}
            for mode in args.modes:
                ws = root / f"ws-{size}-{mode}"
                as_of = str(earlier) if mode == "new-as-of" else None
                runs[mode] = run_fit(data, ws, compiledir, as_of, config)
                print_run(f"{label}, {mode}" + (f" (as of {as_of})" if as_of else ""), runs[mode])
                sys.stdout.flush()
            results[label] = runs
    first = next(iter(args.modes))
    labels = list(results)
    if len(labels) > 1:
        print(f"\nscaling of compile + sampling seconds ({first}):")
        base = fit_seconds(results[labels[0]][first])
        for lab in labels:
            sec = fit_seconds(results[lab][first])
            print(f"  {lab:<16}{sec:>8.1f} s  x{sec / base:.2f} of {labels[0]}")
        if "300 partners" in results and "3000 partners" in results:
            r = (fit_seconds(results["3000 partners"][first])
                 / fit_seconds(results["300 partners"][first]))
            print(f"  300 -> 3000 partners: x{r:.2f} (target <= 2)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
