"""Structure tier of the models: priors, aggregation, specs and PyMC graphs (no sampling)."""

import math

import numpy as np
import pandas as pd
import pymc as pm
import pytensor
import pytest
import xarray as xr
from pymc_extras.prior import Prior

from partner_forecast.config import load_settings
from partner_forecast.data import views
from partner_forecast.data.export import load_export
from partner_forecast.errors import ConfigError
from partner_forecast.models import (
    MODEL_CLASSES,
    ActivationModel,
    ConversionModel,
    DealSizeModel,
    ProductivityModel,
    TimingModel,
)
from partner_forecast.models import aggregate as agg
from partner_forecast.models.diagnostics import (
    Diagnostics,
    ess_bulk,
    ess_tail,
    format_table,
    rhat_rank,
)
from partner_forecast.models.effects import centred_members, group_effect
from partner_forecast.models.priors import parse_priors, prior_from_config, prior_scale
from partner_forecast.models.spec import ModelSpec
from partner_forecast.testing.exports import write_tiny_export

# -- priors -----------------------------------------------------------------------------------


def test_prior_from_flat_and_dict_forms():
    flat = prior_from_config({"dist": "Normal", "mu": 1.0, "sigma": 2.0})
    nested = prior_from_config({"dist": "Normal", "kwargs": {"mu": 1.0, "sigma": 2.0}})
    assert flat == nested == Prior("Normal", mu=1.0, sigma=2.0)
    hier = prior_from_config({"dist": "Normal", "mu": 0, "sigma": {"dist": "HalfNormal", "sigma": 1}})
    assert isinstance(hier.parameters["sigma"], Prior)


def test_parse_priors_reports_every_bad_entry_at_once():
    table = {"activation_ramp": {"dist": "Nrmal", "mu": 0},
             "activation_trend": {"dist": "Normal", "mu": 0, "bogus": 1},
             "activation_intercept": {"dist": "Normal", "mu": 0, "sigma": 1},
             "timing_mu": {"mu": 3}}
    with pytest.raises(ConfigError) as err:
        parse_priors(table)
    msg = str(err.value)
    assert "activation_ramp" in msg and "activation_trend" in msg and "timing_mu" in msg
    assert "activation_intercept" not in msg
    ok = parse_priors({k: v for k, v in table.items() if k == "activation_intercept"}, "activation_")
    assert set(ok) == {"intercept"}


def test_prior_scale():
    assert prior_scale(Prior("HalfNormal", sigma=1.0)) == pytest.approx(math.sqrt(2 / math.pi))
    assert prior_scale(Prior("Gamma", alpha=2.0, beta=0.2)) == pytest.approx(10.0)
    assert prior_scale(Prior("Exponential", lam=4.0)) == pytest.approx(0.25)


def test_every_model_has_its_default_priors():
    for cls in MODEL_CLASSES:
        priors = parse_priors(load_settings().priors, cls.prior_prefix)
        assert set(cls.PRIOR_NAMES) <= set(priors), cls.name


def test_user_prior_overrides_merge_and_change_only_that_model(models_settings):
    changed = models_settings.with_overrides(priors={"timing_mu": {"dist": "Normal", "mu": 3.0,
                                                                   "sigma": 0.5}})
    for cls in MODEL_CLASSES:
        same = cls.config_hash_from(models_settings) == cls.config_hash_from(changed)
        assert same == (cls is not TimingModel), cls.name
    kw = TimingModel.configs_from(changed)
    assert kw["model_config"]["mu"] == Prior("Normal", mu=3.0, sigma=0.5)
    # Thresholds do not change the draws, so they do not change the hash.
    stricter = models_settings.with_overrides(sampler={"max_rhat": 1.001, "min_ess": 5000})
    assert all(c.config_hash_from(stricter) == c.config_hash_from(models_settings)
               for c in MODEL_CLASSES)
    more_draws = models_settings.with_overrides(sampler={"draws": 300})
    assert all(c.config_hash_from(more_draws) != c.config_hash_from(models_settings)
               for c in MODEL_CLASSES)


