"""The synthetic CRM export generator (``partner-forecast sample``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy import stats

from partner_forecast.calendar import Quarter
from partner_forecast.cli import main
from partner_forecast.data.export import DATE_COLUMNS, load_export
from partner_forecast.data.sample import PROFILES, Truth, generate_sample, generate_tables, parse_profiles
from partner_forecast.data.sample.messy import label_variants
from partner_forecast.data.schema import (
    LABEL_ALIASES,
    LABEL_SETS,
    OPEN_STAGES,
    STAGE_ORDER,
    TABLES,
    normalise_label,
)
from partner_forecast.metrics.asr import partner_quarter_activation

SMALL = {"partners": 15, "quarters": 6, "seed": 7, "start": "2024-01-01"}

PARAMETER_NAMES = (
    "act_intercept", "act_type", "act_tier", "act_partner", "act_partner_sigma", "act_ramp",
    "act_trend", "act_noise_sigma", "act_noise",
    "prod_intercept", "prod_type", "prod_partner", "prod_partner_sigma", "opp_alpha",
    "time_mu", "time_sigma", "conv_logit", "conv_partner", "conv_partner_sigma", "conv_beta",
    "conv_duration", "conv_shock_sigma", "conv_shock",
    "size_intercept", "size_type", "size_partner", "size_partner_sigma", "size_role",
    "size_sigma", "size_nu",
)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Truth]:
    folder = tmp_path_factory.mktemp("sample")
    truth = generate_sample(folder, **SMALL)
    return folder, truth


@pytest.fixture(scope="module")
def export(small):
    return load_export(small[0])


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_loads_without_errors(small, export):
    folder, truth = small
    written = {f"{t}.csv" for t in TABLES if t != "field_history"}  # no history generated
    assert {p.name for p in folder.iterdir()} == written | {"truth.json"}
    for name in ("partners", "sellers", "activities", "opportunities", "stage_history"):
        assert len(getattr(export, name)) > 0, name
    assert len(export.targets) == (SMALL["quarters"] + 4) * 8  # overall + 7 types
    assert len(export.company) == SMALL["quarters"]
    assert truth.settings["counts"]["opportunities"] == len(export.opportunities)


def test_same_seed_same_bytes_other_seed_differs(small, tmp_path):
    folder, _ = small
    generate_sample(tmp_path / "again", **SMALL)
    assert _files(tmp_path / "again") == _files(folder)
    generate_sample(tmp_path / "other", **(SMALL | {"seed": 8}))
    assert (tmp_path / "other" / "opportunities.csv").read_bytes() != (
        folder / "opportunities.csv").read_bytes()


def test_parquet_matches_csv(small, export, tmp_path):
    generate_sample(tmp_path, **SMALL, fmt="parquet")
    assert {p.suffix for p in tmp_path.iterdir()} == {".parquet", ".json"}
    pq = load_export(tmp_path)
    for name in TABLES:
        a = getattr(export, name).drop(columns="_row")
        b = getattr(pq, name).drop(columns="_row")
        pd.testing.assert_frame_equal(a, b, check_dtype=False, obj=name)


def test_truth_has_every_parameter(small):
    folder, truth = small
    data = json.loads((folder / "truth.json").read_text())
    for name in PARAMETER_NAMES:
        assert name in data, name
    assert set(data["act_type"]) == {"msp", "reseller", "distributor", "si", "gsi",
                                     "tech_alliance", "marketplace"}
    assert set(data["conv_logit"]["msp"]) == set(OPEN_STAGES)
    assert len(data["act_partner"]) == SMALL["partners"]
    assert data["act_ramp"] < 0
    assert all(v < 0 for v in data["conv_duration"].values())
    assert abs(sum(data["act_type"].values())) < 1e-5  # effects by label sum to zero
    assert Truth.load(folder).to_json() == (folder / "truth.json").read_text()
    assert truth["act_intercept"] == data["act_intercept"]


def test_realised_asr_matches_activation_model(small, export):
    """Per quarter, active sellers / pool agree with the logistic model within binomial noise."""
    _, truth = small
    s = truth.settings
    first = Quarter.parse(s["first_quarter"])
    quarters = [first + i for i in range(s["quarters"])]
    act = partner_quarter_activation(export, quarters)
    assert act["complete"].all()
    partners = export.partners.set_index("partner_id")
    p = act["partner_id"]
    tenure = (act["quarter_index"]
              - p.map(lambda x: Quarter.containing(partners.at[x, "onboarded_on"]).index)
              ).clip(lower=0)
    q_pos = act["quarter_index"] - first.index
    logit = (truth["act_intercept"]
             + p.map(partners["partner_type"]).map(truth["act_type"])
             + p.map(partners["tier"]).map(truth["act_tier"])
             + p.map(truth["act_partner"])
             + truth["act_ramp"] * np.exp(-tenure / 2)
             + truth["act_trend"] * (q_pos - s["q_center"])
             + [truth["act_noise"][pid][q] for pid, q in zip(p, act["quarter"], strict=True)])
    theta = 1 / (1 + np.exp(-logit.astype(float)))
    act = act.assign(expected=act["pool"] * theta, var=act["pool"] * theta * (1 - theta))
    by_q = act.groupby("quarter")[["active", "expected", "var", "pool"]].sum()
    z = (by_q["active"] - by_q["expected"]) / np.sqrt(by_q["var"])
    assert (z.abs() < 4).all(), z
    assert abs(z.sum() / np.sqrt(len(z))) < 4
    realised = pd.Series(truth.realised["asr"])
    np.testing.assert_allclose(realised[by_q.index], by_q["active"] / by_q["pool"])
    assert 0.05 < realised.mean() < 0.35


def test_stage_history_consistent_with_opportunities(export):
    opps = export.opportunities.set_index("opportunity_id")
    h = export.stage_history.assign(order=export.stage_history["stage"].map(STAGE_ORDER))
    h = h.sort_values(["opportunity_id", "entered_on", "order"], kind="stable")
    g = h.groupby("opportunity_id")
    first, last = g.first(), g.last()
    assert set(first.index) == set(opps.index)
    assert (first["stage"] == "discovery").all()
    assert (first["entered_on"] == opps.loc[first.index, "created_on"]).all()
    assert (last["stage"] == opps.loc[last.index, "stage"]).all()
    closed = opps["stage"].isin(["won", "lost"])
    assert (opps.loc[closed, "closed_on"] == last.loc[opps.index[closed], "entered_on"]).all()
    assert opps.loc[~closed, "closed_on"].isna().all()
    # each step moves one open stage forward (or ends in lost), on a strictly later day
    step = g["order"].diff().dropna()
    nxt = h.loc[step.index]
    assert ((step == 1) | (nxt["stage"] == "lost")).all()
    assert (g["entered_on"].diff().dropna() > pd.Timedelta(0)).all()
    won = h[h["stage"] == "won"]["opportunity_id"]
    assert h[h["opportunity_id"].isin(won) & (h["stage"] == "negotiation")].shape[0] == len(won)


def test_nothing_dated_on_or_after_export_date(small, export):
    _, truth = small
    end = pd.Timestamp(truth.settings["export_date"])
    assert end == Quarter.parse(truth.settings["last_quarter"]).end
    for name, cols in DATE_COLUMNS.items():
        frame = getattr(export, name)
        for c in cols:
            assert (frame[c].dropna() < end).all(), (name, c)
    assert export.default_as_of <= end


def test_opportunities_link_to_active_sellers(export):
    acts = export.activities
    opps = export.opportunities
    lc = acts[acts["activity_type"] == "lead_converted"]
    assert lc["opportunity_id"].notna().all()
    assert lc["opportunity_id"].is_unique
    assert set(lc["opportunity_id"]) == set(opps["opportunity_id"])
    m = opps.merge(lc[["opportunity_id", "seller_id", "occurred_on"]], on="opportunity_id")
    assert (m["occurred_on"] == m["created_on"]).all()
    named = m["referring_seller_id"].notna()
    assert (m.loc[named, "referring_seller_id"] == m.loc[named, "seller_id"]).all()
    sellers = export.sellers.set_index("seller_id")
    assert (sellers.loc[m["seller_id"], "partner_id"].to_numpy() == m["partner_id"].to_numpy()).all()
    # every activity falls while its seller is employed
    a = acts.join(sellers[["joined_on", "left_on"]], on="seller_id")
    assert (a["occurred_on"] >= a["joined_on"]).all()
    assert ((a["left_on"].isna()) | (a["occurred_on"] <= a["left_on"])).all()


def test_realised_won_arr_matches_data(small, export):
    _, truth = small
    o = export.opportunities
    won = o[o["stage"] == "won"]
    q = won["closed_on"].map(lambda d: str(Quarter.containing(d)))
    w = won["partner_role"].map({"sourced": 1.0, "co_sell": 0.5, "influenced": 0.25,
                                 "fulfillment": 0.0})
    w = w.where(~(won["partner_role"].eq("influenced") & won["influence_pct"].notna()),
                won["influence_pct"] / 100)
    gross = won.groupby(q)["arr"].sum()
    attributed = (won["arr"] * w).groupby(q).sum()
    for label in gross.index:
        assert truth.realised["won_arr"][label] == pytest.approx(gross[label])
        assert truth.realised["won_arr_attributed"][label] == pytest.approx(attributed[label])


def test_cli_sample(tmp_path):
    out = tmp_path / "cli"
    result = CliRunner().invoke(main, ["sample", str(out), "--partners", "6", "--quarters", "3",
                                       "--seed", "3", "--format", "parquet"])
    assert result.exit_code == 0, result.output
    assert (out / "truth.json").exists() and (out / "opportunities.parquet").exists()
    assert "export date 2024-10-01" in result.output
    load_export(out)
    bad = CliRunner().invoke(main, ["sample", str(tmp_path / "bad"), "--start", "2024-02-01"])
    assert bad.exit_code == 2
    assert "first day of a calendar quarter" in bad.output


# ---- profiles: data shapes outside the models' family (issue 10) ----------------------------
PROFILE_SIZE = {"partners": 40, "quarters": 8, "seed": 5}
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def profile_dir(tmp_path_factory):
    """``profile_dir(name)``: a 40-partner, 8-quarter export of that profile, written once."""
    made: dict[str, Path] = {}

    def make(name: str) -> Path:
        if name not in made:
            folder = tmp_path_factory.mktemp(name.replace(",", "+"))
            generate_sample(folder, **PROFILE_SIZE, profiles=name,
                            field_history="progress_flags" in name)
            made[name] = folder
        return made[name]

    return make


@pytest.fixture(scope="module")
def default_tables():
    return generate_tables(**PROFILE_SIZE)[0]


def _validate(folder: Path) -> None:
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 0, result.output


def _stays(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Observed stays in open stages: partner type, stage, days, the stage entered next."""
    h = (tables["stage_history"]
         .merge(tables["opportunities"][["opportunity_id", "partner_id"]], on="opportunity_id")
         .merge(tables["partners"][["partner_id", "partner_type"]], on="partner_id"))
    h = h.assign(order=h["stage"].map(STAGE_ORDER)).sort_values(
        ["opportunity_id", "entered_on", "order"], kind="stable")
    nxt = h.groupby("opportunity_id")[["stage", "entered_on"]].shift(-1)
    h = h.assign(next_stage=nxt["stage"], days=(nxt["entered_on"] - h["entered_on"]).dt.days)
    return h[h["next_stage"].notna() & h["stage"].isin(OPEN_STAGES)]


