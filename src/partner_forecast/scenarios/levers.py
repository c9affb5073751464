"""The levers a scenario file can move: one table entry per lever, with its keys and checks.

:data:`LEVER_TABLE` maps each lever name to a :class:`Lever`: the operations it takes (exactly
one per change, each with the check of its value), its other keys (required or optional, each
with its check and the :class:`~partner_forecast.scenarios.spec.Change` attribute it fills)
and whether it takes or needs a ``select``. How each lever then changes the simulation is
described in :mod:`partner_forecast.scenarios.apply`. A check raises :class:`Problem`; the
parser (:mod:`partner_forecast.scenarios.parse`) locates it (file, scenario, change, key) and
goes on, so a file's problems are all reported at once.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from partner_forecast.calendar import Quarter
from partner_forecast.data.schema import OPEN_STAGES, PartnerType, Tier, normalise_label
from partner_forecast.scenarios.spec import SELECTOR_KEYS, Selector


class Problem(ValueError):
    """One problem of a scenario file: the message and the key it is about (None: the table)."""

    def __init__(self, message: str, key: str | None = None):
        super().__init__(message)
        self.message, self.key = message, key


def closest(value: str, choices: Sequence[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices``, or an empty string."""
    match = difflib.get_close_matches(value, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {match[0]!r}?)" if match else ""


PARTNER_TYPES: tuple[str, ...] = tuple(t.value for t in PartnerType)
TIERS: tuple[str, ...] = tuple(t.value for t in Tier)


# -- value checks: raw TOML value -> canonical value, or Problem ---------------------------------
def number(*, minimum: float | None = None, maximum: float | None = None,
           strictly_above: float | None = None) -> Callable[[Any, str], float]:
    """A check of a finite number within bounds."""

    def check(raw: Any, key: str) -> float:
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise Problem(f"must be a number, got {raw!r}", key)
        value = float(raw)
        if value != value or value in (float("inf"), float("-inf")):
            raise Problem(f"must be finite, got {raw!r}", key)
        if strictly_above is not None and not value > strictly_above:
            raise Problem(f"must be > {strictly_above:g}, got {raw!r}", key)
        if minimum is not None and value < minimum:
            raise Problem(f"must be >= {minimum:g}, got {raw!r}", key)
        if maximum is not None and value > maximum:
            raise Problem(f"must be <= {maximum:g}, got {raw!r}", key)
        return value

    return check


def integer(minimum: int | None = None) -> Callable[[Any, str], int]:
    """A check of a whole number (not a bool), at least ``minimum``."""

    def check(raw: Any, key: str) -> int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise Problem(f"must be a whole number, got {raw!r}", key)
        if minimum is not None and raw < minimum:
            raise Problem(f"must be >= {minimum}, got {raw!r}", key)
        return int(raw)

    return check


def labels(raw: Any, key: str) -> tuple[str, ...]:
    """A label or a non-empty list of labels, stripped."""
    values = raw if isinstance(raw, list) else [raw]
    if not values:
        raise Problem("must name at least one value", key)
    for v in values:
        if not isinstance(v, str) or not v.strip():
            raise Problem(f"must be a label or a list of labels, got {raw!r}", key)
    return tuple(str(v).strip() for v in values)


def canonical(value: str, allowed: Sequence[str], key: str) -> str:
    """``value`` as one of the ``allowed`` canonical labels (with a suggestion when it is not)."""
    allowed = [str(a) for a in allowed]
    label = normalise_label(value)
    if label not in allowed:
        noun = {"stages": "stage"}.get(key, key.split(".")[-1])
        raise Problem(f"unknown {noun} {value!r}{closest(label, allowed)}; "
                      f"expected one of {', '.join(allowed)}", key)
    return label


def one_label(allowed: Sequence[str]) -> Callable[[Any, str], str]:
    """A check of one label among ``allowed`` (canonical form)."""

    def check(raw: Any, key: str) -> str:
        if not isinstance(raw, str):
            raise Problem(f"must be one label, got {raw!r}", key)
        return canonical(raw, allowed, key)

    return check


def region(raw: Any, key: str) -> str:
    """A region label as written (stripped)."""
    if not isinstance(raw, str) or not raw.strip():
        raise Problem(f"must be a region label, got {raw!r}", key)
    return raw.strip()


def flag(raw: Any, key: str) -> bool:
    """True or false."""
    if not isinstance(raw, bool):
        raise Problem(f"must be true or false, got {raw!r}", key)
    return raw


def stages(raw: Any, key: str) -> tuple[str, ...]:
    """Open stages, in stage order."""
    out = tuple(canonical(x, OPEN_STAGES, key) for x in labels(raw, key))
    return tuple(s for s in OPEN_STAGES if s in out)


