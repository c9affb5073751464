"""What a forecaster that knew the generator's true parameters would say about the open pipeline.

A single replicate of the calibration benchmark mixes two things in its P50 error: how far the
fitted models are from the process that made the export, and how far the realised quarter fell
from what that process itself expected (quarter shocks, which deals happened to win). This
module measures the second, so that the first can be read off: it walks the deals open at the
forecast quarter's start through the generator's *true* semi-Markov process (its ``time_mu`` /
``time_sigma``, ``conv_logit``, ``conv_partner``, ``conv_beta``, ``conv_duration`` and the
quarter's realised ``conv_shock``, from ``truth.json``), with the library's own Monte Carlo
engine (:func:`partner_forecast.simulate.simulate`, every posterior draw set to the truth), and
returns the distribution of the partner-attributed ARR they win in the quarter.

Scope: profiles whose deal path is the default process's walk (``ORACLE_PROFILES``); the others
change the walk (other time families, stage skips, flags set later, closes moved) and get no
oracle. New pipeline (deals created in the quarter) is left out: at a quarter start it is a
few percent of the quarter's wins. Covariates of open deals are their true values as far as the
export shows them: the flags (set at creation in the default walk) and the engagement count of
the deal's engagement activities in the full export (activities dated after the export date are
not in it, so for deals still open then the count is a lower bound).

Usage (one export, e.g. from ``partner-forecast sample``)::

    python benchmarks/truth_oracle.py EXPORT_DIR [--quarter 2025Q4] [--draws 4000]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings, load_settings
from partner_forecast.data.export import Export, load_export
from partner_forecast.data.sample.truth import Truth
from partner_forecast.data.schema import ENGAGEMENT_ACTIVITIES, OPEN_STAGES, PartnerType
from partner_forecast.models.inputs import open_deals
from partner_forecast.simulate import simulate
from partner_forecast.simulate.inputs import COVARIATES, ROLES, SimulationInputs

ORACLE_PROFILES: frozenset[str] = frozenset(
    {"default", "messy_labels", "heavy_tails", "few_partners", "hidden_quality"})
"""Profiles whose deal path is the default walk (the oracle's process)."""
QUANTILES = (0.1, 0.5, 0.9)


def supported(profiles: str | Iterable[str] | None) -> bool:
    """Whether every profile of ``"a,b"`` (or a list; None = default) keeps the default walk."""
    if profiles is None:
        return True
    names = profiles.split(",") if isinstance(profiles, str) else list(profiles)
    return all(n.strip() in ORACLE_PROFILES for n in names if n.strip())


def _truth_covariates(export: Export, ids: np.ndarray, engagement_full_at: float) -> pd.DataFrame:
    """(N, K) true covariates of the deals ``ids``: flags as exported, engagement capped count."""
    opps = export.opportunities.set_index("opportunity_id")
    acts = export.activities
    eng = acts[acts["activity_type"].isin(ENGAGEMENT_ACTIVITIES) & acts["opportunity_id"].notna()]
    counts = eng.groupby("opportunity_id").size()
    out = {flag: opps.loc[ids, flag].astype("boolean").fillna(False).astype(float).to_numpy()
           for flag in ("technical_validation", "executive_sponsor")}
    out["engagement"] = np.minimum(pd.Series(ids).map(counts).fillna(0).to_numpy(dtype=float)
                                   / engagement_full_at, 1.0)
    return pd.DataFrame(out)[list(COVARIATES)]


def oracle_inputs(export: Export, truth: Truth, quarter: Quarter, settings: Settings, *,
                  draws: int = 4000, shock: float | None = None) -> SimulationInputs:
    """:class:`SimulationInputs` of the open pipeline at ``quarter``'s start under the truth.

    Parameters
    ----------
    export : Export
        The full export (its deals and activities give the true covariates).
    truth : Truth
        The generator's truth of that export.
    quarter : Quarter
        The forecast quarter; deals open at its start are walked.
    settings : Settings
        Attribution weights (as the forecast and the realised figure use them).
    draws : int
        Monte Carlo draws (every draw has the true parameters).
    shock : float, optional
        The quarter's conversion shock (logit); default: the one the generator realised.

    Returns
    -------
    SimulationInputs
        With no new pipeline (pool 0): only the open deals are walked.
    """
    view = export.as_of(quarter.start)
    partners = view.partners.sort_values("partner_id", kind="stable").reset_index(drop=True)
    pids = partners["partner_id"].astype(str).to_numpy()
    types = tuple(t.value for t in PartnerType if t.value in truth["conv_logit"])
    ptype = partners["partner_type"].map({t: i for i, t in enumerate(types)})
    if ptype.isna().any():
        raise ValueError("the export has partner types the truth has no parameters for: "
                         + ", ".join(sorted(set(partners["partner_type"][ptype.isna()]))))
    ptype = ptype.to_numpy(dtype=np.int64)
    D, P, T, R, K = draws, len(pids), len(types), len(ROLES), len(COVARIATES)

    def by_type(name: str) -> np.ndarray:
        return np.array([[truth[name][t][s] for s in OPEN_STAGES] for t in types], dtype=float)

    realised = truth["conv_shock"].get(str(quarter), 0.0)
    q_shock = float(realised if shock is None else shock)
    deals = open_deals(view, settings)
    deals[list(COVARIATES)] = _truth_covariates(
        export, deals["opportunity_id"].to_numpy(dtype=object),
        float(truth.settings.get("engagement_full_at", 5))).to_numpy()

    def rep(x: np.ndarray) -> np.ndarray:
        return np.repeat(np.asarray(x, dtype=float)[None], D, axis=0)

    return SimulationInputs(
        partner_ids=pids, partner_type=ptype, partner_tier=np.zeros(P, dtype=np.int64),
        types=types, tiers=("all",), quarters=(quarter,), as_of=quarter.start,
        asr=np.zeros((D, P, 1)), pool=np.zeros((P, 1), dtype=np.int64),
        opp_rate=np.zeros((D, P)), opp_dispersion=np.ones(D),
        adv_logit=rep(by_type("conv_logit") + q_shock),
        adv_partner=rep(np.array([truth["conv_partner"][p] for p in pids])),
        adv_beta=rep(np.array([truth["conv_beta"][c] for c in COVARIATES])),
        adv_duration=rep(np.array([truth["conv_duration"][s] for s in OPEN_STAGES])),
        shock_sigma=np.full(D, 1e-9),
        time_mu=rep(by_type("time_mu")), time_sigma=rep(by_type("time_sigma")),
        size_mu=np.zeros((D, P)), size_role=np.zeros((D, R)), size_sigma=np.ones(D),
        size_nu=np.full(D, 10.0), role_probs=np.full((T, R), 1.0 / R),
        new_covariates=np.zeros((T, K)), marketplace_rate=np.zeros(T), expansion_rate=np.zeros(T),
        influence_share=np.full(T, settings.attribution.influenced), open_deals=deals,
    ).check()


def realised_open(export: Export, quarter: Quarter, deal_ids: Sequence[str],
                  attribution: np.ndarray) -> tuple[float, int]:
    """(attributed ARR, count) of the deals ``deal_ids`` won in ``quarter`` (full export)."""
    opps = export.opportunities.set_index("opportunity_id").loc[list(deal_ids)]
    won = ((opps["stage"] == "won") & (opps["closed_on"] >= quarter.start)
           & (opps["closed_on"] <= quarter.end)).to_numpy()
    return float((opps["arr"].to_numpy(dtype=float) * attribution)[won].sum()), int(won.sum())


def open_pipeline_oracle(export: Export, truth: Truth, quarter: Quarter, settings: Settings, *,
                         draws: int = 4000, seed: int = 0) -> dict[str, Any]:
    """The truth's forecast of the open pipeline's attributed ARR won in ``quarter``.

    Returns
    -------
    dict
        ``p10``/``p50``/``p90``/``mean`` and ``wins`` (expected count) with the quarter's
        realised shock; ``p50_no_shock``/``wins_no_shock`` with a zero shock (what a forecaster
        knowing every parameter but not the quarter's luck would say); ``actual`` and
        ``actual_wins`` (what those deals won); ``pit`` of the actual under the oracle;
        ``shock`` (logit). ARR in currency per year.
    """
    out: dict[str, Any] = {}
    for label, shock in (("", None), ("_no_shock", 0.0)):
        inputs = oracle_inputs(export, truth, quarter, settings, draws=draws, shock=shock)
        sim = simulate(inputs, seed=seed, attribution=settings.attribution)
        values = sim.measure("attributed_open")[:, 0, 0].astype(float)
        wins = float(sim.driver_means()["open_won_deals"].iloc[0])
        if label:
            out.update({"p50" + label: float(np.quantile(values, 0.5)), "wins" + label: wins})
            continue
        q = np.quantile(values, QUANTILES)
        out.update({"p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2]),
                    "mean": float(values.mean()), "wins": wins})
        deals = inputs.open_deals
        actual, n_won = realised_open(export, quarter, deals["opportunity_id"].tolist(),
                                      deals["attribution"].to_numpy(dtype=float))
        out.update({"actual": actual, "actual_wins": n_won, "open_deals": int(len(deals)),
                    "pit": float(np.mean(values < actual) + 0.5 * np.mean(values == actual)),
                    "shock": float(truth["conv_shock"].get(str(quarter), 0.0))})
    return out


def oracle_line(o: dict[str, Any]) -> str:
    """One printed line of an oracle result."""
    def m(x: float) -> str:
        return f"{x / 1e6:,.2f}M" if abs(x) >= 1e6 else f"{x / 1e3:,.0f}k"
    return (f"truth oracle, open pipeline ({o['open_deals']} deals): P10/P50/P90 {m(o['p10'])}/"
            f"{m(o['p50'])}/{m(o['p90'])} with the quarter's shock {o['shock']:+.2f} "
            f"({o['wins']:.1f} wins expected); P50 {m(o['p50_no_shock'])} without it "
            f"({o['wins_no_shock']:.1f} wins); actual {m(o['actual'])} ({o['actual_wins']} "
            f"wins), PIT {o['pit']:.2f}")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the oracle of one export; 2 on bad arguments or an unsupported profile."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="a generated export with its truth.json")
    parser.add_argument("--quarter", default=None,
                        help="forecast quarter (default: the export's last complete one)")
    parser.add_argument("--draws", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    truth_path = args.export / "truth.json"
    if not truth_path.exists():
        print(f"error: {truth_path} not found: the oracle needs a generated export",
              file=sys.stderr)
        return 2
    truth = Truth.load(truth_path)
    if not supported(list(truth.profiles) or None):
        print(f"error: profiles {', '.join(truth.profiles)} change the deal path; the oracle "
              f"walks the default one ({', '.join(sorted(ORACLE_PROFILES))})", file=sys.stderr)
        return 2
    settings = load_settings(None)
    export = load_export(args.export, settings=settings)
    if args.quarter:
        quarter = Quarter.parse(args.quarter, settings.calendar.fiscal_year_start_month)
    else:
        from partner_forecast.evaluate.backtest import fold_quarters

        quarter = fold_quarters(export, 1, settings.calendar.fiscal_year_start_month)[0]
    print(f"{quarter}: " + oracle_line(open_pipeline_oracle(export, truth, quarter, settings,
                                                            draws=args.draws, seed=args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
