"""The ``scenario`` and ``levers`` commands through CliRunner, on the tiny export.

The models are :class:`~partner_forecast.testing.fits.DegenerateModels` (a degenerate posterior
over the tiny export's four partners), given to the CLI through its click context: no MCMC runs
and no module is swapped.
"""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.cli import main
from partner_forecast.ledger.store import Ledger
from partner_forecast.testing.exports import write_tiny_export
from partner_forecast.testing.fits import DegenerateModels

AS_OF = "2026-07-01"  # a quarter start: 2026Q3 is simulated whole


MODELS = DegenerateModels(own_partners=True)
"""A degenerate posterior over the tiny export's four partners: no MCMC runs."""


@pytest.fixture
def tiny(tmp_path):
    return write_tiny_export(tmp_path / "export")


def invoke(*args, runner: CliRunner | None = None):
    return (runner or CliRunner()).invoke(main, [str(a) for a in args], obj={"models": MODELS})


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD = """
[[scenario]]
name = "asr_20"
  [[scenario.change]]
  lever = "activation_rate"
  set = 0.20

[[scenario]]
name = "nothing"

[[scenario]]
name = "two_msps"
  [[scenario.change]]
  lever = "recruit"
  count = 2
  partner_type = "msp"
  tier = "growth"
  sellers = 100
"""


