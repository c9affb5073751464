"""The forecast ledger: an append-only record of every forecast, in the workspace.

Stored in SQLite (``ledger.sqlite``): each forecast is appended in one transaction, so an
interrupted run leaves the ledger exactly as it was, and readers never see half a run.
For each run it keeps the run id, time, as-of date, quarters, data and config fingerprints,
code version, the kind of run (forecast or a named scenario with its content hash), the
quantiles per quarter, segment and measure, and each open deal's probability of closing won in
each quarter. ``variance`` reads it back to compare forecast with actual.

A run identical to one already recorded (same kind, name and scenario hash, as-of, quarters,
segments, data and config fingerprints, code version, draws and seed, and the same quantiles)
is a *repeat*, e.g. the same forecast rerun only for another output format: it is not recorded
again, and :meth:`Ledger.record` returns the earlier run's id flagged as a repeat. The runs list
shows each run's headline: the first reported quarter's P50 of partner-attributed ARR (total)
and P(attributed ARR >= target) where a target exists (``meta["headline"]``).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

LEDGER_FILE = "ledger.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT,
    content_hash TEXT,
    as_of TEXT NOT NULL,
    quarters TEXT NOT NULL,
    segment_by TEXT,
    data_fingerprint TEXT NOT NULL,
    config_fingerprint TEXT NOT NULL,
    version TEXT NOT NULL,
    draws INTEGER NOT NULL,
    seed INTEGER,
    meta TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS quantiles (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    quarter TEXT NOT NULL,
    segment TEXT NOT NULL,
    measure TEXT NOT NULL,
    p10 REAL, p50 REAL, p90 REAL, mean REAL
);
CREATE TABLE IF NOT EXISTS deal_probabilities (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    opportunity_id TEXT NOT NULL,
    quarter TEXT NOT NULL,
    p_won REAL NOT NULL,
    expected_arr REAL
);
CREATE INDEX IF NOT EXISTS quantiles_run ON quantiles(run_id);
CREATE INDEX IF NOT EXISTS deals_run ON deal_probabilities(run_id);
"""


@dataclass(frozen=True)
class LedgerRun:
    """What one forecast run records (the quantile and deal tables travel beside it)."""

    kind: str
    as_of: str
    quarters: list[str]
    data_fingerprint: str
    config_fingerprint: str
    version: str
    draws: int
    seed: int | None
    segment_by: str | None = None
    name: str | None = None
    content_hash: str | None = None
    meta: dict[str, Any] | None = None