def _loss_after_long_stays(stays: pd.DataFrame) -> float:
    """Loss share of stays longer than their type x stage median minus that of shorter ones."""
    diffs, weights = [], []
    for _, g in stays.groupby(["partner_type", "stage"]):
        if len(g) >= 40:
            long = g["days"] > g["days"].median()
            lost = g["next_stage"] == "lost"
            diffs.append(lost[long].mean() - lost[~long].mean())
            weights.append(len(g))
    return float(np.average(diffs, weights=weights))


def _family_vs_lognormal(stays: pd.DataFrame, family) -> float:
    """Sum over well-filled type x stage cells of log-lik(family) - log-lik(lognormal)."""
    total = 0.0
    for _, g in stays.groupby(["partner_type", "stage"]):
        if len(g) >= 150:
            d = g["days"].to_numpy(dtype=float)
            total += (family.logpdf(d, *family.fit(d, floc=0)).sum()
                      - stats.lognorm.logpdf(d, *stats.lognorm.fit(d, floc=0)).sum())
    return total


def _last_weeks_share(opps: pd.DataFrame) -> float:
    closed = opps["closed_on"].dropna()
    next_quarter = closed.dt.to_period("Q").dt.end_time.dt.normalize() + pd.Timedelta(days=1)
    return float(((next_quarter - closed).dt.days <= 21).mean())


