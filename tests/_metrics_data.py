"""A tiny, hand-made CRM export whose metrics are known by hand (used by the metrics tests).

Four partners, nine sellers, nine opportunities over 2025Q4-2026Q2; the latest date is
2026-06-30, so the default as-of is 2026-07-01 and the last quarter with data is 2026Q2.

Hand-computed facts the tests rely on (2026Q2 unless stated):
- pools: P1 3 (S1 S2 S4; S3 left in Q1), P2 2, P3 1, P4 2 -> 8; active: S1 S2 S5 S7 -> ASR 0.5
- 2026Q1: pools P1 3 (S1 S2 S3), P2 2, P3 1, P4 2; active S1 S3 S5 -> 3 / 8
- engaged (>= 2 selling actions or an engagement action): S1, S5, S7 -> 3 of 4 active
- S4 has only learning actions (enabled, not active); P4 has nobody active in any quarter
- closed deals: O1 won (P1), O2 lost (P1), O6 won (P2), O7 won (P3), O8 lost (P2)
- open deals at the default as-of: O3 (proposal), O4 (negotiation), O5 (qualified), O9 (discovery)
"""

from __future__ import annotations

import csv
from pathlib import Path

PARTNERS = [
    dict(partner_id="P1", partner_name="Acme Resell", partner_type="Reseller", tier="Strategic",
         onboarded_on="2025-01-15", offboarded_on="", region="EMEA"),
    dict(partner_id="P2", partner_name="Beta MSP", partner_type="MSP", tier="Growth",
         onboarded_on="2025-06-01", offboarded_on="", region="AMER"),
    dict(partner_id="P3", partner_name="Gamma SI", partner_type="GSI", tier="Transactional",
         onboarded_on="2026-01-10", offboarded_on="", region="AMER"),
    dict(partner_id="P4", partner_name="Delta Tech", partner_type="Tech Alliance", tier="Growth",
         onboarded_on="2025-03-01", offboarded_on="", region="EMEA"),
]

SELLERS = [
    dict(seller_id="S1", partner_id="P1", seller_name="Ann", role="AE", joined_on="2025-02-01", left_on=""),
    dict(seller_id="S2", partner_id="P1", seller_name="Bob", role="AE", joined_on="2025-02-01", left_on=""),
    dict(seller_id="S3", partner_id="P1", seller_name="Cid", role="AE", joined_on="2025-02-01",
         left_on="2026-02-15"),
    dict(seller_id="S4", partner_id="P1", seller_name="Dee", role="AE", joined_on="2026-04-10", left_on=""),
    dict(seller_id="S5", partner_id="P2", seller_name="Eve", role="AE", joined_on="2025-06-15", left_on=""),
    dict(seller_id="S6", partner_id="P2", seller_name="Fay", role="SE", joined_on="2025-06-15", left_on=""),
    dict(seller_id="S7", partner_id="P3", seller_name="Gus", role="AE", joined_on="2026-01-12", left_on=""),
    dict(seller_id="S8", partner_id="P4", seller_name="Hal", role="AE", joined_on="2025-03-10", left_on=""),
    dict(seller_id="S9", partner_id="P4", seller_name="Ivy", role="AE", joined_on="2025-03-10", left_on=""),
]

_ACTS = [
    # 2025Q4
    ("S1", "2025-11-10", "pitch", ""), ("S2", "2025-12-01", "pitch", ""),
    ("S5", "2025-10-15", "pitch", ""),
    # 2026Q1
    ("S1", "2026-02-10", "pitch", ""), ("S3", "2026-01-20", "pitch", ""),
    ("S5", "2026-03-01", "vendor_lead_accepted", ""), ("S8", "2026-02-01", "content_download", ""),
    ("S7", "2026-03-18", "training", ""),
    # 2026Q2
    ("S1", "2026-04-02", "training", ""), ("S1", "2026-04-05", "pitch", "O3"),
    ("S1", "2026-05-10", "co_sell_meeting", "O3"), ("S1", "2026-05-12", "joint_call", "O3"),
    ("S1", "2026-06-01", "deal_update", "O3"), ("S1", "2026-05-20", "enablement_session", ""),
    ("S2", "2026-04-20", "pitch", ""), ("S2", "2026-04-21", "certification", ""),
    ("S4", "2026-04-15", "training", ""), ("S4", "2026-05-01", "certification", ""),
    ("S5", "2026-05-05", "lead_converted", "O5"), ("S5", "2026-05-06", "deal_registration", "O5"),
    ("S6", "2026-05-02", "portal_login", ""),
    ("S7", "2026-04-01", "joint_call", "O7"), ("S7", "2026-04-05", "deal_closed", "O7"),
    ("S8", "2026-05-03", "portal_login", ""), ("S8", "2026-05-20", "enablement_session", ""),
    ("S9", "2026-05-04", "content_download", ""),
    ("S1", "2026-06-30", "portal_login", ""),
]
ACTIVITIES = [dict(activity_id=f"A{i + 1:02d}", seller_id=s, occurred_on=d, activity_type=t,
                   opportunity_id=o) for i, (s, d, t, o) in enumerate(_ACTS)]

_OPP_DEFAULTS = dict(referring_seller_id="", influence_pct="", revenue_motion="referral",
                     route_to_market="partner_assist", deal_registration_id="", marketplace="false",
                     is_expansion="false", lead_submitted_on="", first_contact_on="",
                     expected_close_on="", closed_on="", technical_validation="false",
                     executive_sponsor="false")


