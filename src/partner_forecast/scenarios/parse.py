"""Read scenario files (TOML) against the lever table, reporting every problem at once.

Each problem is located (file, scenario, change and its lever, key) as in
``configs/scenarios/bad.toml: scenario 's', change 2 (lever 'win_rate'), key 'odds_multiplier':
must be > 0, got 0``; parsing goes on after a problem wherever what follows does not depend on
it, and the file's problems are raised together in one
:class:`~partner_forecast.errors.ConfigError` (one problem: its message alone).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from partner_forecast.data.schema import normalise_label
from partner_forecast.errors import ConfigError
from partner_forecast.scenarios.levers import LEVER_TABLE, LEVERS, Problem, closest, selector, start
from partner_forecast.scenarios.spec import Change, Scenario

_SCENARIO_KEYS = ("name", "description", "change")


class ScenarioFileError(ConfigError):
    """Problems of scenario files: every located message, one a line in the error's text."""

    def __init__(self, problems: Sequence[str]):
        self.problems = tuple(problems)
        text = (self.problems[0] if len(self.problems) == 1 else
                f"{len(self.problems)} problems:\n" + "\n".join(f"  {p}" for p in self.problems))
        super().__init__(text)


@dataclass
class _Problems:
    """Located messages collected while a file is read."""

    source: str
    found: list[str] = field(default_factory=list)

    def add(self, message: str, key: str | None = None, name: str | None = None,
            position: int | None = None, lever: str | None = None) -> None:
        text = self.source
        if name is not None:
            text += f": scenario {name!r}"
        if position is not None:
            text += f", change {position}"
            if lever is not None:
                text += f" (lever {lever!r})"
        if key is not None:
            text += f", key {key!r}"
        self.found.append(f"{text}: {message}")


def _lever_name(raw: Mapping[str, Any]) -> str:
    """The change's lever, canonical; :class:`Problem` when missing or unknown."""
    if "lever" not in raw:
        raise Problem(f"missing; expected one of {', '.join(LEVERS)}", "lever")
    lever_raw = raw["lever"]
    if not isinstance(lever_raw, str):
        raise Problem(f"must be a lever name, got {lever_raw!r}", "lever")
    lever = normalise_label(lever_raw)
    if lever not in LEVER_TABLE:
        raise Problem(f"unknown lever {lever_raw!r}{closest(lever, LEVERS)}; expected one of "
                      f"{', '.join(LEVERS)}", "lever")
    return lever


def _change(raw: Any, problems: _Problems, name: str, position: int) -> Change | None:
    """One ``[[scenario.change]]`` checked against its lever's table entry (None on problems)."""
    if not isinstance(raw, Mapping):
        problems.add("must be a table ([[scenario.change]])", name=name, position=position)
        return None
    try:
        lever = LEVER_TABLE[_lever_name(raw)]
    except Problem as exc:
        problems.add(exc.message, exc.key, name, position)
        return None
    before = len(problems.found)

    def report(message: str, key: str | None) -> None:
        problems.add(message, key, name, position, lever.name)

    allowed = lever.allowed
    for key in raw:
        if key in allowed:
            continue
        if key == "select" and not lever.selects:
            report("recruit adds new partners: it takes partner_type, tier and region keys, "
                   "not a selector", key)
        else:
            report(f"unknown key for lever {lever.name!r}{closest(key, sorted(allowed))}; "
                   f"expected {', '.join(sorted(allowed))}", key)
    kwargs: dict[str, Any] = {"lever": lever.name}
    checks: list[tuple[str, Callable[[Any, str], Any], str]] = (
        [("select", selector, "select")] if "select" in allowed else [])
    checks += [("start", start, "start"), *((k.key, k.check, k.target) for k in lever.keys)]
    ops = tuple(lever.operations)
    given = [op for op in ops if op in raw]
    if ops and len(given) != 1:
        report(("needs exactly one of " if not given else "takes only one of ") + ", ".join(ops),
               given[1] if len(given) > 1 else ops[0])
    elif given:
        checks.insert(2, (given[0], lever.operations[given[0]], "value"))
        kwargs["operation"] = given[0]
    for key, check, target in checks:
        if key in raw:
            try:
                kwargs[target] = check(raw[key], key)
            except Problem as exc:
                report(exc.message, exc.key)
    for k in lever.keys:
        if k.required and k.key not in raw:
            report(f"missing ({lever.missing})", k.key)
    if lever.needs_select and "select" not in raw:
        report(f"missing: {lever.name} needs the partners to remove", "select")
    return Change(position=position, **kwargs) if len(problems.found) == before else None


