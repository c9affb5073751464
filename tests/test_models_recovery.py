"""Recovery tier (slow): fit the five models on a synthetic export with known parameters.

The sample generator draws the export from the models' own forms with parameters written to
``truth.json``; the fitted posteriors should cover them. Checked: across all scalars (fixed
effects, group sigmas and every partner / quarter effect) the share of true values inside the
posterior 80% interval is near 80%, and the non-partner parameters lie inside their 99%
intervals (at most two misses). The engagement slope is attenuated by design of the covariate
(``test_engagement_slope_is_attenuated_not_lost``). The models are fitted through the CLI
(``partner-forecast fit``) and then loaded from the workspace by the library, so the same run
exercises both paths.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from click.testing import CliRunner

from partner_forecast.calendar import Quarter
from partner_forecast.cli import main
from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.data.sample import generate_sample
from partner_forecast.data.schema import OPEN_STAGES
from partner_forecast.posterior.inputs import simulation_inputs
from partner_forecast.posterior.summaries import conversion_curves, posterior_activation
from partner_forecast.workspace import Workspace, fit_all

pytestmark = pytest.mark.slow

# Short chains: the thresholds are relaxed to what 2 x 500 draws can show (R-hat, ESS) while
# divergences still fail the fit; one retry as in production.
SAMPLER = ("[sampler]\ndraws = 500\ntune = 500\nchains = 2\nretries = 1\nmin_ess = 100\n"
           "max_rhat = 1.03\n")


@pytest.fixture(scope="module")
def recovery(tmp_path_factory):
    root = tmp_path_factory.mktemp("recovery")
    data = root / "export"
    truth = generate_sample(data, partners=60, quarters=8, seed=29)
    config = root / "recovery.toml"
    config.write_text(SAMPLER, "utf-8")
    ws = root / "ws"
    result = CliRunner().invoke(main, ["fit", str(data), "--workspace", str(ws),
                                       "--config", str(config)])
    # Exit 1 = some model failed its (relaxed) diagnostics even after the retry: the output
    # must then say so first; recovery is checked either way (diagnostics across data shapes
    # are measured by benchmarks/calibration.py).
    assert result.exit_code in (0, 1), result.output
    assert (result.exit_code == 1) == result.stdout.startswith("!! UNRELIABLE"), result.output
    settings = load_settings(config)
    export = load_export(data)
    start = time.perf_counter()
    fits = fit_all(export, settings, Workspace(ws), progress=False)
    load_seconds = time.perf_counter() - start
    return {"truth": truth, "export": export, "settings": settings, "fits": fits,
            "cli": result, "load_seconds": load_seconds}


def _label(values: dict, labels) -> np.ndarray:
    return np.array([values[str(k)] for k in labels], dtype=float)


def pairs(fits, truth) -> list[tuple[str, bool, np.ndarray, np.ndarray]]:
    """(name, is_partner_level, true values, posterior draws (samples, n)) per parameter."""
    p = truth.parameters
    act, prod, conv, tim, size = (fits.activation, fits.productivity, fits.conversion,
                                  fits.timing, fits.deal_size)
    out = []

    def add(name, true, draws, partner=False):
        draws = np.asarray(draws, dtype=float)
        out.append((name, partner, np.atleast_1d(np.asarray(true, dtype=float)),
                    draws.reshape(draws.shape[0], -1)))

    types, tiers = act.spec.coords["partner_type"], act.spec.coords["tier"]
    partners = act.spec.coords["partner"]
    add("act_intercept", p["act_intercept"], act.samples("intercept"))
    add("act_type", _label(p["act_type"], types), act.samples("type_effect"))
    add("act_tier", _label(p["act_tier"], tiers), act.samples("tier_effect"))
    add("act_ramp", p["act_ramp"], act.samples("ramp"))
    add("act_trend", p["act_trend"], act.samples("trend"))
    add("act_partner_sigma", p["act_partner_sigma"], act.samples("partner_sigma"))
    add("act_noise_sigma", p["act_noise_sigma"], act.samples("noise_sigma"))
    add("act_partner", _label(p["act_partner"], partners), act.samples("partner_effect"), True)
    add("prod_intercept", p["prod_intercept"], prod.samples("intercept"))
    add("prod_type", _label(p["prod_type"], types), prod.samples("type_effect"))
    add("prod_partner_sigma", p["prod_partner_sigma"], prod.samples("partner_sigma"))
    add("opp_alpha", p["opp_alpha"], prod.samples("alpha"))
    add("prod_partner", _label(p["prod_partner"], partners), prod.samples("partner_effect"), True)
    add("conv_logit", np.array([[p["conv_logit"][t][s] for s in OPEN_STAGES] for t in types]),
        conv.samples("adv_logit"))
    add("conv_beta", _label(p["conv_beta"], conv.spec.coords["covariate"]), conv.samples("beta"))
    add("conv_duration", _label(p["conv_duration"], OPEN_STAGES), conv.samples("duration"))
    add("conv_partner_sigma", p["conv_partner_sigma"], conv.samples("partner_sigma"))
    add("conv_shock_sigma", p["conv_shock_sigma"], conv.samples("shock_sigma"))
    add("conv_partner", _label(p["conv_partner"], partners), conv.samples("partner_effect"), True)
    add("time_mu", np.array([[p["time_mu"][t][s] for s in OPEN_STAGES] for t in types]),
        tim.samples("time_mu"))
    add("time_sigma", np.array([[p["time_sigma"][t][s] for s in OPEN_STAGES] for t in types]),
        tim.samples("time_sigma"))
    add("size_intercept", p["size_intercept"], size.samples("intercept"))
    add("size_type", _label(p["size_type"], types), size.samples("type_effect"))
    add("size_role", _label(p["size_role"], size.spec.coords["role"]), size.samples("role_effect"))
    add("size_sigma", p["size_sigma"], size.samples("sigma"))
    add("size_nu", p["size_nu"], size.samples("nu"))
    add("size_partner", _label(p["size_partner"], partners), size.samples("partner_effect"), True)
    return out


def _inside(true: np.ndarray, draws: np.ndarray, prob: float) -> np.ndarray:
    lo, hi = np.quantile(draws, [(1 - prob) / 2, (1 + prob) / 2], axis=0)
    return (true.ravel() >= lo) & (true.ravel() <= hi)


def test_cli_fitted_every_model_and_the_cache_loads_fast(recovery):
    out = recovery["cli"].stdout
    for name in ("activation", "productivity", "conversion", "timing", "deal_size"):
        assert name in out
    assert recovery["load_seconds"] < 2.0


def test_truth_inside_80_percent_intervals_at_about_the_nominal_rate(recovery):
    rows = pairs(recovery["fits"], recovery["truth"])
    inside = np.concatenate([_inside(t, d, 0.8) for _, _, t, d in rows])
    report = {name: float(_inside(t, d, 0.8).mean()) for name, _, t, d in rows}
    assert 0.65 <= inside.mean() <= 0.95, (inside.mean(), report)
    for name, partner, t, d in rows:
        if partner:
            assert _inside(t, d, 0.8).mean() >= 0.5, (name, report[name])


def test_population_parameters_inside_99_percent_intervals(recovery):
    # Expected misses at 99% over ~70 scalars: < 1; allow 2. Not compared: the stage logits at
    # zero covariates and the engagement slope. The generator makes a deal's odds depend on its
    # engagement over its whole life (including activity logged after the stage it leaves);
    # the model reads only what was known when the deal entered the stage (the rule that keeps
    # it honest on real exports), a different covariate with a different slope, so both are
    # off the generator's scale by construction. What they imply is checked instead: the learned
    # P(won | stage) against the realised win rates (test below).
    # The flags' slopes are estimated jointly with that engagement covariate and shift with it
    # (technical_validation: true 0.5, fitted 0.51-0.81 at 99% on this export), so they are
    # left out too.
    misses = []
    for name, partner, t, d in pairs(recovery["fits"], recovery["truth"]):
        if partner or name in ("conv_logit", "conv_beta"):
            continue
        ok = _inside(t, d, 0.99)
        if not ok.all():
            lo, hi = np.quantile(d, [0.005, 0.995], axis=0)
            misses += [(name, float(a), float(b), float(c))
                       for a, b, c in zip(t.ravel()[~ok], lo[~ok], hi[~ok], strict=True)]
    assert len(misses) <= 2, misses


def test_engagement_at_stage_entry_is_a_covariate_of_its_own(recovery):
    # Engagement known at stage entry mostly reflects how long a deal sat in earlier stages
    # (activities pile up with time), and in the generator lingering deals lose more: its
    # slope is negative here, while the generator's lifetime-engagement slope is +0.8. It must
    # be estimated (finite, away from its prior's spread of 1), not lost.
    beta = recovery["fits"].conversion.samples("beta")[:, 2]
    assert np.all(np.isfinite(beta))
    assert float(np.std(beta)) < 0.5


def test_learned_curves_track_the_realised_win_rates(recovery):
    truth, fits = recovery["truth"], recovery["fits"]
    curves = conversion_curves(fits, recovery["export"], recovery["settings"])
    realised = truth.realised["win_rate_from_stage_by_type"]
    gaps = []
    for row in curves.itertuples():
        r = realised[row.partner_type][row.stage]
        if r is not None:
            gaps.append(abs(row.p_won - r))
    assert np.median(gaps) < 0.05, gaps


def test_inputs_and_activation_summary_from_real_fits(recovery):
    fits, export, settings = recovery["fits"], recovery["export"], recovery["settings"]
    q = Quarter.containing(export.default_as_of)
    inputs = simulation_inputs(fits, export, settings, [q, q + 1], 1000, seed=7)
    assert inputs.asr.shape[0] == 1000
    table = posterior_activation(fits, export)
    has = table["pool"] >= 5
    # Shrinkage: the posterior is less spread across partners than the raw ASR.
    assert table.loc[has, "posterior_mean"].std() < table.loc[has, "raw_asr"].std()
    # The posterior ASR of the last quarter covers the true one at about the nominal rate.
    truth = recovery["truth"]
    p, last = truth.parameters, Quarter.parse(table["quarter"].iloc[0])
    onboarded = export.partners.set_index("partner_id")["onboarded_on"]
    q_index = last.index - Quarter.parse(truth.settings["first_quarter"]).index
    eta = np.array([
        p["act_intercept"] + p["act_type"][r.partner_type] + p["act_tier"][r.tier]
        + p["act_partner"][r.partner_id]
        + p["act_ramp"] * np.exp(-max(last.index - Quarter.containing(onboarded[r.partner_id]).index,
                                      0) / 2)
        + p["act_trend"] * (q_index - truth.settings["q_center"])
        + p["act_noise"][r.partner_id].get(str(last), np.nan)
        for r in table.itertuples()])
    theta = 1 / (1 + np.exp(-eta))
    ok = has.to_numpy() & np.isfinite(theta)
    covered = (theta[ok] >= table["p10"].to_numpy()[ok]) & (theta[ok] <= table["p90"].to_numpy()[ok])
    assert covered.mean() >= 0.6, covered.mean()
