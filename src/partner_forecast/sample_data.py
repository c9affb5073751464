"""Where the bundled sample export lives: in the installed package, or in a source checkout.

An installed wheel carries the sample as gzipped CSV files in ``partner_forecast/_sample``
(written by the build hook ``hatch_build.py`` from the checkout's ``data/sample``, which stays
the source); the loader reads ``.csv.gz`` files directly. A source checkout (an editable
install, or ``PYTHONPATH=src``) uses ``data/sample`` itself.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
#: The sample inside an installed package (only wheels built by ``hatch_build.py`` have it).
PACKAGED_SAMPLE = _PACKAGE / "_sample"
#: The sample of a source checkout (``src/partner_forecast`` -> ``data/sample``).
CHECKOUT_SAMPLE = _PACKAGE.parents[1] / "data" / "sample"


def _has_export(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("partners.*"))


def sample_data_dir() -> Path | None:
    """The bundled sample export folder, or ``None`` when this installation has none.

    The packaged copy wins over a checkout's ``data/sample`` (they hold the same records).
    """
    for folder in (PACKAGED_SAMPLE, CHECKOUT_SAMPLE):
        if _has_export(folder):
            return folder
    return None


__all__ = ["CHECKOUT_SAMPLE", "PACKAGED_SAMPLE", "sample_data_dir"]
