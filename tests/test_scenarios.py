"""Scenarios on activation levers: parsing, application, common random numbers, recruits.

All on fabricated posteriors (``partner_forecast.testing.posteriors``): no MCMC.
"""

import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from partner_forecast.calendar import Quarter
from partner_forecast.errors import ConfigError
from partner_forecast.scenarios import (
    Change,
    InputsPredictive,
    ModelPredictive,
    Scenario,
    Selector,
    apply_scenario,
    fitted_models,
    load_scenario_files,
    parse_scenarios,
    predictive_for,
)
from partner_forecast.scenarios.constraints import _read, maturity_hint
from partner_forecast.scenarios.effects import LEVER_EFFECTS
from partner_forecast.scenarios.levers import LEVER_TABLE
from partner_forecast.scenarios.recruit import activation_path
from partner_forecast.scenarios.sensitivity import typical_partner
from partner_forecast.simulate import SegmentSpec, simulate
from partner_forecast.simulate.result import ARR_FIELDS
from partner_forecast.testing.fits import FakeFits
from partner_forecast.testing.posteriors import degenerate_inputs, logit, random_inputs

EXAMPLES = sorted((Path(__file__).resolve().parents[1] / "configs" / "scenarios").glob("*.toml"))


def scenarios_from(text: str, source: str = "test.toml") -> list[Scenario]:
    return parse_scenarios(tomllib.loads(text), source)


def one(text: str) -> Scenario:
    return scenarios_from(text)[0]


def change(lever: str, text: str = "", name: str = "s") -> Scenario:
    return one(f'[[scenario]]\nname = "{name}"\n[[scenario.change]]\nlever = "{lever}"\n{text}\n')


def sim(inputs, plan=None, seed=11, segments=None):
    if plan is None:
        return simulate(inputs, seed=seed, segments=segments)
    seg = segments(plan.inputs) if callable(segments) else segments
    return simulate(plan.inputs, seed=seed, levers=plan.levers, segments=seg)


# -- parsing -------------------------------------------------------------------------------------
def test_example_files_parse_with_distinct_hashes():
    assert len(EXAMPLES) >= 3
    names = {p.stem for p in EXAMPLES}
    assert {"asr_15_to_20", "enablement_push", "recruit_msps"} <= names
    scenarios = load_scenario_files(EXAMPLES)
    hashes = [s.content_hash for s in scenarios]
    assert len(set(hashes)) == len(hashes)
    assert all(len(h) == 16 for h in hashes)


def test_content_hash_ignores_name_comments_and_formatting():
    a = one('[[scenario]]\nname = "a"\n[[scenario.change]]\nlever = "activation_rate"\nset = 0.2\n'
            'select = { partner_type = ["msp", "reseller"] }\n')
    b = one('# a comment\n[[scenario]]\nname = "b"\ndescription = "x"\n  [[scenario.change]]\n'
            '  select = { partner_type = ["Reseller", "MSP"] }\n  set = 0.20\n  lever = "Activation Rate"\n')
    c = one('[[scenario]]\nname = "c"\n[[scenario.change]]\nlever = "activation_rate"\nset = 0.21\n')
    assert a.content_hash == b.content_hash != c.content_hash


def test_parse_normalises_labels_and_start():
    s = change("win_rate", 'odds_multiplier = 1.2\nstages = ["Negotiation", "proposal"]\n'
                           'start = "FY2027Q1"\nselect = { tier = "Strategic", region = "emea" }')
    c = s.changes[0]
    assert (c.operation, c.value, c.stages, c.start) == ("odds_multiplier", 1.2,
                                                         ("proposal", "negotiation"), "2027Q1")
    assert c.select == Selector(tier=("strategic",), region=("emea",))
    assert change("sellers", 'add = 3\nstart = "2027-02-15"').changes[0].start == "2027-02-15"


