"""The loaded export and its as-of view.

:func:`load_export` reads a folder of CSV/Parquet files (the data contract), validates it (every
problem at once, raising :class:`ExportError`), and returns an :class:`Export` of typed pandas
frames with canonical labels. :meth:`Export.as_of` rebuilds the export as it stood on a date:
everything dated on or after ``as_of`` is unknown. Later features (fit, forecast, backtest,
variance) all stand on this view, so nothing after the cut may leak through it.

Convention: ``as_of`` is the first day *not yet known*. The default as-of is the day after the
latest date in the data, so the default view is the whole export.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.convert import ROW_COLUMN, empty_table, object_series
from partner_forecast.data.field_history import rebuild_fields
from partner_forecast.data.schema import (
    CLOSED_STAGES,
    NOT_MODEL_INPUTS,
    OPEN_STAGES,
    PLANNED_DATE_COLUMNS,
    STAGE_ORDER,
    TABLES,
)
from partner_forecast.errors import DataWarning, ExportError, Problem

if TYPE_CHECKING:
    from partner_forecast.config import Settings

MAX_PROBLEMS = 200  # problems listed before the rest are counted as "... and N more"

DATE_COLUMNS: dict[str, tuple[str, ...]] = {
    name: tuple(c.name for c in t.columns if c.kind == "date") for name, t in TABLES.items()
}
#: An as-of date more than this many days (a quarter) after the latest event date is warned
#: about: nothing is known in between, so activity-based figures there are zero by construction.
STALE_AS_OF_DAYS = 92


@dataclass(frozen=True)
class Export:
    """A CRM export as typed frames (one per contract file), optionally cut at ``as_of``.

    Every frame keeps a ``_row`` column with the record's line in its source file.
    Dates are ``datetime64[ns]`` at midnight; labels are canonical (e.g. ``co_sell``);
    ARR is currency per year. ``field_history`` is optional in the contract: an export without
    it carries an empty frame with its columns (``value``/``old_value`` hold plain Python
    values typed by the row's field: see :mod:`.field_history`). ``calls`` (optional, empty
    without the file) holds the channel team's calls (:mod:`partner_forecast.evaluate.calls`).
    """

    partners: pd.DataFrame
    sellers: pd.DataFrame
    activities: pd.DataFrame
    opportunities: pd.DataFrame
    stage_history: pd.DataFrame
    targets: pd.DataFrame
    company: pd.DataFrame
    field_history: pd.DataFrame = field(
        default_factory=lambda: empty_table(TABLES["field_history"]))
    calls: pd.DataFrame = field(default_factory=lambda: empty_table(TABLES["calls"]))
    source: str = ""
    source_fingerprint: str = ""
    as_of_date: pd.Timestamp | None = None
    warnings: tuple[Problem, ...] = field(default_factory=tuple)
    flag_audit: pd.DataFrame | None = None
    """In a view: the leakage audit of the *whole* export it was cut from
    (:func:`.flag_leakage.flag_leakage`), which :func:`.flag_leakage.usable_flags` reads
    instead of auditing the view (None: not a view). The view's flags are the export's latest
    values, so its open deals carry flags filled in after the cut and the view's own audit
    passes a progress-filled flag; the whole export's verdict is the one the forecast made on
    it would use. It is the one thing a view takes from after its cut, and only as a yes/no per
    flag, while the flag values it guards are already latest values."""

    @functools.cached_property
    def leakage_audit(self) -> pd.DataFrame:
        """The flag-leakage audit that decides which flags models may use (computed once).

        A view's is :attr:`flag_audit`, the whole export's; an export's own is
        :func:`.flag_leakage.flag_leakage` of itself, kept so that every cut of it (backtest
        folds, the report's forecasts) and every model built on it share one audit.
        """
        if self.flag_audit is not None:
            return self.flag_audit
        from partner_forecast.data.flag_leakage import flag_leakage

        return flag_leakage(self)

    # -- identity -----------------------------------------------------------------------------
    @property
    def fingerprint(self) -> str:
        """Hash of the source files' bytes and the as-of date (what any result depends on).

        The as-of date is :attr:`default_as_of`, whether or not the export was cut: the raw
        export and its view at the default as-of are one (data, as-of) pair with one
        fingerprint, so ``fit`` (raw) and ``forecast`` (cut) share the workspace cache.
        """
        cut = self.default_as_of.date().isoformat()
        return hashlib.sha256(f"{self.source_fingerprint}|{cut}".encode()).hexdigest()[:16]

    @property
    def latest_date(self) -> pd.Timestamp:
        """The latest event date anywhere in the export.

        Planned dates (``expected_close_on``) are excluded: see :data:`PLANNED_DATE_COLUMNS`;
        so are the dates of tables no model reads (:data:`~.schema.NOT_MODEL_INPUTS`: a call
        made after the CRM export does not make the export newer).
        """
        latest = pd.Timestamp("1900-01-01")
        for name, cols in DATE_COLUMNS.items():
            if name in NOT_MODEL_INPUTS:
                continue
            frame = getattr(self, name)
            for c in cols:
                if (name, c) in PLANNED_DATE_COLUMNS:
                    continue
                if len(frame) and frame[c].notna().any():
                    latest = max(latest, frame[c].max())
        return latest

    @property
    def default_as_of(self) -> pd.Timestamp:
        """The as-of date used when none is given: the day after the latest date in the data."""
        if self.as_of_date is not None:
            return self.as_of_date
        return self.latest_date + pd.Timedelta(days=1)

    def quarter(self, fiscal_year_start_month: int = 1) -> Quarter:
        """The quarter containing the (default) as-of date."""
        return Quarter.containing(self.default_as_of, fiscal_year_start_month)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The frames by contract file name."""
        return {name: getattr(self, name) for name in TABLES}

    # -- as-of view ---------------------------------------------------------------------------
    def as_of(self, date: pd.Timestamp | str) -> Export:
        """The export as it stood at the start of ``date`` (nothing dated on/after it is known).

        - partners onboarded on/after the date are dropped; a later offboarding is cleared;
        - sellers who joined on/after are dropped; a later ``left_on`` is cleared;
        - activities on/after are dropped;
        - opportunities created on/after are dropped; each deal's stage is rebuilt from its
          stage history entries before the date; ``closed_on`` and the first-contact / lead
          dates are kept only if before the date, and so is ``expected_close_on`` (the export
          holds its *last* value, which for a deal closed later is often the actual close
          date: keeping it would leak the outcome into a backtest);
        - stage history entries on/after are dropped;
        - company figures for quarters not yet ended are dropped (targets are plans: kept);
        - calls made on/after the date are dropped (a call is known from the day it is made).

        - with a ``field_history`` table, the fields it records (flags, ARR, role, influence %,
          ...: :data:`~.schema.HISTORY_FIELDS`) are rebuilt as they stood at the start of the
          date, by :func:`.field_history.value_at` (the latest change strictly before it; before
          a deal's first recorded change the change's ``old_value``, else blank, except ARR and
          role, required on every deal, which keep the first recorded value); its rows on/after
          the date are dropped. Deals without history rows for a field keep the export value,
          unless the date precedes the field's whole history and the deal is older than it
          (history kept for a limited time): then the field is blank too.

        Fields without history are the export's latest values, kept as they are: a flag filled in
        as a deal progresses leaks its outcome (see :mod:`.flag_leakage`). The view carries the
        whole export's leakage audit (:attr:`flag_audit`), so that such a flag stays out of
        models fitted on the view.

        Cutting is idempotent, and cutting twice equals cutting once at the earlier date. A view
        cannot be cut at a date later than its own cut (``ValueError``).
        """
        cut = pd.Timestamp(date).normalize()
        if self.as_of_date is not None and cut > self.as_of_date:
            raise ValueError(f"cannot view as of {cut.date()}: this export is already cut at "
                             f"{self.as_of_date.date()}")
        if self.as_of_date is None and (stale := stale_as_of(self, cut)):
            self = replace(self, warnings=self.warnings + stale)  # the view carries the warning

        def before(s: pd.Series) -> pd.Series:
            return s.notna() & (s < cut)

        def clear_after(frame: pd.DataFrame, cols: tuple[str, ...]) -> pd.DataFrame:
            frame = frame.copy()
            for c in cols:
                frame[c] = frame[c].where(before(frame[c]))
            return frame

        partners = clear_after(self.partners[before(self.partners["onboarded_on"])],
                               ("offboarded_on",))
        sellers = self.sellers[before(self.sellers["joined_on"])
                               & self.sellers["partner_id"].isin(partners["partner_id"])]
        sellers = clear_after(sellers, ("left_on",))
        history = self.stage_history[before(self.stage_history["entered_on"])]
        opps = self.opportunities[before(self.opportunities["created_on"])
                                  & self.opportunities["partner_id"].isin(partners["partner_id"])]
        history = history[history["opportunity_id"].isin(opps["opportunity_id"])]
        opps = clear_after(opps, DATE_COLUMNS["opportunities"])
        opps["referring_seller_id"] = opps["referring_seller_id"].where(
            opps["referring_seller_id"].isin(sellers["seller_id"]), None)
        current = current_stage(history)
        stage = opps["opportunity_id"].map(current)
        # Validation guarantees a history entry on each deal's creation date, so every deal
        # created before the cut has one before it. For an unvalidated export, a deal without
        # one sits in the first pipeline stage: looking up its first entry in the *full*
        # history would reveal a stage entered after the cut.
        opps["stage"] = object_series(stage.where(stage.notna(), OPEN_STAGES[0]),
                                      np.ones(len(stage), dtype=bool))
        closed = opps["stage"].isin(CLOSED_STAGES)
        opps["closed_on"] = opps["closed_on"].where(closed)
        acts = self.activities[before(self.activities["occurred_on"])
                               & self.activities["seller_id"].isin(sellers["seller_id"])]
        acts = acts.copy()
        acts["opportunity_id"] = acts["opportunity_id"].where(
            acts["opportunity_id"].isin(opps["opportunity_id"]), None)
        opps = rebuild_fields(self, opps, cut)
        fields = self.field_history[before(self.field_history["changed_on"])
                                    & self.field_history["opportunity_id"].isin(
                                        opps["opportunity_id"])]
        calls = self.calls[before(self.calls["made_on"])]
        company = self.company
        if len(company):
            ends = company["quarter"].map(lambda q: Quarter.parse(q).end)
            company = company[ends <= cut]
        return replace(self, partners=partners.reset_index(drop=True),
                       sellers=sellers.reset_index(drop=True),
                       activities=acts.reset_index(drop=True),
                       opportunities=opps.reset_index(drop=True),
                       stage_history=history.reset_index(drop=True),
                       field_history=fields.reset_index(drop=True),
                       calls=calls.reset_index(drop=True),
                       company=company.reset_index(drop=True), as_of_date=cut,
                       flag_audit=self.leakage_audit)  # the whole export's: a view hides leaks


def stale_as_of(export: Export, cut: pd.Timestamp) -> tuple[Problem, ...]:
    """A warning when ``cut`` lies more than :data:`STALE_AS_OF_DAYS` days past the data.

    Returned as a (file-level) :class:`Problem` for the view's ``warnings``, and issued as a
    :class:`DataWarning` so that the CLI prints it before any long work (a fit) starts.
    """
    latest = export.latest_date
    days = (cut - latest).days
    if days <= STALE_AS_OF_DAYS:
        return ()
    message = (f"as-of {cut.date().isoformat()} is {days:,} days after the latest date in the "
               f"data ({latest.date().isoformat()}): nothing after that is known, so seller "
               "activity, ASR, new pipeline and wins in between are zero by construction, and a "
               "forecast extrapolates across the gap; is --as-of right?")
    warnings.warn(message, DataWarning, stacklevel=3)
    return (Problem(export.source or "export", None, None, None, message, severity="warning"),)


def current_stage(history: pd.DataFrame) -> pd.Series:
    """Each opportunity's latest stage in a stage-history frame (ties: the later pipeline stage)."""
    if history.empty:
        return pd.Series(dtype=object)
    h = history.assign(_order=history["stage"].map(STAGE_ORDER))
    h = h.sort_values(["opportunity_id", "entered_on", "_order"], kind="stable")
    return h.groupby("opportunity_id", sort=False)["stage"].last()


def fingerprint_folder(folder: Path) -> str:
    """Hash of the contract files' names and bytes in ``folder``.

    Tables no model reads (:data:`~.schema.NOT_MODEL_INPUTS`: the team's ``calls``) are left
    out: the fingerprint keys the fitted models, and a call added every week must not make
    every fit stale. Outputs that read the calls record :func:`calls_fingerprint` as well.
    """
    digest = hashlib.sha256()
    for name in sorted(set(TABLES) - NOT_MODEL_INPUTS):
        for p in sorted(folder.glob(f"{name}.*")):
            digest.update(p.name.encode())
            digest.update(p.read_bytes())
    return digest.hexdigest()


def calls_fingerprint(export: Export) -> str:
    """Hash of the ``calls`` an export (or view) holds ('' without calls).

    Recorded by the outputs that read the calls (backtest, variance, report) beside the data
    fingerprint, which leaves them out (:func:`fingerprint_folder`).
    """
    calls = export.calls.drop(columns=[ROW_COLUMN], errors="ignore")
    if calls.empty:
        return ""
    hashed = pd.util.hash_pandas_object(calls.astype(str), index=False).to_numpy().tobytes()
    return hashlib.sha256(hashed).hexdigest()[:16]


def load_export(folder: str | Path, as_of: pd.Timestamp | str | None = None,
                settings: Settings | None = None) -> Export:
    """Read, validate and type the export in ``folder``; cut it at ``as_of`` when given.

    ``settings`` (a :class:`~partner_forecast.config.Settings`) supplies the ``[stages]
    aliases`` that map the CRM's stage names onto the canonical ones; without it only the
    built-in aliases apply. Raises :class:`ExportError` listing every problem (file, row,
    column, value) at once.
    """
    from partner_forecast.data.validate import read_and_check

    folder = Path(folder)
    aliases = {"stage": settings.stages.alias_map()} if settings is not None else None
    tables, _files, problems = read_and_check(folder, aliases)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ExportError(errors[:MAX_PROBLEMS], truncated=max(0, len(errors) - MAX_PROBLEMS))
    export = Export(**tables, source=str(folder), source_fingerprint=fingerprint_folder(folder),
                    warnings=tuple(p for p in problems if p.severity != "error"))
    if as_of is not None:
        export = export.as_of(as_of)
    return export


__all__ = ["Export", "calls_fingerprint", "load_export", "current_stage"]
