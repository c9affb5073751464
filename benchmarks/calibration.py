"""Calibration across data shapes: one forecast per generated export, many exports per profile.

For each generator profile (``partner-forecast sample --profile NAME``) and replicate, the
benchmark generates an export (``--partners`` partners, ``--quarters`` quarters, a seed of its
own), cuts it at the start of its last complete quarter, fits the models on that view and
forecasts the quarter (the backtest's fold: :func:`partner_forecast.evaluate.folds.run_fold`,
small sampler settings written to a temporary TOML config), and scores the forecast against
the partner-attributed ARR the full export says was won in it (the generator's truth; the
``won_arr_attributed`` figure of its ``truth.json`` is recorded beside it as a check).
Replicates fan out over the backtest's runner (local worker processes, ``--workers``, or a
Dask cluster, ``--scheduler``).

Printed per profile, and written as JSON with ``--output``:

- P10-P90 coverage of the total with its 90% Wilson interval (target: the interval holds 80%);
- the PIT histogram (5 equal bins of [0, 1], counts);
- mean relative error of P50, ``mean((P50 - actual) / actual)`` (target: within +-10%);
- mean CRPS of the model and of the seed stage table, learned stage rates and the empirical
  cohort baseline (stage baselines are points: CRPS = absolute error; the cohort baseline is
  scored by its Bernoulli draws, and the absolute error of its mean is shown too), each
  baseline's CRPS over the model's on the same replicates (> 1: the model is better);
- the share of fits whose diagnostics failed, and wall time;
- for profiles whose stage walk the truth check knows, the *truth check* of each replicate
  (``benchmarks/truth_check.py``): the deals open at the cut, with their latent state, walked
  through the generator's own process and true parameters, i.e. what a forecaster that knew
  them would have said. Its P50 error against what those deals actually won is the error no
  model can remove on that replicate (quarter shock, which deals happened to win): a replicate
  whose realised open pipeline lies in the truth's own tail (PIT near 0 or 1) is luck, not a
  model defect. Beside it, the model's expected open-pipeline ARR over the truth's (its own
  bias) and the engine run with the true parameters over the truth (the simulation path);
  then the deals created in the quarter (their number beside the truth's expectation, what
  the truth expected them to win beside the actual and the model's expected total less its
  open pipeline) and the truth's P10/P50/P90 of the whole quarter with the PIT of the actual
  (given the quarter's realised new deals). Printed per replicate and summarised per profile.

It runs for a long time (each replicate is a full fit): a line is printed as each replicate
finishes, and each finished replicate is appended to a JSON-lines log (``--log``, default
``OUTPUT.replicates.jsonl`` with ``--output``); a rerun with the same log and settings skips
the replicates it already holds, so an interrupted run resumes where it stopped.

Not part of ``make test``. Usage::

    python benchmarks/calibration.py [--profiles a,b] [--replicates 20] [--partners 60]
        [--quarters 10] [--workers 2] [--scheduler ADDRESS] [--draws 500] [--tune 500]
        [--chains 2] [--sim-draws 2000] [--seed 1] [--output FILE] [--log FILE] [--keep DIR]
"""

from __future__ import annotations

import argparse
import inspect
import json
import math
import sys
import tempfile
import time
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from partner_forecast.evaluate import scores

DEFAULT_PROFILE = "default"
PROFILE_REGISTRIES = ("PROFILES", "PROFILE_NAMES", "SAMPLE_PROFILES")
"""Module attributes of ``partner_forecast.data.sample`` that may list the generator's profiles."""
BASELINES_SCORED = ("stage_table", "stage_learned", "cohort")
"""Baselines whose CRPS the model must beat (issue 10's targets)."""
CONFIDENCE = 0.90
COVERAGE_TARGET = 0.80
P50_ERROR_TARGET = 0.10
PIT_BINS = 5


