"""Model against the generator's own truth: is a forecast's error bias, or the luck of the draw?

A replicate of ``benchmarks/calibration.py`` compares the forecast with *one* realisation of the
quarter. On a profile whose process is known (``partner-forecast sample``'s ``default`` and the
profiles that keep its stage walk: :data:`SUPPORTED`), this benchmark also asks the generator
what it expected: it regenerates the export's latent state (each deal's true covariates,
partner effect, stage and days in it at the cut) and walks every deal open at the cut through
the generator's own process with its true parameters (:func:`truth_walk`, Monte Carlo, a fresh
quarter shock per draw). That gives, per replicate:

- ``truth``: the generator's expected partner-attributed ARR won in the quarter from the deals
  open at the cut, and the PIT of the realised figure under the truth's own distribution (a
  truth PIT near 1 means the quarter was lucky, whatever the model);
- ``model``: the forecast's P50, PIT and its expected open-pipeline ARR (sum over open deals of
  P(won in the quarter) x ARR x attribution weight), and ``model / truth``: values above 1
  over-forecast the open pipeline, below 1 under-forecast it (the model's own bias);
- ``engine / truth``: the Monte Carlo engine run with the generator's *true* parameters and
  each deal's true covariates in place of the posteriors (a check of the simulation path:
  ages, censoring of the current stay, the duration term, attribution; 1 up to Monte Carlo
  error on the log-normal profiles). The engine's stays are log-normal: on
  ``stage_times_gamma`` / ``stage_times_weibull`` it runs the log-normal with the truth's
  median and log-sd, so there the ratio is what the log-normal family itself costs;
- expected wins per open stage: model, truth, realised.

ARR in currency per year. Replicates use ``benchmarks/calibration.py``'s seeds (the same
exports as its table). One fit per replicate, run in this process, one after the other.

Usage::

    python benchmarks/truth_check.py [--profiles default] [--replicates 8] [--partners 40]
        [--quarters 8] [--draws 500] [--tune 500] [--chains 2] [--sim-draws 2000]
        [--truth-draws 1000] [--seed 1] [--output FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.util
import io
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy import stats

from partner_forecast.data.schema import OPEN_STAGES

SUPPORTED: tuple[str, ...] = ("default", "stage_times_gamma", "stage_times_weibull",
                              "hidden_quality", "heavy_tails")
"""Profiles whose stage walk :func:`truth_walk` reproduces (the others change the walk)."""
_TIME_PROFILES = ("stage_times_gamma", "stage_times_weibull")


def _calibration_module():
    """``benchmarks/calibration.py`` (its seeds, sampler config and generator call)."""
    path = Path(__file__).resolve().with_name("calibration.py")
    spec = importlib.util.spec_from_file_location("calibration_benchmark", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- the generator's latent state --------------------------------------------------------------
class Latent(NamedTuple):
    """The generator's internals for one export (generation order, see ``data/sample``)."""

    cal: Any
    opps: Any
    deals: Any
    paths: Any
    ids: Any
    prof: Any


def regenerate(partners: int, quarters: int, seed: int, profile: str | None,
               start: str = "2024-01-01") -> Latent:
    """Rerun the generator's phases up to the stage walk (same streams as ``generate_tables``).

    Raises
    ------
    ValueError
        A profile outside :data:`SUPPORTED`.
    """
    from partner_forecast.data.sample import generate as gen
    from partner_forecast.data.sample.profiles import ActiveProfiles, parse_profiles
    from partner_forecast.data.sample.tables import Ids

    if (profile or "default") not in SUPPORTED:
        raise ValueError(f"profile {profile!r} changes the stage walk; supported: "
                         f"{', '.join(SUPPORTED)}")
    prof = ActiveProfiles(parse_profiles(None if profile in (None, "default") else profile), seed)
    cal = gen.make_calendar(start, quarters)
    streams = np.random.SeedSequence(seed).spawn(len(gen._STREAMS))
    rng = {n: np.random.default_rng(s) for n, s in zip(gen._STREAMS, streams, strict=True)}
    pop = gen.draw_population(rng["partners"], rng["sellers"], cal, partners)
    act = gen.draw_activation(rng["activation"], pop, cal)
    quality, weight = None, 0.0
    if "hidden_quality" in prof:
        quality = gen.r6(prof.rng("hidden_quality").standard_normal(partners))
        weight = float(prof.params("hidden_quality")["weight"])
    opps = gen.draw_opportunities(rng["productivity"], pop, act, cal, quality, weight)
    deals = gen.draw_deals(rng["deals"], opps, partners, prof, quality, weight)
    paths = gen.walk_paths(rng["paths"], opps, deals, cal, partners, prof, quality, weight)
    return Latent(cal, opps, deals, paths, Ids.make(partners, pop.sellers, opps), prof)


