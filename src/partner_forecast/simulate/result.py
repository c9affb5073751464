"""The output of :func:`~partner_forecast.simulate.simulate`: ARR draws and driver totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from partner_forecast.calendar import Quarter

ARR_FIELDS: tuple[str, ...] = ("attributed_open", "attributed_new", "gross_open", "gross_new",
                               "committed", "upside", "marketplace", "expansion")
"""Stored (D, H, G) arrays."""
MEASURES: tuple[str, ...] = ("attributed", "attributed_open", "attributed_new", "gross",
                             "gross_open", "gross_new", "committed", "upside", "marketplace",
                             "expansion")
"""Measures available from :meth:`SimulationResult.measure` (stored ones + open/new sums)."""
DRIVERS: tuple[str, ...] = ("new_active_sellers", "new_opportunities", "new_won_deals",
                            "new_won_arr", "open_won_deals", "open_lost_deals", "open_still_open",
                            "open_won_arr")
"""Driver totals per draw and quarter (see :class:`SimulationResult`)."""


def quantile_label(q: float) -> str:
    """Column name of quantile ``q``: 0.1 -> ``p10``, 0.025 -> ``p2.5`` (one rule everywhere)."""
    return f"p{round(100.0 * q, 6):g}"


@dataclass(frozen=True, eq=False)
class OpenPipelinePart:
    """The open pipeline's share of a run, kept for scenarios that leave it unchanged.

    The engine accumulates the open and the new pipeline separately, so a scenario whose
    changes cannot reach the open deals (e.g. activation, productivity, sellers, deal size,
    recruits) reuses these arrays instead of walking every open deal again, and gets exactly
    what a full run would give (see ``simulate(reuse=...)``).

    Attributes
    ----------
    fingerprint : str
        Digest of everything the open pipeline reads (run key, draws, open deals, segments,
        calendar, the parameters and the levers of their partners).
    acc : numpy.ndarray
        (D, H, G, 5) float64 open-pipeline accumulators (attributed, gross, committed,
        marketplace, expansion ARR; currency per year).
    drv : numpy.ndarray
        (D, J, 3) float64 open-pipeline driver totals by calendar quarter (won, lost, won ARR).
    wins : numpy.ndarray
        (N, H) int64 draws in which each open deal is won in each quarter.
    """

    fingerprint: str
    acc: np.ndarray
    drv: np.ndarray
    wins: np.ndarray


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """Simulated partner ARR per posterior draw, forecast quarter and segment.

    All ARR arrays are float32 of shape (D, H, G): draws, ``quarters``, ``segments``; values
    are ARR won in that quarter (currency per year).

    Attributes
    ----------
    quarters : tuple of Quarter
        (H,) forecast quarters.
    segment_key : str
        What the segments are (``total``, ``partner_type``, ...).
    segments : tuple of str
        (G,) segment labels.
    attributed_open, attributed_new : numpy.ndarray
        Partner-attributed ARR (ARR x attribution weight) won from the open pipeline / from
        pipeline created after as-of.
    gross_open, gross_new : numpy.ndarray
        The same, unweighted (full deal ARR).
    committed, upside : numpy.ndarray
        Open deals only: attributed won ARR x commit_factor and x (1 - commit_factor)
        (DOMAIN.md section 6); ``committed + upside == attributed_open`` up to float32 rounding.
    marketplace, expansion : numpy.ndarray
        Attributed won ARR of marketplace / expansion deals (open + new).
    deal_ids : numpy.ndarray
        (N,) opportunity ids of the open deals.
    deal_win_probability : numpy.ndarray
        (N, H) share of draws in which each open deal is won in each quarter.
    drivers : dict of str to numpy.ndarray
        (D, H) float64 totals over all partners, for variance reviews: ``new_active_sellers``
        and ``new_opportunities`` (by quarter of creation), ``new_won_deals``, ``new_won_arr``
        (gross ARR, by win quarter), ``open_won_deals``, ``open_lost_deals``,
        ``open_won_arr`` (gross, by close quarter) and ``open_still_open`` (open deals not
        closed by the quarter's end).
    seed_key : int
        The 64-bit key all random numbers were derived from.
    open_part : OpenPipelinePart or None
        The open pipeline's accumulators, when the run was asked to keep them
        (``simulate(keep_open=True)``), for scenarios to reuse.
    pace_quarter : Quarter or None
        The quarter whose wins were also kept by day (``simulate(pace_quarter=...)``).
    pace : numpy.ndarray or None
        (D, days of ``pace_quarter``) float64 partner-attributed ARR won per draw and day of
        that quarter, all segments, open + new pipeline (day 0 is the quarter's first day;
        days before as-of hold 0). Summed over days it is ``attributed[:, h].sum(-1)`` of that
        quarter (up to float32 rounding of the latter).
    """

    quarters: tuple[Quarter, ...]
    segment_key: str
    segments: tuple[str, ...]
    attributed_open: np.ndarray
    attributed_new: np.ndarray
    gross_open: np.ndarray
    gross_new: np.ndarray
    committed: np.ndarray
    upside: np.ndarray
    marketplace: np.ndarray
    expansion: np.ndarray
    deal_ids: np.ndarray
    deal_win_probability: np.ndarray
    drivers: dict[str, np.ndarray]
    seed_key: int
    open_part: OpenPipelinePart | None = field(default=None, repr=False)
    pace_quarter: Quarter | None = None
    pace: np.ndarray | None = field(default=None, repr=False)

    # -- shapes ------------------------------------------------------------------------------
    @property
    def n_draws(self) -> int:
        """Number of draws D."""
        return int(self.attributed_open.shape[0])

    @property
    def attributed(self) -> np.ndarray:
        """(D, H, G) partner-attributed ARR won, open + new pipeline."""
        return self.attributed_open + self.attributed_new

    @property
    def gross(self) -> np.ndarray:
        """(D, H, G) gross ARR won, open + new pipeline."""
        return self.gross_open + self.gross_new

    def measure(self, name: str) -> np.ndarray:
        """The (D, H, G) array of a measure in :data:`MEASURES`."""
        if name not in MEASURES:
            raise ValueError(f"unknown measure {name!r}; expected one of {', '.join(MEASURES)}")
        return getattr(self, name)

    # -- views -------------------------------------------------------------------------------
    def total(self) -> SimulationResult:
        """The same result with all segments summed into one, ``"total"``."""
        summed = {f: getattr(self, f).sum(axis=2, keepdims=True, dtype=np.float64).astype(np.float32)
                  for f in ARR_FIELDS}
        return replace(self, segment_key="total", segments=("total",), open_part=None, **summed)

    def quantiles(self, q: Sequence[float] = (0.1, 0.5, 0.9),
                  measures: Sequence[str] | None = None) -> pd.DataFrame:
        """Tidy quantiles over draws.

        Parameters
        ----------
        q : sequence of float
            Probabilities in [0, 1]; columns are named by :func:`quantile_label` (``p10`` ...).
        measures : sequence of str, optional
            Measures from :data:`MEASURES` (default all).

        Returns
        -------
        pandas.DataFrame
            One row per (quarter, segment, measure): columns quarter (label), segment,
            measure, one column per quantile, mean (ARR, currency per year).
        """
        qs = np.asarray(q, dtype=np.float64)
        if qs.ndim != 1 or np.any((qs < 0) | (qs > 1)):
            raise ValueError("quantile probabilities must be a sequence in [0, 1]")
        names = list(MEASURES if measures is None else measures)
        H, G = len(self.quarters), len(self.segments)
        frames = []
        for name in names:
            arr = self.measure(name)
            quant = np.quantile(arr, qs, axis=0).astype(np.float64)  # (Q, H, G)
            frame = {
                "quarter": np.repeat([str(x) for x in self.quarters], G),
                "segment": np.tile(np.asarray(self.segments, dtype=object), H),
                "measure": np.full(H * G, name, dtype=object),
            }
            for k, qq in enumerate(qs):
                frame[quantile_label(float(qq))] = quant[k].reshape(H * G)
            frame["mean"] = arr.mean(axis=0, dtype=np.float64).reshape(H * G)
            frames.append(pd.DataFrame(frame))
        out = pd.concat(frames, ignore_index=True)
        for col in ("quarter", "segment", "measure"):
            out[col] = out[col].astype("str")
        return out

    def driver_means(self) -> pd.DataFrame:
        """Mean of each driver over draws: one row per quarter, one column per driver."""
        data = {name: self.drivers[name].mean(axis=0) for name in DRIVERS}
        frame = pd.DataFrame(data)
        frame.insert(0, "quarter", pd.Series([str(x) for x in self.quarters], dtype="str"))
        return frame

    def driver_quantiles(self, q: Sequence[float] = (0.1, 0.5, 0.9)) -> pd.DataFrame:
        """Tidy quantiles of the drivers: quarter, driver, ``p10``..., mean."""
        qs = np.asarray(q, dtype=np.float64)
        rows = []
        for name in DRIVERS:
            arr = self.drivers[name]
            quant = np.quantile(arr, qs, axis=0)
            for h, quarter in enumerate(self.quarters):
                row: dict[str, object] = {"quarter": str(quarter), "driver": name}
                for k, qq in enumerate(qs):
                    row[quantile_label(float(qq))] = float(quant[k, h])
                row["mean"] = float(arr[:, h].mean())
                rows.append(row)
        out = pd.DataFrame(rows)
        for col in ("quarter", "driver"):
            out[col] = out[col].astype("str")
        return out

    def deal_probabilities(self) -> pd.DataFrame:
        """Per open deal: probability of closing won in each quarter and over the horizon.

        Columns: opportunity_id, one per quarter label, ``horizon`` (their sum).
        """
        frame = pd.DataFrame(self.deal_win_probability,
                             columns=[str(x) for x in self.quarters])
        frame.insert(0, "opportunity_id", pd.Series(self.deal_ids, dtype="str"))
        frame["horizon"] = self.deal_win_probability.sum(axis=1)
        return frame


__all__ = ["ARR_FIELDS", "DRIVERS", "MEASURES", "OpenPipelinePart", "SimulationResult",
           "quantile_label"]
