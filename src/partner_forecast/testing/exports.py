"""A tiny, hand-made, fully valid CRM export, for tests and examples.

Four partners of different types and tiers, twelve sellers (one who left, one who only ever
did learning actions), 46 activities of selling, learning and engagement types, twelve
opportunities in every stage (won, lost and open) with a consistent stage history, ARR
targets and company figures, spanning 2026Q1-2026Q3. Its latest event is on 2026-09-28, so
its default as-of date is 2026-09-29.

``tiny_export_tables(field_history=True)`` adds the optional ``field_history`` table: when
flags were set, ARR changed and O04's role went from co_sell to influenced (consistent with the
opportunities' latest values, written with a few label spellings: ``Technical Validation``,
``Amount``, ``yes``).

``tiny_export_tables(calls=True)`` adds the optional ``calls`` table: two callers' calls of
2026Q2 and 2026Q3 (total, reseller, and partner P2), one of them made on 2026-09-30, after the
export's latest event (invisible in any as-of view up to its default as-of).

Tests build malformed exports by mutating the text tables (every cell is a string, as in the
file, so any bad value can be planted) and writing them with :func:`write_tiny_export`::

    tables = tiny_export_tables()
    tables["opportunities"].loc[2, "arr"] = "-5"
    folder = write_tiny_export(tmp_path, tables)
"""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd

from partner_forecast.data.schema import TABLES

#: Default as-of date of the tiny export: the day after its latest event (2026-09-28).
TINY_DEFAULT_AS_OF = pd.Timestamp("2026-09-29")

_PARTNERS = """\
partner_id,partner_name,partner_type,tier,onboarded_on,offboarded_on,region
P1,Acme Resale,reseller,strategic,2025-11-03,,EMEA
P2,Blue Harbor IT,msp,growth,2026-01-12,,AMER
P3,Cobalt Consulting,gsi,strategic,2026-02-02,,AMER
P4,Delta Cloud,tech_alliance,transactional,2026-04-06,2026-09-21,APAC
"""

_SELLERS = """\
seller_id,partner_id,seller_name,role,joined_on,left_on
S01,P1,Ana Lopez,account executive,2025-11-10,
S02,P1,Ben Carter,account executive,2025-11-10,
S03,P1,Chloe Dubois,sales engineer,2026-01-05,
S04,P1,Dan Evans,account executive,2025-12-01,2026-06-30
S05,P2,Eva Fischer,account manager,2026-01-19,
S06,P2,Femi Adeyemi,account manager,2026-01-19,
S07,P2,Gus Hale,technician,2026-03-02,
S08,P3,Hana Ito,partner manager,2026-02-09,
S09,P3,Ivan Petrov,consultant,2026-02-09,
S10,P3,Jade Kim,consultant,2026-05-04,
S11,P4,Kofi Mensah,account executive,2026-04-13,
S12,P4,Lena Novak,solutions architect,2026-04-13,
"""

_ACTIVITIES = """\
activity_id,seller_id,occurred_on,activity_type,opportunity_id
A001,S01,2025-11-20,training,
A002,S01,2026-01-12,lead_converted,
A003,S01,2026-01-15,deal_registration,O01
A004,S01,2026-02-10,joint_call,O01
A005,S01,2026-03-25,deal_closed,O01
A006,S02,2025-12-03,certification,
A007,S02,2026-02-17,pitch,
A008,S02,2026-07-01,deal_registration,O08
A009,S02,2026-08-12,deal_update,O08
A010,S03,2026-01-20,portal_login,
A011,S03,2026-04-14,enablement_session,
A012,S03,2026-06-03,deal_registration,O10
A013,S03,2026-07-15,co_sell_meeting,O10
A014,S03,2026-09-10,deal_closed,O10
A015,S04,2026-02-05,co_sell_meeting,O02
A016,S04,2026-03-12,joint_call,O02
A017,S04,2026-06-15,pitch,
A018,S05,2026-02-02,training,
A019,S05,2026-02-26,lead_converted,
A020,S05,2026-03-02,deal_registration,O03
A021,S05,2026-05-20,deal_closed,O03
A022,S05,2026-07-06,co_sell_meeting,O12
A023,S06,2026-03-16,vendor_lead_accepted,
A024,S06,2026-04-01,deal_registration,O04
A025,S06,2026-06-01,joint_call,O04
A026,S06,2026-07-14,deal_closed,O04
A027,S07,2026-03-09,content_download,
A028,S07,2026-08-12,lead_converted,
A029,S07,2026-08-17,deal_registration,O09
A030,S08,2026-02-16,certification,
A031,S08,2026-04-08,lead_converted,
A032,S08,2026-04-13,deal_registration,O05
A033,S08,2026-07-20,deal_update,O05
A034,S09,2026-03-03,enablement_session,
A035,S09,2026-05-18,co_sell_meeting,O06
A036,S09,2026-08-03,joint_call,O06
A037,S10,2026-05-11,training,
A038,S10,2026-09-09,lead_converted,
A039,S10,2026-09-14,deal_registration,O11
A040,S10,2026-09-28,pitch,
A041,S11,2026-04-20,training,
A042,S11,2026-06-22,co_sell_meeting,O07
A043,S11,2026-07-27,deal_update,O07
A044,S12,2026-04-27,certification,
A045,S12,2026-06-29,portal_login,
A046,S12,2026-08-10,enablement_session,
"""

