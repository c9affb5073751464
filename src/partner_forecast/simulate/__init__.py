"""The Monte Carlo engine: posterior draws + open pipeline -> partner ARR draws by quarter.

See :func:`simulate` (the engine), :class:`SimulationInputs` (its input contract),
:class:`SegmentSpec` (how to split the output), :class:`Levers` (scenario adjustments) and
:class:`SimulationResult` (its output).
"""

from partner_forecast.simulate.engine import simulate
from partner_forecast.simulate.inputs import SimulationInputs
from partner_forecast.simulate.levers import Levers
from partner_forecast.simulate.result import DRIVERS, MEASURES, SimulationResult, quantile_label
from partner_forecast.simulate.segments import SEGMENT_KEYS, SegmentSpec

__all__ = ["DRIVERS", "MEASURES", "SEGMENT_KEYS", "Levers", "SegmentSpec", "SimulationInputs",
           "SimulationResult", "quantile_label", "simulate"]