def stay_distribution(prof: Any, mu: np.ndarray, sigma: np.ndarray, stage: np.ndarray):
    """The generator's (frozen, vectorised) distribution of days in a stage, before rounding."""
    from partner_forecast.data.sample.paths import _shapes

    if "stage_times_gamma" in prof:
        k = _shapes(prof, "stage_times_gamma")[stage]
        return stats.gamma(k, scale=np.exp(mu) / stats.gamma.median(k))
    if "stage_times_weibull" in prof:
        k = _shapes(prof, "stage_times_weibull")[stage]
        return stats.weibull_min(k, scale=np.exp(mu) / np.log(2.0) ** (1 / k))
    return stats.lognorm(s=sigma, scale=np.exp(mu))


def open_at_cut(lat: Latent, cut: int) -> pd.DataFrame:
    """Deals open at day ``cut`` (created before it, not closed before it) and their state.

    Columns: ``i`` (generation index), opportunity_id, stage (index), entered (day the current
    stage was entered), age (days in it at the cut), type, offset (the true partner effect +
    ``beta . x`` with the deal's true covariates), arr, won_in (day of a win, -1 if lost or
    never), and the true covariates.
    """
    from partner_forecast.data.sample.common import NO_DAY
    from partner_forecast.data.sample.params import CONV, COVARIATES

    opps, deals, paths = lat.opps, lat.deals, lat.paths
    S = len(OPEN_STAGES)
    ent = paths.entered
    reached = (ent != NO_DAY) & (ent < cut)
    last = np.where(reached, np.arange(S)[None, :], -1).max(axis=1)
    idx = np.flatnonzero((opps.created < cut) & (paths.outcome_day >= cut) & (last >= 0))
    st = last[idx]
    x = np.column_stack([deals.tv[idx], deals.es[idx], deals.engagement[idx]]).astype(float)
    beta = np.array([CONV["conv_beta"][c] for c in COVARIATES])
    return pd.DataFrame({
        "i": idx, "opportunity_id": lat.ids.opp_of[idx], "stage": st,
        "entered": ent[idx, st], "age": cut - ent[idx, st], "type": opps.o_t[idx],
        "offset": paths.conv_partner[opps.o_p[idx]] + x @ beta, "arr": deals.arr[idx],
        "won_in": np.where(paths.won[idx], paths.outcome_day[idx], -1),
        **{c: x[:, k] for k, c in enumerate(COVARIATES)},
    })


def truth_walk(stage: np.ndarray, entered: np.ndarray, age: np.ndarray, typ: np.ndarray,
               offset: np.ndarray, conv_logit: np.ndarray, conv_duration: np.ndarray,
               time_mu: np.ndarray, time_sigma: np.ndarray, shock_sigma: float, cut: int,
               end: int, n_draws: int, rng: np.random.Generator, prof: Any = (),
               scale_days: float = 30.0) -> np.ndarray:
    """(n_draws, deals) whether each open deal is won in days ``[cut, end)`` under the truth.

    The generator's semi-Markov walk: in stage ``s`` a deal stays ``d = max(1, round(D))``
    days (``D`` from :func:`stay_distribution`; the current stay conditioned on lasting at
    least until the cut, ``D >= age - 1/2``) and then advances with probability
    ``sigmoid(conv_logit[type, s] + offset + conv_duration[s] log(d / scale_days) + shock)``,
    else it is lost; advancing from the last open stage is a win. One quarter shock
    ``N(0, shock_sigma)`` per draw, shared by all deals (closes after ``end`` do not count).
    """
    S = conv_logit.shape[1]
    shape = (n_draws, len(stage))
    out = np.zeros(shape, dtype=bool)
    shock = rng.normal(0.0, shock_sigma, (n_draws, 1)) if shock_sigma > 0 else np.zeros((n_draws, 1))
    s = np.broadcast_to(np.asarray(stage, dtype=np.int64), shape).copy()
    typ = np.broadcast_to(np.asarray(typ, dtype=np.int64), shape)
    age = np.broadcast_to(np.asarray(age, dtype=float), shape)
    t = np.broadcast_to(np.asarray(entered, dtype=float), shape).copy()
    alive = np.ones(shape, dtype=bool)
    for step in range(S):
        sc = np.minimum(s, S - 1)
        dist = stay_distribution(prof, time_mu[typ, sc], time_sigma[typ, sc], sc)
        u = rng.random(shape)
        if step == 0:  # the current stay, conditioned on lasting until the cut
            raw = dist.isf(np.maximum(u * dist.sf(np.maximum(age - 0.5, 1e-9)), 1e-300))
            d = np.maximum(np.maximum(np.rint(raw), 1.0), age)
        else:
            d = np.maximum(np.rint(dist.isf(u)), 1.0)
        t = t + d
        logit = conv_logit[typ, sc] + offset + conv_duration[sc] * np.log(d / scale_days) + shock
        adv = rng.random(shape) < 1.0 / (1.0 + np.exp(-logit))
        going = alive & (t < end)
        out |= going & adv & (s == S - 1)
        alive = going & adv & (s < S - 1)
        s = s + 1
    return out