@pytest.mark.parametrize("text, key", [
    ('[[scenario]]\nname = "s"\n[[scenario.change]]\nlever = "activation_rat"\nset = 0.2', "lever"),
    ('[[scenario]]\nname = "s"\n[[scenario.change]]\nlever = "productivity"\nmultipy = 1.1', "multipy"),
    ('[[scenario]]\nname = "s"\n[[scenario.change]]\nlever = "activation_rate"\nset = 20', "set"),
    ('[[scenario]]\nname = "s"\n[[scenario.change]]\nlever = "deal_size"\nmultiply = -1', "multiply"),
    ('[[scenario]]\nname = "s"\n[[scenario.change]]\nlever = "win_rate"\nodds_multiplier = 0',
     "odds_multiplier"),
    ('[[scenario]]\nname = "s"\n[[scenario.change]]\nlever = "activation_rate"\nset = 0.2\nadd_pp = 1',
     "add_pp"),
    ('[[scenario]]\nname = "s"\n[[scenario.change]]\nlever = "sellers"\nadd = 1.5', "add"),
    ('[[scenario]]\nname = "s"\n[[scenario.change]]\nlever = "productivity"\nmultiply = 1.1\n'
     'select = { segment = "x" }', "select.segment"),
    ('[[scenario]]\nname = "s"\n[[scenario.change]]\nlever = "productivity"\nmultiply = 1.1\n'
     'select = { partner_type = "mps" }', "select.partner_type"),
    ('[[scenario]]\nname = "s"\n[[scenario.change]]\nlever = "productivity"\nmultiply = 1.1\n'
     'start = "2026Q5"', "start"),
    ('[[scenario]]\nname = "s"\n[[scenario.change]]\nlever = "recruit"\ncount = 2\n'
     'partner_type = "msp"\ntier = "growth"', "sellers"),
    ('[[scenario]]\nname = "s"\n[[scenario.change]]\nlever = "sales_cycle"\nmultiply = 0.9\n'
     'stages = ["closing"]', "stages"),
    ('[[scenario]]\nname = "s"\n[[scenario.change]]\nlever = "sunset"', "select"),
    ('[[scenario]]\nname = "s"\nchanges = []', "changes"),
    ('[[scenario]]\ndescription = "no name"', "name"),
])
def test_static_errors_name_file_scenario_and_key(text, key):
    with pytest.raises(ConfigError) as info:
        scenarios_from(text, "bad.toml")
    message = info.value.problems[0]  # a misspelt operation is also a missing one: two problems
    assert message.startswith("bad.toml: scenario ")
    assert f"key {key!r}" in message


def test_every_problem_of_a_file_is_reported_at_once(tmp_path):
    """Like the priors: one error lists each problem, located, and nothing is half-read."""
    text = ('[[scenario]]\nname = "baseline"\ncolour = 1\n'
            '[[scenario.change]]\nlever = "activation_rat"\nset = 0.2\n'
            '[[scenario.change]]\nlever = "win_rate"\nodds_multiplier = 0\nstages = ["closing"]\n'
            '[[scenario.change]]\nlever = "recruit"\ncount = 0\npartner_type = "msp"\n'
            'select = { tier = "growth" }\n'
            '[[scenario]]\ndescription = 3\n')
    with pytest.raises(ConfigError) as info:
        scenarios_from(text, "bad.toml")
    problems = info.value.problems
    located = {re.search(r"key ('[^']+')", p).group(1) for p in problems}
    assert located == {"'name'", "'colour'", "'lever'", "'odds_multiplier'", "'stages'", "'select'",
                       "'count'", "'tier'", "'sellers'", "'description'"}
    assert str(info.value).startswith(f"{len(problems)} problems:\n  bad.toml: scenario 'baseline'")
    assert all(p.startswith("bad.toml: scenario ") for p in problems)
    # Across files too: a missing file, a bad one and a name used twice, in one error.
    good = '[[scenario]]\nname = "same"\n'
    for name, body in (("a.toml", good), ("b.toml", good), ("c.toml", "[[scenario]]\nname = 3\n")):
        (tmp_path / name).write_text(body)
    with pytest.raises(ConfigError) as info:
        load_scenario_files([tmp_path / n for n in ("a.toml", "b.toml", "c.toml", "gone.toml")])
    text = str(info.value)
    assert text.startswith("3 problems:") and "duplicate scenario name" in text
    assert "c.toml: scenario '#1', key 'name'" in text and "gone.toml: scenario file not found" in text