def test_data_sample_is_the_default_seed_2026_export(tmp_path):
    """data/sample is exactly what `partner-forecast sample data/sample --seed 2026` writes."""
    generate_sample(tmp_path, seed=2026)
    bundled = REPO / "data" / "sample"
    assert _files(tmp_path) == _files(bundled)
    assert "profiles" not in json.loads((bundled / "truth.json").read_text())


@pytest.mark.parametrize("name", list(PROFILES))
def test_profile_is_valid_deterministic_and_recorded(name, profile_dir, tmp_path):
    folder = profile_dir(name)
    _validate(folder)
    generate_sample(tmp_path, **PROFILE_SIZE, profiles=name,
                    field_history="progress_flags" in name)
    assert _files(tmp_path) == _files(folder)
    truth = json.loads((folder / "truth.json").read_text())
    assert truth["settings"]["profiles"] == [name]
    for key, value in PROFILES[name].parameters.items():
        assert truth["profiles"][name][key] == json.loads(json.dumps(value)), key
    assert Truth.load(folder).profiles == truth["profiles"]


def test_profiles_combine(profile_dir):
    combo = "progress_flags,stage_skips,quarter_end_push,messy_labels,heavy_tails,hidden_quality"
    folder = profile_dir(combo)
    _validate(folder)
    assert json.loads((folder / "truth.json").read_text())["settings"]["profiles"] == [
        "hidden_quality", "progress_flags", "stage_skips", "messy_labels", "quarter_end_push",
        "heavy_tails"]
    fh = pd.read_csv(folder / "field_history.csv")  # deals created in proposal: set at creation
    assert not fh.duplicated(["opportunity_id", "field", "changed_on"]).any()


