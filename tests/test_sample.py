"""The synthetic CRM export generator (``partner-forecast sample``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.calendar import Quarter
from partner_forecast.cli import main
from partner_forecast.data.export import DATE_COLUMNS, load_export
from partner_forecast.data.sample import Truth, generate_sample
from partner_forecast.data.schema import OPEN_STAGES, STAGE_ORDER, TABLES
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
