"""The as-of view (:meth:`Export.as_of`): nothing dated on or after the cut may survive or matter.

Fit, forecast, backtest and variance all stand on this view, so it is tested hard: on fixed
cuts of the tiny export with known answers, on hypothesis-generated cuts against independent
plain-Python reconstructions, and with "planted leaks" (values and rows dated after the cut
scrambled or added in the raw tables must leave the view unchanged, frame for frame).
The tiny export with a ``field_history`` goes through the same tests, and its planted leaks
include the latest-value case: the opportunities' own (latest) flags, ARR and role scrambled
on every deal whose history records them.
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from partner_forecast.calendar import Quarter
from partner_forecast.data.export import DATE_COLUMNS, Export, load_export
from partner_forecast.data.field_history import has_history
from partner_forecast.data.schema import (
    CLOSED_STAGES,
    HISTORY_FIELDS,
    LABEL_SETS,
    OPEN_STAGES,
    STAGE_ORDER,
    TABLES,
)
from partner_forecast.metrics.asr import partner_quarter_activation
from partner_forecast.testing.exports import (
    TINY_DEFAULT_AS_OF,
    tiny_export_tables,
    write_tiny_export,
)

#: The column that dates each row's existence: a row dated on/after the cut is unknown.
EVENT_COLUMN = {"partners": "onboarded_on", "sellers": "joined_on", "activities": "occurred_on",
                "opportunities": "created_on", "stage_history": "entered_on",
                "field_history": "changed_on"}

cuts = st.dates(min_value=date(2025, 10, 1), max_value=date(2026, 10, 31)).map(pd.Timestamp)
HYPOTHESIS = settings(max_examples=60, deadline=None)
HYPOTHESIS_HISTORY = settings(max_examples=25, deadline=None)  # views with history cost more


@functools.cache
def tiny() -> Export:
    with tempfile.TemporaryDirectory() as d:
        return load_export(write_tiny_export(d))


@functools.cache
def tiny_history() -> Export:
    """The tiny export with its ``field_history`` (flags set as deals progress, ARR, role)."""
    with tempfile.TemporaryDirectory() as d:
        return load_export(write_tiny_export(d, tiny_export_tables(field_history=True)))


def export_of(history: bool) -> Export:
    return tiny_history() if history else tiny()


def assert_exports_equal(a: Export, b: Export) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    assert a.as_of_date == b.as_of_date


def known_history(cut: pd.Timestamp) -> dict[str, str]:
    """Plain-Python rebuild: each deal's latest stage entered before ``cut``."""
    latest: dict[str, tuple[pd.Timestamp, int, str]] = {}
    for r in tiny().stage_history.itertuples():
        if r.entered_on < cut:
            key = (r.entered_on, STAGE_ORDER[r.stage], r.stage)
            if r.opportunity_id not in latest or key > latest[r.opportunity_id]:
                latest[r.opportunity_id] = key
    return {k: v[2] for k, v in latest.items()}


# -- fixed cuts with known answers ----------------------------------------------------------------
def test_tiny_export_is_what_the_tests_assume() -> None:
    e = tiny()
    assert e.default_as_of == TINY_DEFAULT_AS_OF
    assert e.warnings == ()
    assert e.as_of_date is None
    assert len(e.opportunities) == 12 and set(e.opportunities["stage"]) == set(LABEL_SETS["stage"])


