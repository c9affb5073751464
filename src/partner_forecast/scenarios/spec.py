"""Scenarios: named lists of lever changes, as read from TOML files.

A scenario file holds one or more ``[[scenario]]`` tables; each has a ``name``, an optional
``description`` and a list of ``[[scenario.change]]`` tables, applied in order::

    [[scenario]]
    name = "asr_15_to_20"
    description = "Enablement lifts every partner's active seller rate to 20%."

      [[scenario.change]]
      lever = "activation_rate"
      set = 0.20                                 # a rate (fraction), not percent
      select = { partner_type = "reseller" }     # default: every partner
      start = "2026Q4"                           # default: the as-of quarter

Levers and their keys (one operation per change; ``select`` and ``start`` on every lever but
``recruit``, which takes no ``select``):

===================  ======================================================================
``activation_rate``  ``set`` (rate 0-1) | ``add_pp`` (percentage points) | ``multiply`` (>= 0):
                     the Active Seller Rate on the probability scale, applied to every
                     posterior draw (``set`` rescales each partner's draws so their mean is the
                     rate: the posterior's relative uncertainty carries through)
``productivity``     ``multiply`` (>= 0): opportunities per active seller per quarter
``win_rate``         ``odds_multiplier`` (> 0), optional ``stages``: odds of advancing from each
                     listed open stage (default all four; advancing from negotiation is the win)
``deal_size``        ``multiply`` (> 0): ARR of new deals
``sales_cycle``      ``multiply`` (> 0), optional ``stages``: days spent in each listed stage
``sellers``          ``add`` (whole sellers per selected partner, negative removes) |
                     ``add_pct`` (percent of each selected partner's pool, rounded)
``recruit``          ``count``, ``partner_type``, ``tier``, ``sellers`` (per new partner),
                     optional ``region``: new partners from ``start``, their activation drawn
                     from the activation model's population predictive with the onboarding ramp
``sunset``           remove the selected partners from ``start`` (no new pipeline);
                     ``drop_open_deals = true`` also loses their open deals from then on
===================  ======================================================================

``select`` keys: ``partner_type``, ``tier``, ``partner_id``, ``region`` (a value or a list;
keys combine with AND, list items with OR). ``start``: a fiscal quarter (``"2027Q1"``) or an
ISO date (``"2027-02-15"``; levers apply from the quarter containing it).

This module holds what a parsed scenario is (:class:`Scenario`, :class:`Change`,
:class:`Selector`). What each lever takes and the checks of its values are the table of
:mod:`partner_forecast.scenarios.levers`; :mod:`partner_forecast.scenarios.parse` reads a file
against it, checking everything that can be checked without data and reporting every problem
of the file at once in one :class:`~partner_forecast.errors.ConfigError`, each naming the
file, the scenario and the key. The rest (selectors that match no partner, rates pushed outside
[0, 1]) is checked when the scenario is applied (:mod:`partner_forecast.scenarios.apply`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from partner_forecast.errors import ConfigError

SELECTOR_KEYS: tuple[str, ...] = ("partner_type", "tier", "partner_id", "region")


@dataclass(frozen=True)
class Selector:
    """Which partners a change applies to: AND over keys, OR within a key's values.

    Labels are canonical (``normalise_label``) for ``partner_type``, ``tier`` and ``region``;
    partner ids are kept as written. Empty everywhere: every partner.
    """

    partner_type: tuple[str, ...] = ()
    tier: tuple[str, ...] = ()
    partner_id: tuple[str, ...] = ()
    region: tuple[str, ...] = ()

    @property
    def is_all(self) -> bool:
        """True when the selector names nothing (every partner)."""
        return not (self.partner_type or self.tier or self.partner_id or self.region)

    def to_dict(self) -> dict[str, list[str]]:
        """Canonical, JSON-able form (sorted values, empty keys left out)."""
        return {k: sorted(getattr(self, k)) for k in SELECTOR_KEYS if getattr(self, k)}

    def describe(self) -> str:
        """Short text, e.g. ``partner_type=msp,reseller & tier=strategic`` (``all partners``)."""
        if self.is_all:
            return "all partners"
        return " & ".join(f"{k}={','.join(v)}" for k, v in self.to_dict().items())


@dataclass(frozen=True)
class Change:
    """One lever change of a scenario (see the module docstring for the levers).

    Attributes
    ----------
    lever : str
        One of :data:`partner_forecast.scenarios.levers.LEVERS`.
    operation : str or None
        The operation key (``set``, ``add_pp``, ``multiply``, ``odds_multiplier``, ``add``,
        ``add_pct``); None for ``recruit`` and ``sunset``.
    value : float or None
        The operation's value: a rate (``set``), percentage points (``add_pp``), a multiplier,
        whole sellers (``add``) or percent (``add_pct``).
    select : Selector
        Partners affected (``recruit``: always empty).
    start : str or None
        Fiscal quarter label or ISO date as written (None: the as-of quarter).
    stages : tuple of str
        Open stages (``win_rate``, ``sales_cycle``); empty means all.
    count, sellers : int
        ``recruit``: number of new partners and sellers each.
    partner_type, tier, region : str
        ``recruit``: the new partners' attributes (canonical labels; region as written).
    drop_open_deals : bool
        ``sunset``: also lose the partners' open deals from ``start``.
    position : int
        1-based position in the scenario's change list (for messages).
    """

    lever: str
    operation: str | None = None
    value: float | None = None
    select: Selector = field(default_factory=Selector)
    start: str | None = None
    stages: tuple[str, ...] = ()
    count: int = 0
    sellers: int = 0
    partner_type: str = ""
    tier: str = ""
    region: str = ""
    drop_open_deals: bool = False
    position: int = 1

    def to_dict(self) -> dict[str, Any]:
        """Canonical, JSON-able form of what the change does (used for the content hash)."""
        out: dict[str, Any] = {"lever": self.lever}
        if self.operation is not None:
            out[self.operation] = self.value
        if not self.select.is_all:
            out["select"] = self.select.to_dict()
        if self.start is not None:
            out["start"] = self.start
        if self.stages:
            out["stages"] = list(self.stages)
        if self.lever == "recruit":
            out.update(count=self.count, partner_type=self.partner_type, tier=self.tier,
                       sellers=self.sellers)
            if self.region:
                out["region"] = self.region
        if self.lever == "sunset":
            out["drop_open_deals"] = self.drop_open_deals
        return out

    def describe(self) -> str:
        """One line for tables, e.g. ``activation_rate set 0.2 (all partners, from start)``."""
        if self.lever == "recruit":
            what = (f"recruit {self.count} {self.partner_type} / {self.tier} partner(s) with "
                    f"{self.sellers} sellers each" + (f" in {self.region}" if self.region else ""))
        elif self.lever == "sunset":
            what = f"sunset {self.select.describe()}" + (" (open deals lost)" if self.drop_open_deals
                                                         else "")
        else:
            stages = f" at {','.join(self.stages)}" if self.stages else ""
            what = f"{self.lever} {self.operation} {self.value:g}{stages} ({self.select.describe()})"
        return what + (f" from {self.start}" if self.start else "")


@dataclass(frozen=True)
class Scenario:
    """A named list of lever changes.

    Attributes
    ----------
    name : str
        Unique name (recorded in the ledger with :attr:`content_hash`).
    changes : tuple of Change
        Applied in order; structural changes (``recruit``) first.
    description : str
        Free text.
    source : str
        File the scenario was read from (``""`` when built in code).
    """

    name: str
    changes: tuple[Change, ...] = ()
    description: str = ""
    source: str = ""

    @property
    def content_hash(self) -> str:
        """16 hex digits of SHA-256 over the canonical form of the changes.

        Independent of the name, description, comments and formatting of the file: two
        scenarios with the same hash change the forecast in the same way.
        """
        payload = json.dumps([c.to_dict() for c in self.changes], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def where(self, change: Change | None = None, key: str | None = None) -> str:
        """Location prefix of messages: file, scenario, change and key."""
        text = f"{self.source or '<scenario>'}: scenario {self.name!r}"
        if change is not None:
            text += f", change {change.position} (lever {change.lever!r})"
        if key is not None:
            text += f", key {key!r}"
        return text

    def error(self, message: str, change: Change | None = None, key: str | None = None) -> ConfigError:
        """A :class:`ConfigError` located at this scenario (and change / key)."""
        return ConfigError(f"{self.where(change, key)}: {message}")


__all__ = ["SELECTOR_KEYS", "Change", "Scenario", "Selector"]