def test_each_model_declares_its_version_and_the_cache_key_follows_it(models_settings, monkeypatch):
    from partner_forecast.models.base import PartnerModel
    from partner_forecast.workspace import Workspace

    for cls in MODEL_CLASSES:
        assert "version" in vars(cls) and isinstance(cls.version, int) and cls.version >= 1
    before = {cls.name: Workspace.key(cls, "fp", models_settings) for cls in MODEL_CLASSES}
    monkeypatch.setattr(TimingModel, "version", TimingModel.version + 1)
    after = {cls.name: Workspace.key(cls, "fp", models_settings) for cls in MODEL_CLASSES}
    assert [n for n in before if before[n] != after[n]] == ["timing"]
    with pytest.raises(TypeError, match="must declare its own `version`"):
        type("Unversioned", (TimingModel,), {"name": "unversioned"})
    assert "unversioned" not in PartnerModel.registry


# -- group effects ------------------------------------------------------------------------------


def test_centred_members_rule():
    info = np.array([0.0, 1.0, 10.0, 100.0])
    assert centred_members(info, 0.5).tolist() == [False, False, True, True]
    assert centred_members(info, 0.5, "centred").all()
    assert not centred_members(info, 0.5, "non_centred").any()
    with pytest.raises(ValueError):
        centred_members(info, 0.5, "sideways")


def test_group_effect_gathers_both_parts_in_member_order():
    info = np.array([100.0, 0.0, 100.0, 0.0])
    with pm.Model(coords={"g": list("abcd")}) as model:
        total = group_effect("eff", pm.math.constant(2.0), info, 1.0, "g", mu=np.arange(4.0))
    names = {v.name for v in model.free_RVs}
    assert names == {"eff__centred", "eff__offset"}
    assert model.named_vars_to_dims["eff"] == ("g",)
    c, z = model["eff__centred"], model["eff__offset"]
    f = pytensor.function([c, z], [total, model["eff"]], mode="FAST_COMPILE")
    tot, dev = f(np.array([10.0, 30.0]), np.array([1.0, -1.0]))
    # members 0 and 2 centred (sampled as totals), 1 and 3 non-centred (mu + 2 z)
    np.testing.assert_allclose(tot, [10.0, 1.0 + 2.0, 30.0, 3.0 - 2.0])
    np.testing.assert_allclose(dev, tot - np.arange(4.0))


# -- aggregation on the hand-made tiny export ---------------------------------------------------


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory):
    return load_export(write_tiny_export(tmp_path_factory.mktemp("tiny")))


def test_stage_stays_exits_and_censoring(tiny_export):
    stays = views.stage_stays(tiny_export).set_index(["opportunity_id", "stage"])
    o01 = stays.loc["O01"]
    assert o01.loc["discovery", "days"] == 18 and o01.loc["discovery", "advanced"]
    assert o01.loc["negotiation", "advanced"] and not o01["open"].any()
    assert not stays.loc[("O02", "qualified"), "advanced"]          # qualified -> lost
    assert stays.loc[("O03", "qualified"), "advanced"]             # skips nothing, advances
    o09 = stays.loc[("O09", "discovery")]
    assert o09["open"] and o09["days"] == (pd.Timestamp("2026-09-29") - pd.Timestamp("2026-08-17")).days
    assert not o09["advanced"]
    assert (stays["days"] >= views.DAY_FLOOR).all()


def test_conversion_cells_add_up_to_the_exits(tiny_export):
    stays = views.stage_stays(tiny_export)
    done = stays[~stays["open"]]
    cells, quarters = agg.conversion_cells(tiny_export, 5)
    assert cells["n"].sum() == len(done) and cells["k"].sum() == done["advanced"].sum()
    assert list(quarters) == sorted(quarters) and "2026Q3" in quarters
    assert ((cells["engagement"] * 5).round() % 1 == 0).all()
    assert cells["k"].le(cells["n"]).all()


