"""Progress bars on stderr for long simulations and lever tables (tqdm).

A bar is shown when stderr is a terminal, and then only once its task has run for a second
(quick runs stay silent), so piped or captured output (a CI log, a test's ``CliRunner``) stays
free of bar redraws. ``PARTNER_FORECAST_PROGRESS=1`` asks for bars on stderr whatever it is,
from the start (e.g. in a notebook or a log), ``PARTNER_FORECAST_PROGRESS=0`` switches them off.
"""

from __future__ import annotations

import os
import sys
from typing import Any

PROGRESS_ENV = "PARTNER_FORECAST_PROGRESS"
_ON = frozenset({"1", "true", "yes", "on", "always"})
_OFF = frozenset({"0", "false", "no", "off", "never"})


def _asked() -> bool | None:
    """``PARTNER_FORECAST_PROGRESS`` read as on (True), off (False) or not set (None)."""
    value = os.environ.get(PROGRESS_ENV, "").strip().lower()
    return True if value in _ON else (False if value in _OFF else None)


def progress_enabled() -> bool:
    """Whether bars are shown: ``PARTNER_FORECAST_PROGRESS`` if set, else stderr is a terminal."""
    asked = _asked()
    return sys.stderr.isatty() if asked is None else asked


def progress_bar(total: int, desc: str, unit: str = "draw") -> Any:
    """A tqdm bar on stderr counting ``total`` ``unit`` s (disabled per :func:`progress_enabled`).

    Shows the rate (e.g. draws/s) and the time left; it is removed when closed.
    """
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                delay=0.0 if _asked() else 1.0, dynamic_ncols=True,
                disable=not progress_enabled())


__all__ = ["PROGRESS_ENV", "progress_bar", "progress_enabled"]
