"""What every part of the report reads: the as-of view, its quarters and the run's settings."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.config import Settings
from partner_forecast.data.export import Export
from partner_forecast.model_source import ModelSource

logger = logging.getLogger(__name__)

HISTORY_QUARTERS = 8
"""Complete quarters of history shown before the forecast (fan chart, ARR by type)."""
TREND_QUARTERS = 4
"""Quarters in the pipeline and ecosystem trends."""

Notify = Callable[[str], None]
"""Receives progress notes for the user (which forecast is reused, that a fit is coming)."""


@dataclass(frozen=True)
class LeftOut:
    """A part of the report left out: the sentence saying so and why, and the error's message."""

    text: str
    reason: str = ""


@dataclass
class ReportInputs:
    """The as-of view and the run settings every part of the report reads.

    ``degraded``, ``warnings`` and ``facts`` (extra footer meta) collect what the parts report
    as they run, in the order they run.
    """

    settings: Settings
    export: Export  # the as-of view
    as_of: pd.Timestamp
    current: Quarter
    last_closed: Quarter
    history: list[Quarter]
    workspace: Path
    draws: int | None
    seed: int | None
    progress: bool
    notify: Notify
    models: ModelSource
    degraded: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def leave_out(self, what: str, exc: BaseException) -> LeftOut:
        """Record that ``what`` (with its verb: "The backtest is") is left out because of ``exc``.

        Returns the sentence as a :class:`LeftOut`.
        """
        text = f"{what} left out: {exc}"
        self.degraded.append(text)
        return LeftOut(text, str(exc))


def report_inputs(settings: Settings, export: Export, as_of: pd.Timestamp | None, *,
                  workspace: str | Path | None, draws: int | None, seed: int | None,
                  progress: bool, notify: Notify | None, models: ModelSource,
                  history_quarters: int = HISTORY_QUARTERS) -> ReportInputs:
    """The report's inputs: ``export`` viewed as of ``as_of`` (default: its own as-of date).

    The history is the ``history_quarters`` complete quarters before the as-of quarter, from
    the first quarter with data on.
    """
    from partner_forecast.forecast import DEFAULT_WORKSPACE

    cut = export.default_as_of if as_of is None else pd.Timestamp(as_of).normalize()
    view = export.as_of(cut) if as_of is not None else export
    fym = settings.calendar.fiscal_year_start_month
    current = Quarter.containing(cut, fym)
    first_data = first_data_quarter(view, fym)
    last_closed = current - 1
    history = [q for q in (last_closed - i for i in range(history_quarters - 1, -1, -1))
               if first_data is not None and q >= first_data]
    return ReportInputs(settings=settings, export=view, as_of=cut, current=current,
                        last_closed=last_closed, history=history,
                        workspace=Path(workspace) if workspace is not None else DEFAULT_WORKSPACE,
                        draws=draws, seed=seed, progress=progress, notify=notify or logger.info,
                        models=models)


def first_data_quarter(export: Export, fym: int) -> Quarter | None:
    """The quarter of the export's first opportunity or activity (None: no dated row)."""
    dates = pd.concat([export.opportunities["created_on"], export.activities["occurred_on"]]).dropna()
    return Quarter.containing(dates.min(), fym) if len(dates) else None


def with_year_before(quarters: Sequence[Quarter]) -> list[Quarter]:
    """``quarters`` preceded by the four quarters before the first (for QoQ and YoY)."""
    if not quarters:
        return []
    return [quarters[0] - i for i in range(4, 0, -1)] + list(quarters)


__all__ = ["HISTORY_QUARTERS", "LeftOut", "Notify", "ReportInputs", "TREND_QUARTERS",
           "first_data_quarter", "report_inputs", "with_year_before"]