def test_duplicate_names_across_files(tmp_path):
    text = '[[scenario]]\nname = "same"\n'
    (tmp_path / "a.toml").write_text(text)
    (tmp_path / "b.toml").write_text(text)
    with pytest.raises(ConfigError, match="duplicate scenario name"):
        load_scenario_files([tmp_path / "a.toml", tmp_path / "b.toml"])


# -- common random numbers -------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "", 'lever = "activation_rate"\nmultiply = 1', 'lever = "activation_rate"\nadd_pp = 0',
    'lever = "win_rate"\nodds_multiplier = 1', 'lever = "sellers"\nadd = 0',
    'lever = "productivity"\nmultiply = 1\nstart = "2026Q4"',
])
def test_no_change_reproduces_the_baseline_draw_for_draw(text):
    inputs = random_inputs(5, n_draws=40, n_partners=5, n_open=30, horizon=2)
    body = '[[scenario]]\nname = "noop"\n' + (f"[[scenario.change]]\n{text}\n" if text else "")
    plan = apply_scenario(one(body), inputs)
    seg = SegmentSpec.by(inputs, "partner")
    a, b = sim(inputs, segments=seg), sim(inputs, plan, segments=seg)
    for name in ARR_FIELDS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(a.deal_win_probability, b.deal_win_probability)


_selectors = st.sampled_from(["", 'select = { partner_id = "p001" }',
                              'select = { partner_id = ["p000", "p002"] }'])
_increasing = st.one_of(
    st.builds(lambda v: f'lever = "activation_rate"\nmultiply = {v}', st.floats(1.0, 2.0)),
    st.builds(lambda v: f'lever = "activation_rate"\nadd_pp = {v}', st.floats(0.0, 20.0)),
    st.builds(lambda v: f'lever = "activation_rate"\nset = {v}', st.floats(0.5, 1.0)),
    st.builds(lambda v: f'lever = "productivity"\nmultiply = {v}', st.floats(1.0, 3.0)),
    st.builds(lambda v, s: f'lever = "win_rate"\nodds_multiplier = {v}\nstages = {s}',
              st.floats(1.0, 4.0),
              st.sampled_from(['["discovery"]', '["proposal", "negotiation"]',
                               '["discovery", "qualified", "proposal", "negotiation"]'])),
    st.builds(lambda v: f'lever = "sellers"\nadd_pct = {v}', st.floats(0.0, 50.0)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), levers=st.lists(_increasing, min_size=1, max_size=3),
       select=_selectors, start=st.sampled_from(["", 'start = "2026Q4"', 'start = "2026-08-20"']))
def test_more_activation_productivity_or_win_odds_never_lowers_arr(seed, levers, select, start):
    """Every draw, quarter and segment is >= the baseline, hence every quantile is too."""
    inputs = random_inputs(seed, n_draws=12, n_partners=4, n_open=15, horizon=2)
    body = '[[scenario]]\nname = "up"\n' + "".join(
        f"[[scenario.change]]\n{lever}\n{select}\n{start}\n" for lever in levers)
    plan = apply_scenario(one(body), inputs, strict=False)  # compounded rates clip at 1
    seg = SegmentSpec.by(inputs, "partner")
    base, up = sim(inputs, segments=seg), sim(inputs, plan, segments=seg)
    for name in ("attributed_open", "attributed_new", "gross_open", "gross_new"):
        assert np.all(getattr(up, name) >= getattr(base, name) - 1e-3), name
    for q in (0.1, 0.5, 0.9):
        assert np.all(np.quantile(up.attributed, q, axis=0) >= np.quantile(base.attributed, q, axis=0) - 1e-3)


