"""An opt-in, per-run memo for intermediate tables that several metrics share.

A command computes many tables from one export (and, with ``--by``, from each segment's
sub-export); most of them need the same seller-quarter activity or open pipeline. Inside
``with cached_metrics():`` a function decorated with :func:`memoized` computes each distinct
call once. Calls are matched on the *identity* of the export and of unhashable arguments (the
cache keeps them alive, so an identity cannot be reused while cached); results are handed out
as shallow copies (copy-on-write: a caller's edits never reach the cache). Outside the context
nothing is cached, so library calls behave exactly as written.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd

from partner_forecast.calendar import Quarter

_ACTIVE: dict[tuple, tuple[tuple, Any]] | None = None


@contextmanager
def cached_metrics() -> Iterator[None]:
    """Enable the memo for the duration of the block (nested blocks share the outer memo)."""
    global _ACTIVE
    outer = _ACTIVE
    if outer is None:
        _ACTIVE = {}
    try:
        yield
    finally:
        if outer is None:
            _ACTIVE = None


def _freeze(value: Any) -> Hashable:
    """Key part of one argument: the value for plain scalars, else the object's identity."""
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if value is None or isinstance(value, str | int | float | bool | pd.Timestamp | Quarter):
        return value
    return ("id", id(value))


def memoized[F: Callable[..., Any]](fn: F) -> F:
    """Decorator: memoize ``fn`` inside :func:`cached_metrics` blocks (see the module docs)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if _ACTIVE is None:
            return fn(*args, **kwargs)
        key = (fn.__module__, fn.__qualname__, tuple(_freeze(a) for a in args),
               tuple(sorted((k, _freeze(v)) for k, v in kwargs.items())))
        hit = _ACTIVE.get(key)
        if hit is not None:
            value = hit[1]
        else:
            value = fn(*args, **kwargs)
            _ACTIVE[key] = ((args, kwargs), value)  # keep the arguments alive: ids stay unique
        return value.copy(deep=False) if isinstance(value, pd.DataFrame | pd.Series) else value

    return wrapper  # type: ignore[return-value]


__all__ = ["cached_metrics", "memoized"]
