"""Where a forecast gets its fitted models: the one seam between the pipeline and the models.

Every entry point that forecasts (:func:`partner_forecast.forecast.prepare`, the backtest, the
variance review, scenarios, the report) takes a ``models`` argument typed :class:`ModelSource`.
The default, :data:`FITTED_MODELS`, fits the five hierarchical models (or loads them from the
workspace cache) and turns their posteriors into simulation inputs. Tests pass
:class:`partner_forecast.testing.fits.DegenerateModels` instead: a closed-form posterior and no
MCMC, through the same code path, with no module swapped. A source is a small picklable object,
so backtest folds carry it into worker processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from partner_forecast.calendar import Quarter
    from partner_forecast.config import Settings
    from partner_forecast.data.export import Export
    from partner_forecast.simulate.inputs import SimulationInputs


class Fits(Protocol):
    """What the pipeline reads of fitted models besides their simulation inputs."""

    def diagnostics_table(self) -> pd.DataFrame:
        """One row per model: divergences, R-hat, ESS and whether it passes."""
        ...


class ModelSource(Protocol):
    """Fitted models for an export, their simulation inputs and their summaries."""

    def fit_all(self, export: Export, settings: Settings, workspace: Path | str | None,
                progress: bool | Callable[[str], None] = True) -> Fits:
        """Fit (or load from ``workspace``) the models of ``export``'s as-of view."""
        ...

    def simulation_inputs(self, fits: Any, export: Export, settings: Settings,
                          quarters: Sequence[Quarter | str], n_draws: int, seed: int
                          ) -> SimulationInputs:
        """Posterior draws as the Monte Carlo engine's inputs for ``quarters``."""
        ...

    def posterior_activation(self, fits: Any, export: Export) -> pd.DataFrame | None:
        """Posterior ASR per partner in the last closed quarter (None: not available)."""
        ...

    def conversion_curves(self, fits: Any, export: Export, settings: Settings
                          ) -> pd.DataFrame | None:
        """Learned P(won | stage) per partner type with P10/P90 (None: not available)."""
        ...


@dataclass(frozen=True)
class FittedModels:
    """The real models: fitted with PyMC (or loaded from the workspace cache)."""

    def fit_all(self, export: Export, settings: Settings, workspace: Path | str | None,
                progress: bool | Callable[[str], None] = True) -> Fits:
        """See :func:`partner_forecast.workspace.fit_all`."""
        from partner_forecast.workspace import fit_all

        return fit_all(export, settings, workspace, progress=progress)

    def simulation_inputs(self, fits: Any, export: Export, settings: Settings,
                          quarters: Sequence[Quarter | str], n_draws: int, seed: int
                          ) -> SimulationInputs:
        """See :func:`partner_forecast.posterior.inputs.simulation_inputs`."""
        from partner_forecast.posterior.inputs import simulation_inputs

        return simulation_inputs(fits, export, settings, quarters, n_draws, seed)

    def posterior_activation(self, fits: Any, export: Export) -> pd.DataFrame | None:
        """See :func:`partner_forecast.posterior.summaries.posterior_activation`."""
        from partner_forecast.posterior.summaries import posterior_activation

        return posterior_activation(fits, export)

    def conversion_curves(self, fits: Any, export: Export, settings: Settings
                          ) -> pd.DataFrame | None:
        """See :func:`partner_forecast.posterior.summaries.conversion_curves`."""
        from partner_forecast.posterior.summaries import conversion_curves

        return conversion_curves(fits, export, settings)


FITTED_MODELS: ModelSource = FittedModels()
"""The default model source of every entry point."""

__all__ = ["FITTED_MODELS", "Fits", "FittedModels", "ModelSource"]
