"""A saved fit committed to the repository still loads and forecasts the same numbers.

``tests/golden/`` holds the tiny export and the five models fitted on it with a tiny sampler
(``tests/golden/regenerate.py`` writes both). The fit is fixed, so a seeded forecast from it is
a fixed number: any change to loading (the stamp, the format), to turning posteriors into
simulation inputs or to the engine that moves the pinned quantiles is caught here. When a
model's ``version`` or ``FORMAT_VERSION`` is bumped on purpose, the fit no longer loads:
regenerate it and pin the figures the script prints.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from partner_forecast.config import load_settings
from partner_forecast.data.export import Export, load_export
from partner_forecast.models import MODEL_CLASSES, FittedModels
from partner_forecast.models.saved import POSTERIOR_SUFFIX, export_fingerprint
from partner_forecast.posterior.inputs import simulation_inputs
from partner_forecast.simulate import simulate

GOLDEN = Path(__file__).parent / "golden"
QUARTERS = ("2026Q3", "2026Q4", "2027Q1")
N_DRAWS, SEED = 400, 20260929
PINNED: dict[str, float] = {
    "2026Q3 attributed mean": 4485.0,
    "2026Q3 attributed p10": 0.0,
    "2026Q3 attributed p50": 0.0,
    "2026Q3 attributed p90": 0.0,
    "2026Q4 attributed mean": 104748.64396484375,
    "2026Q4 attributed p10": 0.0,
    "2026Q4 attributed p50": 120000.0,
    "2026Q4 attributed p90": 195056.403125,
    "2027Q1 attributed mean": 75443.62887451172,
    "2027Q1 attributed p10": 0.0,
    "2027Q1 attributed p50": 52641.05859375,
    "2027Q1 attributed p90": 181586.8203125001,
}
"""Partner-attributed ARR won (currency per year) per quarter: mean and quantiles over draws."""


def golden_fits(export: Export) -> FittedModels:
    """The committed fits, loaded as a forecast loads them (stamp and data checked)."""
    fp = export_fingerprint(export)
    return FittedModels(**{cls.name: cls.load(GOLDEN / "fits" / f"{cls.name}{POSTERIOR_SUFFIX}",
                                              data_fingerprint=fp)
                           for cls in MODEL_CLASSES})


def golden_quantiles() -> dict[str, float]:
    """Mean, P10, P50 and P90 of the attributed ARR of :data:`QUARTERS` from the golden fit."""
    export = load_export(GOLDEN / "export")
    inputs = simulation_inputs(golden_fits(export), export, load_settings(), QUARTERS, N_DRAWS,
                               SEED)
    total = simulate(inputs, seed=SEED).attributed.sum(axis=2, dtype=np.float64)  # (D, H)
    out = {}
    for h, q in enumerate(QUARTERS):
        out[f"{q} attributed mean"] = float(total[:, h].mean())
        for p in (10, 50, 90):
            out[f"{q} attributed p{p}"] = float(np.quantile(total[:, h], p / 100))
    return out


def test_the_golden_fit_loads_and_forecasts_its_pinned_quantiles():
    got = golden_quantiles()
    assert list(got) == list(PINNED)
    for key, value in PINNED.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-6), key
    assert len({round(v, 3) for v in got.values()}) > 1  # a forecast, not all zeros


def test_the_golden_files_stay_small():
    files = [p for p in GOLDEN.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 1_000_000
    assert sorted(p.name for p in (GOLDEN / "fits").iterdir()) == sorted(
        f"{cls.name}{POSTERIOR_SUFFIX}" for cls in MODEL_CLASSES)