def test_asr_15_to_20_raises_new_pipeline_arr_by_a_third():
    inputs = degenerate_inputs(n_draws=4000)
    plan = apply_scenario(load_scenario_files([p for p in EXAMPLES if p.stem == "asr_15_to_20"])[0],
                          inputs)
    b = sim(inputs, seed=3).attributed_new[:, 0, 0].astype(float)
    x = sim(inputs, plan, seed=3).attributed_new[:, 0, 0].astype(float)
    ratio = x.mean() / b.mean()
    se = np.std(x - ratio * b) / (np.sqrt(len(b)) * b.mean())  # delta method, paired draws
    assert abs(ratio - 4 / 3) < 4 * se, (ratio, se)
    assert abs(b.mean() - 50_400) < 4 * b.std() / np.sqrt(len(b))
    assert np.mean(x >= b) == 1.0  # common random numbers: never below, draw by draw


def test_set_rescales_each_partner_posterior_keeping_its_relative_spread():
    inputs = random_inputs(2, n_draws=400, n_partners=6, n_open=5, horizon=2)
    plan = apply_scenario(change("activation_rate", "set = 0.2"), inputs)
    before, after = inputs.asr, plan.inputs.asr
    np.testing.assert_allclose(after.mean(axis=0), 0.2, atol=0.01)  # clipping at 1 aside
    cv = lambda a: a.std(axis=0) / a.mean(axis=0)  # noqa: E731
    np.testing.assert_allclose(cv(after), cv(before), rtol=0.05)


def test_every_lever_a_file_takes_has_exactly_one_effect():
    # recruit adds partners before the levers act: apply_scenario applies it itself
    assert set(LEVER_EFFECTS) | {"recruit"} == set(LEVER_TABLE)
    assert "recruit" not in LEVER_EFFECTS


def test_levers_start_in_a_later_quarter():
    inputs = degenerate_inputs(n_draws=500, quarters=("2026Q4", "2027Q1"))
    plan = apply_scenario(change("productivity", 'multiply = 2\nstart = "2027Q1"'), inputs)
    base, up = sim(inputs), sim(inputs, plan)
    np.testing.assert_array_equal(up.attributed[:, 0], base.attributed[:, 0])
    assert up.attributed[:, 1].mean() == pytest.approx(2 * base.attributed[:, 1].mean(), rel=0.08)


def test_start_after_the_horizon_is_a_noted_no_op():
    inputs = degenerate_inputs(n_draws=50)
    plan = apply_scenario(change("deal_size", 'multiply = 2\nstart = "2030Q1"'), inputs)
    assert plan.levers.is_noop and any("no effect" in n for n in plan.notes)


# -- data-dependent validation ---------------------------------------------------------------------
@pytest.mark.parametrize("lever, text, key, match", [
    ("activation_rate", "multiply = 10", "multiply", "outside"),
    ("activation_rate", "add_pp = -20", "add_pp", "outside"),
    ("sellers", "add = -1000", "add", "sellers"),
    ("productivity", 'multiply = 1.1\nselect = { partner_type = "si" }', "select.partner_type",
     "matches no partner"),
    ("productivity", 'multiply = 1.1\nselect = { partner_id = "P9" }', "select.partner_id",
     "matches no partner"),
    ("productivity", 'multiply = 1.1\nselect = { partner_type = "msp", partner_id = "p000" }',
     "select", "matches no partner"),
    ("recruit", 'count = 1\npartner_type = "si"\ntier = "growth"\nsellers = 3', "partner_type",
     "know no partner_type"),
])
def test_data_dependent_errors(lever, text, key, match):
    inputs = degenerate_inputs(n_draws=20, n_partners=3).replace(types=("reseller", "msp"),
                                                                 partner_type=np.array([0, 0, 1]))
    inputs = inputs.replace(adv_logit=inputs.adv_logit[:, :2], time_mu=inputs.time_mu[:, :2],
                            time_sigma=inputs.time_sigma[:, :2], role_probs=inputs.role_probs[:2],
                            new_covariates=inputs.new_covariates[:2],
                            marketplace_rate=inputs.marketplace_rate[:2],
                            expansion_rate=inputs.expansion_rate[:2],
                            influence_share=inputs.influence_share[:2]).check()
    with pytest.raises(ConfigError, match=match) as info:
        apply_scenario(change(lever, text, name="bad one"), inputs)
    assert "scenario 'bad one', change 1" in str(info.value)
    assert f"key {key!r}" in str(info.value)