def test_deal_covariates_engagement(tiny_export):
    cov = views.deal_covariates(tiny_export, 5)
    # O01: a deal registration and a joint call -> 2 of 5; O09: one registration
    assert cov.loc["O01", "engagement"] == pytest.approx(0.4)
    assert cov.loc["O01", "technical_validation"] == 1.0
    assert cov.loc["O09", "engagement"] == pytest.approx(0.2)
    assert cov["engagement"].between(0, 1).all()


def test_timing_stats_are_sufficient(tiny_export):
    completed, censored, windowed = agg.timing_stats(tiny_export)
    assert windowed.empty  # no quarter-end reading asked for
    stays = views.stage_stays(tiny_export)
    assert completed["n"].sum() == (~stays["open"]).sum()
    assert censored["w"].sum() == stays["open"].sum()
    y = np.log(stays.loc[~stays["open"], "days"].to_numpy(dtype=float))
    assert completed["sum_y"].sum() == pytest.approx(y.sum())
    assert completed["sum_y2"].sum() == pytest.approx((y**2).sum())


def test_activation_window_and_tenure(tiny_export):
    window = agg.window_quarters(tiny_export)
    assert [str(q) for q in window] == ["2025Q4", "2026Q1", "2026Q2"]
    cells = agg.activation_cells(tiny_export).set_index(["partner_id", "quarter"])
    assert cells.loc[("P1", "2025Q4"), "tenure_q"] == 0
    assert cells.loc[("P1", "2026Q1"), "tenure_q"] == 1
    assert cells.loc[("P1", "2026Q1"), "q_index"] == 1
    assert (cells["active"] <= cells["pool"]).all()


def test_won_deals(tiny_export):
    won = agg.won_deals(tiny_export)
    assert len(won) == 4
    assert np.exp(won["log_arr"]).round().tolist() == [48000, 24000, 60000, 54000]


# -- specs and graphs on the small synthetic export -------------------------------------------


def test_spec_round_trip_and_fingerprint(models_export, models_settings):
    spec = ConversionModel.build_spec(models_export, models_settings)
    back = ModelSpec.from_dataset(spec.to_dataset())
    assert back.fingerprint == spec.fingerprint
    assert back.coords == spec.coords and back.meta == spec.meta
    for k, v in spec.data.items():
        np.testing.assert_array_equal(back.data[k], v)


EXPECTED_DIMS = {
    ActivationModel: {"partner_effect": ("partner",), "type_effect": ("partner_type",),
                      "tier_effect": ("tier",), "active": ("cell",), "intercept": (),
                      "ramp": (), "trend": (), "noise_sigma": ()},
    ProductivityModel: {"partner_effect": ("partner",), "type_effect": ("partner_type",),
                        "alpha": (), "intercept": ()},
    ConversionModel: {"adv_logit": ("partner_type", "stage"), "partner_effect": ("partner",),
                      "beta": ("covariate",), "duration": ("stage",), "shock": ("quarter",),
                      "shock_sigma": (), "jump_probs": ("partner_type", "stage", "destination"),
                      "jump_type": ("partner_type", "skip"), "jump_mean": ("skip",)},
    TimingModel: {"time_mu": ("partner_type", "stage"), "time_sigma": ("partner_type", "stage")},
    DealSizeModel: {"partner_effect": ("partner",), "role_effect": ("role",), "nu": (),
                    "sigma": (), "intercept": ()},
}


@pytest.mark.parametrize("cls", MODEL_CLASSES, ids=lambda c: c.name)
def test_model_graph_has_named_dims(cls, models_export, models_settings):
    model = cls.from_export(models_export, models_settings)
    assert model.cells > 0
    graph = model.build_model()
    for name, dims in EXPECTED_DIMS[cls].items():
        assert name in graph.named_vars, name
        assert tuple(graph.named_vars_to_dims.get(name, ())) == dims, name
    partners = models_export.partners["partner_id"].nunique()
    if "partner" in graph.coords:
        assert len(graph.coords["partner"]) == partners
    assert all(np.isfinite(v) for v in graph.initial_point().values() for v in np.ravel(v))


