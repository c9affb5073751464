"""What-if scenarios on activation levers, lever sensitivity and the binding-driver reading.

- :mod:`~partner_forecast.scenarios.spec`: what a scenario is (:class:`Scenario`, :class:`Change`).
- :mod:`~partner_forecast.scenarios.levers`: the lever table (each lever's keys and checks).
- :mod:`~partner_forecast.scenarios.parse`: scenario files (TOML) -> scenarios, every problem
  of a file reported at once.
- :mod:`~partner_forecast.scenarios.apply`: a scenario applied to simulation inputs ->
  :class:`ScenarioPlan` (changed inputs + engine :class:`~partner_forecast.simulate.Levers`).
- :mod:`~partner_forecast.scenarios.effects`: what each lever changes, one function per lever
  in a table by lever name.
- :mod:`~partner_forecast.scenarios.recruit`: new partners' draws from the models' population
  predictive.
- :mod:`~partner_forecast.scenarios.run`: baseline and scenarios with common random numbers,
  compared draw by draw (the CLI's ``scenario``).
- :mod:`~partner_forecast.scenarios.sensitivity`: the tornado table (the CLI's ``levers``).
- :mod:`~partner_forecast.scenarios.constraints`: which of confidence / motivation / access most
  likely binds, per partner type.
"""

from partner_forecast.scenarios.apply import PartnerAttributes, ScenarioPlan, apply_scenario
from partner_forecast.scenarios.constraints import binding_constraints
from partner_forecast.scenarios.levers import LEVER_TABLE, LEVERS, Lever
from partner_forecast.scenarios.parse import (
    ScenarioFileError,
    load_scenario_files,
    load_scenarios,
    parse_scenarios,
)
from partner_forecast.scenarios.recruit import (
    InputsPredictive,
    ModelPredictive,
    NewPartnerDraws,
    NewPartnerPredictive,
    fitted_models,
    predictive_for,
)
from partner_forecast.scenarios.run import (
    ScenarioComparison,
    compare_files,
    compare_scenarios,
)
from partner_forecast.scenarios.sensitivity import STANDARD_STEPS, LeverStep, lever_sensitivity
from partner_forecast.scenarios.spec import Change, Scenario, Selector

__all__ = ["LEVERS", "LEVER_TABLE", "STANDARD_STEPS", "Change", "InputsPredictive", "Lever",
           "LeverStep", "ModelPredictive", "NewPartnerDraws", "NewPartnerPredictive",
           "PartnerAttributes", "Scenario", "ScenarioComparison", "ScenarioFileError",
           "ScenarioPlan", "Selector", "apply_scenario", "binding_constraints", "compare_files",
           "compare_scenarios", "fitted_models", "lever_sensitivity", "load_scenario_files",
           "load_scenarios", "parse_scenarios", "predictive_for"]
