"""Stage paths the models learn from: skips, entry stages and covariates as known at entry."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from partner_forecast.data import views
from partner_forecast.data.export import load_export
from partner_forecast.data.schema import OPEN_STAGES
from partner_forecast.data.views import deal_engagement
from partner_forecast.models import aggregate
from partner_forecast.posterior.inputs import entry_mix
from partner_forecast.testing.exports import tiny_export_tables, write_tiny_export


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return load_export(write_tiny_export(tmp_path_factory.mktemp("tiny"), tiny_export_tables()))


@pytest.fixture(scope="module")
def tiny_history(tmp_path_factory):
    folder = write_tiny_export(tmp_path_factory.mktemp("tinyh"), tiny_export_tables(field_history=True))
    return load_export(folder)


def test_a_skip_is_counted_at_its_destination(tiny):
    counts = aggregate.jump_counts(tiny)
    types = views.present_types(tiny)
    msp = types.index("msp")
    proposal = OPEN_STAGES.index("proposal")
    # O03 (msp) went proposal -> won, skipping negotiation: destination j = 1 (won).
    assert counts[msp, proposal, 1] == 1
    # Every advance is counted once: completed stays that did not end lost.
    stays = views.stage_stays(tiny)
    assert counts.sum() == int(stays["advanced"].sum())
    beyond = np.arange(4)[None, :] > (3 - np.arange(4))[:, None]
    assert counts[:, beyond].sum() == 0


def test_entry_stages_and_their_mix(tiny):
    counts = aggregate.entry_counts(tiny)
    assert counts[:, 0].sum() == 12 and counts[:, 1:].sum() == 0  # all created in discovery
    mix = entry_mix(tiny, views.present_types(tiny))
    np.testing.assert_allclose(mix.sum(axis=1), 1.0)
    np.testing.assert_allclose(mix[:, 0], 1.0)


def test_entry_mix_follows_deals_created_later(tiny):
    h = tiny.stage_history
    later = h[~((h["opportunity_id"] == "O12") & (h["stage"] == "discovery"))]
    export = dataclasses.replace(tiny, stage_history=later)
    counts = aggregate.entry_counts(export)
    assert counts[:, OPEN_STAGES.index("qualified")].sum() == 1


def test_engagement_counts_only_what_was_known_at_entry(tiny):
    stays = views.stage_stays(tiny)
    ids = stays["opportunity_id"].to_numpy(dtype=object)
    at_entry = aggregate.engagement_before(tiny, ids, stays["entered_on"].to_numpy())
    overall = deal_engagement(tiny).reindex(ids).to_numpy()
    assert np.all(at_entry <= overall)
    assert at_entry.sum() < overall.sum()  # engagement piles up as deals progress
    # At the far future every activity is known; at the creation date none is (strictly before).
    far = aggregate.engagement_before(tiny, ids, np.full(len(ids), np.datetime64("2100-01-01")))
    np.testing.assert_array_equal(far, overall)
    created = tiny.opportunities.set_index("opportunity_id")["created_on"]
    first = aggregate.engagement_before(tiny, ids, pd.Series(ids).map(created).to_numpy())
    acts = tiny.activities
    for i, opp in enumerate(ids):
        a = acts[(acts["opportunity_id"] == opp) & (acts["occurred_on"] < created[opp])
                 & acts["activity_type"].isin(["joint_call", "deal_update", "deal_registration"])]
        assert first[i] == len(a)


def test_leaky_or_untested_flags_drop_out_without_history(tiny):
    ids = tiny.opportunities["opportunity_id"].to_numpy(dtype=object)
    dates = np.full(len(ids), np.datetime64("2026-09-29"))
    none = aggregate.flags_at(tiny, ids, dates, usable=())
    assert (none.to_numpy() == 0).all()
    latest = aggregate.flags_at(tiny, ids, dates, usable=("technical_validation",))
    expected = tiny.opportunities["technical_validation"].fillna(False).astype(bool).to_numpy(float)
    np.testing.assert_array_equal(latest["technical_validation"].to_numpy(), expected)
    assert (latest["executive_sponsor"] == 0).all()


def test_flags_with_history_are_read_as_of_stage_entry(tiny_history):
    stays = views.stage_stays(tiny_history)
    cov = aggregate.stay_covariates(tiny_history, stays, 5, usable=())
    final = tiny_history.opportunities.set_index("opportunity_id")["technical_validation"]
    final = stays["opportunity_id"].map(final.fillna(False).astype(bool)).to_numpy(float)
    # Flags get set as deals progress: at stage entry fewer are set than at the end.
    assert cov["technical_validation"].sum() < final.sum()
    assert set(np.unique(cov["technical_validation"])) <= {0.0, 1.0}
