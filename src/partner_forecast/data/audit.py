"""Data-quality audit of recently closed partner deals (DOMAIN.md section 8).

Incomplete deal records are the most common cause of forecast misses, so every quarter the
partner-involved opportunities closed (won or lost) in the ``[audit] window_days`` before the
as-of date are checked for the fields a partner forecast needs: partner account, partner type,
partner role, influence % (only meaningful, so only counted, for influenced deals), tier, source
(referring) seller, deal registration ID and marketplace flag. The result is one completeness
figure per field and a warning for each field below 100%.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from partner_forecast.data.convert import ROW_COLUMN
from partner_forecast.data.export import Export
from partner_forecast.data.read import find_file
from partner_forecast.data.schema import CLOSED_STAGES, TABLES
from partner_forecast.data.validate import lookup
from partner_forecast.errors import ConfigError, Problem

#: What each audited field means to the reader of the audit (DOMAIN.md section 8 wording).
FIELD_LABELS: dict[str, str] = {
    "partner_id": "partner account",
    "partner_type": "partner type",
    "partner_role": "partner role",
    "influence_pct": "influence %",
    "tier": "partner tier",
    "referring_seller_id": "source seller",
    "deal_registration_id": "deal registration ID",
    "marketplace": "marketplace flag",
}

#: Fields counted only on deals where they are meaningful: field -> (column, value).
CONDITIONAL_FIELDS: dict[str, tuple[str, str]] = {"influence_pct": ("partner_role", "influenced")}

DEFAULT_FIELDS: tuple[str, ...] = tuple(FIELD_LABELS)
MAX_ROWS_LISTED = 10  # rows named in one warning before "..."


@dataclass(frozen=True)
class DataQualityAudit:
    """The audit's result.

    Attributes
    ----------
    table
        One row per audited field: ``field``, ``filled`` (deals with a value), ``total``
        (deals audited for this field) and ``completeness_pct`` (0-100; NaN when no deal is
        audited for the field).
    warnings
        One :class:`~partner_forecast.errors.Problem` (severity ``"warning"``) per field
        below 100%, naming the file, the column and the rows of the deals lacking it.
    as_of
        First day not covered (deals closed on or after it are not audited).
    window_start
        First day covered: ``as_of - window_days``.
    deals
        Number of closed partner deals in the window.

    """

    table: pd.DataFrame
    warnings: tuple[Problem, ...] = field(default_factory=tuple)
    as_of: pd.Timestamp = pd.NaT
    window_start: pd.Timestamp = pd.NaT
    deals: int = 0

    @property
    def window_days(self) -> int:
        """Length of the audited window in days."""
        return int((self.as_of - self.window_start).days)


def _file_name(export: Export, table: str) -> str:
    folder = Path(export.source) if export.source else None
    if folder is not None and folder.is_dir():
        path = find_file(folder, table)
        if path is not None:
            return path.name
    return f"{table}.csv"


def audit_export(export: Export, as_of: pd.Timestamp | str | None = None, window_days: int = 90,
                 fields: Sequence[str] = DEFAULT_FIELDS) -> DataQualityAudit:
    """Completeness of the required fields on partner deals closed in the window before as-of.

    Parameters
    ----------
    export
        The export (or an as-of view of it).
    as_of
        First day not covered; default: the export's :attr:`~Export.default_as_of`.
    window_days
        Length of the window in days (``[audit] window_days``, 90 by default): deals with
        ``closed_on`` in ``[as_of - window_days, as_of)`` are audited.
    fields
        Fields to audit (``[audit] required_fields``): opportunity columns, or partner columns
        (``partner_type``, ``tier``) looked up through the deal's partner.

    Returns
    -------
    DataQualityAudit
        Completeness table and warnings.

    Raises
    ------
    ConfigError
        If a field is neither an opportunity nor a partner column.

    """
    if window_days < 1:
        raise ConfigError(f"audit.window_days must be at least 1, got {window_days}")
    opp_cols = {c.name for c in TABLES["opportunities"].columns}
    partner_cols = {c.name for c in TABLES["partners"].columns}
    unknown = [f for f in fields if f not in opp_cols | partner_cols]
    if unknown:
        raise ConfigError(f"audit.required_fields: unknown field(s) {', '.join(unknown)}; "
                          "use opportunity or partner column names")
    cut = export.default_as_of if as_of is None else pd.Timestamp(as_of).normalize()
    start = cut - pd.Timedelta(days=window_days)
    opps = export.opportunities
    closed = opps[opps["stage"].isin(CLOSED_STAGES) & opps["closed_on"].notna()
                  & (opps["closed_on"] >= start) & (opps["closed_on"] < cut)]
    opp_file = _file_name(export, "opportunities")

    rows: list[dict[str, object]] = []
    warnings: list[Problem] = []
    for name in fields:
        deals = closed
        if name in CONDITIONAL_FIELDS:
            column, value = CONDITIONAL_FIELDS[name]
            deals = closed[closed[column] == value]
        values = (deals[name] if name in opp_cols
                  else lookup(deals["partner_id"], export.partners, "partner_id", name))
        blank = values.map(lambda v: isinstance(v, str) and not v.strip())
        filled_mask = (values.notna() & ~blank.astype(bool)).to_numpy(dtype=bool)
        filled, total = int(filled_mask.sum()), len(deals)
        pct = 100.0 * filled / total if total else np.nan
        rows.append({"field": name, "filled": filled, "total": total, "completeness_pct": pct})
        if total and filled < total:
            missing_rows = deals.loc[~filled_mask, ROW_COLUMN].astype(int).tolist()
            listed = ", ".join(str(r) for r in missing_rows[:MAX_ROWS_LISTED])
            if len(missing_rows) > MAX_ROWS_LISTED:
                listed += f" and {len(missing_rows) - MAX_ROWS_LISTED} more"
            scope = "influenced deals" if name == "influence_pct" else "partner deals"
            where = "" if name in opp_cols else f" (through partner_id in {_file_name(export, 'partners')})"
            label = FIELD_LABELS.get(name, name)
            warnings.append(Problem(
                opp_file, None, name, None,
                f"data quality: {label} is {pct:.1f}% complete ({filled} of {total} {scope} "
                f"closed in the {window_days} days before {cut.date().isoformat()}){where}; "
                f"missing on row{'s' if len(missing_rows) > 1 else ''} {listed}",
                severity="warning"))
    table = pd.DataFrame(rows, columns=["field", "filled", "total", "completeness_pct"])
    table = table.astype({"filled": np.int64, "total": np.int64, "completeness_pct": float})
    return DataQualityAudit(table=table, warnings=tuple(warnings), as_of=cut, window_start=start,
                            deals=len(closed))


__all__ = ["DataQualityAudit", "audit_export", "FIELD_LABELS", "DEFAULT_FIELDS"]