def test_known_view_in_may() -> None:
    v = tiny().as_of("2026-05-01")
    opps = v.opportunities.set_index("opportunity_id")
    assert list(opps.index) == ["O01", "O02", "O03", "O04", "O05"]
    assert opps["stage"].to_dict() == {"O01": "won", "O02": "lost", "O03": "proposal",
                                       "O04": "qualified", "O05": "discovery"}
    assert opps.loc["O01", "closed_on"] == pd.Timestamp("2026-03-25")
    assert opps.loc["O02", "closed_on"] == pd.Timestamp("2026-04-10")
    assert opps[["closed_on"]].loc[["O03", "O04", "O05"]].isna().all().all()
    # expected_close_on is the export's last value: kept only when before the cut.
    assert opps.loc["O01", "expected_close_on"] == pd.Timestamp("2026-03-31")
    assert opps["expected_close_on"].loc[["O02", "O03", "O04", "O05"]].isna().all()
    assert list(v.partners["partner_id"]) == ["P1", "P2", "P3", "P4"]
    assert v.partners["offboarded_on"].isna().all()  # P4 offboarded 2026-09-21
    assert "S10" not in set(v.sellers["seller_id"])  # joined 2026-05-04
    assert v.sellers.set_index("seller_id").loc["S04", "left_on"] is pd.NaT  # left 2026-06-30
    assert len(v.activities) == int((tiny().activities["occurred_on"] < "2026-05-01").sum())
    assert list(v.company["quarter"]) == ["2026Q1"]
    pd.testing.assert_frame_equal(v.targets, tiny().targets)
    assert v.as_of_date == pd.Timestamp("2026-05-01")
    assert v.default_as_of == pd.Timestamp("2026-05-01")
    assert v.quarter() == Quarter(2026, 2)


def test_cut_on_an_event_day_excludes_that_day() -> None:
    # O04 entered won on 2026-07-14: unknown as of the 14th, known as of the 15th.
    on = tiny().as_of("2026-07-14").opportunities.set_index("opportunity_id").loc["O04"]
    assert on["stage"] == "negotiation" and pd.isna(on["closed_on"])
    after = tiny().as_of("2026-07-15").opportunities.set_index("opportunity_id").loc["O04"]
    assert after["stage"] == "won" and after["closed_on"] == pd.Timestamp("2026-07-14")
    # S04 left on 2026-06-30.
    assert pd.isna(tiny().as_of("2026-06-30").sellers.set_index("seller_id").loc["S04", "left_on"])
    assert tiny().as_of("2026-07-01").sellers.set_index("seller_id").loc["S04", "left_on"] == \
        pd.Timestamp("2026-06-30")
    # A deal created on the cut day does not exist yet.
    assert "O09" not in set(tiny().as_of("2026-08-17").opportunities["opportunity_id"])
    assert "O09" in set(tiny().as_of("2026-08-18").opportunities["opportunity_id"])


def test_company_quarters_kept_only_when_ended() -> None:
    assert list(tiny().as_of("2026-06-30").company["quarter"]) == ["2026Q1"]
    assert list(tiny().as_of("2026-07-01").company["quarter"]) == ["2026Q1", "2026Q2"]


def test_cut_before_everything_gives_empty_typed_tables() -> None:
    v = tiny().as_of("2025-01-01")
    for name in ("partners", "sellers", "activities", "opportunities", "stage_history", "company"):
        frame = getattr(v, name)
        assert frame.empty, name
        pd.testing.assert_series_equal(frame.dtypes, getattr(tiny(), name).dtypes, obj=name)
    assert len(v.targets) == len(tiny().targets)
    assert v.latest_date == pd.Timestamp("1900-01-01")


def test_view_at_default_as_of_differs_only_in_planned_dates() -> None:
    raw, v = tiny(), tiny().as_of(TINY_DEFAULT_AS_OF)
    for name in TABLES:
        if name == "opportunities":
            continue
        pd.testing.assert_frame_equal(getattr(v, name), getattr(raw, name), obj=name)
    cleared = raw.opportunities["expected_close_on"] >= TINY_DEFAULT_AS_OF
    assert cleared.any()
    pd.testing.assert_frame_equal(
        v.opportunities, raw.opportunities.assign(
            expected_close_on=raw.opportunities["expected_close_on"].where(~cleared)))


def test_latest_date_ignores_planned_dates() -> None:
    raw = tiny()
    assert raw.opportunities["expected_close_on"].max() > raw.latest_date
    assert raw.latest_date == pd.Timestamp("2026-09-28")


def test_cannot_cut_a_view_later() -> None:
    v = tiny().as_of("2026-05-01")
    with pytest.raises(ValueError, match="already cut"):
        v.as_of("2026-05-02")