def test_unknown_or_conflicting_profile_exits_2_with_the_list(tmp_path):
    bad = CliRunner().invoke(main, ["sample", str(tmp_path / "x"), "--profile", "heavy_tails,nope"])
    assert bad.exit_code == 2
    assert "nope" in bad.output and all(name in bad.output for name in PROFILES)
    clash = CliRunner().invoke(main, ["sample", str(tmp_path / "y"), "--profile",
                                      "stage_skips,two_stage_crm"])
    assert clash.exit_code == 2 and "cannot be combined" in clash.output
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()
    assert parse_profiles(" Heavy-Tails , few_partners ") == ("few_partners", "heavy_tails")


def test_stage_times_have_no_duration_loss_link(profile_dir, default_tables):
    default = _stays(default_tables)
    assert _loss_after_long_stays(default) > 0.05  # the default process: lingering loses
    assert _family_vs_lognormal(default, stats.gamma) < 0
    for name, family in (("stage_times_gamma", stats.gamma),
                         ("stage_times_weibull", stats.weibull_min)):
        stays = _stays(load_export(profile_dir(name)).tables())
        assert abs(_loss_after_long_stays(stays)) < 0.04, name
        assert _family_vs_lognormal(stays, family) > 10, name
        truth = Truth.load(profile_dir(name))
        assert set(truth["conv_duration"].values()) == {0.0}
        assert truth.profiles[name]["median_days"]["msp"]["discovery"] == pytest.approx(18.0)


