"""Export views are computed once per export object, and an as-of view gets its own."""

from __future__ import annotations

import gc

import pandas as pd

from partner_forecast.data import views
from partner_forecast.data.export import load_export
from partner_forecast.testing.exports import TINY_DEFAULT_AS_OF, write_tiny_export


def test_views_are_computed_once_per_export(tmp_path):
    export = load_export(write_tiny_export(tmp_path))
    stays = views.stage_stays(export)
    assert views.stage_stays(export) is stays
    assert views.partner_frame(export) is views.partner_frame(export)
    five, three = views.deal_covariates(export, 5), views.deal_covariates(export, 3)
    assert views.deal_covariates(export, 5) is five and five is not three  # keyed by argument
    assert (three["engagement_level"] <= 3).all() and (five["engagement_level"] <= 5).all()


def test_an_as_of_view_has_its_own_views(tmp_path):
    export = load_export(write_tiny_export(tmp_path))
    cut = export.as_of(TINY_DEFAULT_AS_OF - pd.Timedelta(days=120))
    full, early = views.stage_stays(export), views.stage_stays(cut)
    assert len(early) < len(full)
    assert early["entered_on"].max() < cut.default_as_of
    # Open stays of the cut run to its as-of, not to the export's.
    still_open = early[early["open"]]
    assert (still_open["days"] <= (cut.default_as_of - still_open["entered_on"]).dt.days.clip(lower=1)).all()


def test_a_view_is_dropped_with_its_export(tmp_path):
    export = load_export(write_tiny_export(tmp_path))
    views.partner_frame(export)
    key = id(export)
    assert key in views._MEMO
    del export
    gc.collect()
    assert key not in views._MEMO


def test_views_match_a_fresh_computation(tmp_path):
    export = load_export(write_tiny_export(tmp_path))
    cached = views.stage_stays(export)
    fresh = views.stage_stays.__wrapped__(export)
    pd.testing.assert_frame_equal(cached, fresh)
    pf = views.partner_frame(export)
    assert list(pf["partner_id"]) == sorted(export.partners["partner_id"])
    assert pf["type_idx"].tolist() == [views.present_types(export).index(t) for t in pf["partner_type"]]