# -- one replicate --------------------------------------------------------------------------
def _engine_inputs(inputs: Any, lat: Latent, deals: pd.DataFrame) -> Any:
    """The simulation inputs with the generator's true conversion and timing parameters."""
    from partner_forecast.data.sample.params import CONV, COVARIATES, TYPES

    paths = lat.paths
    D = inputs.adv_logit.shape[0]
    rows = [TYPES.index(t) for t in inputs.types]  # the generator's type order -> the fit's
    pid = {p: k for k, p in enumerate(lat.ids.partner)}

    def per_draw(a: np.ndarray) -> np.ndarray:
        a = np.asarray(a, dtype=float)
        return np.ascontiguousarray(np.broadcast_to(a, (D, *a.shape)))

    open_deals = inputs.open_deals.copy()
    true = deals.set_index("opportunity_id")
    for c in COVARIATES:
        open_deals[c] = open_deals["opportunity_id"].map(true[c]).to_numpy(dtype=float)
    jumps = np.zeros(inputs.jump_probs.shape[1:])
    jumps[..., 0] = 1.0
    return dataclasses.replace(
        inputs, adv_logit=per_draw(paths.conv_logit[rows]),
        adv_partner=per_draw(paths.conv_partner[[pid[p] for p in inputs.partner_ids]]),
        adv_beta=per_draw([CONV["conv_beta"][c] for c in COVARIATES]),
        adv_duration=per_draw(paths.conv_duration), shock_sigma=np.full(D, CONV["conv_shock_sigma"]),
        time_mu=per_draw(paths.time_mu[rows]), time_sigma=per_draw(paths.time_sigma[rows]),
        jump_probs=per_draw(jumps), open_deals=open_deals)


def run_replicate(profile: str, replicate: int, args: argparse.Namespace, settings: Any,
                  folder: Path, workspace: Path) -> dict[str, Any]:
    """Generate, fit, forecast; score the model against the realised quarter and the truth."""
    from partner_forecast import forecast as fc
    from partner_forecast.data.export import load_export
    from partner_forecast.data.sample.params import CONV
    from partner_forecast.evaluate.backtest import fold_quarters
    from partner_forecast.outcomes import realised

    cal_bench = _calibration_module()
    seed = cal_bench.replicate_seed(args.seed, profile, replicate)
    cal_bench._generate(folder, profile, seed, args, True)
    export = load_export(folder, settings=settings)
    quarter = fold_quarters(export, 1, settings.calendar.fiscal_year_start_month)[0]
    with contextlib.redirect_stderr(io.StringIO()):
        ctx = fc.prepare(export, as_of=quarter.start, quarter=quarter, horizon=1,
                         draws=args.sim_draws, seed=seed, config=settings, workspace=workspace,
                         progress=False)
        result = fc.run(ctx, record=False, progress=False)
    actual = float(realised(export, settings, quarter).query("segment == 'total'")
                   ["attributed_arr"].iloc[0])
    total = result.draws("attributed").ravel()

    lat = regenerate(args.partners, args.quarters, seed, profile)
    cut = int(lat.cal.bounds[args.quarters - 1])
    end = int(lat.cal.bounds[args.quarters])
    deals = open_at_cut(lat, cut)
    od = ctx.inputs.open_deals.set_index("opportunity_id")
    if set(deals["opportunity_id"]) != set(od.index):
        raise RuntimeError("the regenerated open deals differ from the export's: the generator "
                           "changed since this benchmark was written")
    att = deals["opportunity_id"].map(od["attribution"]).to_numpy(dtype=float)
    stage_of = deals["opportunity_id"].map(od["stage"]).to_numpy()
    if not np.array_equal(stage_of, deals["stage"].to_numpy()):
        raise RuntimeError("regenerated stages differ from the export's")
    wins = truth_walk(deals["stage"].to_numpy(), deals["entered"].to_numpy(), deals["age"].to_numpy(),
                      deals["type"].to_numpy(), deals["offset"].to_numpy(), lat.paths.conv_logit,
                      lat.paths.conv_duration, lat.paths.time_mu, lat.paths.time_sigma,
                      CONV["conv_shock_sigma"], cut, end, args.truth_draws,
                      np.random.default_rng(seed), lat.prof)
    weight = deals["arr"].to_numpy() * att
    truth_arr = wins.astype(float) @ weight
    won = (deals["won_in"] >= cut) & (deals["won_in"] < end)
    realised_open = float(weight[won.to_numpy()].sum())

    probs = result.simulation.deal_probabilities().set_index("opportunity_id")[str(quarter)]
    p_model = deals["opportunity_id"].map(probs).to_numpy(dtype=float)
    with contextlib.redirect_stderr(io.StringIO()):
        engine = fc.run(dataclasses.replace(ctx, inputs=_engine_inputs(ctx.inputs, lat, deals)),
                        record=False, progress=False)
    engine_open = float(engine.simulation.total().measure("attributed_open")[:, 0, 0].mean())
    by_stage = {}
    for s, name in enumerate(OPEN_STAGES):
        sel = deals["stage"].to_numpy() == s
        by_stage[name] = {"open": int(sel.sum()), "model": float(p_model[sel].sum()),
                          "truth": float(wins[:, sel].mean(axis=0).sum()),
                          "won": int(won.to_numpy()[sel].sum())}
    truth_mean = float(truth_arr.mean())
    model_open = float((p_model * weight).sum())
    return {"profile": profile, "replicate": replicate, "seed": seed, "quarter": str(quarter),
            "actual": actual, "model_p50": float(np.median(total)),
            "model_pit": float((total < actual).mean() + 0.5 * (total == actual).mean()),
            "p50_error": float(np.median(total) / actual - 1.0),
            "realised_open": realised_open, "truth_open": truth_mean,
            "truth_open_pit": float((truth_arr < realised_open).mean()),
            "model_open": model_open, "model_over_truth": model_open / truth_mean,
            "engine_over_truth": engine_open / truth_mean,
            "realised_over_truth": realised_open / truth_mean, "by_stage": by_stage,
            "diagnostics_ok": not result.meta.get("warnings")}