class Ledger:
    """Append-only forecast ledger in ``workspace/ledger.sqlite``."""

    def __init__(self, workspace: str | Path):
        self.path = Path(workspace) / LEDGER_FILE

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
            yield con
        finally:
            con.close()

    def append(self, run: LedgerRun, quantiles: pd.DataFrame,
               deal_probabilities: pd.DataFrame | None = None) -> str:
        """Record a run atomically and return its run id.

        ``quantiles`` has columns quarter, segment, measure, p10, p50, p90, mean;
        ``deal_probabilities`` has opportunity_id, quarter, p_won (and optionally expected_arr).
        """
        run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]
        created = datetime.now(UTC).isoformat(timespec="seconds")
        q = quantiles[["quarter", "segment", "measure", "p10", "p50", "p90", "mean"]]
        q_rows = [(run_id, *map(_py, row)) for row in q.itertuples(index=False)]
        d_rows: list[tuple] = []
        if deal_probabilities is not None and len(deal_probabilities):
            d = deal_probabilities.copy()
            if "expected_arr" not in d:
                d["expected_arr"] = None
            d_rows = [(run_id, *map(_py, row)) for row in
                      d[["opportunity_id", "quarter", "p_won", "expected_arr"]].itertuples(index=False)]
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                con.execute(
                    "INSERT INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    (run_id, created, run.kind, run.name, run.content_hash, run.as_of,
                     json.dumps(run.quarters), run.segment_by, run.data_fingerprint,
                     run.config_fingerprint, run.version, run.draws, run.seed,
                     json.dumps(run.meta or {}, default=str)))
                con.executemany("INSERT INTO quantiles VALUES (?,?,?,?,?,?,?,?)", q_rows)
                con.executemany("INSERT INTO deal_probabilities VALUES (?,?,?,?,?)", d_rows)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return run_id

    def record(self, run: LedgerRun, quantiles: pd.DataFrame,
               deal_probabilities: pd.DataFrame | None = None) -> tuple[str, bool]:
        """Append ``run`` unless it repeats a recorded run: ``(run_id, is_repeat)``.

        A repeat returns the earlier run's id and records nothing (see the module docs).
        """
        earlier = self.find_repeat(run, quantiles)
        if earlier is not None:
            return earlier, True
        return self.append(run, quantiles, deal_probabilities), False

    def find_repeat(self, run: LedgerRun, quantiles: pd.DataFrame) -> str | None:
        """The id of a recorded run identical to ``run`` with the same quantiles, if any."""
        if not self.path.exists():
            return None
        keys = {"kind": run.kind, "name": run.name, "content_hash": run.content_hash,
                "as_of": run.as_of, "quarters": json.dumps(run.quarters),
                "segment_by": run.segment_by, "data_fingerprint": run.data_fingerprint,
                "config_fingerprint": run.config_fingerprint, "version": run.version,
                "draws": run.draws, "seed": run.seed}
        where = " AND ".join(f"{k} IS ?" for k in keys)
        with self._connect() as con:
            candidates = [r[0] for r in con.execute(
                f"SELECT run_id FROM runs WHERE {where} ORDER BY created_at, rowid",  # noqa: S608
                tuple(_py(v) for v in keys.values()))]
        cols = ["quarter", "segment", "measure", "p10", "p50", "p90", "mean"]
        mine = _sorted(quantiles[cols])
        for run_id in candidates:
            theirs = _sorted(self.run(run_id)["quantiles"][cols])
            if len(theirs) == len(mine) and theirs.equals(mine.astype(theirs.dtypes.to_dict())):
                return run_id
        return None

    def runs(self) -> pd.DataFrame:
        """Every run, oldest first (without the per-run tables), with its headline.

        Columns: run_id, created_at, kind, name, as_of, quarters, segment_by, headline_quarter,
        attributed_p50 (total, currency per year), arr_target and p_at_least_target (NaN
        without a target), then data_fingerprint, config_fingerprint, version, draws, seed.
        """
        columns = ["run_id", "created_at", "kind", "name", "as_of", "quarters", "segment_by",
                   "headline_quarter", "attributed_p50", "arr_target", "p_at_least_target",
                   "data_fingerprint", "config_fingerprint", "version", "draws", "seed"]
        if not self.path.exists():
            return pd.DataFrame(columns=columns)
        with self._connect() as con:
            frame = pd.read_sql_query(
                "SELECT run_id, created_at, kind, name, as_of, quarters, segment_by, "
                "data_fingerprint, config_fingerprint, version, draws, seed, meta FROM runs "
                "ORDER BY created_at, rowid", con)
            totals = pd.read_sql_query(
                "SELECT run_id, quarter, p50 FROM quantiles WHERE segment = 'total' "
                "AND measure = 'attributed'", con)
        first = frame["quarters"].map(lambda s: (json.loads(s) or [None])[0])
        frame["quarters"] = frame["quarters"].map(lambda s: ",".join(json.loads(s)))
        headline = [json.loads(m).get("headline") or {} for m in frame.pop("meta")]
        p50 = totals.set_index(["run_id", "quarter"])["p50"]
        frame["headline_quarter"] = [h.get("quarter", q) for h, q in zip(headline, first, strict=True)]
        frame["attributed_p50"] = [
            h.get("attributed_p50", p50.get((r, q), float("nan")))
            for h, r, q in zip(headline, frame["run_id"], frame["headline_quarter"], strict=True)]
        for key in ("arr_target", "p_at_least_target"):
            frame[key] = [h.get(key) for h in headline]
            frame[key] = pd.to_numeric(frame[key], errors="coerce").astype(float)
        frame["attributed_p50"] = pd.to_numeric(frame["attributed_p50"], errors="coerce").astype(float)
        return frame[columns]

    def run(self, run_id: str) -> dict[str, Any]:
        """One run's record with its meta, quantiles and deal probabilities."""
        with self._connect() as con:
            row = con.execute("SELECT * FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row is None:
                from partner_forecast.errors import PartnerForecastError

                raise PartnerForecastError(f"no run {run_id!r} in the ledger at {self.path}")
            cols = [c[0] for c in con.execute("SELECT * FROM runs LIMIT 0").description]
            record = dict(zip(cols, row, strict=True))
            record["quarters"] = json.loads(record["quarters"])
            record["meta"] = json.loads(record["meta"])
            record["quantiles"] = pd.read_sql_query(
                "SELECT quarter, segment, measure, p10, p50, p90, mean FROM quantiles "
                "WHERE run_id = ?", con, params=(run_id,))
            record["deal_probabilities"] = pd.read_sql_query(
                "SELECT opportunity_id, quarter, p_won, expected_arr FROM deal_probabilities "
                "WHERE run_id = ?", con, params=(run_id,))
        return record

    def forecasts_of(self, quarter: str, on_or_before: pd.Timestamp,
                     kind: str = "forecast") -> pd.DataFrame:
        """Runs of ``kind`` forecasting ``quarter`` made as of a date on or before ``on_or_before``.

        Newest as-of last (ties: the later recorded last). Columns: run_id, created_at,
        as_of, segment_by (``total`` when not split), data (the export's source folder as
        recorded in the run's meta; empty when the run did not record it), data_fingerprint
        (the export's bytes as of the run's as-of), config_fingerprint, version.
        Reads only the runs table, never the per-run quantile and deal tables.
        """
        columns = ["run_id", "created_at", "as_of", "segment_by", "data", "data_fingerprint",
                   "config_fingerprint", "version"]
        if not self.path.exists():
            return pd.DataFrame(columns=columns)
        with self._connect() as con:
            frame = pd.read_sql_query(
                "SELECT run_id, created_at, as_of, quarters, segment_by, data_fingerprint, "
                "config_fingerprint, version, meta FROM runs WHERE kind = ? "
                "ORDER BY created_at, rowid", con, params=(kind,))
        keep = (frame["quarters"].map(lambda s: quarter in (json.loads(s) or []))
                & (pd.to_datetime(frame["as_of"]) <= pd.Timestamp(on_or_before)))
        frame = frame[keep].copy()
        frame["data"] = frame.pop("meta").map(lambda m: str(json.loads(m).get("data") or ""))
        seg = frame["segment_by"].astype(object)
        frame["segment_by"] = seg.where(seg.notna() & (seg != ""), "total").astype(str)
        frame = frame.sort_values(["as_of", "created_at"], kind="stable")
        return frame[columns].reset_index(drop=True)

    def latest_for_quarter(self, quarter: str, on_or_before: pd.Timestamp,
                           kind: str = "forecast") -> str | None:
        """The newest run forecasting ``quarter`` whose as-of is on or before the given date."""
        runs = self.forecasts_of(quarter, on_or_before, kind)
        return None if runs.empty else str(runs["run_id"].iloc[-1])


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in a canonical order (quarter, segment, measure), index reset."""
    return frame.sort_values(["quarter", "segment", "measure"], kind="stable").reset_index(drop=True)


def _py(value: Any) -> Any:
    """Plain Python value for sqlite (numpy scalars, NaN -> None)."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