def test_region_selector_uses_the_export_partners():
    inputs = degenerate_inputs(n_draws=10, n_partners=3)
    partners = pd.DataFrame({"partner_id": ["p000", "p001", "p002"], "region": ["EMEA", "AMER", None]})
    plan = apply_scenario(change("sellers", 'add = 5\nselect = { region = "emea" }'), inputs,
                          partners=partners)
    np.testing.assert_array_equal(plan.inputs.pool[:, 0], [105, 100, 100])
    assert list(plan.partners.region) == ["EMEA", "AMER", "unknown"]


# -- structural changes ---------------------------------------------------------------------------
def test_sellers_percent_and_sunset():
    inputs = random_inputs(4, n_draws=30, n_partners=4, n_open=40, horizon=2, mid_quarter=False)
    s = one('[[scenario]]\nname = "s"\n[[scenario.change]]\nlever = "sellers"\nadd_pct = 10\n'
            '[[scenario.change]]\nlever = "sunset"\nselect = { partner_id = "p001" }\n'
            'drop_open_deals = true\n')
    plan = apply_scenario(s, inputs)
    pool = np.asarray(inputs.pool)
    expected = np.floor(pool * 1.1 + 0.5).astype(int)
    expected[1] = 0
    np.testing.assert_array_equal(plan.inputs.pool, expected)
    seg = SegmentSpec.by(inputs, "partner")
    result = sim(inputs, plan, segments=seg)
    assert np.all(result.attributed[:, :, 1] == 0)  # p001: no new pipeline, open deals lost
    mine = inputs.open_deals["partner"].to_numpy() == 1
    assert mine.any() and np.all(result.deal_win_probability[mine] == 0)


def test_sunset_inside_a_quarter_keeps_part_of_it():
    inputs = degenerate_inputs(n_draws=2000, quarters=("2026Q4", "2027Q1"))
    plan = apply_scenario(change("sunset", 'select = { partner_id = "p000" }\nstart = "2026-11-16"'),
                          inputs)
    assert plan.inputs.pool[0, 1] == 0 and plan.inputs.pool[0, 0] == 100
    share_before = (pd.Timestamp("2026-11-16") - pd.Timestamp("2026-10-01")).days / 92
    assert plan.inputs.asr[:, 0, 0].mean() == pytest.approx(0.15 * share_before)


def test_recruits_keep_existing_partners_draws_and_add_their_own():
    inputs = degenerate_inputs(n_draws=3000, n_partners=2)
    s = change("recruit", 'count = 2\npartner_type = "reseller"\ntier = "growth"\nsellers = 100')
    plan = apply_scenario(s, inputs, seed=1)
    assert list(plan.recruited["partner_id"]) == ["new_reseller_growth_1_1",
                                                   "new_reseller_growth_1_2"]
    assert any("approximation" in n for n in plan.notes)  # no activation posterior here
    base = sim(inputs, segments=SegmentSpec.by(inputs, "partner"))
    new = sim(inputs, plan, segments=SegmentSpec.by(plan.inputs, "partner"))
    np.testing.assert_array_equal(new.attributed[:, :, :2], base.attributed)
    added = new.attributed[:, 0, 2:].sum(axis=1).astype(float)
    assert abs(added.mean() - 2 * 50_400) < 4 * added.std() / np.sqrt(len(added))
    again = apply_scenario(s, inputs, seed=1)
    np.testing.assert_array_equal(again.inputs.asr, plan.inputs.asr)


class _FakeModel:
    """Duck-typed fitted model: fixed posterior samples by name, over reseller/msp and 3 tiers."""

    def __init__(self, name, samples):
        coords = {"partner_type": ("reseller", "msp"), "tier": ("strategic", "growth", "transactional")}
        self.name, self._s = name, samples
        self.spec = type("Spec", (), {"coords": coords, "meta": {"first_quarter_index": 0,
                                                                    "q_center": 0.0}})()
        self.n_samples = len(next(iter(samples.values())))

    def samples(self, name):
        return self._s[name]


