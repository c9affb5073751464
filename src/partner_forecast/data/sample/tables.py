"""Phase 6 of the sample generator: ids, missingness and the export's typed tables.

Optional fields that no model uses (region, names, referring seller, influence %, motion,
route, marketplace flag, deal registration, lead dates) have a little missingness for the
data-quality audit (much more under ``messy_labels``); model covariates are complete.
``expected_close_on`` is the close date of a closed deal and, for an open one, its planned date
when that is before the export date (else blank). Under ``two_stage_crm`` the stage history
and current stage show only ``qualified`` between creation and won/lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from partner_forecast.data.sample.activities import Activities
from partner_forecast.data.sample.common import NO_DAY, Calendar, categorical, probs
from partner_forecast.data.sample.params import SELLER_ROLES, TIERS, TYPES
from partner_forecast.data.sample.paths import Paths
from partner_forecast.data.sample.pipeline import Deals, Opportunities
from partner_forecast.data.sample.population import Population
from partner_forecast.data.sample.profiles import ActiveProfiles, missing_share
from partner_forecast.data.schema import (
    ACTIVITY_TYPES,
    OPEN_STAGES,
    REVENUE_MOTIONS,
    ROLES,
    ROUTES_TO_MARKET,
)

STAGES: tuple[str, ...] = (*OPEN_STAGES, "won", "lost")

_FIRST_NAMES = ("Alex", "Sam", "Jordan", "Taylor", "Morgan", "Casey", "Riley", "Jamie", "Avery",
                "Priya", "Wei", "Chen", "Fatima", "Omar", "Lucas", "Sofia", "Mateo", "Elena",
                "Noah", "Emma", "Liam", "Olivia", "Hiro", "Yuki", "Ana", "Joao", "Ines", "Lars",
                "Freya", "Kofi", "Amara", "Ravi", "Anil", "Mei", "Sara", "David", "Grace",
                "Ethan", "Chloe", "Marta")
_LAST_NAMES = ("Smith", "Johnson", "Garcia", "Martinez", "Brown", "Lee", "Kim", "Nguyen", "Patel",
               "Shah", "Singh", "Chen", "Wang", "Müller", "Schmidt", "Rossi", "Silva", "Santos",
               "Dubois", "Martin", "Novak", "Kowalski", "Jensen", "Larsen", "Okafor", "Mensah",
               "Tanaka", "Sato", "Cohen", "O'Brien", "Murphy", "Walsh", "Costa", "Lopez",
               "Hughes", "Clarke", "Evans", "Fischer", "Berg", "Ito")
_NAME_A = ("North", "Blue", "Bright", "Summit", "Iron", "Silver", "Clear", "Red", "Cloud", "Peak",
           "Harbor", "Vertex", "Atlas", "Nova", "Cedar", "Granite", "Pioneer", "Quantum",
           "Horizon", "Keystone", "Beacon", "Apex", "Crescent", "Falcon", "Meridian", "Orbit",
           "Prairie", "River", "Stone", "Zenith")
_NAME_B = ("wind", "path", "gate", "bridge", "field", "point", "line", "stack", "wave", "forge",
           "works", "logic", "sphere", "bay", "ridge", "core", "link", "shift", "leaf", "mark")
_NAME_SUFFIX = {"msp": ("Managed Services", "IT Services", "Cloud Ops"),
                "reseller": ("Solutions", "Technologies", "Direct"),
                "distributor": ("Distribution", "Supply", "Trade"),
                "si": ("Consulting", "Integration", "Partners"),
                "gsi": ("Global Consulting", "Group", "Global Services"),
                "tech_alliance": ("Software", "Labs", "Platforms"),
                "marketplace": ("Marketplace", "Cloud Store", "Exchange")}



def partner_names(r: np.random.Generator, ptype: np.ndarray) -> np.ndarray:
    """Plausible, unique company names (a number is appended once combinations run out)."""
    n = len(ptype)
    a = r.integers(0, len(_NAME_A), n)
    b = r.integers(0, len(_NAME_B), n)
    c = r.integers(0, 3, n)
    seen: dict[str, int] = {}
    out = []
    for i in range(n):
        name = f"{_NAME_A[a[i]]}{_NAME_B[b[i]]} {_NAME_SUFFIX[TYPES[ptype[i]]][c[i]]}"
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name} {seen[name]}")
    return np.array(out, dtype=object)


@dataclass
class Ids:
    """Ids of partners, sellers and opportunities; deals are numbered by creation day."""

    partner: np.ndarray
    seller: np.ndarray
    opp_of: np.ndarray  # id of opportunity i (generation order)
    o_order: np.ndarray  # generation indices in table order
    o_rank: np.ndarray  # table position of opportunity i

    @classmethod
    def make(cls, partners: int, sellers: int, opps: Opportunities) -> Ids:
        """Ids in table order (opportunities by creation day, then partner)."""
        n = opps.n
        o_order = np.lexsort((np.arange(n), opps.o_p, opps.created))
        o_rank = np.empty(n, dtype=np.int64)
        o_rank[o_order] = np.arange(n)
        opp_ids = np.array([f"OPP-{i + 1:06d}" for i in range(n)], dtype=object)
        return cls(partner=np.array([f"P{i + 1:04d}" for i in range(partners)], dtype=object),
                   seller=np.array([f"S{i + 1:05d}" for i in range(sellers)], dtype=object),
                   opp_of=opp_ids[o_rank], o_order=o_order, o_rank=o_rank)


def build_tables(r: np.random.Generator, rn: np.random.Generator, cal: Calendar,
                 pop: Population, opps: Opportunities, deals: Deals, paths: Paths,
                 acts: Activities, ids: Ids, prof: ActiveProfiles) -> dict[str, pd.DataFrame]:
    """Partners, sellers, opportunities, stage_history and activities as typed frames.

    ``r`` draws the missingness, ``rn`` names, seller roles and planned close dates.
    """
    P, S, N = pop.partners, pop.sellers, opps.n
    E = cal.export_day
    names = partner_names(rn, pop.ptype)
    region = np.array(pop.regions, dtype=object)[pop.pregion]
    region[r.random(P) < missing_share(prof, "region")] = None
    partners_df = pd.DataFrame({
        "partner_id": ids.partner, "partner_name": names,
        "partner_type": np.array(TYPES, dtype=object)[pop.ptype],
        "tier": np.array(TIERS, dtype=object)[pop.ptier],
        "onboarded_on": cal.dates(pop.onb), "offboarded_on": cal.dates(pop.off), "region": region,
    })

    first_names = np.array(_FIRST_NAMES, dtype=object)[rn.integers(0, len(_FIRST_NAMES), S)]
    last_names = np.array(_LAST_NAMES, dtype=object)[rn.integers(0, len(_LAST_NAMES), S)]
    seller_name = (first_names + " " + last_names).astype(object)
    seller_name[r.random(S) < missing_share(prof, "seller_name")] = None
    seller_role = np.array(tuple(SELLER_ROLES), dtype=object)[
        categorical(rn, probs(SELLER_ROLES, tuple(SELLER_ROLES)), size=S)]
    seller_role[r.random(S) < missing_share(prof, "seller_role")] = None
    sellers_df = pd.DataFrame({
        "seller_id": ids.seller, "partner_id": ids.partner[pop.sp], "seller_name": seller_name,
        "role": seller_role, "joined_on": cal.dates(pop.joined), "left_on": cal.dates(pop.left),
    })

    ref = ids.seller[opps.o_seller].astype(object)
    ref[r.random(N) < missing_share(prof, "referring_seller_id")] = None
    motion_lbl = np.array(REVENUE_MOTIONS, dtype=object)[deals.motion]
    motion_lbl[r.random(N) < missing_share(prof, "revenue_motion")] = None
    route_lbl = np.array(ROUTES_TO_MARKET, dtype=object)[deals.route]
    route_lbl[r.random(N) < missing_share(prof, "route_to_market")] = None
    mkt = pd.array(deals.is_marketplace, dtype="boolean")
    mkt[r.random(N) < missing_share(prof, "marketplace")] = pd.NA
    reg_ids = np.array([f"DR-{100001 + i}" for i in range(N)], dtype=object)
    reg_id = np.where(deals.has_reg, reg_ids[ids.o_rank], None)
    planned = np.array([np.exp(paths.time_mu[i]).sum() for i in range(len(TYPES))])[opps.o_t]
    expected = opps.created + np.rint(planned * np.exp(rn.normal(0, 0.25, N))).astype(np.int64)
    # Closed deals show their close date (the CRM's last value); an open deal's plan is kept
    # only when before the export date (overdue), else blank, as in an as-of view of the export.
    closed, outcome_day = paths.closed, paths.outcome_day
    expected = np.where(closed, outcome_day, np.where(expected < E, expected, NO_DAY))
    current = paths.current
    if "two_stage_crm" in prof:
        current = np.where(closed, current, OPEN_STAGES.index("qualified"))
    opps_df = pd.DataFrame({
        "opportunity_id": ids.opp_of,
        "partner_id": ids.partner[opps.o_p],
        "referring_seller_id": ref,
        "partner_role": np.array(ROLES, dtype=object)[deals.role],
        "influence_pct": pd.array(np.where(deals.pct_known, deals.pct, 0), dtype="Int64"),
        "revenue_motion": motion_lbl,
        "route_to_market": route_lbl,
        "deal_registration_id": reg_id,
        "marketplace": mkt,
        "is_expansion": pd.array(deals.expansion, dtype="boolean"),
        "created_on": cal.dates(opps.created),
        "lead_submitted_on": cal.dates(np.where(deals.has_lead, deals.lead_day, NO_DAY)),
        "first_contact_on": cal.dates(np.where(deals.contact_known,
                                               deals.lead_day + deals.response, NO_DAY)),
        "stage": np.array(STAGES, dtype=object)[current],
        "expected_close_on": cal.dates(expected),
        "closed_on": cal.dates(np.where(closed, outcome_day, NO_DAY)),
        "arr": pd.array(deals.arr.astype(np.int64), dtype="Int64"),
        "technical_validation": pd.array(paths.tv, dtype="boolean"),
        "executive_sponsor": pd.array(paths.es, dtype="boolean"),
    })
    opps_df.loc[~deals.pct_known, "influence_pct"] = pd.NA
    opps_df = opps_df.iloc[ids.o_order].reset_index(drop=True)

    a_opp = acts.opp
    acts_df = pd.DataFrame({
        "activity_id": np.array([f"A{i + 1:07d}" for i in range(len(a_opp))], dtype=object),
        "seller_id": ids.seller[acts.seller],
        "occurred_on": cal.dates(acts.day),
        "activity_type": np.array(ACTIVITY_TYPES, dtype=object)[acts.kind],
        "opportunity_id": np.where(a_opp >= 0, ids.opp_of[np.maximum(a_opp, 0)], None),
    })
    return {"partners": partners_df, "sellers": sellers_df, "activities": acts_df,
            "opportunities": opps_df,
            "stage_history": history_frame(cal, opps, paths, ids, "two_stage_crm" in prof)}


def history_frame(cal: Calendar, opps: Opportunities, paths: Paths, ids: Ids, two_stage: bool
                  ) -> pd.DataFrame:
    """One row per stage entered before the export date, in deal then day then stage order.

    With ``two_stage`` the CRM records the creation in ``qualified`` and then only the close.
    """
    closed, won = paths.closed, paths.won
    reached = paths.reached
    entered = paths.entered
    if two_stage:
        reached = np.zeros_like(reached)
        reached[:, OPEN_STAGES.index("qualified")] = True
        entered = np.full_like(entered, NO_DAY)
        entered[:, OPEN_STAGES.index("qualified")] = opps.created
    h_opp = np.concatenate([np.repeat(np.arange(opps.n), reached.sum(axis=1)),
                            np.flatnonzero(closed)])
    h_stage = np.concatenate([np.nonzero(reached)[1], np.where(won[closed], 4, 5)])
    h_day = np.concatenate([entered[reached], paths.outcome_day[closed]])
    h_order = np.lexsort((h_stage, h_day, ids.o_rank[h_opp]))
    return pd.DataFrame({
        "opportunity_id": ids.opp_of[h_opp][h_order],
        "stage": np.array(STAGES, dtype=object)[h_stage][h_order],
        "entered_on": cal.dates(h_day[h_order]),
    })


FIELD_HISTORY_FIELDS = ("technical_validation", "executive_sponsor")


def field_history_frame(cal: Calendar, opps: Opportunities, paths: Paths,
                        ids: Ids) -> pd.DataFrame:
    """The flags' change log: their value at creation, then each later change.

    Columns ``opportunity_id, field, value, changed_on`` (value is the new value, ``true`` or
    ``false``), ordered like the opportunities table, then by day and field. Only changes
    before the export date are logged; under ``progress_flags`` a flag unset at creation gets
    a ``true`` row on the day it was set, otherwise flags never change.
    """
    n = opps.n
    parts = []
    for k, (initial, day) in enumerate(((paths.tv0, paths.tv_day), (paths.es0, paths.es_day))):
        parts.append((np.arange(n), np.full(n, k), initial, opps.created))
        later = np.flatnonzero(day != NO_DAY)
        parts.append((later, np.full(len(later), k), np.ones(len(later), dtype=bool), day[later]))
    opp = np.concatenate([x[0] for x in parts])
    field = np.concatenate([x[1] for x in parts])
    value = np.concatenate([x[2] for x in parts])
    day = np.concatenate([x[3] for x in parts])
    order = np.lexsort((field, day, ids.o_rank[opp]))
    return pd.DataFrame({
        "opportunity_id": ids.opp_of[opp][order],
        "field": np.array(FIELD_HISTORY_FIELDS, dtype=object)[field][order],
        "value": np.where(value[order], "true", "false").astype(object),
        "changed_on": cal.dates(day[order]),
    })
