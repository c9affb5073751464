"""Hatch build hook: ship ``data/sample`` inside the wheel as gzipped CSV.

The repository keeps the sample export as plain CSV in ``data/sample`` (the source, ~16 MB);
a wheel carries each contract file gzipped (~4x smaller on disk) as
``partner_forecast/_sample/<table>.csv.gz``, which the loader reads directly, plus the
generator's ``truth.json``. Compression is deterministic (no file name or time stamp in the gzip
header), so the same sample gives byte-identical wheels. Editable installs skip the hook: they
use ``data/sample`` through :mod:`partner_forecast.sample_data`.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SAMPLE = Path("data") / "sample"
TARGET = "partner_forecast/_sample"


class SampleDataHook(BuildHookInterface):
    """Gzip the sample's CSV files into a temporary folder and force-include them."""

    PLUGIN_NAME = "sample-data"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:  # noqa: D102
        if self.target_name != "wheel" or version == "editable":
            return
        source = Path(self.root) / SAMPLE
        files = sorted(source.glob("*.csv"))
        if not files:
            raise RuntimeError(f"{source} holds no CSV files: the wheel needs the sample export "
                               "(`make sample` writes it)")
        self._tmp = Path(tempfile.mkdtemp(prefix="pf-sample-"))
        for csv in files:
            out = self._tmp / f"{csv.name}.gz"
            with csv.open("rb") as src, out.open("wb") as raw, \
                    gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                  compresslevel=9) as dst:
                shutil.copyfileobj(src, dst)
            build_data["force_include"][str(out)] = f"{TARGET}/{out.name}"
        truth = source / "truth.json"
        if truth.is_file():
            build_data["force_include"][str(truth)] = f"{TARGET}/truth.json"

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:  # noqa: D102
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