def _scenario(table: Mapping[str, Any], i: int, seen: set[str], problems: _Problems
              ) -> Scenario | None:
    """One ``[[scenario]]`` table (None when it has problems)."""
    before = len(problems.found)
    name = table.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(f"missing or empty (got {name!r}); every scenario needs a name", "name",
                     f"#{i}")
        name = f"#{i}"
    else:
        name = name.strip()
        if name in seen:
            problems.add("duplicate scenario name in this file", "name", name)
        seen.add(name)
        if name.lower() == "baseline":
            problems.add("'baseline' is reserved for the run without changes", "name", name)
    for key in table:
        if key not in _SCENARIO_KEYS:
            problems.add(f"unknown scenario key{closest(key, _SCENARIO_KEYS)}; expected "
                         f"{', '.join(_SCENARIO_KEYS)}", key, name)
    description = table.get("description", "")
    if not isinstance(description, str):
        problems.add(f"must be text, got {description!r}", "description", name)
    raw_changes = table.get("change", [])
    if isinstance(raw_changes, Mapping):
        raw_changes = [raw_changes]
    changes: list[Change | None] = []
    if not isinstance(raw_changes, list):
        problems.add("must be a list of [[scenario.change]] tables", "change", name)
    else:
        changes = [_change(raw, problems, name, j) for j, raw in enumerate(raw_changes, start=1)]
    if len(problems.found) > before:
        return None
    return Scenario(name=name, changes=tuple(c for c in changes if c is not None),
                    description=str(description).strip(), source=problems.source)


def _scenarios(document: Mapping[str, Any], problems: _Problems) -> list[Scenario]:
    """Every scenario of a document whose tables have no problem; the problems collected."""
    unknown = [k for k in document if k != "scenario"]
    for key in unknown:
        problems.add(f"unknown top-level key{closest(key, ['scenario'])}; a scenario file holds "
                     f"[[scenario]] tables", key)
    tables = document.get("scenario")
    if tables is None:
        problems.add("no [[scenario]] table found", "scenario")
        return []
    if isinstance(tables, Mapping):
        tables = [tables]
    if not isinstance(tables, list) or not all(isinstance(t, Mapping) for t in tables):
        problems.add("must be one or more [[scenario]] tables", "scenario")
        return []
    seen: set[str] = set()
    found = [_scenario(table, i, seen, problems) for i, table in enumerate(tables, start=1)]
    return [s for s in found if s is not None]


def parse_scenarios(document: Mapping[str, Any], source: str = "<scenario>") -> list[Scenario]:
    """Scenarios from a parsed TOML document (see :mod:`partner_forecast.scenarios.spec`).

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
    ScenarioFileError
        Listing every problem, each naming the file, scenario and key.
    """
    problems = _Problems(source)
    out = _scenarios(document, problems)
    if problems.found:
        raise ScenarioFileError(problems.found)
    return out


def _read(path: Path) -> Mapping[str, Any]:
    """A scenario file's TOML document; :class:`Problem` when it cannot be read or parsed."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise Problem("scenario file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise Problem(f"cannot read scenario file: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Problem(f"not valid TOML: {exc}") from None


def load_scenarios(path: str | Path) -> list[Scenario]:
    """Read and validate the scenarios of one TOML file.

    Raises
    ------
    ScenarioFileError
        File missing or unreadable, not TOML, or every problem of :func:`parse_scenarios`.
    """
    return load_scenario_files([path])


def load_scenario_files(paths: Sequence[str | Path]) -> list[Scenario]:
    """Scenarios of several files, in order; names must be unique across them.

    Every file is read and checked before anything is raised, so one error lists the problems
    of all of them.
    """
    out: list[Scenario] = []
    names: dict[str, str] = {}
    found: list[str] = []
    for path in paths:
        p = Path(path)
        problems = _Problems(str(p))
        try:
            scenarios = _scenarios(_read(p), problems)
        except Problem as exc:
            found.append(f"{p}: {exc.message}")
            continue
        found += problems.found
        for scenario in scenarios:
            if scenario.name in names:
                found.append(f"{scenario.where(key='name')}: duplicate scenario name (also in "
                             f"{names[scenario.name]})")
                continue
            names[scenario.name] = scenario.source
            out.append(scenario)
    if found:
        raise ScenarioFileError(found)
    return out


__all__ = ["ScenarioFileError", "load_scenario_files", "load_scenarios", "parse_scenarios"]