_OPPORTUNITIES = """\
opportunity_id,partner_id,referring_seller_id,partner_role,influence_pct,revenue_motion,\
route_to_market,deal_registration_id,marketplace,is_expansion,created_on,lead_submitted_on,\
first_contact_on,stage,expected_close_on,closed_on,arr,technical_validation,executive_sponsor
O01,P1,S01,sourced,,resell,partner_resale,DR-1001,false,false,2026-01-15,2026-01-12,2026-01-14,\
won,2026-03-31,2026-03-25,48000,true,true
O02,P1,S04,co_sell,,resell,partner_assist,DR-1002,false,false,2026-02-05,,,\
lost,2026-05-15,2026-04-10,36000,false,false
O03,P2,S05,sourced,,managed_service,partner_assist,DR-2001,false,false,2026-03-02,2026-02-26,\
2026-02-27,won,2026-05-29,2026-05-20,24000,true,false
O04,P2,S06,influenced,30,managed_service,partner_assist,DR-2002,false,true,2026-04-01,,,\
won,2026-07-31,2026-07-14,60000,true,true
O05,P3,S08,sourced,,referral,partner_assist,DR-3001,false,false,2026-04-13,2026-04-08,2026-04-10,\
negotiation,2026-10-30,,120000,true,true
O06,P3,S09,co_sell,,referral,partner_assist,DR-3002,false,false,2026-05-18,,,\
proposal,2026-11-13,,90000,false,true
O07,P4,S11,influenced,25,embedded_tech,marketplace,DR-4001,true,false,2026-06-22,,,\
lost,2026-09-30,2026-09-18,15000,false,false
O08,P1,S02,fulfillment,,resell,partner_resale,DR-1003,false,true,2026-07-01,,,\
lost,2026-09-15,2026-09-02,30000,true,false
O09,P2,S07,sourced,,managed_service,partner_assist,DR-2003,false,false,2026-08-17,2026-08-12,\
2026-08-13,discovery,2026-12-18,,18000,false,false
O10,P1,S03,sourced,,resell,marketplace,DR-1004,true,false,2026-06-03,2026-05-29,2026-06-01,\
won,2026-09-30,2026-09-10,54000,true,true
O11,P3,S10,sourced,,referral,partner_assist,DR-3003,false,false,2026-09-14,2026-09-09,2026-09-11,\
discovery,2026-12-15,,75000,false,false
O12,P2,S05,co_sell,,managed_service,partner_assist,DR-2004,false,true,2026-07-06,,,\
qualified,2026-11-30,,27000,false,false
"""

_STAGE_HISTORY = """\
opportunity_id,stage,entered_on
O01,discovery,2026-01-15
O01,qualified,2026-02-02
O01,proposal,2026-02-20
O01,negotiation,2026-03-10
O01,won,2026-03-25
O02,discovery,2026-02-05
O02,qualified,2026-02-25
O02,lost,2026-04-10
O03,discovery,2026-03-02
O03,qualified,2026-03-20
O03,proposal,2026-04-15
O03,won,2026-05-20
O04,discovery,2026-04-01
O04,qualified,2026-04-20
O04,proposal,2026-05-11
O04,negotiation,2026-06-01
O04,won,2026-07-14
O05,discovery,2026-04-13
O05,qualified,2026-05-04
O05,proposal,2026-06-08
O05,negotiation,2026-07-20
O06,discovery,2026-05-18
O06,qualified,2026-06-15
O06,proposal,2026-08-03
O07,discovery,2026-06-22
O07,qualified,2026-07-27
O07,lost,2026-09-18
O08,discovery,2026-07-01
O08,qualified,2026-07-22
O08,proposal,2026-08-12
O08,lost,2026-09-02
O09,discovery,2026-08-17
O10,discovery,2026-06-03
O10,qualified,2026-06-24
O10,proposal,2026-07-15
O10,negotiation,2026-08-05
O10,won,2026-09-10
O11,discovery,2026-09-14
O12,discovery,2026-07-06
O12,qualified,2026-08-24
"""

_FIELD_HISTORY = """\
opportunity_id,field,value,changed_on,old_value
O01,arr,40000,2026-01-15,
O01,technical_validation,true,2026-02-20,
O01,executive_sponsor,true,2026-03-10,
O01,arr,48000,2026-03-10,40000
O03,Technical Validation,true,2026-04-15,false
O04,arr,"55,000",2026-04-20,50000
O04,partner_role,influenced,2026-05-11,co_sell
O04,influence_pct,30,2026-05-11,
O04,technical_validation,true,2026-05-11,
O04,executive_sponsor,true,2026-06-01,
O04,arr,60000,2026-06-01,55000
O05,technical_validation,True,2026-06-08,
O05,executive_sponsor,yes,2026-07-20,
O06,executive_sponsor,true,2026-08-03,
O08,technical_validation,true,2026-08-12,
O10,technical_validation,true,2026-07-15,
O10,executive_sponsor,true,2026-08-05,
O10,Amount,54000,2026-08-05,50000
O12,executive_sponsor,true,2026-07-20,
O12,executive_sponsor,false,2026-08-24,true
"""

