"""The ``partner-forecast`` command line: a thin click layer over the library.

Each command lives in its own module of this package and registers itself on :data:`main`.
User errors (bad input, bad config) exit with code 2 and a one-paragraph message, never a
traceback; bugs exit 1.
"""

from __future__ import annotations

from partner_forecast.cli import (
    data_commands,  # noqa: F401  (registers commands)
    evaluate_commands,  # noqa: F401
    forecast_commands,  # noqa: F401
    history_command,  # noqa: F401
    metrics_commands,  # noqa: F401
    model_commands,  # noqa: F401
    pacing_command,  # noqa: F401
    report_command,  # noqa: F401
    sample_command,  # noqa: F401
    scenario_commands,  # noqa: F401
)
from partner_forecast.cli.common import main

__all__ = ["main"]
