"""The metric commands through click's CliRunner: kpis, coverage, activation, scorecard."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

from _metrics_data import write_metrics_export
from partner_forecast.cli import main
from partner_forecast.metrics.kpis import ADOPTION_KPIS, SELLER_KPIS

COMMANDS = ("kpis", "coverage", "activation", "scorecard")
META_KEYS = {"as_of", "data", "data_fingerprint", "config", "config_fingerprint", "version", "command",
             "quarter"}


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> str:
    return str(write_metrics_export(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(scope="module")
def runner() -> CliRunner:
    return CliRunner()


def run_json(runner: CliRunner, *args: str) -> dict:
    result = runner.invoke(main, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_kpis_json_has_asr_seller_and_adoption_kpis(runner, data):
    doc = run_json(runner, "kpis", data, "--detail")
    assert set(doc["meta"]) >= META_KEYS
    assert doc["meta"]["quarter"] == "2026Q2" and doc["meta"]["as_of"] == "2026-07-01"
    assert len(doc["asr"]) == 1 and doc["asr"][0]["asr"] == pytest.approx(0.5)
    asr = {r["partner_id"]: r for r in doc["asr_by_partner"]}
    assert set(asr) == {"P1", "P2", "P3", "P4"} and asr["P4"]["asr"] == 0
    assert [r["kpi"] for r in doc["seller_kpis"]] == list(SELLER_KPIS)
    assert [r["kpi"] for r in doc["adoption_kpis"]] == list(ADOPTION_KPIS)
    assert doc["arr_metrics"][0]["partner_arr"] == 60_000
    assert {"pipeline", "production"} <= set(doc)


def test_kpis_by_partner_type(runner, data):
    doc = run_json(runner, "kpis", data, "--by", "partner_type")
    assert doc["meta"]["by"] == "partner_type"
    rates = {r["partner_type"]: r["value"] for r in doc["seller_kpis"]
             if r["kpi"] == "seller_activation_rate"}
    assert rates == pytest.approx({"gsi": 1.0, "msp": 0.5, "reseller": 2 / 3, "tech_alliance": 0.0})
    assert sum(r["pool"] for r in doc["asr"]) == 8


def test_kpis_by_deal_segment_warns(runner, data):
    doc = run_json(runner, "kpis", data, "--by", "partner_role")
    assert any("partner_role" in w for w in doc["meta"]["warnings"])


def test_kpis_for_another_quarter_and_as_of(runner, data):
    doc = run_json(runner, "kpis", data, "--quarter", "2026Q1")
    assert doc["meta"]["quarter"] == "2026Q1"
    rate = next(r for r in doc["seller_kpis"] if r["kpi"] == "seller_activation_rate")
    assert rate["value"] == pytest.approx(3 / 8)
    doc = run_json(runner, "kpis", data, "--as-of", "2026-05-01")
    assert doc["meta"]["as_of"] == "2026-05-01" and doc["meta"]["quarter"] == "2026Q2"


def test_coverage_json(runner, data):
    doc = run_json(runner, "coverage", data)
    assert doc["meta"]["quarter"] == "2026Q3" and doc["meta"]["snapshot"] == "2026-07-01"
    cov = {r["partner_type"]: r for r in doc["coverage"]}
    assert cov["all"]["coverage"] == pytest.approx(115_000 / 400_000)  # expected in 2026Q3
    assert "attributed" in doc["meta"]["coverage_basis"]
    assert cov["reseller"]["required_coverage"] == 3.0
    stages = doc["stage_forecast"]
    assert stages[-1]["partner_type"] == "all" and stages[-1]["table_forecast_arr"] == pytest.approx(77_250)
    assert {r["commit_category"] for r in doc["commit"]} == {"full", "discounted", "upside"}
    assert [r["category"] for r in doc["categories"]] == ["sourced", "influenced", "co_sell", "resell",
                                                          "total"]
    assert len(doc["trend"]) == 4


def test_coverage_by_tier_has_one_row_per_tier(runner, data):
    doc = run_json(runner, "coverage", data, "--by", "tier")
    assert [r["tier"] for r in doc["coverage"]] == ["growth", "strategic", "transactional"]
    assert all(r["snapshot"] == "2026-07-01" for r in doc["coverage"])


def test_activation_json(runner, data):
    doc = run_json(runner, "activation", data)
    summary = doc["summary"][0]
    assert summary["pct_activated_partners"] == 0.5 and summary["paper_partnerships"] == 1
    assert [r["partner_id"] for r in doc["paper_partnerships"]] == ["P4"]
    assert {r["band"] for r in doc["bands"]} == {"fully enabled", "partially ready", "needs support"}
    assert {r["partner_id"] for r in doc["scores"]} == {"P1", "P2", "P3", "P4"}
    status = {r["partner_id"]: r["first_deal_status"] for r in doc["first_deals"]}
    assert status == {"P1": "unknown (before data)", "P2": "unknown (before data)",
                      "P3": "activated", "P4": "unknown (before data)"}
    assert summary["first_deal_unknown"] == 3 and summary["median_days_to_first_deal"] == 85


def test_scorecard_table_and_by_partner(runner, data):
    result = runner.invoke(main, ["scorecard", data])
    assert result.exit_code == 0, result.output
    assert "== top_bottom ==" in result.stdout and "config_fingerprint" in result.stdout
    doc = run_json(runner, "scorecard", data, "--by", "partner")
    tops = [(r["partner"], r["seller_id"]) for r in doc["top_bottom"] if r["group"] == "top"]
    assert ("P1", "S1") in tops and ("P3", "S7") in tops
    assert "partner_id" not in doc["sellers"][0]


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("by", [None, "partner_type", "tier", "partner_role", "partner", "revenue_motion",
                                "region"])
def test_every_command_and_segment_runs(runner, data, command, by):
    args = [command, data, "--format", "json"] + (["--by", by] if by else [])
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)["meta"]) >= META_KEYS


@pytest.mark.parametrize("command", COMMANDS)
def test_csv_and_xlsx_outputs(runner, data, command, tmp_path):
    result = runner.invoke(main, [command, data, "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# as_of: 2026-07-01")
    out = tmp_path / f"{command}.xlsx"
    result = runner.invoke(main, [command, data, "--format", "xlsx", "--output", str(out)])
    assert result.exit_code == 0, result.output
    sheets = pd.read_excel(out, sheet_name=None)
    assert "meta" in sheets and len(sheets) >= 3


@pytest.mark.parametrize("command", COMMANDS)
def test_user_errors_exit_2(runner, data, command, tmp_path):
    assert runner.invoke(main, [command, data, "--quarter", "2026Q9"]).exit_code == 2
    assert runner.invoke(main, [command, data, "--format", "xlsx"]).exit_code == 2  # needs --output
    assert runner.invoke(main, [command, str(tmp_path / "missing")]).exit_code == 2
    bad = tmp_path / "bad.toml"
    bad.write_text("[confidence]\nfull_above = 10\ndiscounted_from = 50\n")
    result = runner.invoke(main, [command, data, "--config", str(bad)])
    assert result.exit_code == 2 and "Traceback" not in result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_help(runner, command):
    result = runner.invoke(main, [command, "--help"])
    assert result.exit_code == 0
    for option in ("--quarter", "--as-of", "--by", "--format", "--output", "--config"):
        assert option in result.output


def test_config_changes_thresholds(runner, data, tmp_path):
    cfg = tmp_path / "strict.toml"
    cfg.write_text("[activation]\nasr_target = 0.6\n")
    doc = run_json(runner, "kpis", data, "--config", str(cfg))
    rate = next(r for r in doc["seller_kpis"] if r["kpi"] == "seller_activation_rate")
    assert rate["target"] == 0.6 and rate["meets_target"] is False
    assert doc["meta"]["config"] == str(cfg)


def test_coverage_by_partner_role_splits_deal_tables(runner, data):
    doc = run_json(runner, "coverage", data, "--by", "partner_role")
    gross = {r["partner_role"]: r["gross_pipeline_arr"] for r in doc["coverage"]}
    assert gross == {"co_sell": 0, "fulfillment": 0, "influenced": 0, "sourced": 115_000}
    undated = {r["partner_role"]: r["undated_pipeline_arr"] for r in doc["coverage"]}
    assert undated["influenced"] == pytest.approx(0.3 * 40_000)  # O4: no close date estimate
    totals = [r for r in doc["stage_forecast"] if r["stage"] == "all"]
    assert sum(r["table_forecast_arr"] for r in totals) == pytest.approx(77_250)
    assert {r["partner_role"] for r in doc["commit"]} == {"influenced", "sourced"}


def test_kpis_by_tier_production_and_pipeline(runner, data):
    doc = run_json(runner, "kpis", data, "--by", "tier")
    assert [r["tier"] for r in doc["production"]] == ["growth", "strategic", "transactional"]
    assert sum(r["pipeline_arr"] for r in doc["pipeline"]) == 155_000


@pytest.mark.parametrize("by", [None, "partner_type"])
def test_coverage_commit_table_counts_the_open_pipeline(runner, data, by):
    doc = run_json(runner, "coverage", data, *(["--by", by] if by else []))
    commit = {r["commit_category"]: r for r in doc["commit"]}
    assert list(commit) == ["full", "discounted", "upside"]
    assert sum(r["deals"] for r in commit.values()) == 4  # O3, O4, O5, O9
    assert sum(r["pipeline_arr"] for r in commit.values()) == 155_000
    assert commit["discounted"]["deals"] == 2 and commit["discounted"]["pipeline_arr"] == 120_000
    # seed table: reseller proposal 50% x 80k + negotiation 75% x 40k, discounted by 25%
    assert commit["discounted"]["weighted_arr"] == pytest.approx(70_000)
    assert commit["discounted"]["committed_arr"] == pytest.approx(0.75 * 70_000)
    assert commit["upside"]["committed_arr"] == 0 and commit["upside"]["pipeline_arr"] == 35_000


DEAL_PARTS = ["stage_score", "tier_score", "partner_history_score", "engagement_score",
              "technical_validation_score", "executive_sponsor_score"]


def _check_deals(deals: pd.DataFrame) -> None:
    from partner_forecast.config import load_settings

    weights = load_settings(None).confidence.weights
    assert list(deals["opportunity_id"]) == ["O4", "O3", "O5", "O9"]  # highest score first
    assert list(deals["in_quarter"].astype(bool)) == [False, True, True, True]
    assert pd.Timestamp(deals["expected_close"].iloc[1]) == pd.Timestamp("2026-07-07")
    assert deals["close_date_source"].iloc[0] == "none"
    parts = deals[DEAL_PARTS].astype(float)
    score = sum(weights[c.removesuffix("_score")] * parts[c] for c in DEAL_PARTS) * 100
    assert deals["confidence_score"].astype(float).to_numpy() == pytest.approx(score.to_numpy(), abs=0.01)
    assert list(deals["commit_category"]) == ["discounted", "discounted", "upside", "upside"]
    assert deals.set_index("opportunity_id").loc["O4", "attributed_arr"] == pytest.approx(12_000)


def test_coverage_deals_in_every_format(runner, data, tmp_path):
    doc = run_json(runner, "coverage", data, "--deals")
    _check_deals(pd.DataFrame(doc["deals"]))
    assert "deals" not in run_json(runner, "coverage", data)
    out = tmp_path / "coverage.xlsx"
    r = runner.invoke(main, ["coverage", data, "--deals", "--format", "xlsx", "-o", str(out)])
    assert r.exit_code == 0, r.output
    _check_deals(pd.read_excel(out, sheet_name="deals"))
    r = runner.invoke(main, ["coverage", data, "--deals", "--format", "csv"])
    assert r.exit_code == 0, r.output
    section = r.stdout.split("# table: deals\n")[1].split("# table:")[0]
    import io

    _check_deals(pd.read_csv(io.StringIO(section)))
    r = runner.invoke(main, ["coverage", data, "--deals"])
    assert r.exit_code == 0, r.output
    table = r.stdout.split("== deals ==\n")[1]
    assert all(c in table.splitlines()[0] for c in [*DEAL_PARTS, "confidence_score", "commit_category"])
    assert table.index("O4") < table.index("O3") < table.index("O5") < table.index("O9")


def test_coverage_deals_by_segment_put_the_segment_first(runner, data):
    for by in ("tier", "region", "partner"):
        deals = run_json(runner, "coverage", data, "--deals", "--by", by)["deals"]
        assert list(deals[0])[0] == ("partner_id" if by == "partner" else by)
        assert len(deals) == 4


def test_kpis_print_the_summary_first_and_partner_rows_behind_detail(runner, data):
    r = runner.invoke(main, ["kpis", data])
    assert r.exit_code == 0, r.output
    sections = [line for line in r.stdout.splitlines() if line.startswith("== ")]
    assert sections[0] == "== seller_kpis ==" and "== asr_by_partner ==" not in sections
    asr = r.stdout.split("== asr ==\n")[1].split("\n\n")[0]
    assert "P1" not in asr and len(asr.splitlines()) == 3  # header, rule, the program row
    assert "--detail" in r.stdout
    r = runner.invoke(main, ["kpis", data, "--detail"])
    sections = [line for line in r.stdout.splitlines() if line.startswith("== ")]
    assert sections[-2:] == ["== asr_by_partner ==", "== production_by_partner =="]
    assert sections.index("== seller_kpis ==") < sections.index("== asr_by_partner ==")
    detail = r.stdout.split("== production_by_partner ==\n")[1]
    assert all(p in detail for p in ("P1", "P2", "P3", "P4"))


def test_scorecard_top_n(runner, data):
    default = run_json(runner, "scorecard", data)["top_bottom"]
    groups = [r["group"] for r in default]
    assert groups.count("top") == 3 and groups.count("bottom") == 3
    doc = run_json(runner, "scorecard", data, "--top", "1")
    rows = doc["top_bottom"]
    assert [r["group"] for r in rows] == ["top", "bottom"] and doc["meta"]["top"] == 1
    assert rows[0]["seller_id"] == default[0]["seller_id"]  # the best seller stays first
    assert rows[1]["seller_id"] == next(r for r in default if r["group"] == "bottom")["seller_id"]
    many = run_json(runner, "scorecard", data, "--top", "50")["top_bottom"]
    assert len({r["seller_id"] for r in many}) == len(many) <= 9  # every seller at most once
    assert runner.invoke(main, ["scorecard", data, "--top", "0"]).exit_code == 2
