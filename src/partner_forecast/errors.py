"""Exceptions that carry a user-facing message (the CLI turns them into exit code 2)."""

from __future__ import annotations

from dataclasses import dataclass


class PartnerForecastError(Exception):
    """Base class for errors caused by the user's input, not by a bug."""


class ConfigError(PartnerForecastError):
    """A configuration or scenario file is invalid."""


class DataWarning(UserWarning):
    """Something in the input looks wrong, but the run can honestly go on.

    Issued with :func:`warnings.warn`; the CLI prints each one on stderr as ``warning: ...``
    (see :class:`partner_forecast.cli.common.PFGroup`), library users see ordinary warnings.
    """


#: Echoed values longer than this are cut (a 200,000-character cell must not flood the screen).
MAX_ECHO_CHARS = 80


def echo_value(value: str, limit: int = MAX_ECHO_CHARS) -> str:
    """``repr`` of ``value`` for a message, cut to ``limit`` characters with its full length.

    >>> echo_value("x" * 100, limit=5)
    "'xxxxx'... (100 characters)"
    """
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}... ({len(value):,} characters)"


@dataclass(frozen=True)
class Problem:
    """One problem found in an export: where it is and what is wrong.

    ``row`` is the line number as in the file (header = row 1), or ``None`` when the
    problem concerns the whole file or column.
    """

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        text = f"{where}: {self.message}"
        if self.value is not None:
            text += f" (value: {echo_value(self.value)})"
        return text


class ExportError(PartnerForecastError):
    """An export failed validation; holds every problem found."""

    def __init__(self, problems: list[Problem], truncated: int = 0):
        self.problems = problems
        self.truncated = truncated
        lines = [str(p) for p in problems]
        if truncated:
            lines.append(f"... and {truncated} more problems")
        super().__init__(f"{len(problems) + truncated} problem(s) in the export:\n" + "\n".join(lines))