def truth_check_module() -> Any:
    """``benchmarks/truth_check.py`` (a sibling file; benchmarks are not a package)."""
    import importlib.util

    path = Path(__file__).resolve().with_name("truth_check.py")
    spec = importlib.util.spec_from_file_location("truth_check", path)
    if spec is None or spec.loader is None:  # pragma: no cover - the file ships beside this one
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- profiles -------------------------------------------------------------------------------------
def generator_profiles() -> tuple[bool, list[str]]:
    """Whether the installed generator takes ``profile=``, and the profile names it knows.

    Read off :func:`partner_forecast.data.sample.generate_sample`'s signature and a registry
    attribute of its module (:data:`PROFILE_REGISTRIES`: a mapping or sequence of names, or of
    objects with a ``name``). Without a registry, the parameter's default is the one known.
    """
    from partner_forecast.data import sample

    params = inspect.signature(sample.generate_sample).parameters
    key = "profiles" if "profiles" in params else "profile"
    if key not in params:
        return False, [DEFAULT_PROFILE]
    for attr in PROFILE_REGISTRIES:
        registry = getattr(sample, attr, None)
        if registry:
            names = [str(getattr(item, "name", item)) for item in registry]
            return True, ([DEFAULT_PROFILE] + names if DEFAULT_PROFILE not in names else names)
    default = params[key].default
    return True, [default if isinstance(default, str) else DEFAULT_PROFILE]


def resolve_profiles(requested: str | None, supported: bool, known: Sequence[str]) -> tuple[list[str], str]:
    """The profiles to run and a note on how they were chosen.

    Raises
    ------
    ValueError
        A requested profile the generator does not know.
    """
    if not supported:
        return [DEFAULT_PROFILE], ("the installed generator has no profile parameter: running its "
                                   "default data shape only")
    if not requested:
        return list(known), "every profile the generator knows"
    names = [p.strip() for p in requested.split(",") if p.strip()]
    unknown = [p for p in names if p not in known]
    if unknown:
        raise ValueError(f"unknown profile(s) {', '.join(unknown)}; the generator knows "
                         f"{', '.join(known)}")
    return names, "as requested"


def replicate_seed(base: int, profile: str, replicate: int) -> int:
    """A reproducible seed per (base seed, profile, replicate), independent across them."""
    state = np.random.SeedSequence([int(base) & 0xFFFFFFFF, zlib.crc32(profile.encode()), replicate])
    return int(state.generate_state(1)[0] % (2**31 - 1))


