"""Sampler diagnostics per fit: divergences, max R-hat, min bulk/tail ESS.

Computed over every scalar of the posterior (group effects included, so a badly mixing
partner effect shows), compared with the ``[sampler]`` thresholds (``max_rhat``, ``min_ess``,
``max_divergences``) and stored with the posterior. A fit that fails them prints a loud warning
on stderr, and its messages travel into ``SimulationInputs.warnings``.

R-hat is the rank-normalised split R-hat (max of bulk and folded), ESS the bulk and tail
(5%/95% quantile) ESS of Vehtari et al. (2021), computed exactly as ``arviz_stats.rhat`` /
``arviz_stats.ess`` do, but vectorised over all scalars at once: arviz_stats loops in Python
per scalar, which took ~60 s for the activation model's ~3,200 scalars (2 chains x 1,000
draws) against well under a second here. ``tests/test_models_structure.py`` checks the two
agree.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from scipy.fft import next_fast_len
from scipy.special import ndtri

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Diagnostics:
    """Convergence diagnostics and cost of one fit.

    Attributes
    ----------
    model : str
    chains, draws : int
        Chains and kept draws per chain.
    divergences : int
        Divergent transitions after tuning.
    max_rhat : float
        Largest rank-normalised split R-hat over all scalar parameters (NaN if undefined).
    min_ess_bulk, min_ess_tail : float
        Smallest bulk / tail effective sample size.
    worst_rhat, worst_ess : str
        Variable holding the largest R-hat / the smallest bulk ESS.
    parameters : int
        Number of scalar parameters in the posterior.
    cells : int
        Rows of aggregated data the likelihood is evaluated on.
    compile_seconds, sample_seconds : float
        Wall time building and compiling the model vs drawing samples.
    sampler : str
        ``nutpie`` or ``pymc``.
    mean_steps : float
        Mean leapfrog steps per draw (gradient evaluations; a deep-tree sign of hard geometry).
    failures : tuple of str
        One message per failed threshold (empty when the fit passes).
    attempts : int
        Sampler runs made (retries after failed diagnostics included).
    settings_used : str
        Sampler settings and parametrisation of the kept attempt.
    """

    model: str
    chains: int
    draws: int
    divergences: int
    max_rhat: float
    min_ess_bulk: float
    min_ess_tail: float
    worst_rhat: str
    worst_ess: str
    parameters: int
    cells: int
    compile_seconds: float
    sample_seconds: float
    sampler: str
    mean_steps: float = math.nan
    failures: tuple[str, ...] = field(default_factory=tuple)
    attempts: int = 1
    settings_used: str = ""

    @property
    def ok(self) -> bool:
        """Whether every threshold passed."""
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (NaN kept as None)."""
        d = asdict(self)
        d["failures"] = list(self.failures)
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in d.items()}

    def judged(self, *, max_rhat: float, min_ess: float, max_divergences: int) -> Diagnostics:
        """A copy whose ``failures`` compare these figures with the given thresholds.

        R-hat is only judged with 2 or more chains (NaN otherwise).
        """
        m = self.model
        failures = []
        if self.divergences > max_divergences:
            failures.append(f"{m}: {self.divergences} divergent transitions "
                            f"(allowed {max_divergences})")
        if not math.isnan(self.max_rhat) and self.max_rhat > max_rhat:
            failures.append(f"{m}: max R-hat {self.max_rhat:.3f} on {self.worst_rhat} "
                            f"(allowed {max_rhat})")
        if not math.isnan(self.min_ess_bulk) and self.min_ess_bulk < min_ess:
            failures.append(f"{m}: min bulk ESS {self.min_ess_bulk:.0f} on {self.worst_ess} "
                            f"(needed {min_ess:g})")
        if not math.isnan(self.min_ess_tail) and self.min_ess_tail < min_ess:
            failures.append(f"{m}: min tail ESS {self.min_ess_tail:.0f} (needed {min_ess:g})")
        return replace(self, failures=tuple(failures))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Diagnostics:
        """Inverse of :meth:`to_dict`."""
        d = dict(d)
        for k in ("max_rhat", "min_ess_bulk", "min_ess_tail", "compile_seconds", "sample_seconds",
                  "mean_steps"):
            d[k] = float("nan") if d.get(k) is None else float(d[k])
        d["failures"] = tuple(d.get("failures", ()))
        return cls(**d)


