"""What a model is, apart from how PyMC builds it (bambi's spec / backend split).

A :class:`ModelSpec` holds a model's aggregated data (sufficient statistics per cell), its
coordinates and a few scalars. ``build_model()`` turns it into a PyMC graph; the same spec is
saved beside the posterior so a loaded fit is self-describing and can be rebuilt.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr


@dataclass(frozen=True)
class ModelSpec:
    """Aggregated data of one model.

    Attributes
    ----------
    coords : dict of str to tuple
        Named coordinates (e.g. ``partner``, ``partner_type``, ``stage``, ``quarter``).
    data : dict of str to numpy.ndarray
        Arrays of sufficient statistics and indices into the coordinates.
    dims : dict of str to tuple of str
        Dimension names of each array in ``data`` (row dimensions such as ``cell`` need no
        coordinate).
    meta : dict
        JSON-able scalars the model needs (e.g. ``q_center``, the last complete quarter).
    """

    coords: dict[str, tuple[Any, ...]]
    data: dict[str, np.ndarray]
    dims: dict[str, tuple[str, ...]]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, arr in self.data.items():
            d = self.dims.get(name)
            if d is None or len(d) != np.ndim(arr):
                raise ValueError(f"spec array {name!r} has {np.ndim(arr)} dims, dims says {d}")

    @property
    def fingerprint(self) -> str:
        """Hash of every array, coordinate and scalar (what the fit depends on)."""
        h = hashlib.sha256()
        h.update(json.dumps({k: [str(v) for v in c] for k, c in self.coords.items()},
                            sort_keys=True).encode())
        h.update(json.dumps(self.meta, sort_keys=True, default=str).encode())
        for name in sorted(self.data):
            arr = np.ascontiguousarray(self.data[name])
            h.update(name.encode())
            h.update(str(arr.dtype).encode())
            h.update(str(arr.shape).encode())
            h.update(arr.tobytes())
        return h.hexdigest()[:16]

    def size(self, dim: str) -> int:
        """Length of a dimension (a coordinate or a row dimension of the data)."""
        if dim in self.coords:
            return len(self.coords[dim])
        for name, d in self.dims.items():
            if dim in d:
                return int(np.shape(self.data[name])[d.index(dim)])
        raise KeyError(dim)

    def to_dataset(self) -> xr.Dataset:
        """The spec as an xarray Dataset (coordinates, arrays, ``meta`` as JSON attr)."""
        coords = {k: np.asarray([str(v) for v in c]) for k, c in self.coords.items()}
        ds = xr.Dataset({k: (self.dims[k], np.asarray(v)) for k, v in self.data.items()})
        ds = ds.assign_coords({k: (f"{k}", v) for k, v in coords.items()})
        ds.attrs["meta"] = json.dumps(self.meta, sort_keys=True, default=str)
        ds.attrs["coord_names"] = json.dumps(list(self.coords))
        return ds

    @classmethod
    def from_dataset(cls, ds: xr.Dataset) -> ModelSpec:
        """Inverse of :meth:`to_dataset` (coordinate labels come back as ``str``)."""
        names = json.loads(ds.attrs.get("coord_names", "[]"))
        coords = {k: tuple(str(v) for v in ds.coords[k].values) for k in names}
        data = {str(k): np.asarray(v.values) for k, v in ds.data_vars.items()}
        dims = {str(k): tuple(str(d) for d in v.dims) for k, v in ds.data_vars.items()}
        return cls(coords=coords, data=data, dims=dims, meta=json.loads(ds.attrs.get("meta", "{}")))


__all__ = ["ModelSpec"]
