"""What-if scenarios on activation levers, lever sensitivity and the binding-driver reading.

- :mod:`~partner_forecast.scenarios.spec`: scenario files (TOML) -> :class:`Scenario`, validated.
- :mod:`~partner_forecast.scenarios.apply`: a scenario applied to simulation inputs ->
  :class:`ScenarioPlan` (changed inputs + engine :class:`~partner_forecast.simulate.Levers`).
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
from partner_forecast.scenarios.spec import (
    LEVERS,
    Change,
    Scenario,
    Selector,
    load_scenario_files,
    load_scenarios,
    parse_scenarios,
)

__all__ = ["LEVERS", "STANDARD_STEPS", "Change", "InputsPredictive", "LeverStep", "ModelPredictive",
           "NewPartnerDraws", "NewPartnerPredictive", "PartnerAttributes", "Scenario",
           "ScenarioComparison", "ScenarioPlan", "Selector", "apply_scenario", "binding_constraints",
           "compare_files", "compare_scenarios", "fitted_models", "lever_sensitivity", "load_scenario_files",
           "load_scenarios", "parse_scenarios", "predictive_for"]