def test_scenario_command_compares_with_common_random_numbers(tiny, tmp_path):
    path = write(tmp_path, "good.toml", GOOD)
    ws = tmp_path / "ws"
    r = invoke("scenario", tiny, path, "--as-of", AS_OF, "--draws", 2000, "--seed", 5,
               "--workspace", ws, "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    table = pd.DataFrame(doc["scenarios"]).set_index(["segment", "scenario"])
    assert set(table.index.get_level_values("scenario")) == {"baseline", "asr_20", "nothing",
                                                              "two_msps"}
    total = table.loc["total"]
    # No change: the baseline draw for draw.
    assert total.loc["nothing", ["delta_p10", "delta_p50", "delta_p90", "delta_mean"]].abs().max() == 0
    assert total.loc["nothing", "p_above_baseline"] == 0
    # ASR 15% -> 20% on the four 100-seller partners: new-pipeline ARR +33%.
    base_mean = total.loc["baseline", "mean"]
    won_to_date = 0.0  # as-of is a quarter start
    assert total.loc["asr_20", "delta_mean"] / (base_mean - won_to_date) == pytest.approx(1 / 3, abs=0.03)
    assert total.loc["asr_20", "delta_p10"] >= 0 and total.loc["asr_20", "p_above_baseline"] > 0.9
    # Two recruited 100-seller MSPs: about two partners' worth (4 x 50,400 is the baseline).
    assert total.loc["two_msps", "delta_mean"] == pytest.approx(base_mean / 2, rel=0.1)
    # P(>= target) for both where a target exists (2026Q3 total: 150,000).
    assert not np.isnan(total.loc["asr_20", "p_at_least_target"])
    assert total.loc["asr_20", "p_at_least_target"] >= total.loc["asr_20", "baseline_p_at_least_target"]
    ledger = Ledger(ws)
    runs = ledger.runs()
    assert set(runs["kind"]) == {"scenario"}
    assert set(runs["name"]) == {"baseline", "asr_20", "nothing", "two_msps"}
    for entry in doc["meta"]["scenarios"]:
        record = ledger.run(entry["run_id"])
        assert (record["name"], record["content_hash"]) == (entry["name"], entry["content_hash"])
        assert record["meta"]["scenario_hash"] == entry["content_hash"]
    assert any("approximation" in w for w in doc["meta"]["warnings"])  # no activation posterior


def test_scenario_command_by_segment_table_and_examples(tiny, tmp_path):
    from pathlib import Path

    examples = sorted((Path(__file__).resolve().parents[1] / "configs" / "scenarios").glob("*.toml"))
    r = invoke("scenario", tiny, *examples, "--as-of", AS_OF, "--draws", 200, "--by", "partner_type",
               "--workspace", tmp_path / "ws", "--no-ledger")
    assert r.exit_code == 0, r.output
    assert "== scenarios ==" in r.stdout and "enablement_push" in r.stdout
    assert "delta_p50" in r.stdout and "p_above_baseline" in r.stdout
    assert not (tmp_path / "ws" / "ledger.sqlite").exists()
    r = invoke("scenario", tiny, examples[0], "--as-of", AS_OF, "--draws", 100, "--by", "region",
               "--workspace", tmp_path / "ws", "--format", "csv", "--no-ledger")
    assert r.exit_code == 0, r.output
    assert "EMEA" in r.stdout and "AMER" in r.stdout


def test_levers_command(tiny, tmp_path):
    r = invoke("levers", tiny, "--as-of", AS_OF, "--draws", 400, "--workspace", tmp_path / "ws",
               "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    levers = pd.DataFrame(doc["levers"])
    assert set(levers["lever"]) == {"activation_rate", "productivity", "win_rate", "deal_size",
                                    "sales_cycle", "sellers", "recruit"}
    total = levers[levers["segment"] == "total"].sort_values("rank")
    assert list(total["rank"]) == list(range(1, 8))
    assert (total["delta_p50"].diff().dropna() <= 0).all()
    assert (total["delta_mean"] >= 0).all()  # every standard step is an increase
    constraints = pd.DataFrame(doc["constraints"])
    assert set(constraints["partner_type"]) == {"reseller", "msp", "gsi", "tech_alliance"}
    assert constraints["reading"].str.contains("confidence:").all()
    r = invoke("levers", tiny, "--as-of", AS_OF, "--draws", 100, "--workspace", tmp_path / "ws",
               "--by", "partner_type")
    assert r.exit_code == 0, r.output
    assert "== levers ==" in r.stdout and "== readings ==" in r.stdout and "msp" in r.stdout


BAD = {
    "unknown_lever": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\nlever = "activation_rat"\n'
                      'set = 0.2\n', "lever"),
    "unknown_key": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\nlever = "productivity"\n'
                    'multipy = 1.1\n', "multipy"),
    "rate_outside": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\nlever = "activation_rate"\n'
                     'set = 20\n', "set"),
    "negative_multiplier": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\nlever = "deal_size"\n'
                            'multiply = -0.5\n', "multiply"),
    "zero_odds": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\nlever = "win_rate"\n'
                  'odds_multiplier = 0\n', "odds_multiplier"),
    "two_operations": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\nlever = "activation_rate"\n'
                       'set = 0.2\nmultiply = 2\n', "multiply"),
    "selector_nothing": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\nlever = "productivity"\n'
                         'multiply = 1.1\nselect = { partner_type = "si" }\n', "select.partner_type"),
    "selector_unknown_id": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\nlever = "sellers"\n'
                            'add = 2\nselect = { partner_id = "P99" }\n', "select.partner_id"),
    "selector_unknown_key": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\nlever = "sellers"\n'
                             'add = 2\nselect = { segment = "x" }\n', "select.segment"),
    "rate_pushed_above_one": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\n'
                              'lever = "activation_rate"\nmultiply = 8\n', "multiply"),
    "rate_pushed_below_zero": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\n'
                               'lever = "activation_rate"\nadd_pp = -40\n', "add_pp"),
    "too_many_removed": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\nlever = "sellers"\n'
                         'add = -500\n', "add"),
    "bad_start": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\nlever = "productivity"\n'
                  'multiply = 1.1\nstart = "2026Q5"\n', "start"),
    "recruit_incomplete": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\nlever = "recruit"\n'
                           'count = 2\npartner_type = "msp"\ntier = "growth"\n', "sellers"),
    "recruit_unknown_type": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\nlever = "recruit"\n'
                             'count = 2\npartner_type = "msps"\ntier = "growth"\nsellers = 3\n',
                             "partner_type"),
    "unknown_stage": ('[[scenario]]\nname = "s1"\n[[scenario.change]]\nlever = "sales_cycle"\n'
                      'multiply = 0.9\nstages = ["closing"]\n', "stages"),
    "not_toml": ('[[scenario]\nname = "s1"\n', None),
    "missing_name": ('[[scenario]]\ndescription = "x"\n[[scenario.change]]\nlever = "productivity"\n'
                     'multiply = 1.1\n', "name"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_scenario_files_exit_2_naming_file_scenario_and_key(kind, tiny, tmp_path):
    text, key = BAD[kind]
    path = write(tmp_path, f"{kind}.toml", text)
    r = invoke("scenario", tiny, path, "--as-of", AS_OF, "--draws", 50, "--workspace", tmp_path / "ws",
               "--no-ledger")
    assert r.exit_code == 2, (r.exit_code, r.output)
    message = r.stderr if hasattr(r, "stderr") else r.output
    assert "Traceback" not in r.output
    assert str(path) in message
    if key is None:
        assert "not valid TOML" in message
        return
    assert f"key {key!r}" in message
    assert "scenario 's1'" in message or (key == "name" and "scenario '#1'" in message)


def test_scenario_usage_errors(tiny, tmp_path):
    assert invoke("scenario", tiny).exit_code == 2  # no FILE
    r = invoke("scenario", tiny, tmp_path / "missing.toml", "--workspace", tmp_path / "ws")
    assert r.exit_code == 2 and "not found" in r.output


def test_levers_progress_bar_only_on_a_terminal_or_when_asked(tiny, tmp_path):
    args = ("levers", tiny, "--as-of", AS_OF, "--draws", 100, "--workspace", tmp_path / "ws",
            "--format", "json")
    quiet = invoke(*args)
    assert quiet.exit_code == 0, quiet.output
    assert "levers:" not in quiet.stderr and "run/s" not in quiet.stderr
    asked = invoke(*args, runner=CliRunner(env={"PARTNER_FORECAST_PROGRESS": "1"}))
    assert asked.exit_code == 0, asked.output
    # baseline + 7 steps; tqdm redraws at most every few tenths of a second (and a bar that
    # does not stay is cleared), so only the drawn start is certain to be in the capture
    assert "levers:" in asked.stderr and "/8 [" in asked.stderr
    assert json.loads(asked.stdout) == json.loads(quiet.stdout)  # stdout untouched