def test_fingerprint_changes_with_the_cut() -> None:
    raw = tiny()
    prints = {raw.fingerprint}
    for d in ("2026-03-01", "2026-03-02", "2026-06-15"):
        prints.add(raw.as_of(d).fingerprint)
    assert len(prints) == 4
    # The raw export is the export at its default as-of: one (data, as-of), one fingerprint.
    assert raw.as_of(raw.default_as_of).fingerprint == raw.fingerprint
    assert raw.as_of("2026-03-01").fingerprint == raw.as_of(pd.Timestamp("2026-03-01")).fingerprint
    assert raw.as_of("2026-06-15").as_of("2026-03-01").fingerprint == \
        raw.as_of("2026-03-01").fingerprint


# -- hypothesis cuts ------------------------------------------------------------------------------
@HYPOTHESIS_HISTORY
@given(cut=cuts)
def test_with_history_nothing_dated_on_or_after_the_cut_survives(cut: pd.Timestamp) -> None:
    v = tiny_history().as_of(cut)
    assert (v.field_history["changed_on"] < cut).all()
    assert set(v.field_history["opportunity_id"]) <= set(v.opportunities["opportunity_id"])
    raw = tiny_history().field_history
    expected = raw[(raw["changed_on"] < cut)
                   & raw["opportunity_id"].isin(v.opportunities["opportunity_id"])]
    pd.testing.assert_frame_equal(v.field_history, expected.reset_index(drop=True))
    pd.testing.assert_series_equal(v.opportunities.dtypes, tiny_history().opportunities.dtypes)


@HYPOTHESIS_HISTORY
@given(first=cuts, second=cuts)
def test_with_history_cutting_twice_is_cutting_once_at_the_earlier_date(
        first: pd.Timestamp, second: pd.Timestamp) -> None:
    later, earlier = max(first, second), min(first, second)
    assert_exports_equal(tiny_history().as_of(later).as_of(earlier),
                         tiny_history().as_of(earlier))
    assert_exports_equal(tiny_history().as_of(earlier).as_of(earlier),
                         tiny_history().as_of(earlier))


@HYPOTHESIS
@given(cut=cuts)
def test_nothing_dated_on_or_after_the_cut_survives(cut: pd.Timestamp) -> None:
    v = tiny().as_of(cut)
    for name, cols in DATE_COLUMNS.items():
        frame = getattr(v, name)
        for c in cols:
            dates = frame[c].dropna()
            assert (dates < cut).all(), (name, c)
    ends = v.company["quarter"].map(lambda q: Quarter.parse(q).end)
    assert (ends <= cut).all()
    assert v.latest_date < cut


@HYPOTHESIS
@given(cut=cuts)
def test_exactly_the_rows_known_at_the_cut_survive(cut: pd.Timestamp) -> None:
    raw, v = tiny(), tiny().as_of(cut)
    for name, column in EVENT_COLUMN.items():
        expected = getattr(raw, name)[ROW_KEYS[name]][getattr(raw, name)[column] < cut]
        got = getattr(v, name)[ROW_KEYS[name]]
        pd.testing.assert_frame_equal(got.reset_index(drop=True), expected.reset_index(drop=True),
                                      obj=name)
    # dtypes never change
    for name in TABLES:
        pd.testing.assert_series_equal(getattr(v, name).dtypes, getattr(raw, name).dtypes, obj=name)


ROW_KEYS = {"partners": ["partner_id"], "sellers": ["seller_id"], "activities": ["activity_id"],
            "opportunities": ["opportunity_id"], "stage_history": ["opportunity_id", "stage"],
            "field_history": ["opportunity_id", "field", "changed_on"]}


@HYPOTHESIS
@given(cut=cuts)
def test_each_deal_stage_is_its_latest_history_entry_before_the_cut(cut: pd.Timestamp) -> None:
    v = tiny().as_of(cut)
    expected = known_history(cut)
    got = dict(zip(v.opportunities["opportunity_id"], v.opportunities["stage"], strict=True))
    assert got == expected
    # and the view's own history agrees with its stages
    hist = known_history(cut)
    assert set(v.stage_history["opportunity_id"]) == set(hist)