_CALLS = """\
quarter,partner_type,partner_id,made_on,commit,best_case,made_by
2026Q2,,,2026-03-30,20000,30000,Channel chief
2026Q2,,,2026-05-15,25000,32000,Channel chief
2026Q2,,,2026-05-15,40000,,Sales VP
2026Q3,,,2026-06-29,60000,90000,Channel chief
2026Q3,reseller,,2026-08-14,30000,45000,Channel chief
2026Q3,,P2,2026-08-14,10000,12000,Sales VP
2026Q3,,,2026-08-14,70000,95000,Channel chief
2026Q3,,,2026-09-30,75000,80000,Channel chief
"""

_TARGETS = """\
quarter,partner_type,arr_target
2026Q2,,100000
2026Q3,,150000
2026Q3,reseller,80000
2026Q4,,180000
2026Q4,msp,50000
"""

_COMPANY = """\
quarter,total_arr,total_pipeline,direct_avg_deal_size
2026Q1,2400000,1800000,52000
2026Q2,2550000,1950000,54000
"""

_TEXTS = {
    "partners": _PARTNERS,
    "sellers": _SELLERS,
    "activities": _ACTIVITIES,
    "opportunities": _OPPORTUNITIES,
    "stage_history": _STAGE_HISTORY,
    "targets": _TARGETS,
    "company": _COMPANY,
}


def tiny_export_tables(field_history: bool = False, calls: bool = False
                       ) -> dict[str, pd.DataFrame]:
    """The tiny export as text tables, one per contract file (a fresh copy on every call).

    Parameters
    ----------
    field_history
        Also return the optional ``field_history`` table (see the module docstring).
    calls
        Also return the optional ``calls`` table (see the module docstring).

    Returns
    -------
    dict of str to DataFrame
        Frames keyed by contract table name (``partners``, ``sellers``, ``activities``,
        ``opportunities``, ``stage_history``, ``targets``, ``company``); every column is of
        ``str`` dtype with ``''`` for an empty cell, exactly as the CSV files hold them.

    """
    texts = (_TEXTS | ({"field_history": _FIELD_HISTORY} if field_history else {})
             | ({"calls": _CALLS} if calls else {}))
    return {name: pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                              na_filter=False)
            for name, text in texts.items()}


def _typed_for_parquet(name: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Contract columns in their natural Parquet types where every value converts cleanly.

    A column holding a value that does not convert (a test planting a bad cell) stays text, so
    that the bad value reaches the reader unchanged.
    """
    out = frame.copy()
    if name not in TABLES:
        return out
    for col in TABLES[name].columns:
        if col.name not in out.columns:
            continue
        text = out[col.name].astype(str)
        blank = text.str.strip().eq("")
        try:
            if col.kind == "date":
                conv = pd.to_datetime(text.where(~blank), format="%Y-%m-%d", errors="raise")
            elif col.kind == "number":
                conv = pd.to_numeric(text.where(~blank), errors="raise").astype(float)
            elif col.kind == "bool":
                mapping = {"true": True, "false": False}
                low = text.str.strip().str.lower()
                if not (blank | low.isin(mapping)).all():
                    continue
                conv = low.map(mapping).where(~blank).astype("boolean")
            else:
                continue
        except (ValueError, TypeError):
            continue
        out[col.name] = conv
    return out


def write_tiny_export(folder: str | Path, tables: dict[str, pd.DataFrame] | None = None,
                      fmt: str = "csv") -> Path:
    """Write an export (by default the tiny one) to ``folder``, one file per table.

    Parameters
    ----------
    folder
        Destination folder (created if missing). Existing files of the same names are
        overwritten; other files are left alone.
    tables
        Text tables by contract name, as from :func:`tiny_export_tables` (possibly mutated).
        A table left out of the dict is not written (a missing file). ``None``: the tiny export.
    fmt
        ``"csv"`` (UTF-8, comma-separated, as the tables hold them) or ``"parquet"`` (dates,
        numbers and booleans typed where every value of the column converts).

    Returns
    -------
    Path
        The folder.

    """
    if fmt not in ("csv", "parquet"):
        raise ValueError(f"fmt must be 'csv' or 'parquet', got {fmt!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables = tiny_export_tables() if tables is None else tables
    for name, frame in tables.items():
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False, encoding="utf-8")
        else:
            _typed_for_parquet(name, frame).to_parquet(folder / f"{name}.parquet", index=False)
    return folder


__all__ = ["TINY_DEFAULT_AS_OF", "tiny_export_tables", "write_tiny_export"]
