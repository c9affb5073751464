"""Scenario files: named lists of lever changes, parsed and validated (TOML, :mod:`tomllib`).

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

Everything that can be checked without data is checked here, every problem raising
:class:`~partner_forecast.errors.ConfigError` that names the file, the scenario and the key;
the rest (selectors that match no partner, rates pushed outside [0, 1]) is checked when the
scenario is applied (:mod:`partner_forecast.scenarios.apply`).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.schema import OPEN_STAGES, PartnerType, Tier, normalise_label
from partner_forecast.errors import ConfigError

#: Operations (keys) each lever accepts; exactly one per change.
OPERATIONS: dict[str, tuple[str, ...]] = {
    "activation_rate": ("set", "add_pp", "multiply"),
    "productivity": ("multiply",),
    "win_rate": ("odds_multiplier",),
    "deal_size": ("multiply",),
    "sales_cycle": ("multiply",),
    "sellers": ("add", "add_pct"),
    "recruit": (),
    "sunset": (),
}
LEVERS: tuple[str, ...] = tuple(OPERATIONS)
SELECTOR_KEYS: tuple[str, ...] = ("partner_type", "tier", "partner_id", "region")
_COMMON_KEYS = ("lever", "select", "start")
_EXTRA_KEYS: dict[str, tuple[str, ...]] = {
    "win_rate": ("stages",),
    "sales_cycle": ("stages",),
    "recruit": ("count", "partner_type", "tier", "sellers", "region"),
    "sunset": ("drop_open_deals",),
}
_SCENARIO_KEYS = ("name", "description", "change")


def _closest(value: str, choices: Sequence[str]) -> str:
    match = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {match[0]!r}?)" if match else ""


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
        One of :data:`LEVERS`.
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


# -- parsing --------------------------------------------------------------------------------------
class _Where:
    """Builds located messages while a scenario is parsed."""

    def __init__(self, source: str, name: str | None = None, position: int | None = None,
                 lever: str | None = None):
        self.source, self.name, self.position, self.lever = source, name, position, lever

    def error(self, message: str, key: str | None = None) -> ConfigError:
        text = self.source
        if self.name is not None:
            text += f": scenario {self.name!r}"
        if self.position is not None:
            text += f", change {self.position}"
            if self.lever is not None:
                text += f" (lever {self.lever!r})"
        if key is not None:
            text += f", key {key!r}"
        return ConfigError(f"{text}: {message}")


def _number(raw: Any, where: _Where, key: str, *, minimum: float | None = None,
            maximum: float | None = None, strictly_above: float | None = None) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise where.error(f"must be a number, got {raw!r}", key)
    value = float(raw)
    if value != value or value in (float("inf"), float("-inf")):
        raise where.error(f"must be finite, got {raw!r}", key)
    if strictly_above is not None and not value > strictly_above:
        raise where.error(f"must be > {strictly_above:g}, got {raw!r}", key)
    if minimum is not None and value < minimum:
        raise where.error(f"must be >= {minimum:g}, got {raw!r}", key)
    if maximum is not None and value > maximum:
        raise where.error(f"must be <= {maximum:g}, got {raw!r}", key)
    return value


def _integer(raw: Any, where: _Where, key: str, minimum: int | None = None) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise where.error(f"must be a whole number, got {raw!r}", key)
    if minimum is not None and raw < minimum:
        raise where.error(f"must be >= {minimum}, got {raw!r}", key)
    return int(raw)


def _labels(raw: Any, where: _Where, key: str) -> tuple[str, ...]:
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise where.error("must name at least one value", key)
    for v in values:
        if not isinstance(v, str) or not v.strip():
            raise where.error(f"must be a label or a list of labels, got {raw!r}", key)
    return tuple(str(v).strip() for v in values)


def _canonical(value: str, allowed: Sequence[str], where: _Where, key: str) -> str:
    allowed = [str(a) for a in allowed]
    label = normalise_label(value)
    if label not in allowed:
        noun = {"stages": "stage"}.get(key, key.split(".")[-1])
        raise where.error(f"unknown {noun} {value!r}{_closest(label, allowed)}; "
                          f"expected one of {', '.join(allowed)}", key)
    return label


def _selector(raw: Any, where: _Where) -> Selector:
    if not isinstance(raw, Mapping):
        raise where.error(f"must be a table like {{ partner_type = \"msp\" }}, got {raw!r}", "select")
    unknown = [k for k in raw if k not in SELECTOR_KEYS]
    if unknown:
        k = unknown[0]
        raise where.error(f"unknown selector {k!r}{_closest(k, SELECTOR_KEYS)}; expected one of "
                          f"{', '.join(SELECTOR_KEYS)}", f"select.{k}")
    types = tuple(t.value for t in PartnerType)
    tiers = tuple(t.value for t in Tier)
    values: dict[str, tuple[str, ...]] = {}
    for k, v in raw.items():
        labels = _labels(v, where, f"select.{k}")
        if k == "partner_type":
            labels = tuple(_canonical(x, types, where, "select.partner_type") for x in labels)
        elif k == "tier":
            labels = tuple(_canonical(x, tiers, where, "select.tier") for x in labels)
        elif k == "region":
            labels = tuple(normalise_label(x) for x in labels)
        values[k] = tuple(dict.fromkeys(labels))
    return Selector(**values)


def _start(raw: Any, where: _Where) -> str:
    if isinstance(raw, str):
        text = raw.strip()
        try:
            return str(Quarter.parse(text))
        except ValueError:
            pass
        try:
            return pd.Timestamp(text).normalize().date().isoformat()
        except (ValueError, TypeError):
            pass
    elif hasattr(raw, "isoformat") and not isinstance(raw, bool):  # a TOML date
        try:
            return pd.Timestamp(raw).normalize().date().isoformat()
        except (ValueError, TypeError):
            pass
    raise where.error(f"must be a fiscal quarter like \"2027Q1\" or an ISO date like "
                      f"\"2027-02-15\", got {raw!r}", "start")


def _stages(raw: Any, where: _Where) -> tuple[str, ...]:
    labels = _labels(raw, where, "stages")
    out = tuple(_canonical(x, OPEN_STAGES, where, "stages") for x in labels)
    return tuple(s for s in OPEN_STAGES if s in out)


def _change(raw: Any, where: _Where) -> Change:
    if not isinstance(raw, Mapping):
        raise where.error("must be a table ([[scenario.change]])")
    if "lever" not in raw:
        raise where.error(f"missing; expected one of {', '.join(LEVERS)}", "lever")
    lever_raw = raw["lever"]
    if not isinstance(lever_raw, str):
        raise where.error(f"must be a lever name, got {lever_raw!r}", "lever")
    lever = normalise_label(lever_raw)
    if lever not in OPERATIONS:
        raise where.error(f"unknown lever {lever_raw!r}{_closest(lever, LEVERS)}; expected one of "
                          f"{', '.join(LEVERS)}", "lever")
    where.lever = lever
    ops = OPERATIONS[lever]
    allowed = set(_COMMON_KEYS) | set(ops) | set(_EXTRA_KEYS.get(lever, ()))
    if lever == "recruit":
        allowed.discard("select")
    for key in raw:
        if key not in allowed:
            hint = _closest(key, sorted(allowed))
            if key == "select" and lever == "recruit":
                raise where.error("recruit adds new partners: it takes partner_type, tier and "
                                  "region keys, not a selector", key)
            raise where.error(f"unknown key for lever {lever!r}{hint}; expected "
                              f"{', '.join(sorted(allowed))}", key)
    kwargs: dict[str, Any] = {"lever": lever}
    if "select" in raw:
        kwargs["select"] = _selector(raw["select"], where)
    if "start" in raw:
        kwargs["start"] = _start(raw["start"], where)
    given = [op for op in ops if op in raw]
    if ops and len(given) != 1:
        raise where.error(("needs exactly one of " if not given else "takes only one of ")
                          + ", ".join(ops), given[1] if len(given) > 1 else ops[0])
    if given:
        op = given[0]
        v = raw[op]
        if lever == "activation_rate" and op == "set":
            value = _number(v, where, op, minimum=0.0, maximum=1.0)
        elif op == "add_pp":
            value = _number(v, where, op, minimum=-100.0, maximum=100.0)
        elif op == "add":
            value = float(_integer(v, where, op))
        elif op == "add_pct":
            value = _number(v, where, op, minimum=-100.0)
        elif lever in ("activation_rate", "productivity"):
            value = _number(v, where, op, minimum=0.0)
        else:  # odds, deal size and cycle multipliers act on a log scale
            value = _number(v, where, op, strictly_above=0.0)
        kwargs.update(operation=op, value=value)
    if "stages" in raw:
        kwargs["stages"] = _stages(raw["stages"], where)
    if lever == "recruit":
        for key in ("count", "partner_type", "tier", "sellers"):
            if key not in raw:
                raise where.error("missing (recruit needs count, partner_type, tier and sellers)", key)
        kwargs["count"] = _integer(raw["count"], where, "count", minimum=1)
        kwargs["sellers"] = _integer(raw["sellers"], where, "sellers", minimum=1)
        for key, allowed_labels in (("partner_type", tuple(t.value for t in PartnerType)),
                                    ("tier", tuple(t.value for t in Tier))):
            v = raw[key]
            if not isinstance(v, str):
                raise where.error(f"must be one label, got {v!r}", key)
            kwargs[key] = _canonical(v, allowed_labels, where, key)
        if "region" in raw:
            if not isinstance(raw["region"], str) or not raw["region"].strip():
                raise where.error(f"must be a region label, got {raw['region']!r}", "region")
            kwargs["region"] = raw["region"].strip()
    if lever == "sunset":
        if "select" not in raw:
            raise where.error("missing: sunset needs the partners to remove", "select")
        if "drop_open_deals" in raw:
            if not isinstance(raw["drop_open_deals"], bool):
                raise where.error(f"must be true or false, got {raw['drop_open_deals']!r}",
                                  "drop_open_deals")
            kwargs["drop_open_deals"] = raw["drop_open_deals"]
    return Change(position=where.position or 1, **kwargs)


def parse_scenarios(document: Mapping[str, Any], source: str = "<scenario>") -> list[Scenario]:
    """Scenarios from a parsed TOML document (see the module docstring for the format).

    Parameters
    ----------
    document : mapping
        The TOML document (``tomllib.loads`` output).
    source : str
        Where it came from (a file path), used in messages.

    Returns
    -------
    list of Scenario

    Raises
    ------
    ConfigError
        On the first problem, naming the file, scenario and key.
    """
    top = _Where(source)
    unknown = [k for k in document if k != "scenario"]
    if unknown:
        raise top.error(f"unknown top-level key{_closest(unknown[0], ['scenario'])}; a scenario "
                        f"file holds [[scenario]] tables", unknown[0])
    tables = document.get("scenario")
    if tables is None:
        raise top.error("no [[scenario]] table found", "scenario")
    if isinstance(tables, Mapping):
        tables = [tables]
    if not isinstance(tables, list) or not all(isinstance(t, Mapping) for t in tables):
        raise top.error("must be one or more [[scenario]] tables", "scenario")
    out: list[Scenario] = []
    seen: set[str] = set()
    for i, table in enumerate(tables, start=1):
        name = table.get("name")
        if not isinstance(name, str) or not name.strip():
            raise _Where(source, f"#{i}").error(f"missing or empty (got {name!r}); every scenario "
                                                f"needs a name", "name")
        name = name.strip()
        where = _Where(source, name)
        if name in seen:
            raise where.error("duplicate scenario name in this file", "name")
        seen.add(name)
        if name.lower() == "baseline":
            raise where.error("'baseline' is reserved for the run without changes", "name")
        for key in table:
            if key not in _SCENARIO_KEYS:
                raise where.error(f"unknown scenario key{_closest(key, _SCENARIO_KEYS)}; expected "
                                  f"{', '.join(_SCENARIO_KEYS)}", key)
        description = table.get("description", "")
        if not isinstance(description, str):
            raise where.error(f"must be text, got {description!r}", "description")
        raw_changes = table.get("change", [])
        if isinstance(raw_changes, Mapping):
            raw_changes = [raw_changes]
        if not isinstance(raw_changes, list):
            raise where.error("must be a list of [[scenario.change]] tables", "change")
        changes = tuple(_change(raw, _Where(source, name, j)) for j, raw in
                        enumerate(raw_changes, start=1))
        out.append(Scenario(name=name, changes=changes, description=description.strip(),
                            source=source))
    return out


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Read and validate the scenarios of one TOML file.

    Raises
    ------
    ConfigError
        File missing or unreadable, not TOML, or any problem of :func:`parse_scenarios`.
    """
    p = Path(path)
    try:
        text = p.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{p}: scenario file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read scenario file: {exc}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    return parse_scenarios(document, str(p))


def load_scenario_files(paths: Sequence[str | Path]) -> list[Scenario]:
    """Scenarios of several files, in order; names must be unique across them."""
    out: list[Scenario] = []
    names: dict[str, str] = {}
    for path in paths:
        for scenario in load_scenarios(path):
            if scenario.name in names:
                raise scenario.error(f"duplicate scenario name (also in {names[scenario.name]})",
                                     key="name")
            names[scenario.name] = scenario.source
            out.append(scenario)
    return out


__all__ = ["LEVERS", "OPERATIONS", "SELECTOR_KEYS", "Change", "Scenario", "Selector",
           "load_scenario_files", "load_scenarios", "parse_scenarios"]
