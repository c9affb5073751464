"""The ``messy_labels`` profile: spelling variants, loose booleans, blank optional fields.

Every label cell is, with probability ``variant_share``, rewritten as a variant that the reader
maps back to the canonical label (case, spaces, hyphens, and the known aliases of
:data:`partner_forecast.data.schema.LABEL_ALIASES` such as ``Closed Won`` or ``VAR``). Booleans
become text in one of several accepted spellings, and more optional fields are left blank. The
export stays valid under the contract.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from partner_forecast.data.schema import LABEL_ALIASES, TABLES

_STYLES = ("title_space", "title_hyphen", "upper", "lower_space")
_BOOL_SPELLINGS = (("true", "false"), ("yes", "no"), ("Yes", "No"), ("1", "0"), ("Y", "N"),
                   ("TRUE", "FALSE"))
# Optional columns blanked by this profile beyond the default's missingness (table, column).
EXTRA_BLANKS = (("partners", "partner_name"), ("opportunities", "is_expansion"),
                ("opportunities", "deal_registration_id"),
                ("opportunities", "lead_submitted_on"), ("opportunities", "expected_close_on"))


def _style(label: str, style: str) -> str:
    words = label.split("_")
    if style == "title_space":
        return " ".join(w.capitalize() for w in words)
    if style == "title_hyphen":
        return "-".join(w.capitalize() for w in words)
    if style == "upper":
        return label.upper()
    return " ".join(words)


def label_variants(label_set: str, label: str) -> tuple[str, ...]:
    """Spellings of ``label`` the reader accepts: styled canonical and alias forms."""
    aliases = [a for a, c in LABEL_ALIASES.get(label_set, {}).items() if c == label]
    return tuple(dict.fromkeys(_style(x, s) for x in (label, *aliases) for s in _STYLES))


def _vary(r: np.random.Generator, column: pd.Series, label_set: str, share: float) -> pd.Series:
    values = column.to_numpy(dtype=object).copy()
    u = r.random(len(values))
    pick = r.random(len(values))
    for label in pd.unique(column.dropna()):
        options = label_variants(label_set, str(label))
        rows = np.flatnonzero((values == label) & (u < share))
        values[rows] = np.array(options, dtype=object)[
            np.minimum((pick[rows] * len(options)).astype(np.int64), len(options) - 1)]
    return pd.Series(values, index=column.index, dtype=object)


def _bool_text(r: np.random.Generator, column: pd.Series) -> pd.Series:
    spelling = _BOOL_SPELLINGS[int(r.integers(0, len(_BOOL_SPELLINGS)))]
    text = column.map({True: spelling[0], False: spelling[1]}, na_action="ignore")
    return text.astype(object).where(column.notna(), None)


def make_messy(r: np.random.Generator, tables: dict[str, pd.DataFrame],
               p: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    """Copies of the contract tables with variant labels, text booleans and extra blanks."""
    out = {}
    for name, df in tables.items():
        df = df.copy()
        if name in TABLES:
            for col in TABLES[name].columns:
                if col.name not in df:
                    continue
                if col.kind == "label":
                    df[col.name] = _vary(r, df[col.name], col.labels or "", p["variant_share"])
                elif col.kind == "bool":
                    df[col.name] = _bool_text(r, df[col.name])
        for table, column in EXTRA_BLANKS:
            if table == name:
                blank = r.random(len(df)) < p["missing_share"][column]
                df[column] = df[column].where(~blank, None)
        out[name] = df
    return out