# -- vectorised rank-normalised R-hat and ESS; ``x`` has shape (scalars, chains, draws) ------
def _split_chains(x: np.ndarray) -> np.ndarray:
    half = x.shape[-1] // 2
    return np.concatenate([x[..., :half], x[..., -half:]], axis=1)


def _average_ranks(flat: np.ndarray) -> np.ndarray:
    """Ranks (1-based, ties averaged) along the last axis of a 2-D array, vectorised."""
    rows, n = flat.shape
    order = np.argsort(flat, axis=1)  # ties are averaged, so a stable sort is not needed
    ordered = np.take_along_axis(flat, order, axis=1)
    pos = np.broadcast_to(np.arange(n), (rows, n))
    starts = np.ones((rows, n), dtype=bool)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ends = np.ones((rows, n), dtype=bool)
    ends[:, :-1] = starts[:, 1:]
    first = np.maximum.accumulate(np.where(starts, pos, 0), axis=1)
    last = np.minimum.accumulate(np.where(ends, pos, n)[:, ::-1], axis=1)[:, ::-1]
    ranks = np.empty((rows, n))
    np.put_along_axis(ranks, order, (first + last) / 2.0 + 1.0, axis=1)
    return ranks


def _z_scale(x: np.ndarray) -> np.ndarray:
    flat = x.reshape(x.shape[0], -1)
    n = flat.shape[1]
    # Average ranks are multiples of 1/2 in [1, n]: look the normal quantiles up in a table.
    table = ndtri((np.arange(2 * n + 1) / 2.0 - 3 / 8) / (n - 2 * 3 / 8 + 1))
    return table[np.rint(2.0 * _average_ranks(flat)).astype(np.int64)].reshape(x.shape)


def _rhat(x: np.ndarray) -> np.ndarray:
    n = x.shape[-1]
    between = n * np.var(x.mean(axis=-1), axis=1, ddof=1)
    within = np.mean(np.var(x, axis=-1, ddof=1), axis=1)
    return np.sqrt((between / within + n - 1) / n)