@HYPOTHESIS
@given(cut=cuts)
def test_closed_on_kept_only_before_the_cut(cut: pd.Timestamp) -> None:
    raw = tiny().opportunities.set_index("opportunity_id")
    v = tiny().as_of(cut).opportunities.set_index("opportunity_id")
    for oid, row in v.iterrows():
        raw_closed = raw.loc[oid, "closed_on"]
        if pd.notna(raw_closed) and raw_closed < cut:
            assert row["closed_on"] == raw_closed
            assert row["stage"] == raw.loc[oid, "stage"] and row["stage"] in CLOSED_STAGES
        else:
            assert pd.isna(row["closed_on"])
            assert row["stage"] in OPEN_STAGES  # open again, in its rebuilt stage
        for c in ("lead_submitted_on", "first_contact_on", "expected_close_on"):
            raw_value = raw.loc[oid, c]
            if pd.notna(raw_value) and raw_value < cut:
                assert row[c] == raw_value
            else:
                assert pd.isna(row[c])


@HYPOTHESIS
@given(cut=cuts)
def test_people_and_partners_as_they_were(cut: pd.Timestamp) -> None:
    raw, v = tiny(), tiny().as_of(cut)
    sellers = v.sellers.set_index("seller_id")
    for r in raw.sellers.itertuples():
        if r.joined_on >= cut:
            assert r.seller_id not in sellers.index
        elif pd.notna(r.left_on) and r.left_on >= cut:
            assert pd.isna(sellers.loc[r.seller_id, "left_on"])  # still employed as of the cut
        else:
            assert sellers.loc[r.seller_id, "left_on"] is r.left_on or \
                sellers.loc[r.seller_id, "left_on"] == r.left_on
    partners = v.partners.set_index("partner_id")
    for r in raw.partners.itertuples():
        if r.onboarded_on < cut:
            kept = partners.loc[r.partner_id, "offboarded_on"]
            assert (pd.isna(kept) if pd.isna(r.offboarded_on) or r.offboarded_on >= cut
                    else kept == r.offboarded_on)
    # activities: exactly the ones before the cut, their deal links kept when the deal exists
    acts = v.activities.set_index("activity_id")
    raw_acts = raw.activities[raw.activities["occurred_on"] < cut].set_index("activity_id")
    assert list(acts.index) == list(raw_acts.index)
    deals = set(v.opportunities["opportunity_id"])
    for aid, r in raw_acts.iterrows():
        link = r["opportunity_id"]
        expected = link if link is not None and link in deals else None
        assert acts.loc[aid, "opportunity_id"] == expected or (
            expected is None and acts.loc[aid, "opportunity_id"] is None)


@HYPOTHESIS
@given(cut=cuts)
def test_cutting_is_idempotent(cut: pd.Timestamp) -> None:
    v = tiny().as_of(cut)
    assert_exports_equal(v.as_of(cut), v)
    assert v.as_of(cut).fingerprint == v.fingerprint


@HYPOTHESIS
@given(first=cuts, second=cuts)
def test_cutting_twice_is_cutting_once_at_the_earlier_date(first: pd.Timestamp,
                                                           second: pd.Timestamp) -> None:
    later, earlier = max(first, second), min(first, second)
    assert_exports_equal(tiny().as_of(later).as_of(earlier), tiny().as_of(earlier))