# -- scoring one replicate ----------------------------------------------------------------------
def _num(x: Any) -> float | None:
    """A JSON-safe float (None for NaN / missing)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def replicate_record(per_quarter: Any, meta: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    """One replicate's result from its scored fold (first quarter, total).

    Parameters
    ----------
    per_quarter : pandas.DataFrame
        :func:`partner_forecast.evaluate.scoring.score_folds`'s first table for the fold.
    meta : dict
        The fold output's ``meta`` (seconds, warnings).
    info : dict
        profile, replicate, seed, partners, quarters, truth_attributed (copied in).

    Returns
    -------
    dict
        JSON-ready: the info, quarter, actual, the model's p10/p50/p90/mean/crps/pit/covered,
        ``crps`` and ``mean`` per method, cohort_point_abs_error, diagnostics_ok, warnings,
        seconds. ARR in currency per year.
    """
    rows = per_quarter[(per_quarter["segment"] == "total") & (per_quarter["lead"] == 1)]
    by_method = {r["method"]: r for r in rows.to_dict("records")}
    if "model" not in by_method:
        raise ValueError("the scored fold has no model row for the total")
    model = by_method["model"]
    actual = float(model["actual"])
    cohort = by_method.get("cohort")
    warnings = list(meta.get("warnings", []))
    return {
        **info, "quarter": str(model["quarter"]), "actual": actual,
        "model": {k: _num(model[k]) for k in ("p10", "p50", "p90", "mean", "crps", "pit")}
        | {"covered": bool(model["covered"])},
        "crps": {m: _num(r["crps"]) for m, r in by_method.items()},
        "mean": {m: _num(r["mean"]) for m, r in by_method.items()},
        "cohort_point_abs_error": None if cohort is None else _num(abs(cohort["mean"] - actual)),
        "diagnostics_ok": not warnings, "warnings": warnings,
        "seconds": _num(meta.get("seconds")),
    }


# -- aggregation ----------------------------------------------------------------------------------
def pit_histogram(pits: Iterable[float], bins: int = PIT_BINS) -> list[int]:
    """Counts of PIT values in ``bins`` equal bins of [0, 1] (1.0 falls in the last bin)."""
    values = np.asarray([p for p in pits if p is not None and math.isfinite(p)], dtype=np.float64)
    if ((values < 0) | (values > 1)).any():
        raise ValueError("PIT values must lie in [0, 1]")
    counts, _ = np.histogram(values, bins=bins, range=(0.0, 1.0))
    return [int(c) for c in counts]


def coverage_summary(covered: Sequence[bool], confidence: float = CONFIDENCE,
                     target: float = COVERAGE_TARGET) -> dict[str, Any]:
    """Share of actuals inside P10-P90 with its Wilson interval, and whether it holds the target."""
    n, k = len(covered), int(sum(bool(c) for c in covered))
    low, high = scores.wilson_interval(k, n, confidence)
    return {"n": n, "covered": k, "coverage": k / n if n else None, "low": low, "high": high,
            "confidence": confidence, "target": target, "target_met": bool(n) and low <= target <= high}


def _mean(values: Iterable[float | None]) -> float | None:
    v = [x for x in values if x is not None and math.isfinite(x)]
    return float(np.mean(v)) if v else None


def profile_summary(records: Sequence[dict[str, Any]], wall_seconds: float | None = None
                    ) -> dict[str, Any]:
    """Calibration figures of one profile's replicates (see the module docstring)."""
    cov = coverage_summary([r["model"]["covered"] for r in records])
    rel = [(r["model"]["p50"] - r["actual"]) / r["actual"] for r in records
           if r["actual"] and r["model"]["p50"] is not None]
    methods = ["model", *[m for m in dict.fromkeys(m for r in records for m in r["crps"])
                          if m != "model"]]
    crps = {m: _mean(r["crps"].get(m) for r in records) for m in methods}
    ratio, beats = {}, {}
    for m in methods[1:]:
        common = [r for r in records if r["crps"].get(m) is not None
                  and r["crps"].get("model") is not None]
        model_c = _mean(r["crps"]["model"] for r in common)
        base_c = _mean(r["crps"][m] for r in common)
        ratio[m] = base_c / model_c if common and model_c else None
        beats[m] = None if not common else bool(model_c < base_c)
    mre = _mean(rel)
    truths = [r["truth_open"] for r in records
              if r.get("truth_open") and r["truth_open"].get("actual")]
    truth_rel = [(o["p50"] - o["actual"]) / o["actual"] for o in truths]
    new_ratio = [o["model_new"] / o["new"]["mean"] for o in truths
                 if o.get("model_new") is not None and (o.get("new") or {}).get("mean")]
    totals = [o["total"] for o in truths if o.get("total")]
    return {
        "replicates": len(records),
        "coverage": cov,
        "pit_histogram": pit_histogram(r["model"]["pit"] for r in records),
        "p50_mean_relative_error": mre,
        "p50_mean_absolute_relative_error": _mean(abs(x) for x in rel),
        "crps": crps,
        "crps_replicates": {m: sum(r["crps"].get(m) is not None for r in records) for m in methods},
        "crps_baseline_over_model": ratio,
        "cohort_point_abs_error": _mean(r.get("cohort_point_abs_error") for r in records),
        "diagnostics_failing_share": (sum(not r["diagnostics_ok"] for r in records) / len(records)
                                      if records else None),
        "truth_open": {"replicates": len(truths),
                       "p50_mean_relative_error": _mean(truth_rel),
                       "p50_mean_absolute_relative_error": _mean(abs(x) for x in truth_rel),
                       "covered": sum(o["p10"] <= o["actual"] <= o["p90"] for o in truths),
                       **{f"{k}_mean": _mean(o.get(k) for o in truths)
                          for k in ("pit", "model_over_truth", "engine_over_truth",
                                    "realised_over_truth")},
                       "new_model_over_truth_mean": _mean(new_ratio),
                       "total": {"replicates": len(totals),
                                 "covered": sum(t["p10"] <= t["actual"] <= t["p90"] for t in totals),
                                 "pit_mean": _mean(t["pit"] for t in totals)}},
        "fit_seconds_total": sum(r["seconds"] or 0.0 for r in records),
        "wall_seconds": wall_seconds,
        "targets": {"coverage": cov["target_met"],
                    "p50_error": None if mre is None else abs(mre) <= P50_ERROR_TARGET,
                    **{f"crps_below_{m}": beats.get(m) for m in BASELINES_SCORED}},
    }