def rhat_rank(x: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat per scalar (``arviz_stats.rhat(method="rank")``)."""
    split = _split_chains(np.asarray(x, dtype=float))
    folded = np.abs(split - np.median(split.reshape(split.shape[0], -1), axis=1)[:, None, None])
    return np.maximum(_rhat(_z_scale(split)), _rhat(_z_scale(folded)))


def _autocov(x: np.ndarray) -> np.ndarray:
    n = x.shape[-1]
    m = next_fast_len(2 * n)
    x = x - x.mean(axis=-1, keepdims=True)
    f = np.fft.rfft(x, n=m, axis=-1)
    return np.fft.irfft(f * np.conjugate(f), n=m, axis=-1)[..., :n] / n


def _ess(x: np.ndarray) -> np.ndarray:
    """Geyer-truncated ESS per scalar, the same steps as arviz_stats ``_ess``, vectorised."""
    x = np.asarray(x, dtype=float)
    V, C, N = x.shape
    flat = x.reshape(V, -1)
    constant = (flat.max(axis=1) - flat.min(axis=1)) < np.finfo(float).resolution
    acov = _autocov(x).mean(axis=1)                                    # (V, N): mean over chains
    mean_var = acov[:, 0] * N / (N - 1.0)
    var_plus = mean_var * (N - 1.0) / N
    if C > 1:
        var_plus = var_plus + np.var(x.mean(axis=-1), axis=1, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rho_at = lambda lag: 1.0 - (mean_var - acov[:, lag]) / var_plus  # noqa: E731
        rho = np.zeros((V, N))
        rho[:, 0] = 1.0
        even, odd = np.ones(V), rho_at(1)
        rho[:, 1] = odd
        t_end = np.ones(V, dtype=np.int64)
        going = np.ones(V, dtype=bool)
        for t in range(1, N - 3, 2):  # Geyer's initial positive sequence
            going &= (even + odd) > 0.0
            if not going.any():
                break
            new_even, new_odd = rho_at(t + 1), rho_at(t + 2)
            keep = going & ((new_even + new_odd) >= 0)
            rho[keep, t + 1], rho[keep, t + 2] = new_even[keep], new_odd[keep]
            even, odd = np.where(going, new_even, even), np.where(going, new_odd, odd)
            t_end[going] = t + 2
        max_t = t_end - 2
        rows = np.arange(V)
        improve = even > 0
        rho[rows[improve], max_t[improve] + 1] = even[improve]
        for t in range(1, max(int(max_t.max()) - 1, 1), 2):  # initial monotone sequence
            on = t <= max_t - 2
            prev = rho[:, t - 1] + rho[:, t]
            fix = on & ((rho[:, t + 1] + rho[:, t + 2]) > prev)
            rho[fix, t + 1] = prev[fix] / 2.0
            rho[fix, t + 2] = prev[fix] / 2.0
        lags = np.arange(N)[None, :]
        weight = np.where(lags <= max_t[:, None], 2.0, np.where(lags == max_t[:, None] + 1, 1.0, 0.0))
        tau = -1.0 + (weight * rho).sum(axis=1)
        size = C * N
        tau = np.maximum(tau, 1.0 / np.log10(size))
        ess = size / tau
    ess = np.where(np.isnan(rho).any(axis=1), np.nan, ess)
    return np.where(constant, float(size), ess)


def ess_bulk(x: np.ndarray) -> np.ndarray:
    """Bulk ESS per scalar (``arviz_stats.ess(method="bulk")``)."""
    return _ess(_z_scale(_split_chains(np.asarray(x, dtype=float))))


def ess_tail(x: np.ndarray, prob: float = 0.05) -> np.ndarray:
    """Tail ESS per scalar: min ESS of the indicators of the ``prob`` and ``1 - prob`` quantiles.

    5%/95% as in Vehtari et al. (2021) (``arviz_stats.ess(method="tail", prob=0.95)``; its
    own default takes the ``stats.ci_prob`` rcParam, 0.89).
    """
    x = np.asarray(x, dtype=float)
    flat = x.reshape(x.shape[0], -1)
    out = []
    for p in (prob, 1 - prob):
        q = np.quantile(flat, p, axis=1)
        out.append(_ess(_split_chains((x <= q[:, None, None]).astype(float))))
    return np.minimum(*out)


def _stack(post: xr.Dataset) -> tuple[np.ndarray, list[str]]:
    """Every scalar of the posterior as rows of a (scalars, chains, draws) array, with names."""
    rows, names = [], []
    for name, da in post.data_vars.items():
        arr = np.asarray(da.transpose("chain", "draw", ...).values, dtype=float)
        C, N = arr.shape[:2]
        arr = np.moveaxis(arr.reshape(C, N, -1), 2, 0)
        rows.append(arr)
        names += [str(name)] * arr.shape[0]
    if not rows:
        return np.zeros((0, 0, 0)), []
    return np.concatenate(rows, axis=0), names


DIAGNOSTIC_BLOCK_VALUES = 4_000_000
"""Values (scalars x chains x draws) per block of the diagnostics: bounds their temporaries."""


def _blocks(x: np.ndarray) -> list[np.ndarray]:
    """Row blocks of a (scalars, chains, draws) array of about DIAGNOSTIC_BLOCK_VALUES values.

    R-hat and ESS are per scalar, so blocks give the same figures as the whole array while
    their float64 temporaries (ranks, z-scores, autocovariances) stay small: at once, the
    activation model's 3,230 scalars x 4 chains x 2,000 draws took ~1 GB of temporaries.
    """
    per_row = max(int(np.prod(x.shape[1:])), 1)
    step = max(1, DIAGNOSTIC_BLOCK_VALUES // per_row)
    return [x[i:i + step] for i in range(0, x.shape[0], step)]


def _by_blocks(fn, x: np.ndarray) -> np.ndarray:
    """``fn`` (a per-scalar diagnostic) applied block by block, concatenated."""
    return np.concatenate([np.asarray(fn(blk), dtype=float).reshape(-1) for blk in _blocks(x)])


def _extreme(values: np.ndarray, names: list[str], largest: bool) -> tuple[float, str]:
    if values.size == 0 or np.all(np.isnan(values)):
        return math.nan, ""
    i = int(np.nanargmax(values) if largest else np.nanargmin(values))
    return float(values[i]), names[i]


def compute_diagnostics(idata: xr.DataTree, model: str, *, max_rhat: float, min_ess: float,
                        max_divergences: int, cells: int = 0, compile_seconds: float = math.nan,
                        sample_seconds: float = math.nan, sampler: str = "") -> Diagnostics:
    """Diagnostics of a sampled posterior against the thresholds.

    Parameters
    ----------
    idata : xarray.DataTree
        With ``posterior`` and ``sample_stats`` (``diverging``) groups.
    model : str
        Model name (for messages).
    max_rhat, min_ess, max_divergences
        Thresholds from ``[sampler]``; R-hat is only checked with 2 or more chains.
    cells, compile_seconds, sample_seconds, sampler
        Recorded as given.
    """
    post = idata["posterior"].to_dataset()
    x, names = _stack(post)
    chains, draws = int(post.sizes["chain"]), int(post.sizes["draw"])
    if x.shape[0]:
        # Scalars that never vary (e.g. a fixed zero effect) have no defined R-hat or ESS.
        varying = np.concatenate([blk.reshape(blk.shape[0], -1).std(axis=1) > 0
                                  for blk in _blocks(x)])
        x, names = x[varying], [n for n, v in zip(names, varying, strict=True) if v]
    n_params = int(x.shape[0])
    rhat, worst_rhat = math.nan, ""
    ess_b, worst_ess, ess_t = math.nan, "", math.nan
    if n_params and draws >= 4:
        if chains >= 2:
            rhat, worst_rhat = _extreme(_by_blocks(rhat_rank, x), names, largest=True)
        ess_b, worst_ess = _extreme(_by_blocks(ess_bulk, x), names, largest=False)
        ess_t, _ = _extreme(_by_blocks(ess_tail, x), names, largest=False)
    divergences, steps = 0, math.nan
    if "sample_stats" in idata.children:
        stats = idata["sample_stats"].to_dataset()
        if "diverging" in stats.data_vars:
            divergences = int(stats["diverging"].values.sum())
        if "n_steps" in stats.data_vars:
            steps = float(np.mean(stats["n_steps"].values))
    return Diagnostics(model=model, chains=chains, draws=draws, divergences=divergences,
                       max_rhat=rhat, min_ess_bulk=ess_b, min_ess_tail=ess_t,
                       worst_rhat=worst_rhat, worst_ess=worst_ess, parameters=n_params,
                       cells=int(cells), compile_seconds=float(compile_seconds),
                       sample_seconds=float(sample_seconds), sampler=sampler, mean_steps=steps,
                       ).judged(max_rhat=max_rhat, min_ess=min_ess,
                                max_divergences=max_divergences)


def diagnostics_table(diagnostics: list[Diagnostics]) -> pd.DataFrame:
    """One row per model: the figures a reader checks after a fit."""
    rows = [{
        "model": d.model, "status": "ok" if d.ok else "FAIL", "chains": d.chains,
        "draws": d.draws, "divergences": d.divergences, "max_rhat": d.max_rhat,
        "min_ess_bulk": d.min_ess_bulk, "min_ess_tail": d.min_ess_tail,
        "worst": d.worst_rhat or d.worst_ess, "parameters": d.parameters, "cells": d.cells,
        "steps": d.mean_steps, "compile_s": d.compile_seconds, "sample_s": d.sample_seconds,
        "sampler": d.sampler, "attempts": d.attempts,
    } for d in diagnostics]
    return pd.DataFrame(rows)


def format_table(diagnostics: list[Diagnostics]) -> str:
    """Plain-text diagnostics table (fixed-width)."""
    df = diagnostics_table(diagnostics)
    fmt = {"max_rhat": "{:.3f}", "min_ess_bulk": "{:.0f}", "min_ess_tail": "{:.0f}",
           "steps": "{:.0f}", "compile_s": "{:.1f}", "sample_s": "{:.1f}"}
    shown = df.copy().astype(object)
    for col, f in fmt.items():
        shown[col] = [("-" if (isinstance(v, float) and math.isnan(v)) else f.format(v))
                      for v in df[col]]
    return shown.to_string(index=False)


def warn_failures(diagnostics: Diagnostics) -> None:
    """Log a loud, multi-line warning when a fit fails its thresholds.

    Logged at WARNING on this module's logger: without logging configured, Python writes it to
    stderr as it is (the CLI's case); an application that configures logging routes it.
    """
    if diagnostics.ok:
        return
    bar = "!" * 78
    lines = [bar, f"WARNING: the {diagnostics.model} model did not pass its sampler diagnostics;",
             "forecasts made from it are marked unreliable. Raise [sampler] draws/tune or",
             "target_accept, or inspect the data behind the worst parameter.",
             *[f"  - {m}" for m in diagnostics.failures], bar]
    logger.warning("\n".join(lines))


__all__ = ["Diagnostics", "compute_diagnostics", "diagnostics_table", "format_table",
           "warn_failures", "rhat_rank", "ess_bulk", "ess_tail"]
