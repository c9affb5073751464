"""Test-data builders shipped with the package (tiny exports, fake posteriors).

Used by the project's own tests and available to users who want to test code built on
``partner_forecast`` without a real CRM export.
"""

from partner_forecast.testing.exports import tiny_export_tables, write_tiny_export
from partner_forecast.testing.pipelines import flag_pipeline_tables

__all__ = ["flag_pipeline_tables", "tiny_export_tables", "write_tiny_export"]
