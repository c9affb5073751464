"""Segments of the forecast: which output column each simulated deal's ARR is added to."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from partner_forecast.data.schema import REVENUE_MOTIONS, ROLES, normalise_label
from partner_forecast.simulate.inputs import SimulationInputs

SEGMENT_KEYS: tuple[str, ...] = ("total", "partner_type", "tier", "partner", "partner_role",
                                 "revenue_motion", "region")


@dataclass(frozen=True)
class SegmentSpec:
    """A partition of deals into ``G`` labelled segments.

    Attributes
    ----------
    key : str
        What the segments are (``"total"``, ``"partner_type"``, ...); informative only.
    labels : tuple of str
        (G,) segment labels, in output order.
    open_codes : numpy.ndarray
        (N,) int, segment of each open deal (rows of ``inputs.open_deals``).
    new_codes : numpy.ndarray
        (P, R) int, segment of a new deal of partner ``p`` in role ``r`` (roles in ``ROLES``).
    """

    key: str
    labels: tuple[str, ...]
    open_codes: np.ndarray
    new_codes: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "open_codes", np.asarray(self.open_codes, dtype=np.int64))
        object.__setattr__(self, "new_codes", np.asarray(self.new_codes, dtype=np.int64))
        G = len(self.labels)
        for name in ("open_codes", "new_codes"):
            codes = getattr(self, name)
            if codes.size and (codes.min() < 0 or codes.max() >= G):
                raise ValueError(f"SegmentSpec.{name} must lie in [0, {G}) for {G} labels")

    @property
    def n_segments(self) -> int:
        """Number of segments G."""
        return len(self.labels)

    def check(self, inputs: SimulationInputs) -> SegmentSpec:
        """Raise ``ValueError`` unless the codes match ``inputs`` (N open deals, P partners)."""
        N, P = len(inputs.open_deals), len(inputs.partner_ids)
        if self.open_codes.shape != (N,):
            raise ValueError(f"SegmentSpec.open_codes has shape {self.open_codes.shape}, expected ({N},)")
        if self.new_codes.shape != (P, len(ROLES)):
            raise ValueError(f"SegmentSpec.new_codes has shape {self.new_codes.shape}, "
                             f"expected ({P}, {len(ROLES)})")
        return self

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def total(cls, inputs: SimulationInputs) -> SegmentSpec:
        """One segment, ``"total"``."""
        N, P = len(inputs.open_deals), len(inputs.partner_ids)
        return cls("total", ("total",), np.zeros(N, np.int64), np.zeros((P, len(ROLES)), np.int64))

    @classmethod
    def by(cls, inputs: SimulationInputs, key: str, *,
           partner_motion: npt.ArrayLike | None = None,
           partner_region: npt.ArrayLike | None = None) -> SegmentSpec:
        """Segments by a deal dimension.

        Parameters
        ----------
        inputs : SimulationInputs
            The open deals and partners to classify.
        key : str
            ``total``, ``partner_type``, ``tier``, ``partner`` (one segment per partner id),
            ``partner_role`` or ``revenue_motion``.
        partner_motion : array_like of str, shape (P,), optional
            Required for ``revenue_motion``: each partner's dominant revenue motion. New deals
            (whose motion the models do not simulate) are assigned their partner's motion; open
            deals use their own ``revenue_motion`` column when ``open_deals`` has one, else
            their partner's motion too.
        partner_region : array_like of str, shape (P,), optional
            Required for ``region``: each partner's region (deals take their partner's).

        Returns
        -------
        SegmentSpec
        """
        key = normalise_label(key)
        open_deals = inputs.open_deals
        partner = open_deals["partner"].to_numpy(dtype=np.int64)
        P, R = len(inputs.partner_ids), len(ROLES)
        per_partner: np.ndarray
        if key == "total":
            return cls.total(inputs)
        if key == "partner_type":
            labels = tuple(inputs.types)
            per_partner = np.asarray(inputs.partner_type, dtype=np.int64)
        elif key == "tier":
            labels = tuple(inputs.tiers)
            per_partner = np.asarray(inputs.partner_tier, dtype=np.int64)
        elif key == "partner":
            labels = tuple(str(x) for x in inputs.partner_ids)
            per_partner = np.arange(P, dtype=np.int64)
        elif key == "partner_role":
            role = open_deals["role"].to_numpy(dtype=np.int64)
            return cls(key, ROLES, role, np.broadcast_to(np.arange(R), (P, R)).copy())
        elif key == "revenue_motion":
            if partner_motion is None:
                raise ValueError("segments by revenue_motion need partner_motion: (P,) the "
                                 "dominant motion of each partner, used for new deals")
            labels = REVENUE_MOTIONS
            per_partner = _motion_codes(partner_motion, "partner_motion")
            if per_partner.shape != (P,):
                raise ValueError(f"partner_motion must have shape ({P},)")
            if "revenue_motion" in open_deals.columns:
                open_codes = _motion_codes(open_deals["revenue_motion"].to_numpy(), "revenue_motion",
                                           fallback=per_partner[partner])
            else:
                open_codes = per_partner[partner]
            return cls(key, labels, open_codes, np.repeat(per_partner[:, None], R, axis=1))
        elif key == "region":
            if partner_region is None:
                raise ValueError("segments by region need partner_region: (P,) each partner's region")
            regions = np.asarray(partner_region, dtype=object).astype(str)
            if regions.shape != (P,):
                raise ValueError(f"partner_region must have shape ({P},)")
            labels = tuple(sorted(set(regions)))
            per_partner = np.array([labels.index(r) for r in regions], dtype=np.int64)
        else:
            raise ValueError(f"unknown segment key {key!r}; expected one of {', '.join(SEGMENT_KEYS)}")
        return cls(key, labels, per_partner[partner], np.repeat(per_partner[:, None], R, axis=1))


def _motion_codes(values: npt.ArrayLike, name: str, fallback: np.ndarray | None = None) -> np.ndarray:
    """Indices into REVENUE_MOTIONS (labels matched loosely; missing -> ``fallback``)."""
    arr = np.asarray(values, dtype=object)
    if arr.size and all(isinstance(v, (int, np.integer)) for v in arr):
        return arr.astype(np.int64)
    index = {m: i for i, m in enumerate(REVENUE_MOTIONS)}
    out = np.empty(arr.shape, dtype=np.int64)
    for i, v in enumerate(arr):
        if pd.isna(v):
            if fallback is None:
                raise ValueError(f"{name}: missing revenue motion at position {i}")
            out[i] = fallback[i]
            continue
        label = normalise_label(v)
        if label not in index:
            raise ValueError(f"{name}: unknown revenue motion {v!r} at position {i}; "
                             f"expected one of {', '.join(REVENUE_MOTIONS)}")
        out[i] = index[label]
    return out


__all__ = ["SEGMENT_KEYS", "SegmentSpec"]
