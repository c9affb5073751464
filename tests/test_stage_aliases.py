"""Stage aliases from the config: a CRM's own stage names read onto the canonical stages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.cli import main
from partner_forecast.config import load_settings
from partner_forecast.data.export import load_export
from partner_forecast.errors import ConfigError, ExportError
from partner_forecast.forecast import load_inputs
from partner_forecast.testing.exports import tiny_export_tables, write_tiny_export

SALESFORCE = """\
[stages.aliases]
"Prospecting" = "discovery"
"Needs Analysis" = "qualified"
"Value Proposition" = "proposal"
"Id. Decision Makers" = "proposal"
"Proposal/Price Quote" = "proposal"
"Negotiation/Review" = "negotiation"
"""
RENAME = {"discovery": "Prospecting", "qualified": "Needs Analysis",
          "proposal": "Value Proposition", "negotiation": "Negotiation/Review",
          "won": "Closed Won", "lost": "Closed Lost"}


def salesforce_tables() -> dict[str, pd.DataFrame]:
    """The tiny export with Salesforce stage names, O01 passing through two more proposal-like
    stages (Id. Decision Makers, Proposal/Price Quote) after Value Proposition."""
    t = tiny_export_tables()
    t["opportunities"]["stage"] = t["opportunities"]["stage"].map(RENAME)
    h = t["stage_history"]
    h["stage"] = h["stage"].map(RENAME)
    extra = pd.DataFrame({"opportunity_id": ["O01", "O01"],
                          "stage": ["Id. Decision Makers", "PROPOSAL / price quote"],
                          "entered_on": ["2026-02-25", "2026-03-02"]})
    t["stage_history"] = pd.concat([h, extra], ignore_index=True)
    return t


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "crm.toml"
    path.write_text(SALESFORCE, "utf-8")
    return path


def test_aliases_map_crm_stages_and_collapse_repeats(tmp_path: Path, config: Path) -> None:
    canonical = load_export(write_tiny_export(tmp_path / "canonical"))
    e = load_export(write_tiny_export(tmp_path / "sf", salesforce_tables()),
                    settings=load_settings(config))
    assert e.warnings == ()
    pd.testing.assert_frame_equal(e.opportunities, canonical.opportunities)
    # O01 entered proposal once, on the first of its three proposal-like stages
    drop = ["_row"]
    pd.testing.assert_frame_equal(e.stage_history.drop(columns=drop),
                                  canonical.stage_history.drop(columns=drop))


def test_unmapped_stage_is_an_error_with_the_alias_hint(tmp_path: Path, config: Path) -> None:
    folder = write_tiny_export(tmp_path, salesforce_tables())
    with pytest.raises(ExportError) as err:
        load_export(folder)  # no config: "Prospecting" is unknown
    p = next(p for p in err.value.problems if p.value == "Prospecting")
    assert (p.file, p.row, p.column) == ("opportunities.csv", 10, "stage")
    assert "[stages] aliases" in p.message
    r = CliRunner().invoke(main, ["validate", str(folder)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert "opportunities.csv, row 10, column 'stage'" in r.output and "[stages] aliases" in r.output
    r = CliRunner().invoke(main, ["validate", str(folder), "--config", str(config)])
    assert r.exit_code == 0, r.output


def test_a_stage_left_unmapped_by_the_config_is_still_an_error(tmp_path: Path,
                                                              config: Path) -> None:
    t = salesforce_tables()
    t["stage_history"].loc[0, "stage"] = "Perception Analysis"  # not in this config
    with pytest.raises(ExportError) as err:
        load_export(write_tiny_export(tmp_path, t), settings=load_settings(config))
    text = str(err.value)
    assert "stage_history.csv, row 2, column 'stage'" in text and "Perception Analysis" in text


def test_the_same_label_twice_is_not_collapsed(tmp_path: Path, config: Path) -> None:
    t = salesforce_tables()
    h = t["stage_history"]
    t["stage_history"] = pd.concat([h, pd.DataFrame({"opportunity_id": ["O02"],
                                                     "stage": ["Needs Analysis"],
                                                     "entered_on": ["2026-03-01"]})],
                                   ignore_index=True)
    with pytest.raises(ExportError, match="stage entered more than once"):
        load_export(write_tiny_export(tmp_path, t), settings=load_settings(config))


def test_load_inputs_reads_through_the_aliases(tmp_path: Path, config: Path) -> None:
    folder = write_tiny_export(tmp_path, salesforce_tables())
    settings, export = load_inputs(folder, config)
    assert settings.stages.alias_map()["needs_analysis"] == "qualified"
    assert set(export.opportunities["stage"]) <= {"discovery", "qualified", "proposal",
                                                  "negotiation", "won", "lost"}


def test_table_commands_read_through_the_aliases(tmp_path: Path, config: Path) -> None:
    """Commands loading through ``load_context`` (here ``kpis``) take the config's aliases."""
    folder = write_tiny_export(tmp_path, salesforce_tables())
    assert CliRunner().invoke(main, ["kpis", str(folder)]).exit_code == 2
    r = CliRunner().invoke(main, ["kpis", str(folder), "--config", str(config)])
    assert r.exit_code == 0, r.output


def test_aliases_onto_an_unknown_stage_are_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[stages]\naliases = { "Prospecting" = "pipeline" }\n', "utf-8")
    with pytest.raises(ConfigError, match="not a canonical stage"):
        load_settings(path)
    assert load_settings().stages.aliases == {}


def test_the_commented_examples_in_default_toml_are_valid(tmp_path: Path) -> None:
    """The Salesforce and HubSpot examples of default.toml load and map onto canonical stages."""
    from partner_forecast.config import DEFAULT_CONFIG_TEXT

    examples = [line.removeprefix("# ") for line in DEFAULT_CONFIG_TEXT.splitlines()
                if line.startswith("# aliases = {")]
    assert len(examples) == 2
    for i, example in enumerate(examples):
        path = tmp_path / f"example{i}.toml"
        path.write_text(f"[stages]\n{example}\n", "utf-8")
        aliases = load_settings(path).stages.alias_map()
        assert set(aliases.values()) == {"discovery", "qualified", "proposal", "negotiation",
                                         "won", "lost"}
    sf = load_settings(tmp_path / "example0.toml").stages.alias_map()
    assert sf["id._decision_makers"] == "proposal" and sf["proposal_price_quote"] == "proposal"


def test_an_edited_stage_list_is_an_error_not_ignored(tmp_path: Path) -> None:
    path = tmp_path / "two.toml"
    path.write_text('[stages]\nopen = ["qualified", "proposal"]\n', "utf-8")
    with pytest.raises(ConfigError, match=r"stage list is fixed.*aliases"):
        load_settings(path)
    export = write_tiny_export(tmp_path / "tiny")
    result = CliRunner().invoke(main, ["validate", str(export), "--config", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "two.toml" in result.output or "stages.open" in result.output