def aggregate(records: Sequence[dict[str, Any]], wall: dict[str, float] | None = None
              ) -> dict[str, dict[str, Any]]:
    """:func:`profile_summary` of each profile's records, in first-seen order."""
    wall = wall or {}
    profiles = list(dict.fromkeys(r["profile"] for r in records))
    return {p: profile_summary([r for r in records if r["profile"] == p], wall.get(p))
            for p in profiles}


# -- printing ----------------------------------------------------------------------------------
def _money(x: float | None) -> str:
    if x is None:
        return "n/a"
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.2f}M"
    return f"{x / 1e3:,.1f}k" if abs(x) >= 1e3 else f"{x:,.0f}"


def _ratio(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def replicate_line(r: dict[str, Any], done: int | None = None, total: int | None = None) -> str:
    """One line per finished replicate."""
    m = r["model"]
    base = "  ".join(f"{k} {_money(r['crps'].get(k))}" for k in BASELINES_SCORED)
    check = ""
    truth = r.get("truth_attributed")
    if truth is not None and abs(truth - r["actual"]) > 0.005 * max(abs(truth), 1.0):
        check = f"  (truth.json says {_money(truth)})"
    progress = f" ({done}/{total})" if done is not None else ""
    o = r.get("truth_open")
    truth_part = ("" if not o else
                  f"  | truth, open pipeline: P50 {_money(o['p50'])} (actual {_money(o['actual'])}, "
                  f"PIT {o['pit']:.2f}; at the quarter's shock {o['shock']:+.2f}: PIT "
                  f"{o['pit_at_shock']:.2f}); model/truth {_ratio(o.get('model_over_truth'))}, "
                  f"engine/truth {_ratio(o.get('engine_over_truth'))}" + _new_part(o))
    return (f"[{r['profile']} r{r['replicate']:02d} seed {r['seed']}] {r['quarter']} actual "
            f"{_money(r['actual'])}{check}  P10/P50/P90 {_money(m['p10'])}/{_money(m['p50'])}/"
            f"{_money(m['p90'])}  PIT {m['pit']:.2f} {'in' if m['covered'] else 'OUT'}  "
            f"CRPS model {_money(m['crps'])} | {base}  diagnostics "
            f"{'ok' if r['diagnostics_ok'] else 'FAILED'}  {r['seconds'] or 0:.0f} s{progress}"
            + truth_part)


def _new_part(o: dict[str, Any]) -> str:
    """The new-pipeline part of a replicate's truth line (empty without it)."""
    n, t = o.get("new"), o.get("total")
    if not n or not t:
        return ""
    expected = n.get("expected_created")
    return (f"; new deals: {n['created']} created"
            + ("" if expected is None else f" (truth expected {expected:.0f})")
            + f", truth {_money(n['mean'])} won from them (actual {_money(n['actual'])})"
            + ("" if o.get("model_new") is None else f", model {_money(o['model_new'])}")
            + f"; truth total P10/P50/P90 {_money(t['p10'])}/{_money(t['p50'])}/"
              f"{_money(t['p90'])}, PIT {t['pit']:.2f}")


def summary_lines(profile: str, s: dict[str, Any]) -> list[str]:
    """The printed block of one profile."""
    c = s["coverage"]
    yes = {True: "met", False: "NOT met", None: "n/a"}
    mre = s["p50_mean_relative_error"]
    lines = [f"profile {profile}: {s['replicates']} replicate(s)",
             f"  P10-P90 coverage {c['covered']}/{c['n']} = {c['coverage']:.0%}, "
             f"{c['confidence']:.0%} Wilson {c['low']:.0%}-{c['high']:.0%} "
             f"(target {c['target']:.0%} inside: {yes[s['targets']['coverage']]})",
             f"  PIT histogram ({PIT_BINS} bins of [0, 1]): {s['pit_histogram']}",
             "  P50 mean relative error " + ("n/a" if mre is None else f"{mre:+.1%}")
             + f" (|error| <= {P50_ERROR_TARGET:.0%}: {yes[s['targets']['p50_error']]}); mean "
             + "absolute " + ("n/a" if s["p50_mean_absolute_relative_error"] is None
                              else f"{s['p50_mean_absolute_relative_error']:.1%}"),
             f"  CRPS model {_money(s['crps'].get('model'))}"]
    for m in BASELINES_SCORED:
        ratio = s["crps_baseline_over_model"].get(m)
        lines.append(f"  CRPS {m:<14} {_money(s['crps'].get(m))}  baseline/model "
                     + ("n/a" if ratio is None else f"{ratio:.2f}")
                     + f" over {s['crps_replicates'].get(m, 0)} replicate(s)"
                     + f"  (model below: {yes[s['targets'].get(f'crps_below_{m}')]})")
    lines.append(f"  cohort baseline as a point: mean |error| {_money(s['cohort_point_abs_error'])}")
    o = s.get("truth_open") or {}
    if o.get("replicates"):
        lines.append(f"  truth check (open pipeline, true parameters) over {o['replicates']} "
                     f"replicate(s): P50 mean relative error {o['p50_mean_relative_error']:+.1%}, "
                     f"mean absolute {o['p50_mean_absolute_relative_error']:.1%}; actual inside its "
                     f"P10-P90 {o['covered']}/{o['replicates']} (the error no model removes); "
                     f"mean PIT {_ratio(o['pit_mean'])}, model/truth "
                     f"{_ratio(o['model_over_truth_mean'])}, engine/truth "
                     f"{_ratio(o['engine_over_truth_mean'])}, realised/truth "
                     f"{_ratio(o['realised_over_truth_mean'])}"
                     + ("" if o.get("new_model_over_truth_mean") is None else
                        f"; new pipeline model/truth {_ratio(o['new_model_over_truth_mean'])}")
                     + ("" if not (o.get("total") or {}).get("replicates") else
                        f"; with the new deals, actual inside the truth's P10-P90 "
                        f"{o['total']['covered']}/{o['total']['replicates']}, mean PIT "
                        f"{_ratio(o['total']['pit_mean'])}"))
    share = s["diagnostics_failing_share"]
    lines.append("  fits with failing diagnostics " + ("n/a" if share is None else f"{share:.0%}"))
    wall = s["wall_seconds"]
    lines.append(f"  fit time {s['fit_seconds_total']:.0f} s summed over replicates"
                 + ("" if wall is None else f"; wall time {wall:.0f} s in this run"))
    return lines


# -- the run ----------------------------------------------------------------------------------
def _sampler_toml(args: argparse.Namespace) -> str:
    return (f"[sampler]\ndraws = {args.draws}\ntune = {args.tune}\nchains = {args.chains}\n"
            f"retries = {args.retries}\n\n"
            f"[simulation]\ndraws = {args.sim_draws}\n")


def _record_key(r: dict[str, Any]) -> tuple:
    return (r["profile"], r["replicate"], r["seed"], r["partners"], r["quarters"],
            r.get("config_fingerprint"))


def read_log(path: Path | None) -> list[dict[str, Any]]:
    """Replicates already finished (one JSON object per line; a torn last line is ignored)."""
    if path is None or not path.exists():
        return []
    out = []
    for line in path.read_text("utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def _generate(folder: Path, profile: str, seed: int, args: argparse.Namespace, supported: bool):
    from partner_forecast.data.sample import generate_sample

    params = inspect.signature(generate_sample).parameters
    key = "profiles" if "profiles" in params else "profile"
    kwargs = {key: (None if profile == DEFAULT_PROFILE else profile)} if supported else {}
    return generate_sample(folder, partners=args.partners, quarters=args.quarters, seed=seed,
                           **kwargs)


def with_model_view(record: dict[str, Any], out: Any, deals: Any, check: Any) -> dict[str, Any]:
    """``record`` with the fold's per-deal win probabilities compared with the truth's.

    ``out`` is the replicate's :class:`~partner_forecast.evaluate.folds.FoldOutput`, ``deals``
    the deals the truth check walked and ``check`` the truth-check module
    (:func:`truth_check_module`); adds ``model_open`` and ``model_over_truth`` to the record's
    ``truth_open``, and ``model_new`` (the model's expected total less its open pipeline).
    """
    probs = out.deal_probabilities.set_index("opportunity_id")[out.quarters[0]]
    total = (record.get("mean") or {}).get("model")
    return record | {"truth_open": check.compare_model(record["truth_open"], deals, probs, total)}


def run_profile(profile: str, args: argparse.Namespace, settings: Any, supported: bool,
                data_root: Path, workspace: Path, done_keys: set[tuple],
                log: Path | None) -> tuple[list[dict[str, Any]], float]:
    """Generate, fit, forecast and score every missing replicate of ``profile``."""
    from partner_forecast.data.export import load_export
    from partner_forecast.evaluate.backtest import run_folds
    from partner_forecast.evaluate.folds import fold_quarters, make_fold_task
    from partner_forecast.evaluate.scoring import score_folds

    fym = settings.calendar.fiscal_year_start_month
    check = truth_check_module() if supported else None
    tasks, infos, exports, truth_deals, records = [], {}, {}, {}, []
    for r in range(args.replicates):
        seed = replicate_seed(args.seed, profile, r)
        info = {"profile": profile, "replicate": r, "seed": seed, "partners": args.partners,
                "quarters": args.quarters, "config_fingerprint": settings.fingerprint}
        if _record_key(info) in done_keys:
            continue
        folder = data_root / profile / f"r{r:02d}"
        truth = _generate(folder, profile, seed, args, supported)
        export = load_export(folder, settings=settings)
        quarter = fold_quarters(export, 1, fym)[0]
        attributed = (truth.realised or {}).get("won_arr_attributed", {})
        info["truth_attributed"] = _num(attributed.get(str(quarter)))
        index = len(tasks)
        if check is not None and check.supported(profile):
            info["truth_open"], truth_deals[index] = check.open_pipeline_truth(
                export, truth, quarter, settings, draws=args.sim_draws, seed=seed)
        tasks.append(make_fold_task(export, quarter, index=index, horizon=1, by=None,
                                    draws=args.sim_draws, seed=seed, workspace=workspace,
                                    settings=settings))
        infos[index], exports[index] = info, export
    if not tasks:
        return records, 0.0
    t0 = time.perf_counter()

    def on_done(out, done: int, total: int) -> None:
        per_quarter, _ = score_folds([out], exports[out.index], settings)
        record = replicate_record(per_quarter, out.meta, infos[out.index])
        if out.index in truth_deals:
            record = with_model_view(record, out, truth_deals[out.index], check)
        records.append(record)
        if log is not None:
            with log.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
        print(replicate_line(record, done, total), flush=True)

    run_folds(tasks, workers=args.workers, scheduler=args.scheduler, on_done=on_done)
    return records, time.perf_counter() - t0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; returns the process exit code (2 on bad arguments)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default=None,
                        help="comma-separated generator profiles (default: every one it knows)")
    parser.add_argument("--replicates", type=int, default=20)
    parser.add_argument("--partners", type=int, default=60)
    parser.add_argument("--quarters", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--scheduler", default=None, help="Dask scheduler address, or 'local'")
    parser.add_argument("--draws", type=int, default=500, help="posterior draws per chain")
    parser.add_argument("--tune", type=int, default=500, help="tuning steps per chain")
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--retries", type=int, default=1,
                        help="sampler retries after failed diagnostics ([sampler] retries)")
    parser.add_argument("--sim-draws", type=int, default=2000, help="Monte Carlo draws per forecast")
    parser.add_argument("--seed", type=int, default=1, help="base seed of the replicates")
    parser.add_argument("--output", type=Path, default=None, help="write the summary as JSON here")
    parser.add_argument("--log", type=Path, default=None,
                        help="JSON-lines log of finished replicates (resumes from it)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the generated exports in this folder")
    args = parser.parse_args(argv)
    for name in ("replicates", "partners", "quarters", "workers", "chains", "sim_draws"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.draws < 10 or args.tune < 10:
        parser.error("--draws and --tune must be at least 10")
    if args.quarters < 5:
        parser.error("--quarters must be at least 5: the forecast quarter needs the same quarter "
                     "a year earlier in the history (the cohort baseline's new pipeline)")

    from partner_forecast.config import load_settings
    from partner_forecast.files import atomic_write

    supported, known = generator_profiles()
    try:
        profiles, how = resolve_profiles(args.profiles, supported, known)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.profiles and not supported and args.profiles.strip() != DEFAULT_PROFILE:
        print(f"note: --profiles {args.profiles} ignored: {how}", file=sys.stderr)
    log = args.log or (args.output.with_name(args.output.name + ".replicates.jsonl")
                       if args.output else None)
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pf-calibration-") as tmp:
        config = Path(tmp) / "sampler.toml"
        config.write_text(_sampler_toml(args), "utf-8")
        settings = load_settings(config)
        previous = [r for r in read_log(log)
                    if r.get("config_fingerprint") == settings.fingerprint and r["profile"] in profiles]
        done_keys = {_record_key(r) for r in previous}
        print(f"calibration: profiles {', '.join(profiles)} ({how}); {args.replicates} replicate(s) "
              f"of {args.partners} partners x {args.quarters} quarters; sampler {args.chains} x "
              f"{args.draws} draws after {args.tune} tuning; {args.sim_draws} Monte Carlo draws; "
              f"{args.workers} worker(s)" + (f"; resuming {len(previous)} from {log}" if previous else ""),
              flush=True)
        for r in previous:
            print(replicate_line(r) + "  (from the log)", flush=True)
        data_root = args.keep or Path(tmp) / "exports"
        records: list[dict[str, Any]] = list(previous)
        wall: dict[str, float] = {}
        for profile in profiles:
            done, seconds = run_profile(profile, args, settings, supported, data_root,
                                        Path(tmp) / "workspace", done_keys, log)
            records += done
            wall[profile] = seconds
    summary = aggregate(sorted(records, key=lambda r: (profiles.index(r["profile"]), r["replicate"])),
                        wall)
    print()
    for profile, s in summary.items():
        print("\n".join(summary_lines(profile, s)))
    total_wall = time.perf_counter() - t_start
    print(f"\nwall time {total_wall:.0f} s in this run (replicates read from the log not counted)")
    if args.output:
        doc = {"settings": {"profiles": profiles, "profiles_note": how,
                            "generator_has_profiles": supported, "replicates": args.replicates,
                            "partners": args.partners, "quarters": args.quarters,
                            "sampler": {"draws": args.draws, "tune": args.tune, "chains": args.chains},
                            "sim_draws": args.sim_draws, "seed": args.seed, "workers": args.workers,
                            "scheduler": args.scheduler, "config_fingerprint": settings.fingerprint},
               "wall_seconds": total_wall, "profiles": summary, "replicates": records}
        atomic_write(args.output, json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
