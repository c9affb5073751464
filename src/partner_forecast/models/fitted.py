"""The five fitted models together, as returned by :func:`partner_forecast.workspace.fit_all`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pandas as pd

from partner_forecast.errors import PartnerForecastError
from partner_forecast.models.activation import ActivationModel
from partner_forecast.models.base import PartnerModel
from partner_forecast.models.conversion import ConversionModel
from partner_forecast.models.deal_size import DealSizeModel
from partner_forecast.models.diagnostics import Diagnostics, diagnostics_table, format_table
from partner_forecast.models.productivity import ProductivityModel
from partner_forecast.models.timing import TimingModel


class FitMismatchError(PartnerForecastError):
    """Fits and export (or fits among themselves) disagree on partners or labels."""


@dataclass
class FittedModels:
    """One fitted (or loaded) instance of each model, fitted on the same export."""

    activation: ActivationModel
    productivity: ProductivityModel
    conversion: ConversionModel
    timing: TimingModel
    deal_size: DealSizeModel

    def __iter__(self) -> Iterator[PartnerModel]:
        """The models in fitting order."""
        return iter((self.activation, self.productivity, self.conversion, self.timing,
                     self.deal_size))

    @property
    def diagnostics(self) -> list[Diagnostics]:
        """Diagnostics of every fit (models without any are skipped)."""
        return [m.diagnostics for m in self if m.diagnostics is not None]

    @property
    def warnings(self) -> tuple[str, ...]:
        """One message per failed diagnostic threshold, across models."""
        return tuple(msg for d in self.diagnostics for msg in d.failures)

    @property
    def notes(self) -> tuple[str, ...]:
        """Choices the fits made from the data that a reader of a forecast should know.

        Today one: closes bunched at quarter end read as interval-censored by the timing model.
        """
        reading = self.timing.quarter_end_reading
        return (f"timing: {reading}",) if reading else ()

    @property
    def ok(self) -> bool:
        """Whether every fit passed its thresholds."""
        return not self.warnings

    def diagnostics_table(self) -> pd.DataFrame:
        """Diagnostics table, one row per model."""
        return diagnostics_table(self.diagnostics)

    def format(self) -> str:
        """Plain-text diagnostics table."""
        return format_table(self.diagnostics)

    def check_consistent(self) -> FittedModels:
        """Raise :class:`FitMismatchError` unless all fits share partners and types."""
        partners = self.activation.spec.coords["partner"]
        types = self.activation.spec.coords["partner_type"]
        for m in self:
            c = m.spec.coords
            if "partner" in c and c["partner"] != partners:
                raise FitMismatchError(f"the {m.name} fit has different partners from the "
                                       "activation fit; refit all models on one export")
            if c.get("partner_type", types) != types:
                raise FitMismatchError(f"the {m.name} fit has different partner types from the "
                                       "activation fit; refit all models on one export")
        return self


__all__ = ["FittedModels", "FitMismatchError"]