def test_hidden_quality_moves_volume_size_and_win_odds_together(profile_dir):
    truth = Truth.load(profile_dir("hidden_quality"))
    z = pd.Series(truth.profiles["hidden_quality"]["hidden_quality"])
    assert len(z) == PROFILE_SIZE["partners"]
    effects = pd.DataFrame({k: pd.Series(truth[k]) for k in
                            ("prod_partner", "size_partner", "conv_partner")})
    assert (effects.corrwith(z) > 0.6).all()
    corr = effects.corr().to_numpy()[np.triu_indices(3, 1)]
    assert (corr > 0.3).all()
    # in the data: partners of high quality win more ARR per deal created
    o = load_export(profile_dir("hidden_quality")).opportunities
    won_arr = o["arr"].where(o["stage"] == "won", 0).groupby(o["partner_id"]).sum()
    per_deal = (won_arr / o.groupby("partner_id").size()).reindex(z.index)
    assert stats.spearmanr(z, per_deal, nan_policy="omit").statistic > 0.3


def test_progress_flags_are_set_as_deals_progress(profile_dir, default_tables):
    folder = profile_dir("progress_flags")
    export = load_export(folder)
    o = export.opportunities
    discovery, won = o[o["stage"] == "discovery"], o[o["stage"] == "won"]
    assert len(discovery) > 30 and len(won) > 30
    assert discovery["technical_validation"].mean() < 0.1
    assert won["technical_validation"].mean() > 0.85 and won["executive_sponsor"].mean() > 0.85
    d = default_tables["opportunities"]
    assert d.loc[d["stage"] == "discovery", "technical_validation"].mean() > 0.2
    # field_history replays to the exported (latest) values, one row per change
    fh = pd.read_csv(folder / "field_history.csv", dtype=str)
    assert list(fh.columns) == ["opportunity_id", "field", "value", "changed_on"]
    assert set(fh["value"]) == {"true", "false"}
    assert fh["changed_on"].max() < json.loads((folder / "truth.json").read_text())[
        "settings"]["export_date"]
    latest = fh.sort_values("changed_on", kind="stable").groupby(["opportunity_id", "field"])[
        "value"].last().unstack()
    latest = latest.reindex(o["opportunity_id"])
    for flag in ("technical_validation", "executive_sponsor"):
        assert (latest[flag].eq("true").to_numpy() == o[flag].to_numpy(dtype=bool)).all()
    changes = fh.groupby(["opportunity_id", "field"]).size()
    assert changes.max() == 2 and (changes == 2).sum() > 100
    created = o.set_index("opportunity_id")["created_on"].dt.strftime("%Y-%m-%d")
    first = fh.groupby("opportunity_id")["changed_on"].min()
    assert (first == created.reindex(first.index)).all()


def test_field_history_is_optional_and_removed_when_not_asked(tmp_path):
    generate_sample(tmp_path, partners=8, quarters=3, seed=1, field_history=True)
    fh = pd.read_csv(tmp_path / "field_history.csv")
    assert (fh.groupby(["opportunity_id", "field"]).size() == 1).all()  # flags never change
    generate_sample(tmp_path, partners=8, quarters=3, seed=1)
    assert not (tmp_path / "field_history.csv").exists()


