"""Fitted models without MCMC for the report, spreadsheet and docs tests.

:data:`FAKE_MODELS` is a :class:`~partner_forecast.testing.fits.DegenerateModels` source: a
degenerate posterior (DOMAIN.md's 100-seller example, pool sized to the view's sellers per
partner) over the export's own partners (ids, types, tiers, so scenario selectors find them)
whose open pipeline is the view's open deals; it offers no ``posterior_activation`` /
``conversion_curves`` (the report then falls back to raw ASR with Wilson intervals and to the
learned stage table) unless built with ``activation=`` / ``curves=`` frames
(:func:`fake_models`). Pass it as ``models=`` or, to the CLI, as
``CliRunner().invoke(main, args, obj={"models": FAKE_MODELS})``.

:func:`fake_fit_workspace` goes through the real models instead: it saves the library's fake
fits (the real posterior variables and dims, seeded values, no sampling) into a workspace under
the keys ``fit_all`` looks up, so ``forecast``, ``report`` and the variance review load them as
cached fits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.sample import generate_sample
from partner_forecast.testing.fits import DegenerateModels

SMALL_SAMPLE = {"partners": 12, "quarters": 6, "seed": 3}
"""2024Q1-2025Q2, as of 2025-07-01 (six complete quarters, targets and company figures)."""


def fake_models(cls: type[DegenerateModels] = DegenerateModels, **kwargs: Any) -> DegenerateModels:
    """The report tests' fake models, of ``cls``; ``kwargs`` add to or override their settings."""
    settings: dict[str, Any] = {"open_deals": True, "own_partners": True, "pool": "sellers_per_partner",
                                "opp_per_active": 0.3, "duration_days": 25.0, "time_sigma": 0.8}
    return cls(**(settings | kwargs))


FAKE_MODELS = fake_models()
"""The fake models of the report tests (no summaries)."""


def small_sample(folder: Path) -> Path:
    """Generate (once per folder) the small sample export and return its folder."""
    if not (folder / "opportunities.csv").exists():
        generate_sample(folder, **SMALL_SAMPLE)
    return folder


def fake_fit_workspace(data: Path, workspace: Path, cuts: tuple[pd.Timestamp, ...] | None = None,
                       config: Path | None = None) -> Path:
    """Save fake fits of the export at ``data`` as of each cut into ``workspace``; return it.

    Default cuts: the export's default as-of (the report's forecast) and the start of the last
    closed quarter before it (the variance review's forecast).
    """
    from partner_forecast.config import load_settings
    from partner_forecast.data.export import load_export
    from partner_forecast.models import MODEL_CLASSES
    from partner_forecast.testing.fake_fit import fake_fit
    from partner_forecast.workspace import Workspace, data_fingerprint

    export = load_export(data)
    settings = load_settings(config)
    if cuts is None:
        current = Quarter.containing(export.default_as_of, settings.calendar.fiscal_year_start_month)
        cuts = (export.default_as_of, (current - 1).start)
    ws = Workspace(Path(workspace))
    for cut in cuts:
        view = export.as_of(cut)
        fp = data_fingerprint(view)
        for i, cls in enumerate(MODEL_CLASSES):
            path = ws.path(cls, fp, settings)
            if not path.exists():
                fake_fit(cls.from_export(view, settings, data_fingerprint=fp), seed=i).save(path)
    return Path(workspace)