def start(raw: Any, key: str) -> str:
    """A fiscal quarter label (``2027Q1``) or an ISO date, in canonical form."""
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
    raise Problem(f"must be a fiscal quarter like \"2027Q1\" or an ISO date like "
                  f"\"2027-02-15\", got {raw!r}", key)


def selector(raw: Any, key: str) -> Selector:
    """A ``select`` table: AND over keys, OR within a key's values (labels canonical)."""
    if not isinstance(raw, Mapping):
        raise Problem(f"must be a table like {{ partner_type = \"msp\" }}, got {raw!r}", key)
    unknown = [k for k in raw if k not in SELECTOR_KEYS]
    if unknown:
        k = unknown[0]
        raise Problem(f"unknown selector {k!r}{closest(k, SELECTOR_KEYS)}; expected one of "
                      f"{', '.join(SELECTOR_KEYS)}", f"select.{k}")
    values: dict[str, tuple[str, ...]] = {}
    for k, v in raw.items():
        found = labels(v, f"select.{k}")
        if k == "partner_type":
            found = tuple(canonical(x, PARTNER_TYPES, "select.partner_type") for x in found)
        elif k == "tier":
            found = tuple(canonical(x, TIERS, "select.tier") for x in found)
        elif k == "region":
            found = tuple(normalise_label(x) for x in found)
        values[k] = tuple(dict.fromkeys(found))
    return Selector(**values)


# -- the table -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class LeverKey:
    """A key a lever takes besides its operation, ``select`` and ``start``.

    ``check(raw, key)`` returns the value stored in the change's ``attribute`` (default: the
    key's name) or raises :class:`Problem`.
    """

    key: str
    check: Callable[[Any, str], Any]
    required: bool = False
    attribute: str = ""

    @property
    def target(self) -> str:
        """The :class:`~partner_forecast.scenarios.spec.Change` attribute the value fills."""
        return self.attribute or self.key


@dataclass(frozen=True)
class Lever:
    """What a lever takes in a scenario file.

    Attributes
    ----------
    name : str
        As written in ``lever = "..."``.
    operations : mapping of str to check
        Operation keys; a change gives exactly one (none for a lever without operations).
    keys : tuple of LeverKey
        Its other keys.
    selects : bool
        Takes ``select`` (every lever but ``recruit``).
    needs_select : bool
        ``select`` is required (``sunset``).
    missing : str
        The message for a missing required key (after "missing").
    """

    name: str
    operations: Mapping[str, Callable[[Any, str], float]] = field(default_factory=dict)
    keys: tuple[LeverKey, ...] = ()
    selects: bool = True
    needs_select: bool = False
    missing: str = ""

    @property
    def allowed(self) -> set[str]:
        """Every key a change of this lever may hold."""
        common = {"lever", "start"} | ({"select"} if self.selects else set())
        return common | set(self.operations) | {k.key for k in self.keys}


_MULTIPLIER = number(strictly_above=0.0)  # odds, deal size and cycle act on a log scale
_SCALE = number(minimum=0.0)

LEVER_TABLE: dict[str, Lever] = {lever.name: lever for lever in (
    Lever("activation_rate", {"set": number(minimum=0.0, maximum=1.0),
                              "add_pp": number(minimum=-100.0, maximum=100.0),
                              "multiply": _SCALE}),
    Lever("productivity", {"multiply": _SCALE}),
    Lever("win_rate", {"odds_multiplier": _MULTIPLIER}, keys=(LeverKey("stages", stages),)),
    Lever("deal_size", {"multiply": _MULTIPLIER}),
    Lever("sales_cycle", {"multiply": _MULTIPLIER}, keys=(LeverKey("stages", stages),)),
    Lever("sellers", {"add": lambda raw, key: float(integer()(raw, key)),
                      "add_pct": number(minimum=-100.0)}),
    Lever("recruit", selects=False,
          missing="recruit needs count, partner_type, tier and sellers",
          keys=(LeverKey("count", integer(minimum=1), required=True),
                LeverKey("partner_type", one_label(PARTNER_TYPES), required=True),
                LeverKey("tier", one_label(TIERS), required=True),
                LeverKey("sellers", integer(minimum=1), required=True),
                LeverKey("region", region))),
    Lever("sunset", needs_select=True, keys=(LeverKey("drop_open_deals", flag),)),
)}
"""Every lever, by name, in the order the documentation lists them."""

LEVERS: tuple[str, ...] = tuple(LEVER_TABLE)
OPERATIONS: dict[str, tuple[str, ...]] = {name: tuple(lever.operations)
                                          for name, lever in LEVER_TABLE.items()}
"""Operations (keys) each lever accepts; exactly one per change."""

__all__ = ["LEVERS", "LEVER_TABLE", "OPERATIONS", "Lever", "LeverKey", "Problem", "closest"]
