"""The executive report's charts: plain inputs in, a matplotlib :class:`~matplotlib.figure.Figure` out.

Figures are built with the object-oriented API (no ``pyplot`` state, no display backend), so
they can be made in worker processes, tests and notebooks alike. Every function takes the
numbers it draws (tidy frames or arrays) and computes nothing that a metric, forecast or
evaluation function already gives. ARR axes are in currency per year.

One module per block of the report: :mod:`~partner_forecast.reports.charts.style` (the wide and
narrow layouts, colours, the axes helpers, ``tex_safe`` and PNG rendering), then
:mod:`~partner_forecast.reports.charts.revenue`, :mod:`~partner_forecast.reports.charts.calls`,
:mod:`~partner_forecast.reports.charts.pipeline`, :mod:`~partner_forecast.reports.charts.accuracy`,
:mod:`~partner_forecast.reports.charts.productivity`,
:mod:`~partner_forecast.reports.charts.growth`, :mod:`~partner_forecast.reports.charts.quality`
and :mod:`~partner_forecast.reports.charts.scenarios`.
"""
