"""The five hierarchical Bayesian models (DESIGN.md section 3), their fitting and save/load.

:data:`MODEL_CLASSES` lists them in fitting order; :func:`partner_forecast.workspace.fit_all`
fits (or loads from the workspace cache) all of them, and
:func:`partner_forecast.posterior.inputs.simulation_inputs` turns the fits into the Monte Carlo
engine's :class:`~partner_forecast.simulate.inputs.SimulationInputs` (the models never import
the simulator).
"""

from partner_forecast.models.activation import ActivationModel
from partner_forecast.models.base import PartnerModel
from partner_forecast.models.conversion import ConversionModel
from partner_forecast.models.deal_size import DealSizeModel
from partner_forecast.models.diagnostics import Diagnostics
from partner_forecast.models.errors import ModelMismatchError, ModelNotFittedError
from partner_forecast.models.fitted import FittedModels
from partner_forecast.models.productivity import ProductivityModel
from partner_forecast.models.timing import TimingModel

MODEL_CLASSES: tuple[type[PartnerModel], ...] = (
    ActivationModel, ProductivityModel, ConversionModel, TimingModel, DealSizeModel)

__all__ = ["MODEL_CLASSES", "ActivationModel", "ProductivityModel", "ConversionModel",
           "TimingModel", "DealSizeModel", "PartnerModel", "Diagnostics", "FittedModels",
           "ModelMismatchError", "ModelNotFittedError"]
