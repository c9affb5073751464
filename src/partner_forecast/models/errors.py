"""The errors of fitting and loading models (each a :class:`PartnerForecastError`)."""

from __future__ import annotations

from partner_forecast.errors import PartnerForecastError


class ModelMismatchError(PartnerForecastError):
    """A saved posterior does not belong to the model, version, config or data asked for."""


class ModelNotFittedError(PartnerForecastError):
    """A posterior was asked of a model that has not been fitted or loaded."""


class NotEnoughDataError(PartnerForecastError):
    """The export holds nothing for a model to learn from (e.g. no complete quarter)."""


__all__ = ["ModelMismatchError", "ModelNotFittedError", "NotEnoughDataError"]
