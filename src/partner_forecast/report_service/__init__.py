"""The report service: everything the executive report shows, computed, as plain data.

:func:`~partner_forecast.report_service.gather.gather_report` loads the export as of a date,
runs the forecast (the same :func:`~partner_forecast.forecast.prepare` /
:func:`~partner_forecast.forecast.run` as the ``forecast`` command), the variance review of
the last closed quarter, the ledger's forecast history and pacing, an optional backtest and
scenario comparison, and the metrics of the five dashboard blocks, and returns a
:class:`~partner_forecast.report_service.gather.ReportData`: frames, numbers and the sentences
saying why a part is left out. It draws and words nothing: :mod:`partner_forecast.reports`
renders that data (charts, readings, HTML, PDF).

One module per concern: :mod:`~partner_forecast.report_service.inputs` (the as-of view, the
quarters, the run settings), :mod:`~partner_forecast.report_service.forecasting` (the forecast
and what the report reads of it), then one module per block: ``revenue``, ``pipeline``,
``accuracy``, ``productivity``, ``growth`` (with the data-quality audit) and ``scenarios``.
ARR is partner-attributed (DOMAIN.md section 4) unless a column says gross, currency per year.
"""
