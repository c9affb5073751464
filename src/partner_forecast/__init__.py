"""partner-forecast: probabilistic forecasting of partner (channel) revenue.

Partnerships don't sell, partner *sellers* do: the engine learns seller activation,
productivity, stage conversion, time in stage and deal size from a CRM export and
simulates quarterly partner ARR distributions (P10/P50/P90).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("partner-forecast")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