def _opp(**kw: str) -> dict[str, str]:
    return {**_OPP_DEFAULTS, **kw}


OPPORTUNITIES = [
    _opp(opportunity_id="O1", partner_id="P1", referring_seller_id="S1", partner_role="Sourced",
         revenue_motion="resell", route_to_market="partner_resale", deal_registration_id="DR1",
         created_on="2025-11-10", lead_submitted_on="2025-11-08", first_contact_on="2025-11-09",
         stage="won", closed_on="2026-02-20", arr="100000", technical_validation="true",
         executive_sponsor="true"),
    _opp(opportunity_id="O2", partner_id="P1", referring_seller_id="S2", partner_role="Co-Sell",
         created_on="2026-01-15", lead_submitted_on="2026-01-14", first_contact_on="2026-01-19",
         stage="lost", closed_on="2026-03-10", arr="50000"),
    _opp(opportunity_id="O3", partner_id="P1", referring_seller_id="S1", partner_role="sourced",
         deal_registration_id="DR3", created_on="2026-04-05", lead_submitted_on="2026-04-04",
         first_contact_on="2026-04-06", stage="proposal",
         arr="80000", technical_validation="true"),
    _opp(opportunity_id="O4", partner_id="P1", partner_role="influenced", influence_pct="30",
         created_on="2026-02-01", stage="negotiation", arr="40000",
         executive_sponsor="true"),
    _opp(opportunity_id="O5", partner_id="P2", referring_seller_id="S5", partner_role="sourced",
         deal_registration_id="DR5", created_on="2026-05-05", lead_submitted_on="2026-05-03",
         first_contact_on="2026-05-07", stage="qualified", arr="20000"),
    _opp(opportunity_id="O6", partner_id="P2", partner_role="fulfillment", revenue_motion="resell",
         route_to_market="marketplace", marketplace="true", is_expansion="true",
         created_on="2026-03-01", stage="won", closed_on="2026-05-15", arr="30000"),
    _opp(opportunity_id="O7", partner_id="P3", referring_seller_id="S7", partner_role="sourced",
         revenue_motion="resell", route_to_market="partner_resale", deal_registration_id="DR7",
         created_on="2026-03-20", lead_submitted_on="2026-03-18", first_contact_on="2026-03-19",
         stage="won", closed_on="2026-04-05", arr="60000"),
    _opp(opportunity_id="O8", partner_id="P2", partner_role="influenced", created_on="2025-12-01",
         stage="lost", closed_on="2026-04-20", arr="10000"),
    _opp(opportunity_id="O9", partner_id="P1", referring_seller_id="S2", partner_role="sourced",
         created_on="2026-06-01", lead_submitted_on="2026-06-01", stage="discovery", arr="15000"),
]

_HISTORY = {
    "O1": [("discovery", "2025-11-10"), ("qualified", "2025-12-01"), ("proposal", "2026-01-10"),
           ("negotiation", "2026-02-01"), ("won", "2026-02-20")],
    "O2": [("discovery", "2026-01-15"), ("qualified", "2026-02-01"), ("lost", "2026-03-10")],
    "O3": [("discovery", "2026-04-05"), ("qualified", "2026-04-20"), ("proposal", "2026-05-25")],
    "O4": [("discovery", "2026-02-01"), ("qualified", "2026-03-01"), ("proposal", "2026-04-01"),
           ("negotiation", "2026-06-01")],
    "O5": [("discovery", "2026-05-05"), ("qualified", "2026-06-10")],
    "O6": [("discovery", "2026-03-01"), ("qualified", "2026-03-15"), ("proposal", "2026-04-01"),
           ("negotiation", "2026-05-01"), ("won", "2026-05-15")],
    "O7": [("discovery", "2026-03-20"), ("qualified", "2026-03-25"), ("proposal", "2026-03-28"),
           ("negotiation", "2026-04-01"), ("won", "2026-04-05")],
    "O8": [("discovery", "2025-12-01"), ("qualified", "2026-01-10"), ("lost", "2026-04-20")],
    "O9": [("discovery", "2026-06-01")],
}
STAGE_HISTORY = [dict(opportunity_id=o, stage=s, entered_on=d)
                 for o, rows in _HISTORY.items() for s, d in rows]

TARGETS = [
    dict(quarter="2026Q2", partner_type="", arr_target="500000"),
    dict(quarter="2026Q2", partner_type="reseller", arr_target="200000"),
    dict(quarter="2026Q2", partner_type="msp", arr_target="100000"),
    dict(quarter="2026Q3", partner_type="", arr_target="400000"),
    dict(quarter="2026Q3", partner_type="reseller", arr_target="150000"),
]

COMPANY = [
    dict(quarter="2026Q1", total_arr="5000000", total_pipeline="2000000", direct_avg_deal_size="50000"),
    dict(quarter="2026Q2", total_arr="5200000", total_pipeline="2100000", direct_avg_deal_size="50000"),
]

TABLE_ROWS = {"partners": PARTNERS, "sellers": SELLERS, "activities": ACTIVITIES,
              "opportunities": OPPORTUNITIES, "stage_history": STAGE_HISTORY, "targets": TARGETS,
              "company": COMPANY}


def write_metrics_export(folder: Path) -> Path:
    """Write the tiny export as CSV files into ``folder`` and return it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in TABLE_ROWS.items():
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return folder
