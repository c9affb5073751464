"""The deal-flag leakage audit, on simulated pipelines whose flags are of known kinds.

:func:`partner_forecast.testing.pipelines.flag_pipeline_tables` simulates deals whose flags are
set at creation (with or without a real effect on winning) or filled in on reaching proposal
(the export then holds the latest value). The audit must flag the progress-filled one and pass
both creation-time ones, on several seeds, and pass a flag with a ``field_history`` through.
"""

from __future__ import annotations

import functools
import tempfile

import numpy as np
import pytest
from click.testing import CliRunner

from partner_forecast.cli import main
from partner_forecast.data.export import Export, load_export
from partner_forecast.data.flag_leakage import (
    LEAKAGE_COLUMNS,
    flag_leakage,
    minimum_effect_p,
    usable_flags,
)
from partner_forecast.testing.exports import write_tiny_export
from partner_forecast.testing.pipelines import flag_pipeline_tables

KINDS = {"technical_validation": "progress", "executive_sponsor": "creation_effect",
         "marketplace": "creation"}
FLAGS = tuple(KINDS)


@functools.cache
def simulated(seed: int, with_history: bool = False, n_deals: int = 2500) -> Export:
    tables = flag_pipeline_tables(n_deals, seed, flags=KINDS, with_history=with_history)
    with tempfile.TemporaryDirectory() as d:
        return load_export(write_tiny_export(d, tables))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_progress_filled_flag_leaks_creation_time_flags_do_not(seed: int) -> None:
    table = flag_leakage(simulated(seed), FLAGS).set_index("flag")
    assert list(table.reset_index().columns) == list(LEAKAGE_COLUMNS)
    assert table["tested"].all() and (table["source"] == "audit").all()
    assert table.loc["technical_validation", "leaks"]
    assert table.loc["technical_validation", "p_value"] < 1e-3
    assert table.loc["technical_validation", "stage"] in ("discovery", "qualified")
    assert table.loc["technical_validation", "open_rate"] == 0.0
    assert not table.loc["executive_sponsor", "leaks"] and not table.loc["marketplace", "leaks"]
    assert usable_flags(simulated(seed), FLAGS) == ("executive_sponsor", "marketplace")


def test_the_creation_time_flag_really_raises_win_odds() -> None:
    """So passing it means the audit tells "known early" from "correlated with winning"."""
    o = simulated(0).opportunities
    won = o[o["stage"].isin(["won", "lost"])]
    rate = won.groupby("executive_sponsor")["stage"].apply(lambda s: (s == "won").mean())
    assert rate[True] > 2 * rate[False]
    evidence = flag_leakage(simulated(0), FLAGS).set_index("flag")["evidence"]
    assert "filled in as deals progress" in evidence["technical_validation"]
    assert "lost at discovery 0%" in evidence["technical_validation"]
    assert "no sign" in evidence["executive_sponsor"]


def test_a_flag_with_history_is_usable_and_never_leaks() -> None:
    e = simulated(0, with_history=True)
    table = flag_leakage(e, FLAGS).set_index("flag")
    assert table.loc["technical_validation", "source"] == "field_history"
    assert not table.loc["technical_validation", "leaks"]
    assert "field_history" in table.loc["technical_validation", "evidence"]
    assert usable_flags(e, FLAGS) == FLAGS


def test_small_export_is_untested_and_unusable() -> None:
    with tempfile.TemporaryDirectory() as d:
        tiny = load_export(write_tiny_export(d))
    table = flag_leakage(tiny)
    assert not table["tested"].any() and not table["leaks"].any()
    assert table["evidence"].str.contains("not tested").all()
    assert usable_flags(tiny) == ()
    with pytest.raises(ValueError, match="not a boolean opportunity column"):
        flag_leakage(tiny, ("arr",))


def test_minimum_effect_margin() -> None:
    # a small gap on a huge export is not a leak; the same rates on a small one are not either
    assert minimum_effect_p(4_300, 10_000, 45_000, 100_000) > 0.5
    assert minimum_effect_p(43, 100, 450, 1_000) > 0.5
    # a gap far beyond the margin is, in either direction
    assert minimum_effect_p(0, 100, 150, 800) < 1e-3
    assert minimum_effect_p(55, 100, 150, 800) < 1e-3
    # exactly at the margin the test cannot reject
    p_at = minimum_effect_p(200, 1000, 3333, 10_000, margin=2.0)  # odds ratio ~0.5
    assert p_at > 0.05
    ps = [minimum_effect_p(k, 60, 300, 800) for k in range(0, 20)]
    assert np.all(np.diff(ps[:8]) >= 0)  # fewer flagged open deals: stronger evidence


def test_validate_prints_the_audit_and_warns_per_leaking_flag(tmp_path) -> None:
    folder = write_tiny_export(tmp_path, flag_pipeline_tables(2500, 0, flags=KINDS))
    r = CliRunner().invoke(main, ["validate", str(folder)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    warn = [x for x in lines if x.startswith("warning:") and "leaks the outcome" in x]
    assert len(warn) == 1
    assert "opportunities.csv, column 'technical_validation'" in warn[0]
    assert "open deals carry it" in warn[0]
    assert any(x.startswith("leakage:") and "technical_validation" in x and "LEAKS" in x
               for x in lines)
    assert any(x.startswith("leakage:") and "executive_sponsor" in x and "ok" in x for x in lines)
    assert "1 leaking flag(s): technical_validation" in r.output


@pytest.mark.parametrize("cut", ["2025-01-01", "2025-10-01"])
def test_an_as_of_view_keeps_the_whole_exports_verdict(cut: str) -> None:
    """A backtest or calibration fold fits on a view: the leaking flag must stay out there too.

    The view's flags are latest values, so its open deals carry flags filled in after the cut
    and the view's own audit passes the progress-filled flag (what let it into the conversion
    model of every fold, coefficient 3.3 where the process had 0.5).
    """
    from partner_forecast.config import load_settings
    from partner_forecast.models import aggregate
    from partner_forecast.models.conversion import ConversionModel

    whole = simulated(0)
    view = whole.as_of(cut)
    own = flag_leakage(view).set_index("flag")
    assert not own.loc["technical_validation", "leaks"]  # the view alone hides the leak
    assert usable_flags(whole) == ("executive_sponsor",)
    assert usable_flags(view) == ("executive_sponsor",)
    assert usable_flags(view.as_of("2024-10-01")) == ("executive_sponsor",)  # cut again
    assert usable_flags(view, FLAGS) == ("executive_sponsor", "marketplace")
    # what the models read: the flag is 0 on every deal and every stay, and reported left out
    opps = view.opportunities
    assert opps["technical_validation"].fillna(False).astype(bool).any()
    flags = aggregate.flags_at(view, opps["opportunity_id"].to_numpy(dtype=object),
                               opps["created_on"].to_numpy())
    assert (flags["technical_validation"] == 0).all()
    assert flags["executive_sponsor"].sum() > 0
    meta = ConversionModel.build_spec(view, load_settings()).meta
    assert meta["flags_used"] == "executive_sponsor"
    assert meta["flags_left_out"] == "technical_validation"