def _fake_activation(n=50, a=0.3, ramp=-1.0):
    """logit theta = a + ramp * exp(-tenure / 2) (no partner spread, no noise)."""
    return _FakeModel("activation", {
        "intercept": np.full(n, logit(a)), "type_effect": np.zeros((n, 2)),
        "tier_effect": np.zeros((n, 3)), "partner_sigma": np.zeros(n), "ramp": np.full(n, ramp),
        "trend": np.zeros(n), "noise_sigma": np.zeros(n)})


class _FakeFits:
    """Duck-typed FittedModels: the five fits, iterated in fitting order."""

    def __init__(self, n=50):
        level = {"intercept": np.zeros(n), "type_effect": np.zeros((n, 2)),
                 "partner_sigma": np.zeros(n)}
        self.activation = _fake_activation(n)
        self.productivity = _FakeModel("productivity", level)
        self.conversion = _FakeModel("conversion", {"partner_sigma": np.zeros(n)})
        self.timing = _FakeModel("timing", {"time_mu": np.zeros(n)})
        self.deal_size = _FakeModel("deal_size", {**level, "intercept": np.full(n, 10.0)})

    def __iter__(self):
        return iter((self.activation, self.productivity, self.conversion, self.timing,
                     self.deal_size))


def test_activation_path_follows_the_onboarding_ramp():
    fit = _fake_activation()
    quarters = [Quarter.parse(q) for q in ("2026Q4", "2027Q1", "2027Q2", "2027Q3")]
    path = activation_path(fit, "msp", "growth", quarters[1], quarters, np.random.default_rng(0))
    expected = [0.0] + [1 / (1 + np.exp(-(logit(0.3) - np.exp(-t / 2)))) for t in (0, 1, 2)]
    np.testing.assert_allclose(path[0], expected)
    assert path[0, 1] < path[0, 2] < path[0, 3] < 0.3  # ramps up toward the mature rate


def test_recruits_use_the_activation_posterior_when_the_fits_have_one():
    inputs = degenerate_inputs(n_draws=40, quarters=("2026Q4", "2027Q1"))
    predictive = ModelPredictive(_FakeFits(), 40, seed=7)
    s = change("recruit", 'count = 1\npartner_type = "reseller"\ntier = "growth"\nsellers = 10')
    plan = apply_scenario(s, inputs, predictive=predictive)
    ramp0 = 1 / (1 + np.exp(-(logit(0.3) - 1.0)))
    np.testing.assert_allclose(plan.inputs.asr[:, 1, 0], ramp0)
    new = len(inputs.partner_ids)  # the recruit: levels from the fits (no spread: their means)
    np.testing.assert_allclose(plan.inputs.opp_rate[:, new], 1.0)
    np.testing.assert_allclose(plan.inputs.size_mu[:, new], 10.0)
    assert plan.recruited["source"].iloc[0].startswith("activation model")
    assert not any("approximation" in n for n in plan.notes)


def test_recruits_without_a_posterior_are_an_approximation_said_so():
    """A model source that fitted no posterior (fitted_models -> None): InputsPredictive, noted."""
    inputs = degenerate_inputs(n_draws=40, quarters=("2026Q4", "2027Q1"))
    assert fitted_models(FakeFits()) is None and fitted_models(_FakeFits()) is None
    predictive = predictive_for(None, 40, seed=7)
    assert isinstance(predictive, InputsPredictive)
    s = change("recruit", 'count = 1\npartner_type = "reseller"\ntier = "growth"\nsellers = 10')
    plan = apply_scenario(s, inputs, predictive=predictive)
    assert plan.recruited["source"].iloc[0].startswith("approximation")
    assert any("no activation posterior" in n for n in plan.notes)


def test_typical_partner():
    inputs = degenerate_inputs(n_draws=5, n_partners=4)
    from partner_forecast.scenarios import PartnerAttributes

    attrs = PartnerAttributes.from_inputs(inputs)
    pool = np.array([[10], [20], [30], [0]])
    assert typical_partner(attrs, pool) == ("reseller", "growth", 20)


