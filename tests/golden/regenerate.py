"""Regenerate the golden saved fit that ``tests/test_golden_fit.py`` loads and forecasts.

Writes the tiny export (:mod:`partner_forecast.testing.exports`) to ``tests/golden/export/`` and
fits the five models on it with a tiny sampler (2 chains x 100 draws after 100 tuning steps, no
retries), saving each to ``tests/golden/fits/<model>.zarr.zip`` (a few hundred kB in all).
Then prints the quantiles the golden test pins: paste them into ``PINNED`` there.

Run it (from the checkout) when a model's ``version`` or ``FORMAT_VERSION`` is bumped, i.e.
when the saved fit no longer loads by design::

    PYTHONPATH=src python tests/golden/regenerate.py

The fits need not come out the same as before (nutpie's draws can differ between machines and
versions): the golden test checks that a *fixed* saved fit still loads and forecasts the same
number with the current code, so only the pinned figures change with a regeneration.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
EXPORT_DIR = HERE / "export"
FITS_DIR = HERE / "fits"
TINY_SAMPLER = {"draws": 100, "tune": 100, "chains": 2, "retries": 0}


def main() -> None:
    """Write the export, fit and save the five models, print the figures to pin."""
    sys.path.insert(0, str(HERE.parent))
    from partner_forecast.config import load_settings
    from partner_forecast.data.export import load_export
    from partner_forecast.models import MODEL_CLASSES
    from partner_forecast.models.saved import POSTERIOR_SUFFIX
    from partner_forecast.testing.exports import write_tiny_export
    from test_golden_fit import golden_quantiles  # the figures the test pins, computed its way

    shutil.rmtree(EXPORT_DIR, ignore_errors=True)
    shutil.rmtree(FITS_DIR, ignore_errors=True)
    write_tiny_export(EXPORT_DIR)
    export = load_export(EXPORT_DIR)
    settings = load_settings().with_overrides(sampler=TINY_SAMPLER)
    for cls in MODEL_CLASSES:
        model = cls.from_export(export, settings)
        model.fit(progress=print)
        path = model.save(FITS_DIR / f"{cls.name}{POSTERIOR_SUFFIX}")
        print(f"{cls.name}: {path.stat().st_size / 1024:.0f} kB")
    for key, value in golden_quantiles().items():
        print(f"    {key!r}: {value!r},")


if __name__ == "__main__":
    main()