@HYPOTHESIS
@given(cut=cuts)
def test_complete_quarter_activation_is_unchanged_by_the_cut(cut: pd.Timestamp) -> None:
    raw_asr = partner_quarter_activation(tiny())
    view_asr = partner_quarter_activation(tiny().as_of(cut))
    done = raw_asr[[Quarter.parse(q).end <= cut for q in raw_asr["quarter"]]]
    cols = ["partner_id", "quarter", "pool", "active", "asr"]
    got = view_asr.loc[view_asr["complete"].astype(bool), cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(got, done[cols].reset_index(drop=True), check_dtype=False)


# -- planted leaks --------------------------------------------------------------------------------
def _scramble(values: pd.Series, column: str, table: str, rng: np.random.Generator,
              pool: pd.Series) -> pd.Series:
    """Random replacement values of the right kind for a column."""
    n = len(values)
    spec = TABLES[table].column(column) if column in [c.name for c in TABLES[table].columns] else None
    kind = spec.kind if spec is not None else "id"
    if kind == "label":
        assert spec is not None and spec.labels is not None
        return pd.Series(rng.choice(LABEL_SETS[spec.labels], n), index=values.index, dtype=object)
    if kind == "number":
        return pd.Series(rng.uniform(0, 100, n), index=values.index)
    if kind == "bool":
        return pd.Series(rng.random(n) < 0.5, index=values.index, dtype="boolean")
    if kind == "quarter":
        return pd.Series(rng.choice(["2026Q1", "2026Q2", "2027Q1"], n), index=values.index,
                         dtype=object)
    choices = pool.dropna().to_numpy(dtype=object)
    if kind == "id" and len(choices):  # another *existing* id: the harshest leak
        return pd.Series(rng.choice(choices, n), index=values.index, dtype=object)
    return pd.Series([f"scrambled-{i}" for i in rng.integers(0, 10**6, n)], index=values.index,
                     dtype=object)


def plant_leaks(export: Export, cut: pd.Timestamp, shift_days: int, seed: int) -> Export:
    """A copy in which every value dated on/after ``cut`` is changed.

    Rows that come into existence on/after the cut get every column scrambled (ids replaced by
    other *existing* ids) and their dates moved later; dates on/after the cut in older rows
    (closed_on, left_on, offboarded_on, expected_close_on ...) move later; the current stage of
    any deal whose history goes on past the cut is scrambled; company figures of quarters not
    ended by the cut are scrambled.
    """
    rng = np.random.default_rng(seed)
    shift = pd.Timedelta(days=shift_days)
    out: dict[str, pd.DataFrame] = {}
    for name, frame in export.tables().items():
        f = frame.copy()
        if name == "field_history":
            f = _plant_history_leaks(f, cut, rng)
        elif name in EVENT_COLUMN:
            late = f[EVENT_COLUMN[name]] >= cut
            if late.any():
                for c in f.columns:
                    if c in DATE_COLUMNS[name] or c == "_row":
                        continue
                    f.loc[late, c] = _scramble(f.loc[late, c], c, name, rng, frame[c])
        for c in DATE_COLUMNS[name]:
            after = f[c] >= cut
            f.loc[after, c] = f.loc[after, c] + shift
        out[name] = f
    o, h = out["opportunities"], export.stage_history
    goes_on = o["opportunity_id"].isin(h.loc[h["entered_on"] >= cut, "opportunity_id"])
    o.loc[goes_on, "stage"] = _scramble(o.loc[goes_on, "stage"], "stage", "opportunities", rng,
                                        o["stage"])
    c = out["company"]
    open_q = c["quarter"].map(lambda q: Quarter.parse(q).end > cut).astype(bool)
    for col in ("total_arr", "total_pipeline", "direct_avg_deal_size"):
        c.loc[open_q, col] = rng.uniform(0, 1e7, int(open_q.sum()))
    # The latest-value case: a field with history is the export's latest value on every deal
    # whose history records it; the view must rebuild it from the history alone.
    fh = export.field_history
    for field in HISTORY_FIELDS:
        if not has_history(export, field):
            continue
        recorded = o["opportunity_id"].isin(fh.loc[fh["field"] == field, "opportunity_id"])
        o.loc[recorded, field] = _scramble(o.loc[recorded, field], field, "opportunities", rng,
                                           o[field])
    return dataclasses.replace(export, **out)


def _plant_history_leaks(f: pd.DataFrame, cut: pd.Timestamp,
                         rng: np.random.Generator) -> pd.DataFrame:
    """Scramble what changes dated on/after the cut must not reveal.

    A deal's *first* change of a field may tell the value before it (its ``old_value``) and,
    for the required fields (ARR, role), stands in for an unknown earlier value: those are kept.
    Every other value and old value dated on/after the cut is scrambled (the dates themselves
    move later with the other dates).
    """
    late = f["changed_on"] >= cut
    order = f.sort_values(["changed_on", "_row"], kind="stable")
    first = pd.Series(False, index=f.index)
    first[order.drop_duplicates(["opportunity_id", "field"]).index] = True
    required = f["field"].map(lambda n: TABLES["opportunities"].column(n).required)
    for field, rows in f[late].groupby("field"):
        value_rows = rows.index[~(first[rows.index] & required[rows.index])]
        old_rows = rows.index[~first[rows.index]]
        for col, idx in (("value", value_rows), ("old_value", old_rows)):
            if len(idx):
                scrambled = _scramble(f.loc[idx, col], field, "opportunities", rng,
                                      pd.Series([], dtype=object))
                f.loc[idx, col] = pd.Series([None if pd.isna(v) else
                                             (v.item() if hasattr(v, "item") else v)
                                             for v in scrambled], index=idx, dtype=object)
    return f


def plant_rows(export: Export, cut: pd.Timestamp, shift_days: int) -> Export:
    """A copy with new rows dated on/after ``cut`` in every table, tied to existing rows."""
    day = cut + pd.Timedelta(days=shift_days)
    t = {name: frame.copy() for name, frame in export.tables().items()}

    def add(name: str, **values: object) -> None:
        frame = t[name]
        row = {c: values.get(c, frame[c].iloc[0] if len(frame) else None) for c in frame.columns}
        row["_row"] = 10_000 + len(frame)
        t[name] = pd.concat([frame, pd.DataFrame([row]).astype(frame.dtypes.to_dict())],
                            ignore_index=True)

    first_partner = export.partners["partner_id"].iloc[0]
    add("partners", partner_id="P_NEW", onboarded_on=day)
    add("sellers", seller_id="S_NEW", partner_id=first_partner, joined_on=day, left_on=pd.NaT)
    add("activities", activity_id="A_NEW", seller_id=export.sellers["seller_id"].iloc[0],
        occurred_on=day, activity_type="pitch", opportunity_id="O01")
    add("opportunities", opportunity_id="O_NEW", partner_id=first_partner, created_on=day,
        stage="discovery", closed_on=pd.NaT)
    for oid in export.opportunities["opportunity_id"]:  # every deal moves on after the cut
        add("stage_history", opportunity_id=oid, stage="lost", entered_on=day)
    add("stage_history", opportunity_id="O_NEW", stage="discovery", entered_on=day)
    add("company", quarter=str(Quarter.containing(cut)), total_arr=1.0)
    # A later change of every field already recorded for a deal (a deal's first recorded change
    # can tell its earlier value, so only later ones are planted); none for a field whose
    # history starts after the cut (that start is what the view knows about the field).
    fh = export.field_history
    for (oid, field), rows in fh.groupby(["opportunity_id", "field"]):
        if fh.loc[fh["field"] == field, "changed_on"].min() >= cut:
            continue
        value = {"arr": 1.0, "influence_pct": 99.0, "partner_role": "fulfillment"}.get(field, True)
        add("field_history", opportunity_id=oid, field=field, value=value,
            changed_on=max(day, rows["changed_on"].max()), old_value=value)
    return dataclasses.replace(export, **t)


@HYPOTHESIS
@given(cut=cuts, shift_days=st.integers(0, 400), seed=st.integers(0, 2**32 - 1))
def test_planted_leak_values_do_not_change_the_view(cut: pd.Timestamp, shift_days: int,
                                                    seed: int) -> None:
    raw = tiny()
    leaky = plant_leaks(raw, cut, shift_days, seed)
    assert_exports_equal(leaky.as_of(cut), raw.as_of(cut))


@HYPOTHESIS_HISTORY
@given(cut=cuts, shift_days=st.integers(0, 400), seed=st.integers(0, 2**32 - 1))
@example(cut=pd.Timestamp("2026-02-20"), shift_days=1, seed=0)  # the cut on the first change
def test_planted_leaks_and_latest_values_do_not_change_a_view_with_history(
        cut: pd.Timestamp, shift_days: int, seed: int) -> None:
    raw = tiny_history()
    leaky = plant_leaks(raw, cut, shift_days, seed)
    assert_exports_equal(leaky.as_of(cut), raw.as_of(cut))


@HYPOTHESIS
@given(cut=cuts, shift_days=st.integers(0, 400))
def test_planted_rows_do_not_change_the_view(cut: pd.Timestamp, shift_days: int) -> None:
    raw = tiny()
    assert_exports_equal(plant_rows(raw, cut, shift_days).as_of(cut), raw.as_of(cut))


@HYPOTHESIS_HISTORY
@given(cut=cuts, shift_days=st.integers(0, 400))
def test_planted_rows_do_not_change_a_view_with_history(cut: pd.Timestamp,
                                                        shift_days: int) -> None:
    raw = tiny_history()
    assert_exports_equal(plant_rows(raw, cut, shift_days).as_of(cut), raw.as_of(cut))


@pytest.mark.parametrize("history", [False, True])
def test_planted_leaks_do_change_the_raw_export(history: bool) -> None:
    """The planting really plants something (so the tests above are not vacuous)."""
    raw = export_of(history)
    cut = pd.Timestamp("2026-06-01")
    leaky = plant_leaks(raw, cut, 3, 0)
    for name in ("partners", "sellers", "activities", "opportunities", "stage_history"):
        assert not getattr(leaky, name).equals(getattr(raw, name)), name
    assert not plant_rows(raw, cut, 0).opportunities.equals(raw.opportunities)
    if history:
        assert not leaky.field_history.equals(raw.field_history)
        assert len(plant_rows(raw, cut, 0).field_history) > len(raw.field_history)
        # the latest values of recorded fields are scrambled, e.g. a flag set on reaching
        # proposal: the view must not show it before then
        flags = ["technical_validation", "executive_sponsor", "arr", "partner_role"]
        assert not leaky.opportunities[flags].equals(raw.opportunities[flags])


def test_without_history_a_latest_value_flag_does_reach_the_view() -> None:
    """The contract's limit, pinned: without field_history, flags are the latest values.

    O05's technical_validation was set when it reached proposal (2026-06-08, as the history
    export records); a view before then shows it set. The leakage audit
    (:mod:`partner_forecast.data.flag_leakage`) is the guard for such exports.
    """
    before = pd.Timestamp("2026-05-01")
    plain = tiny().as_of(before).opportunities.set_index("opportunity_id")
    rebuilt = tiny_history().as_of(before).opportunities.set_index("opportunity_id")
    assert bool(plain.loc["O05", "technical_validation"])
    assert rebuilt.loc["O05", "technical_validation"] is pd.NA


def test_deal_without_history_before_the_cut_does_not_leak_its_first_stage() -> None:
    """Unvalidated data: a deal created before its first history entry (straddling the cut)."""
    raw = tiny()
    o = raw.opportunities.copy()
    o.loc[o["opportunity_id"] == "O05", "created_on"] = pd.Timestamp("2026-04-01")  # 1st entry 04-13
    e = dataclasses.replace(raw, opportunities=o)
    v = e.as_of("2026-04-05").opportunities.set_index("opportunity_id")
    assert v.loc["O05", "stage"] == "discovery"
    h = raw.stage_history.copy()
    h.loc[(h["opportunity_id"] == "O05") & (h["stage"] == "discovery"), "stage"] = "proposal"
    v2 = dataclasses.replace(e, stage_history=h).as_of("2026-04-05")
    assert_exports_equal(v2, e.as_of("2026-04-05"))


def test_references_to_rows_not_yet_known_are_cleared() -> None:
    """Unvalidated data: a deal referring to a seller who joins after the cut."""
    raw = tiny()
    o = raw.opportunities.copy()
    o.loc[o["opportunity_id"] == "O01", "referring_seller_id"] = "S10"  # joins 2026-05-04
    v = dataclasses.replace(raw, opportunities=o).as_of("2026-04-01")
    assert v.opportunities.set_index("opportunity_id").loc["O01", "referring_seller_id"] is None
