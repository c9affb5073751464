"""Relational checks of an export: duplicates, orphans, date order, stage history consistency.

Cell-level problems (bad dates, numbers, labels, empty required values) are found while
reading (:mod:`.read`); this module checks what needs several rows or files. Every problem
names the file, the row as in the file (header = row 1), the column and the value.

Errors (the export cannot be used):

- duplicate ids (and duplicate target / company quarters, and duplicate calls: the same
  quarter, scope, day and caller);
- references to unknown partners, sellers or opportunities;
- dates impossible in order: offboarded before onboarded, left before joined, closed before
  created, first vendor contact before the lead was submitted;
- event dates far beyond the rest of the data (an activity on 2150-01-01 in an export ending
  in 2026: a typo that would move the default as-of date; see :func:`far_future_dates`);
- closed deals (won/lost) without ``closed_on``, open deals with one, ``closed_on`` differing
  from the date the history entered won/lost;
- calls naming both a partner type and a partner (one scope per call), and a best case below
  the commit;
- stage history: deals without history, history not starting on ``created_on`` (the creation
  entry is part of the contract), a stage entered twice, history moving backwards or
  continuing after won/lost, a latest entry contradicting the deal's current stage.

Warnings (the export loads; the numbers may be off): activities outside the seller's
employment or before the deal they refer to, deals created before their partner was
onboarded, a referring seller at another partner, ``influence_pct`` that looks like a 0-1
fraction, ``field_history`` changes dated before the deal was created, and a field whose latest
``field_history`` value differs from the deal's value in the opportunities file (the history
is incomplete, or the files come from different exports).

Stage aliases that map several CRM stages onto one canonical stage (``[stages] aliases``, e.g.
Salesforce's "Value Proposition" and "Proposal/Price Quote" both onto ``proposal``) make a deal
enter that stage several times in a row: only the first of those entries is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from partner_forecast.data.convert import (
    ROW_COLUMN,
    LabelAliases,
    convert,
    empty_table,
    python_values,
)
from partner_forecast.data.read import RawTable, read_raw
from partner_forecast.data.schema import (
    CLOSED_STAGES,
    PLANNED_DATE_COLUMNS,
    STAGE_ORDER,
    TABLES,
    normalise_label,
)
from partner_forecast.errors import Problem

_TABLE_ORDER = {f"{name}": i for i, name in enumerate(TABLES)}

#: Event dates after a gap longer than this, holding few of the export's dates (see
#: :data:`FAR_FUTURE_SHARE`), are taken for typos (2150 for 2025).
FAR_FUTURE_GAP_DAYS = 183
#: "Few": at most this share of the event date cells, or :data:`FAR_FUTURE_CELLS` cells.
FAR_FUTURE_SHARE = 0.01
FAR_FUTURE_CELLS = 10


def _problems(frame: pd.DataFrame, mask: pd.Series, file: str, column: str,
              message: str, severity: str = "error") -> list[Problem]:
    hits = frame[mask.fillna(False).to_numpy(dtype=bool)]
    return [Problem(file, int(r), column, _text(v), message, severity)
            for r, v in zip(hits[ROW_COLUMN], hits[column], strict=True)]


def lookup(keys: pd.Series, frame: pd.DataFrame, key: str, column: str) -> pd.Series:
    """``frame[column]`` of the row whose ``key`` equals each of ``keys`` (missing: NA).

    Like ``keys.map(frame.set_index(key)[column])`` but keeps the column's dtype and works on
    empty frames (where ``map`` fails for datetimes).
    """
    mapper = frame.dropna(subset=[key]).drop_duplicates(key).set_index(key)[column]
    values = mapper.reindex(pd.Index(keys.to_numpy(dtype=object))).to_numpy()
    return pd.Series(values, index=keys.index, dtype=mapper.dtype)


def _text(value: object) -> str | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def check_relations(tables: dict[str, pd.DataFrame], files: dict[str, str]) -> list[Problem]:
    """Cross-row and cross-file problems of typed tables (see module docstring).

    Parameters
    ----------
    tables
        Typed frames by contract table name (as from :func:`.read.convert`); tables absent
        from the export are empty frames.
    files
        File name by table name, for the tables present in the export (only those are
        checked).

    Returns
    -------
    list of Problem
        Errors and warnings, in check order.

    """
    problems: list[Problem] = []

    def fname(table: str) -> str:
        return files.get(table, f"{table}.csv")

    # Duplicate ids.
    for name, table in TABLES.items():
        if table.key is None or name not in files:
            continue
        frame = tables[name]
        key = frame[table.key]
        dup = key.notna() & key.duplicated(keep="first")
        problems += _problems(frame, dup, fname(name), table.key,
                              f"duplicate {table.key} (first seen earlier in the file)")
    for name, cols, what in (("targets", ["quarter", "partner_type"], "target"),
                             ("company", ["quarter"], "quarter")):
        if name in files:
            frame = tables[name]
            dup = frame["quarter"].notna() & frame.duplicated(cols, keep="first")
            problems += _problems(frame, dup, fname(name), "quarter",
                                  f"duplicate {what} for this quarter"
                                  + (" and partner type" if len(cols) > 1 else ""))

    # References to unknown rows.
    for name, table in TABLES.items():
        if name not in files:
            continue
        frame = tables[name]
        for column, target in table.references.items():
            if target not in files or tables[target].empty:
                continue  # a missing or header-only file is reported once, not per reference
            known = tables[target][TABLES[target].key]
            orphan = frame[column].notna() & ~frame[column].isin(known)
            problems += _problems(frame, orphan, fname(name), column,
                                  f"refers to an unknown {TABLES[target].key} in {fname(target)}")

    problems += _check_dates(tables, files, fname)
    problems += far_future_dates(tables, files, fname)
    if "stage_history" in files and "opportunities" in files:
        problems += _check_history(tables["opportunities"], tables["stage_history"],
                                   fname("opportunities"), fname("stage_history"))
    problems += _check_warnings(tables, files, fname)
    if "field_history" in files and "opportunities" in files:
        problems += _check_field_history(tables["opportunities"], tables["field_history"],
                                         fname("opportunities"), fname("field_history"))
    if "calls" in files:
        problems += _check_calls(tables["calls"], fname("calls"))
    return problems


def _check_calls(calls: pd.DataFrame, file: str) -> list[Problem]:
    """Errors of the team's calls: two scopes at once, best case below commit, duplicates.

    A call is of one scope: a partner type, a partner, or the total (both blank). Cell-level
    errors (quarter labels, dates, negative ARR) and unknown partner ids are reported while
    reading and by the reference check.
    """
    out = _problems(calls, calls["partner_type"].notna() & calls["partner_id"].notna(), file,
                    "partner_id", "a call names both a partner_type and a partner_id: give one "
                    "(or neither, for the total)")
    out += _problems(calls, calls["best_case"] < calls["commit"], file, "best_case",
                     "best case below the commit (the best case is the upside: at least the "
                     "commit)")
    keys = ["quarter", "partner_type", "partner_id", "made_on", "made_by"]
    complete = calls["quarter"].notna() & calls["made_on"].notna()
    dup = complete & calls[keys].astype(str).duplicated(keep="first")
    out += _problems(calls, dup, file, "made_on",
                     "duplicate call: same quarter, partner type/partner, day and caller as an "
                     "earlier row")
    return out


MAX_ROWS_LISTED = 10  # rows named in one aggregated warning before "and N more"


def _rows_text(rows: pd.Series) -> str:
    listed = ", ".join(str(int(r)) for r in rows.iloc[:MAX_ROWS_LISTED])
    if len(rows) > MAX_ROWS_LISTED:
        listed += f" and {len(rows) - MAX_ROWS_LISTED} more"
    return listed


def _check_field_history(opps: pd.DataFrame, history: pd.DataFrame, opp_file: str,
                         hist_file: str) -> list[Problem]:
    """Warnings on ``field_history``: changes before creation, and latest values that disagree.

    Cell-level errors (unknown fields, values unparseable for the field's type, unknown
    opportunity ids) are reported while reading and by the reference check.
    """
    out: list[Problem] = []
    h = history.dropna(subset=["opportunity_id", "field", "changed_on"])
    created = lookup(h["opportunity_id"], opps, "opportunity_id", "created_on")
    out += _problems(h, h["changed_on"] < created, hist_file, "changed_on",
                     "change dated before the deal was created", "warning")
    if h.empty:
        return out
    last = h.sort_values(["opportunity_id", "field", "changed_on", ROW_COLUMN], kind="stable"
                         ).groupby(["opportunity_id", "field"], sort=True).tail(1)
    o = opps.dropna(subset=["opportunity_id"]).drop_duplicates("opportunity_id"
                                                              ).set_index("opportunity_id")
    for name, rows in last.groupby("field", sort=True):
        rows = rows[rows["opportunity_id"].isin(o.index)]
        current = python_values(o[name].reindex(rows["opportunity_id"].to_numpy(dtype=object)))
        differs = [not _same(a, b) for a, b in zip(rows["value"], current, strict=True)]
        bad = rows[differs]
        if len(bad):
            out.append(Problem(
                hist_file, None, "value", None,
                f"the latest {name} change of {len(bad)} deal(s) differs from their {name} in "
                f"{opp_file} (rows {_rows_text(bad[ROW_COLUMN])} of {hist_file}): the history "
                "is incomplete or the files come from different exports; the as-of view takes "
                "the history's value", "warning"))
    return out


def _same(a: object, b: object) -> bool:
    """Whether two plain values are the same (missing equals missing; numbers to 1e-9)."""
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))
    return a == b


def _check_dates(tables: dict[str, pd.DataFrame], files: dict[str, str],
                 fname: Callable[[str], str]) -> list[Problem]:
    """Dates impossible in order, and closed_on consistent with the stage."""
    problems: list[Problem] = []
    if "partners" in files:
        p = tables["partners"]
        problems += _problems(p, p["offboarded_on"] < p["onboarded_on"], fname("partners"),
                              "offboarded_on", "partner offboarded before it was onboarded")
    if "sellers" in files:
        s = tables["sellers"]
        problems += _problems(s, s["left_on"] < s["joined_on"], fname("sellers"), "left_on",
                              "seller left before joining")
    if "opportunities" in files:
        o = tables["opportunities"]
        f = fname("opportunities")
        closed = o["stage"].isin(CLOSED_STAGES)
        unreadable = (o["_closed_on_bad"] if "_closed_on_bad" in o
                      else pd.Series(False, index=o.index))
        problems += _problems(o, closed & o["closed_on"].isna() & ~unreadable, f,
                              "closed_on", "closed deal (won/lost) has no closed_on date")
        problems += _problems(o, ~closed & o["stage"].notna() & o["closed_on"].notna(), f,
                              "closed_on", "open deal has a closed_on date")
        problems += _problems(o, o["closed_on"] < o["created_on"], f, "closed_on",
                              "deal closed before it was created")
        problems += _problems(o, o["first_contact_on"] < o["lead_submitted_on"], f,
                              "first_contact_on", "first contact before the lead was submitted")
    return problems


def far_future_dates(tables: dict[str, pd.DataFrame], files: dict[str, str],
                     fname: Callable[[str], str]) -> list[Problem]:
    """Event dates far beyond the rest of the export: one error per cell.

    The default as-of date is the day after the latest event date, so one typo (an activity
    on 2150-01-01) would silently move every command to 2150. A date is flagged when it lies
    after a gap of more than :data:`FAR_FUTURE_GAP_DAYS` days without any event date, and the
    dates after that gap are few (at most :data:`FAR_FUTURE_SHARE` of all event date cells, or
    :data:`FAR_FUTURE_CELLS`). The rule depends on the data only, not on today's date, so a
    synthetic export dated in the future validates the same way on any day. Planned dates
    (``expected_close_on``) are not events and are not checked.
    """
    cells = [(name, c.name) for name, table in TABLES.items() if name in files
             for c in table.columns
             if c.kind == "date" and (name, c.name) not in PLANNED_DATE_COLUMNS]
    dates = [tables[name][col].dropna() for name, col in cells]
    stacked = pd.concat(dates, ignore_index=True) if dates else pd.Series(dtype="datetime64[ns]")
    if stacked.empty:
        return []
    counts = stacked.value_counts().sort_index()
    unique = counts.index
    after = counts.iloc[::-1].cumsum().iloc[::-1].to_numpy()  # cells on or after each date
    allowed = max(FAR_FUTURE_CELLS, FAR_FUTURE_SHARE * len(stacked))
    gaps = (unique[1:] - unique[:-1]) > pd.Timedelta(days=FAR_FUTURE_GAP_DAYS)
    hits = [i for i in np.flatnonzero(gaps) if after[i + 1] <= allowed]
    if not hits:
        return []
    bulk_end = unique[hits[0]]
    problems: list[Problem] = []
    for name, col in cells:
        frame = tables[name]
        far = frame[col] > bulk_end
        if far.any():
            problems += _problems(
                frame, far, fname(name), col,
                f"date far beyond the rest of the data, whose other dates end on "
                f"{bulk_end.date().isoformat()} (more than {FAR_FUTURE_GAP_DAYS} days without any "
                f"event before it): a typo? It would move the default as-of date past all the "
                f"data")
    return problems


def _check_history(opps: pd.DataFrame, history: pd.DataFrame, opp_file: str,
                   hist_file: str) -> list[Problem]:
    """Stage history must start at creation, move forward, and end in the current stage."""
    problems: list[Problem] = []
    incomplete = history[["opportunity_id", "stage", "entered_on"]].isna().any(axis=1)
    # Deals with an unreadable history row were reported cell by cell; checking their history
    # further would only repeat that problem in other words.
    unreadable = set(history.loc[incomplete, "opportunity_id"].dropna())
    h = history[~incomplete & ~history["opportunity_id"].isin(unreadable)]
    h = h.assign(_order=h["stage"].map(STAGE_ORDER)).sort_values(
        ["opportunity_id", "entered_on", "_order", ROW_COLUMN], kind="stable")
    twice = h.duplicated(["opportunity_id", "stage"], keep="first")
    problems += _problems(h, twice, hist_file, "stage",
                          "stage entered more than once for this opportunity_id")
    h_once = h[~twice]
    prev_order = h_once.groupby("opportunity_id")["_order"].shift()
    prev_stage = h_once.groupby("opportunity_id")["stage"].shift()
    backwards = prev_order.notna() & ((h_once["_order"] < prev_order)
                                      | prev_stage.isin(CLOSED_STAGES))
    problems += _problems(h_once, backwards, hist_file, "stage",
                          "stage history out of order (moves backwards or continues after "
                          "won/lost)")
    grouped = h.groupby("opportunity_id")
    last = grouped.agg(stage_hist=("stage", "last"), last_on=("entered_on", "last"),
                       last_row=(ROW_COLUMN, "last"), first_on=("entered_on", "first"),
                       first_row=(ROW_COLUMN, "first"))
    o = opps.dropna(subset=["opportunity_id"]).drop_duplicates("opportunity_id")
    o = o[~o["opportunity_id"].isin(unreadable)]
    o = o.join(last, on="opportunity_id")
    no_hist = o["stage_hist"].isna()
    problems += _problems(o, no_hist, opp_file, "opportunity_id",
                          f"deal has no entry in {hist_file} (its creation must be logged there)")
    def per_deal(mask: pd.Series, column: str, message: Callable[[pd.Series], str]) -> None:
        for _, deal in o[mask.fillna(False).to_numpy(dtype=bool)].iterrows():
            problems.append(Problem(opp_file, int(deal[ROW_COLUMN]), column, _text(deal[column]),
                                    message(deal)))

    contradicts = ~no_hist & o["stage"].notna() & (o["stage"] != o["stage_hist"])
    per_deal(contradicts, "stage", lambda d: f"current stage contradicts {hist_file}, whose "
             f"latest entry is '{d['stage_hist']}' on {d['last_on'].date().isoformat()} "
             f"(row {int(d['last_row'])})")
    has_created = ~no_hist & o["created_on"].notna()
    per_deal(has_created & (o["first_on"] < o["created_on"]), "created_on",
             lambda d: f"deal created after its first {hist_file} entry, on "
             f"{d['first_on'].date().isoformat()} (row {int(d['first_row'])})")
    per_deal(has_created & (o["first_on"] > o["created_on"]), "created_on",
             lambda d: f"no {hist_file} entry on the creation date (the stage the deal was "
             f"created in must be logged); its first entry is on "
             f"{d['first_on'].date().isoformat()} (row {int(d['first_row'])})")
    close_mismatch = (~no_hist & ~contradicts & o["stage"].isin(CLOSED_STAGES)
                      & o["closed_on"].notna() & (o["last_on"] != o["closed_on"]))
    per_deal(close_mismatch, "closed_on",
             lambda d: f"closed_on differs from the date the deal entered '{d['stage_hist']}' in "
             f"{hist_file}: {d['last_on'].date().isoformat()} (row {int(d['last_row'])})")
    return problems


def _check_warnings(tables: dict[str, pd.DataFrame], files: dict[str, str],
                    fname: Callable[[str], str]) -> list[Problem]:
    """Suspicious but usable data: reported as warnings."""
    out: list[Problem] = []
    sellers, partners = tables["sellers"], tables["partners"]
    opps = tables["opportunities"]
    if "activities" in files and "sellers" in files:
        a = tables["activities"]
        joined = lookup(a["seller_id"], sellers, "seller_id", "joined_on")
        left = lookup(a["seller_id"], sellers, "seller_id", "left_on")
        out += _problems(a, a["occurred_on"] < joined, fname("activities"), "occurred_on",
                         "activity before the seller joined (left out of the as-of view until "
                         "then)", "warning")
        out += _problems(a, a["occurred_on"] > left, fname("activities"), "occurred_on",
                         "activity after the seller left", "warning")
        if "opportunities" in files:
            created = lookup(a["opportunity_id"], opps, "opportunity_id", "created_on")
            out += _problems(a, a["occurred_on"] < created, fname("activities"), "occurred_on",
                             "activity before the deal it refers to was created", "warning")
    if "opportunities" in files:
        f = fname("opportunities")
        if "partners" in files:
            onboarded = lookup(opps["partner_id"], partners, "partner_id", "onboarded_on")
            out += _problems(opps, opps["created_on"] < onboarded, f, "created_on",
                             "deal created before its partner was onboarded (left out of the "
                             "as-of view until then)", "warning")
        if "sellers" in files:
            seller_partner = lookup(opps["referring_seller_id"], sellers, "seller_id", "partner_id")
            other = seller_partner.notna() & (seller_partner != opps["partner_id"])
            out += _problems(opps, other, f, "referring_seller_id",
                             "referring seller belongs to another partner", "warning")
        pct = opps["influence_pct"].dropna()
        if len(pct) >= 3 and pct.max() <= 1 and (pct > 0).any():
            out.append(Problem(f, None, "influence_pct", None,
                               "all values are between 0 and 1: the contract expects a percentage "
                               "(0-100), not a fraction", "warning"))
    return out


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """Problems by file (contract order), then row (file-level first); stable otherwise."""
    def key(p: Problem) -> tuple[int, int]:
        stem = Path(p.file).name.split(".")[0].lower()  # partners.csv.gz -> partners
        return (_TABLE_ORDER.get(stem, -1), p.row or 0)

    return sorted(problems, key=key)


def collapse_aliased_stages(history: pd.DataFrame, raw: RawTable) -> pd.DataFrame:
    """Drop stage entries that repeat the previous entry's canonical stage under another label.

    With aliases mapping several CRM stages onto one canonical stage, a deal moving through
    them enters that stage several times in a row; it entered it on the first of those dates.
    A repeat of the *same* label is left in place (the history check reports it).
    """
    if history.empty:
        return history
    label = raw.frame["stage"].astype(str).map(normalise_label).to_numpy(dtype=object)
    h = history.assign(_label=label, _order=history["stage"].map(STAGE_ORDER))
    h = h.sort_values(["opportunity_id", "entered_on", "_order", ROW_COLUMN], kind="stable")
    same_deal = h["opportunity_id"].eq(h["opportunity_id"].shift())
    repeat = (same_deal & h["stage"].notna() & h["stage"].eq(h["stage"].shift())
              & h["_label"].ne(h["_label"].shift()) & h["entered_on"].notna())
    drop = h.index[repeat.to_numpy(dtype=bool)]
    return history.drop(index=drop).reset_index(drop=True)


def read_and_check(folder: str | Path, extra_aliases: LabelAliases | None = None
                   ) -> tuple[dict[str, pd.DataFrame], dict[str, str], list[Problem]]:
    """Read, type and check the export in ``folder``; every problem, errors and warnings.

    Parameters
    ----------
    folder
        The export folder.
    extra_aliases
        Label aliases added to the built-in ones, by label set (``{"stage": {...}}`` from the
        ``[stages] aliases`` config).

    Returns
    -------
    tables : dict of str to DataFrame
        Typed frames by table name (empty typed frames for absent or unreadable files).
    files : dict of str to str
        File name by table name, for the files that were read.
    problems : list of Problem
        Every problem found, sorted by file and row.

    """
    problems: list[Problem] = []
    raw = read_raw(folder, problems)
    tables: dict[str, pd.DataFrame] = {}
    for name, table in TABLES.items():
        tables[name] = (convert(raw[name], problems, extra_aliases) if name in raw
                        else empty_table(table))
    if "stage_history" in raw:
        tables["stage_history"] = collapse_aliased_stages(tables["stage_history"],
                                                          raw["stage_history"])
    files = {name: r.path.name for name, r in raw.items()}
    # A closed_on that could not be parsed is already reported; don't also call it missing.
    o = tables["opportunities"]
    bad_closed = {p.row for p in problems
                  if p.column == "closed_on" and p.file == files.get("opportunities")}
    tables["opportunities"] = o.assign(_closed_on_bad=o[ROW_COLUMN].isin(bad_closed))
    problems.extend(check_relations(tables, files))
    tables["opportunities"] = tables["opportunities"].drop(columns="_closed_on_bad")
    return tables, files, sort_problems(problems)


__all__ = ["check_relations", "collapse_aliased_stages", "lookup", "read_and_check",
           "sort_problems"]