# -- the binding-driver reading ------------------------------------------------------------------
def test_reading_picks_the_largest_gap_with_enough_evidence():
    gaps = {"confidence": (2, 10), "motivation": (6, 10), "access": (9, 10)}
    binding, sentence = _read("msp", gaps, "2025Q4-2026Q3", 3, 9.0, "access")
    assert binding == "access" and "90% of 10 contacted leads" in sentence and "agrees" in sentence
    binding, _ = _read("msp", {"confidence": (5, 10), "motivation": (48, 100), "access": (1, 3)},
                       "w", 3, 1.0, "confidence")
    assert binding == "confidence or motivation (close)"
    binding, _ = _read("msp", {"confidence": (1, 2), "motivation": (0, 0), "access": (1, 4)},
                       "w", 3, 1.0, "confidence")
    assert binding == "insufficient data"
    assert [maturity_hint(t) for t in (0, 5, 12)] == ["confidence", "motivation", "access"]


def test_change_describe_and_scenario_where():
    c = Change(lever="recruit", count=3, partner_type="msp", tier="growth", sellers=9, start="2027Q1")
    assert c.describe() == "recruit 3 msp / growth partner(s) with 9 sellers each from 2027Q1"
    s = Scenario("x", (c,), source="f.toml")
    assert s.where(c, "count") == "f.toml: scenario 'x', change 1 (lever 'recruit'), key 'count'"


def _constraint_export(folder):
    """Two partner types with planted gaps: MSP sellers trained but idle (confidence); reseller
    sellers active and converting, their leads answered after 6 days (access)."""
    partners = ["partner_id,partner_name,partner_type,tier,onboarded_on,offboarded_on,region",
                "M1,Idle MSP,msp,growth,2025-01-06,,EMEA", "R1,Busy VAR,reseller,growth,2025-01-06,,EMEA"]
    sellers = ["seller_id,partner_id,seller_name,role,joined_on,left_on"]
    acts = ["activity_id,seller_id,occurred_on,activity_type,opportunity_id"]
    opps = ["opportunity_id,partner_id,referring_seller_id,partner_role,influence_pct,revenue_motion,"
            "route_to_market,deal_registration_id,marketplace,is_expansion,created_on,lead_submitted_on,"
            "first_contact_on,stage,expected_close_on,closed_on,arr,technical_validation,executive_sponsor"]
    history = ["opportunity_id,stage,entered_on"]
    for i in range(10):
        m, r = f"SM{i}", f"SR{i}"
        sellers += [f"{m},M1,,ae,2025-02-03,", f"{r},R1,,ae,2025-02-03,"]
        acts.append(f"AM{i},{m},2026-02-10,training,")
        if i < 2:
            acts.append(f"AM{i}b,{m},2026-03-10,pitch,")
        acts += [f"AR{i},{r},2026-02-10,certification,", f"AR{i}b,{r},2026-03-02,lead_converted,"]
        opps.append(f"O{i},R1,{r},sourced,,resell,partner_resale,,false,false,2026-03-10,2026-03-02,"
                    f"2026-03-08,discovery,2026-06-30,,10000,false,false")
        history.append(f"O{i},discovery,2026-03-10")
    folder.mkdir(parents=True, exist_ok=True)
    for name, lines in (("partners", partners), ("sellers", sellers), ("activities", acts),
                        ("opportunities", opps), ("stage_history", history)):
        (folder / f"{name}.csv").write_text("\n".join(lines) + "\n")
    return folder


def test_binding_constraints_find_the_planted_gaps(tmp_path):
    from partner_forecast.config import load_settings
    from partner_forecast.data.export import load_export
    from partner_forecast.scenarios import binding_constraints

    export = load_export(_constraint_export(tmp_path / "export"), as_of="2026-04-01")
    table = binding_constraints(export, load_settings()).set_index("partner_type")
    msp, var = table.loc["msp"], table.loc["reseller"]
    assert (msp["enabled_sellers"], msp["enabled_not_active"]) == (10, 8)
    assert msp["binding"] == "confidence" and "80% of 10 enabled sellers" in msp["reading"]
    assert var["confidence_gap"] == 0 and var["motivation_gap"] == 0
    assert (var["leads"], var["slow_leads"], var["median_response_days"]) == (10, 10, 6)
    assert var["binding"] == "access" and "100% of 10 contacted leads" in var["reading"]