def test_parametrisation_modes_change_the_free_variables(models_export, models_settings):
    model = ActivationModel.from_export(models_export, models_settings, parametrisation="centred")
    names = {v.name for v in model.build_model().free_RVs}
    assert "partner_effect__centred" in names and "partner_effect__offset" not in names
    model = ActivationModel.from_export(models_export, models_settings, parametrisation="non_centred")
    names = {v.name for v in model.build_model().free_RVs}
    assert "partner_effect__offset" in names and "partner_effect__centred" not in names
    assert not any(n.startswith("noise") and n != "noise_sigma" for n in names)  # integrated out
    assert ActivationModel.config_hash_from(models_settings, "centred") != \
        ActivationModel.config_hash_from(models_settings)


# -- diagnostics --------------------------------------------------------------------------------


def _ar_chains(rng, n_vars=24, chains=2, draws=240):
    x = rng.normal(size=(n_vars, chains, draws))
    for v in range(n_vars):
        phi = 0.9 * v / n_vars
        for t in range(1, draws):
            x[v, :, t] += phi * x[v, :, t - 1]
    x[::5, 1] += 0.4
    x[2] = np.round(x[2])  # ties
    return x


def test_vectorised_diagnostics_equal_arviz_stats():
    import arviz_stats as azs

    x = _ar_chains(np.random.default_rng(3))
    ds = xr.Dataset({"a": (("v", "chain", "draw"), x)}).transpose("chain", "draw", "v")
    np.testing.assert_allclose(rhat_rank(x), azs.rhat(ds)["a"].values, rtol=1e-12)
    np.testing.assert_allclose(ess_bulk(x), azs.ess(ds, method="bulk")["a"].values, rtol=1e-10)
    np.testing.assert_allclose(ess_tail(x), azs.ess(ds, method="tail", prob=0.95)["a"].values,
                               rtol=1e-10)


def test_diagnostics_judged_against_thresholds():
    d = Diagnostics(model="m", chains=2, draws=100, divergences=3, max_rhat=1.05,
                    min_ess_bulk=50.0, min_ess_tail=500.0, worst_rhat="x", worst_ess="y",
                    parameters=10, cells=5, compile_seconds=1.0, sample_seconds=2.0,
                    sampler="nutpie", mean_steps=7.0)
    bad = d.judged(max_rhat=1.01, min_ess=400, max_divergences=0)
    assert len(bad.failures) == 3 and not bad.ok
    assert "3 divergent" in bad.failures[0] and "1.050" in bad.failures[1]
    good = d.judged(max_rhat=1.1, min_ess=10, max_divergences=5)
    assert good.ok
    assert Diagnostics.from_dict(bad.to_dict()) == bad
    assert "FAIL" in format_table([bad]) and "ok" in format_table([good])


def test_last_retry_switches_the_form_the_worst_effects_lacked():
    from dataclasses import replace

    from partner_forecast.models.diagnostics import Diagnostics
    from partner_forecast.models.sampling import other_parametrisation

    d = Diagnostics(model="conversion", chains=2, draws=100, divergences=3, max_rhat=1.05,
                    min_ess_bulk=40, min_ess_tail=40, worst_rhat="shock_sigma",
                    worst_ess="shock", parameters=10, cells=10, compile_seconds=1.0,
                    sample_seconds=1.0, sampler="nutpie")
    rich = {"partner": 0.9, "shock": 0.0}
    # The worst variable's effect goes non-centred, or centred if it was all non-centred.
    assert other_parametrisation("auto", d, rich) == "centred"
    thin = replace(d, worst_rhat="partner_effect", worst_ess="partner_sigma")
    assert other_parametrisation("auto", thin, rich) == "non_centred"
    assert other_parametrisation("auto", thin, {"partner": 0.1}) == "non_centred"
    assert other_parametrisation("auto", thin, {"partner": 0.0}) == "centred"
    # A fixed-scale effect (type x stage) cannot change form: the partners are switched.
    fixed = replace(d, worst_rhat="type_stage", worst_ess="stage_effect")
    assert other_parametrisation("auto", fixed, rich) == "non_centred"
    assert other_parametrisation("centred", d, rich) == "non_centred"
    assert other_parametrisation("non_centred", thin, rich) == "centred"
    # Nothing to switch (timing): the restart keeps the compiled model's form.
    assert other_parametrisation("auto", d, {}) == "auto"


