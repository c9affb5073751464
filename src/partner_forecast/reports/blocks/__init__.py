"""The report's blocks: the report service's data as charts, tables and notes, one module per block.

Each module turns one part of :class:`~partner_forecast.report_service.gather.ReportData` into a
:class:`~partner_forecast.reports.document.Block` (titles, readings, formats, labels); nothing
here computes a figure the report service does not give.
"""
