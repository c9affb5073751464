"""From fitted posteriors to what the rest of the package reads: simulation inputs, summaries.

A layer between the models and the simulator on one side and the fitting workflow on the other:
the models (:mod:`partner_forecast.models`) know nothing of the Monte Carlo engine and the
engine (:mod:`partner_forecast.simulate`) nothing of the models; this package joins them.

- :mod:`.inputs`: fits + export -> :class:`~partner_forecast.simulate.inputs.SimulationInputs`
  (:func:`~.inputs.simulation_inputs`);
- :mod:`.summaries`: readable tables of the fits (posterior activation per partner, the learned
  conversion curves).
"""
