"""The saved fit: one self-describing file per model, and what identifies it.

A fit is saved as an ArviZ :class:`xarray.DataTree` (zarr inside a zip file, written
atomically) with groups ``posterior``, ``sample_stats`` (divergences) and ``spec`` (the
aggregated data), stamped in ``attrs`` (:meth:`~partner_forecast.models.base.PartnerModel.stamp`)
with the model's name, :data:`FORMAT_VERSION`, the model's ``version``, the config hash, the
data fingerprint (:func:`export_fingerprint`) and the diagnostics. Loading checks the stamp
(:func:`check_stamp`): a file of another format or model version, config or data is refused
with a :class:`~partner_forecast.models.errors.ModelMismatchError` (the workspace then refits).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import xarray as xr

from partner_forecast.data.export import Export
from partner_forecast.data.schema import NOT_MODEL_INPUTS
from partner_forecast.models.errors import ModelMismatchError

FORMAT_VERSION = 2
"""Version of the saved file's layout: its groups and stamp attributes. Bump it when they
change; a file of another format version is never loaded (1: stamped with a hash of the
models' source; 2: stamped with each model's own ``version``)."""
POSTERIOR_SUFFIX = ".zarr.zip"
"""File name ending of a saved fit."""

def export_fingerprint(export: Export) -> str:
    """Fingerprint of what a fit depends on in the data.

    :attr:`Export.fingerprint` (source files' bytes + as-of date) for an export read from
    disk; for one built in memory (no source files), a hash of its tables' content.
    """
    if export.source_fingerprint:
        return export.fingerprint
    h = hashlib.sha256(export.fingerprint.encode())
    for name, frame in export.tables().items():
        if name in NOT_MODEL_INPUTS:  # e.g. the team's calls: a new call leaves fits valid
            continue
        h.update(name.encode())
        if len(frame):
            h.update(pd.util.hash_pandas_object(frame.astype(str), index=False).to_numpy().tobytes())
    return h.hexdigest()[:16]


def check_stamp(path: Path, attrs: dict[str, str], expected: dict[str, str | None],
                problems: Sequence[str] = ()) -> None:
    """Raise :class:`ModelMismatchError` unless the stamp ``attrs`` carries every expected value.

    Parameters
    ----------
    path : Path
        The file the stamp was read from (named in the message).
    attrs : dict
        The file's stamp.
    expected : dict
        Stamp key -> the value the caller needs (``None``: not checked). The message names each
        key that differs with the found and the expected value.
    problems : sequence of str
        Problems found already (listed first).
    """
    problems = [*problems, *(f"{key} is {attrs.get(key)!r}, expected {value!r}"
                             for key, value in expected.items()
                             if value is not None and attrs.get(key) != value)]
    if problems:
        raise ModelMismatchError(
            f"{path}: saved posterior does not match and will not be used: "
            + "; ".join(problems) + ". Refit (partner-forecast fit) to replace it.")


def write_tree(tree: xr.DataTree, path: str | Path) -> Path:
    """Write a DataTree as zarr inside a zip file, atomically (temp file + ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pf-zarr-", dir=path.parent) as tmp:
        store = Path(tmp) / "tree.zarr"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree.to_zarr(store, consolidated=False)
        fd, tmp_zip = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp_zip, "w", compression=zipfile.ZIP_STORED) as zf:
                for f in sorted(store.rglob("*")):
                    if f.is_file():
                        zf.write(f, f.relative_to(store).as_posix())
            os.replace(tmp_zip, path)
        except BaseException:
            Path(tmp_zip).unlink(missing_ok=True)
            raise
    return path


def read_tree(path: str | Path) -> xr.DataTree:
    """Read a DataTree written by :func:`write_tree` fully into memory."""
    from zarr.storage import ZipStore

    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with ZipStore(path, mode="r") as store:
                # the zarr engine opens a zarr store; xarray's annotation lists only paths/buffers
                tree = xr.open_datatree(store, engine="zarr", consolidated=False)  # type: ignore[arg-type]
                tree.load()
        except (zipfile.BadZipFile, FileNotFoundError, KeyError, ValueError) as exc:
            raise ModelMismatchError(f"{path}: not a readable saved posterior ({exc})") from None
    return tree



__all__ = ["FORMAT_VERSION", "POSTERIOR_SUFFIX", "export_fingerprint", "check_stamp", "write_tree",
           "read_tree"]