def test_stage_skips_skip_stages_and_start_late(profile_dir):
    export = load_export(profile_dir("stage_skips"))
    h = export.stage_history.assign(order=export.stage_history["stage"].map(STAGE_ORDER))
    h = h.sort_values(["opportunity_id", "entered_on", "order"], kind="stable")
    step = h.groupby("opportunity_id")["order"].diff()
    skips = h[(step > 1) & (h["stage"] != "lost")]
    assert skips["opportunity_id"].nunique() > 30
    assert (skips["stage"] == "won").any() and (skips["stage"] == "proposal").any()
    first = h.groupby("opportunity_id")["stage"].first().value_counts()
    assert first.get("qualified", 0) > 50 and first.get("proposal", 0) > 20


def test_two_stage_crm_records_only_qualified_then_won_or_lost(profile_dir):
    export = load_export(profile_dir("two_stage_crm"))
    h = export.stage_history
    assert set(h["stage"]) == {"qualified", "won", "lost"}
    assert set(export.opportunities["stage"]) == {"qualified", "won", "lost"}
    first = h.sort_values(["opportunity_id", "entered_on"]).groupby("opportunity_id").first()
    assert (first["stage"] == "qualified").all()
    assert h.groupby("opportunity_id").size().max() == 2
    truth = Truth.load(profile_dir("two_stage_crm"))  # the hidden path has four stages
    assert set(truth.realised["win_rate_from_stage_by_type"]["msp"]) == set(OPEN_STAGES)


def test_messy_parquet_loads(tmp_path):
    generate_sample(tmp_path, partners=10, quarters=3, seed=2, fmt="parquet",
                    profiles="messy_labels")
    _validate(tmp_path)


def test_messy_labels_vary_spellings_and_blank_fields_yet_load(profile_dir):
    folder = profile_dir("messy_labels")
    raw = pd.read_csv(folder / "opportunities.csv", dtype=str, keep_default_na=False)
    assert raw["partner_role"].nunique() > 8 and raw["stage"].nunique() > 6
    assert raw["stage"].isin(["Closed Won", "Closed Lost"]).any()
    assert not raw["technical_validation"].isin(["", "true", "false"]).all()
    export = load_export(folder)
    o = export.opportunities
    assert set(o["partner_role"]) <= set(LABEL_SETS["partner_role"])
    assert set(o["stage"]) <= set(LABEL_SETS["stage"])
    assert set(export.partners["partner_type"]) <= set(LABEL_SETS["partner_type"])
    assert o["referring_seller_id"].isna().mean() > 0.25
    assert export.partners["region"].isna().mean() > 0.1
    assert o[["arr", "created_on", "partner_role", "stage"]].notna().all().all()


def test_every_label_variant_reads_as_its_label():
    for label_set, labels in LABEL_SETS.items():
        aliases = LABEL_ALIASES.get(label_set, {})
        for label in labels:
            variants = label_variants(label_set, label)
            assert len(variants) >= 3
            for v in variants:
                n = normalise_label(v)
                assert aliases.get(n, n) == label, (label_set, label, v)


def test_quarter_end_push_bunches_closes(profile_dir, default_tables):
    push = load_export(profile_dir("quarter_end_push")).opportunities
    assert _last_weeks_share(push) > 0.4
    assert _last_weeks_share(default_tables["opportunities"]) < 0.3  # ~3/13 without the push


def test_few_partners_draws_10_to_40():
    counts = [generate_tables(partners=300, quarters=2, seed=s, profiles="few_partners")[1]
              .settings["partners"] for s in range(6)]
    assert all(10 <= c <= 40 for c in counts) and len(set(counts)) > 1


def test_heavy_tails_far_wilder_than_default(profile_dir, default_tables):
    heavy = load_export(profile_dir("heavy_tails")).opportunities["arr"].astype(float)
    default = default_tables["opportunities"]["arr"].astype(float)
    assert heavy.max() / heavy.median() > 4 * default.max() / default.median()
    assert np.isfinite(heavy).all() and heavy.max() < 1e10


def test_sample_help_lists_one_profile_per_line() -> None:
    out = CliRunner().invoke(main, ["sample", "--help"]).output
    lines = out.splitlines()
    for name in PROFILES:
        assert any(line.strip().startswith(name) for line in lines), name
    assert "\\b" not in out
