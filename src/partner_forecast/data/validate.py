"""Relational checks of an export: duplicates, orphans, stage history consistency.

Cell-level problems (bad dates, numbers, labels, empty required values) are found while
reading (:mod:`.read`); this module checks what needs several rows or files. Every problem
names the file, the row as in the file (header = row 1), the column and the value.
"""

from __future__ import annotations

import pandas as pd

from partner_forecast.data.read import ROW_COLUMN
from partner_forecast.data.schema import CLOSED_STAGES, STAGE_ORDER, TABLES
from partner_forecast.errors import Problem


def _problems(frame: pd.DataFrame, mask: pd.Series, file: str, column: str,
              message: str) -> list[Problem]:
    hits = frame[mask.fillna(False).to_numpy(dtype=bool)]
    return [Problem(file, int(r), column, None if pd.isna(v) else str(v), message)
            for r, v in zip(hits[ROW_COLUMN], hits[column], strict=True)]


def check_relations(tables: dict[str, pd.DataFrame], files: dict[str, str]) -> list[Problem]:
    """Cross-row and cross-file problems of typed tables (see module docstring)."""
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

    # References to unknown rows.
    for name, table in TABLES.items():
        if name not in files:
            continue
        frame = tables[name]
        for column, target in table.references.items():
            if target not in files:
                continue
            known = tables[target][TABLES[target].key]
            orphan = frame[column].notna() & ~frame[column].isin(known)
            problems += _problems(frame, orphan, fname(name), column,
                                  f"refers to an unknown {TABLES[target].key} in {fname(target)}")

    opps = tables["opportunities"]
    if "opportunities" in files:
        closed = opps["stage"].isin(CLOSED_STAGES)
        problems += _problems(opps, closed & opps["closed_on"].isna(), fname("opportunities"),
                              "closed_on", "closed deal (won/lost) has no closed_on date")
        problems += _problems(opps, ~closed & opps["stage"].notna() & opps["closed_on"].notna(),
                              fname("opportunities"), "closed_on",
                              "open deal has a closed_on date")
        early = opps["closed_on"].notna() & (opps["closed_on"] < opps["created_on"])
        problems += _problems(opps, early, fname("opportunities"), "closed_on",
                              "closed before it was created")
    sellers = tables["sellers"]
    if "sellers" in files:
        bad = sellers["left_on"].notna() & (sellers["left_on"] < sellers["joined_on"])
        problems += _problems(sellers, bad, fname("sellers"), "left_on",
                              "seller left before joining")

    if "stage_history" in files and "opportunities" in files:
        problems += _check_history(opps, tables["stage_history"], fname("opportunities"),
                                   fname("stage_history"))
    return problems


def _check_history(opps: pd.DataFrame, history: pd.DataFrame, opp_file: str,
                   hist_file: str) -> list[Problem]:
    """Stage history must start at creation, move forward, and end in the current stage."""
    problems: list[Problem] = []
    h = history.dropna(subset=["opportunity_id", "stage", "entered_on"])
    h = h.assign(_order=h["stage"].map(STAGE_ORDER)).sort_values(
        ["opportunity_id", "entered_on", "_order"], kind="stable")
    # Out of order: a later entry (by date) at an earlier pipeline stage, or anything after close.
    prev_order = h.groupby("opportunity_id")["_order"].shift()
    prev_stage = h.groupby("opportunity_id")["stage"].shift()
    backwards = prev_order.notna() & ((h["_order"] < prev_order)
                                      | prev_stage.isin(CLOSED_STAGES))
    problems += _problems(h, backwards, hist_file, "stage",
                          "stage history out of order (moves backwards or continues after close)")
    last = h.groupby("opportunity_id").agg(stage=("stage", "last"), entered_on=("entered_on", "last"),
                                           first_on=("entered_on", "first"))
    o = opps.dropna(subset=["opportunity_id"]).drop_duplicates("opportunity_id")
    o = o.join(last, on="opportunity_id", rsuffix="_hist")
    no_hist = o["stage_hist"].isna()
    problems += _problems(o, no_hist, opp_file, "opportunity_id",
                          f"deal has no entry in {hist_file}")
    contradicts = ~no_hist & o["stage"].notna() & (o["stage"] != o["stage_hist"])
    for r, v, hv in zip(o.loc[contradicts, ROW_COLUMN], o.loc[contradicts, "stage"],
                        o.loc[contradicts, "stage_hist"], strict=True):
        problems.append(Problem(opp_file, int(r), "stage", str(v),
                                f"current stage contradicts {hist_file}, whose latest entry is "
                                f"'{hv}'"))
    before_created = ~no_hist & o["created_on"].notna() & (o["first_on"] < o["created_on"])
    problems += _problems(o, before_created, opp_file, "created_on",
                          f"deal created after its first {hist_file} entry")
    close_mismatch = (~no_hist & o["stage"].isin(CLOSED_STAGES) & o["closed_on"].notna()
                      & (o["entered_on"] != o["closed_on"]))
    problems += _problems(o, close_mismatch, opp_file, "closed_on",
                          f"closed_on differs from the date the deal entered won/lost in {hist_file}")
    return problems


__all__ = ["check_relations"]