def summary(records: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """Per profile: replicates, means of P50 error, model PIT, truth PIT and the ratios."""
    frame = pd.DataFrame([{k: v for k, v in r.items() if k != "by_stage"} for r in records])
    cols = ["p50_error", "model_pit", "truth_open_pit", "model_over_truth", "engine_over_truth",
            "realised_over_truth"]
    out = frame.groupby("profile")[cols].agg(["mean", "std"])
    out.insert(0, ("replicates", "n"), frame.groupby("profile").size())
    return out


def line(r: dict[str, Any]) -> str:
    """One printed line per replicate."""
    return (f"{r['profile']} r{r['replicate']}: actual {r['actual']:,.0f}, model P50 "
            f"{r['model_p50']:,.0f} ({r['p50_error']:+.0%}, PIT {r['model_pit']:.2f}); open "
            f"pipeline realised {r['realised_open']:,.0f}, truth expected {r['truth_open']:,.0f} "
            f"(truth PIT {r['truth_open_pit']:.2f}), model {r['model_open']:,.0f}; model/truth "
            f"{r['model_over_truth']:.3f}, engine/truth {r['engine_over_truth']:.3f}")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; 2 on bad arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profiles", default="default")
    parser.add_argument("--replicates", type=int, default=8)
    parser.add_argument("--partners", type=int, default=40)
    parser.add_argument("--quarters", type=int, default=8)
    parser.add_argument("--draws", type=int, default=500)
    parser.add_argument("--tune", type=int, default=500)
    parser.add_argument("--chains", type=int, default=2)
    parser.add_argument("--retries", type=int, default=0)
    parser.add_argument("--sim-draws", type=int, default=2000)
    parser.add_argument("--truth-draws", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    profiles = [p.strip() for p in args.profiles.split(",") if p.strip()]
    bad = [p for p in profiles if p not in SUPPORTED]
    if bad:
        print(f"error: profile(s) {', '.join(bad)} change the stage walk; supported: "
              f"{', '.join(SUPPORTED)}", file=sys.stderr)
        return 2
    if min(args.replicates, args.partners, args.sim_draws, args.truth_draws) < 1 or args.quarters < 5:
        parser.error("sizes must be at least 1 (--quarters at least 5)")

    from partner_forecast.config import load_settings

    records = []
    with tempfile.TemporaryDirectory(prefix="pf-truth-") as tmp:
        config = Path(tmp) / "sampler.toml"
        config.write_text(_calibration_module()._sampler_toml(args), "utf-8")
        settings = load_settings(config)
        for profile in profiles:
            for r in range(args.replicates):
                rec = run_replicate(profile, r, args, settings, Path(tmp) / profile / f"r{r:02d}",
                                    Path(tmp) / "workspace")
                records.append(rec)
                print(line(rec), flush=True)
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(summary(records).round(3))
    if args.output:
        from partner_forecast.reports.output import atomic_write

        atomic_write(args.output, json.dumps({"settings": vars(args) | {"output": str(args.output)},
                                              "replicates": records}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
