"""``forecast`` through the real path: CLI -> prepare -> fit_all loading fake posteriors from the
workspace cache (no sampling) -> simulation. Nothing is swapped out."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest
from click.testing import CliRunner

from partner_forecast.cli import main


@pytest.fixture
def workspace(fake_workspace, tmp_path):
    """A private copy of the workspace holding the fake fits of the small export."""
    ws = tmp_path / "ws"
    shutil.copytree(fake_workspace.root, ws)
    return ws


def forecast_json(data, config, workspace, *args):
    r = CliRunner().invoke(main, ["forecast", str(data), "--config", str(config), "--workspace",
                                  str(workspace), "--draws", "300", "--seed", "4", "--horizon", "2",
                                  "--format", "json", *map(str, args)])
    assert r.exit_code == 0, r.output
    assert "fitted in" not in r.stderr
    return json.loads(r.stdout)


def test_forecast_by_segment_keeps_the_total(models_sample_dir, models_tiny_config, workspace):
    split = pd.DataFrame(forecast_json(models_sample_dir, models_tiny_config, workspace,
                                       "--by", "partner_type", "--no-ledger")["forecast"])
    whole = pd.DataFrame(forecast_json(models_sample_dir, models_tiny_config, workspace,
                                       "--no-ledger")["forecast"])
    quarters = list(whole["quarter"])
    assert len(quarters) == 2 and list(whole["segment"]) == ["total", "total"]
    for quarter, rows in split.groupby("quarter", sort=False):
        segments = rows[rows["segment"] != "total"]
        total = rows[rows["segment"] == "total"]
        assert len(total) == 1 and len(segments) >= 2
        assert rows["segment"].iloc[-1] == "total"  # after its segments
        t = total.iloc[0]
        # The total is the quantile of the summed draws: the un-split run's figures exactly.
        ref = whole[whole["quarter"] == quarter].iloc[0]
        for col in ("attributed_p10", "attributed_p50", "attributed_p90", "attributed_mean",
                    "gross_p50", "committed_mean", "upside_mean"):
            assert t[col] == pytest.approx(ref[col], rel=1e-6), col  # float32 sums
        assert t["attributed_mean"] == pytest.approx(segments["attributed_mean"].sum(), rel=1e-6)
        assert (t["attributed_p50"] >= segments["attributed_p50"]).all()
    assert list(split["quarter"].drop_duplicates()) == quarters


def test_forecast_by_segment_table_prints_the_total(models_sample_dir, models_tiny_config,
                                                   workspace):
    r = CliRunner().invoke(main, ["forecast", str(models_sample_dir), "--config",
                                  str(models_tiny_config), "--workspace", str(workspace), "--draws",
                                  "100", "--by", "tier", "--no-ledger"])
    assert r.exit_code == 0, r.output
    table = r.stdout.split("== forecast ==\n")[1].split("==")[0]
    rows = [line.split() for line in table.splitlines()[2:] if line.strip()]
    assert [row[1] for row in rows][-1] == "total"
    assert all(len(row) > 4 for row in rows if row[1] == "total")  # P10/P50/P90 shown