def test_centred_share_is_read_off_the_built_model(models_export, models_settings):
    from partner_forecast.models import ConversionModel, TimingModel

    conv = ConversionModel.from_export(models_export, models_settings)
    auto = conv._centred_share("auto")
    assert set(auto) == {"partner", "shock"} and all(0.0 <= v <= 1.0 for v in auto.values())
    assert conv._centred_share("centred") == {"partner": 1.0, "shock": 1.0}
    assert conv._centred_share("non_centred") == {"partner": 0.0, "shock": 0.0}
    assert TimingModel.from_export(models_export, models_settings)._centred_share("auto") == {}


def test_few_member_effects_are_non_centred_unless_forced(models_export, models_settings):
    from partner_forecast.models import ConversionModel

    auto = ConversionModel.from_export(models_export, models_settings).build_model()
    names = {v.name for v in auto.free_RVs}
    assert "shock__offset" in names
    forced = ConversionModel.from_export(models_export, models_settings,
                                         parametrisation="centred").build_model()
    names = {v.name for v in forced.free_RVs}
    assert "shock" in names


def test_label_effects_have_fixed_scale_priors_and_partners_a_learned_spread(models_export,
                                                                               models_settings):
    """Types, tiers and type x stage cells carry no learned spread (its funnel diverged on
    40-60-partner exports); the config's fixed-scale prior is the one used."""
    from partner_forecast.models import MODEL_CLASSES, ConversionModel

    learned = {"partner_sigma", "noise_sigma", "shock_sigma", "stage_sigma", "sigma"}
    for cls in MODEL_CLASSES:
        model = cls.from_export(models_export, models_settings).build_model()
        names = {v.name for v in model.free_RVs}
        sigmas = {n for n in names if n.endswith("sigma") and n != "type_log_sigma"}
        assert sigmas <= learned, (cls.name, sigmas - learned)
        label_rvs = {"activation": {"type_effect", "tier_effect"}, "productivity": {"type_effect"},
                     "deal_size": {"type_effect"}, "timing": {"type_mu", "type_log_sigma"},
                     "conversion": {"type_stage", "jump_type"}}[cls.name]
        assert label_rvs <= set(model.named_vars), (cls.name, label_rvs - set(model.named_vars))
    conversion = ConversionModel.from_export(models_export, models_settings).build_model()
    type_stage = pm.draw(conversion["type_stage"], draws=50, random_seed=2)  # (50, T, S)
    assert type_stage.shape[1:] == (len(conversion.coords["partner_type"]), 4)
    np.testing.assert_allclose(type_stage.sum(axis=1), 0.0, atol=1e-9)  # zero over types
    assert np.abs(type_stage).max() > 0.01
    custom = models_settings.priors | {"conversion_type_stage": {"dist": "Normal", "mu": 0.0,
                                                                  "sigma": 0.1}}
    model = ConversionModel.from_export(models_export,
                                        models_settings.model_copy(update={"priors": custom}))
    draws = pm.draw(model.build_model()["type_stage"], draws=400, random_seed=1)
    assert draws.std() == pytest.approx(0.1, rel=0.15)
