"""A live progress bar on stderr while a model samples (draws/s, ETA, divergences).

nutpie reports each chain's progress from its sampling threads through a callback (a list of
``ChainProgress``: draws finished of the total, tuning or not, divergences, tree size); this
module turns that into one tqdm bar over all chains. It is shown only where someone can watch
it: when stderr is a terminal, or when ``PARTNER_FORECAST_PROGRESS=1`` asks for it (never in
tests' captured output unless asked), and ``PARTNER_FORECAST_PROGRESS=0`` hides it.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

PROGRESS_ENV = "PARTNER_FORECAST_PROGRESS"


def bars_wanted() -> bool:
    """Whether live bars go to stderr (a terminal, or ``PARTNER_FORECAST_PROGRESS=1``)."""
    flag = os.environ.get(PROGRESS_ENV, "").strip().lower()
    if flag in ("1", "true", "yes", "on"):
        return True
    if flag in ("0", "false", "no", "off"):
        return False
    return bool(getattr(sys.stderr, "isatty", lambda: False)())


def chain_progress(chains: Sequence[Any]) -> tuple[int, str]:
    """Draws finished over all chains, and the bar's postfix: phase and divergences.

    ``chains`` is nutpie's progress list (``ChainProgress``: finished_draws, divergent_draws,
    tuning, started).
    """
    done = sum(int(c.finished_draws) for c in chains)
    divergences = sum(len(c.divergent_draws) for c in chains)
    tuning = any(bool(c.tuning) for c in chains if c.started)
    return done, f"{'tuning' if tuning else 'draws'}, {divergences} divergent"


class SamplingBar:
    """One tqdm bar over every chain's tuning and kept draws; a nutpie progress callback.

    Parameters
    ----------
    label : str
        Shown before the bar (the model's name).
    total : int
        chains x (tune + draws): the iterations the bar counts to.
    position : int, optional
        The bar's line on the terminal when several models sample at once (0 = the first).
    """

    def __init__(self, label: str, total: int, position: int | None = None):
        from tqdm.auto import tqdm

        self._lock = threading.Lock()
        self._done = 0
        self.position = position
        self._bar = tqdm(total=total, desc=f"{label}: sampling", unit="draw", file=sys.stderr,
                         leave=False, dynamic_ncols=True, mininterval=0.5, position=position)

    def __call__(self, chains: Sequence[Any]) -> None:
        """Advance the bar to the draws finished over all chains (nutpie's progress callback)."""
        self.show(*chain_progress(chains))

    def show(self, done: int, postfix: str, refresh: bool = False) -> None:
        """Advance the bar to ``done`` draws (never back) and show ``postfix`` after it."""
        with self._lock:
            if done > self._done:
                self._bar.update(done - self._done)
                self._done = done
            self._bar.set_postfix_str(postfix, refresh=refresh)

    def close(self) -> None:
        """Remove the bar (the caller prints the one-line summary)."""
        with self._lock:
            self._bar.close()


__all__ = ["PROGRESS_ENV", "SamplingBar", "bars_wanted", "chain_progress"]
