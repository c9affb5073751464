"""The data contract: the files of a CRM/PRM export, their columns, types and label sets.

One source of truth used by the loader, the validator and the sample generator
(DESIGN.md section 2). Labels are matched case-, space-, hyphen- and underscore-insensitively:
see :func:`normalise_label`.

``field_history`` (optional) is the history of opportunity fields other than the stage, as
Salesforce's OpportunityFieldHistory and HubSpot's property history export it: one row per
change, the field's new value from ``changed_on`` on (and, optionally, the value before it).
Its ``value``/``old_value`` cells are typed by the row's ``field`` (column kind
``"field_value"``): a flag's value is a boolean, ``arr`` a number, ``partner_role`` a label.

``calls`` (optional) is the channel team's own forecast, the "call": per quarter and partner
type, partner or the total (both blank), what was committed on ``made_on`` (partner-attributed
ARR, currency per year), an optional best case and who made it. No model reads it: it is set
beside the model (:mod:`partner_forecast.evaluate.calls`), so it is left out of the data
fingerprint that keys fitted models (:data:`NOT_MODEL_INPUTS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class PartnerType(StrEnum):
    """Kinds of partner company."""

    MSP = "msp"
    RESELLER = "reseller"
    DISTRIBUTOR = "distributor"
    SI = "si"
    GSI = "gsi"
    TECH_ALLIANCE = "tech_alliance"
    MARKETPLACE = "marketplace"


class Tier(StrEnum):
    """Partner program tier."""

    STRATEGIC = "strategic"
    GROWTH = "growth"
    TRANSACTIONAL = "transactional"


class PartnerRole(StrEnum):
    """The partner's role on a deal; drives attribution (DOMAIN.md section 4)."""

    SOURCED = "sourced"
    CO_SELL = "co_sell"
    INFLUENCED = "influenced"
    FULFILLMENT = "fulfillment"


class Stage(StrEnum):
    """Opportunity stages, open ones in pipeline order, then the two closed outcomes."""

    DISCOVERY = "discovery"
    QUALIFIED = "qualified"
    PROPOSAL = "proposal"
    NEGOTIATION = "negotiation"
    WON = "won"
    LOST = "lost"


OPEN_STAGES: tuple[str, ...] = ("discovery", "qualified", "proposal", "negotiation")
CLOSED_STAGES: tuple[str, ...] = ("won", "lost")
STAGE_ORDER: dict[str, int] = {s: i for i, s in enumerate(OPEN_STAGES)} | {"won": 4, "lost": 4}

SELLING_ACTIVITIES: tuple[str, ...] = (
    "lead_converted", "vendor_lead_accepted", "pitch", "co_sell_meeting", "deal_closed",
)
LEARNING_ACTIVITIES: tuple[str, ...] = (
    "training", "certification", "content_download", "portal_login", "enablement_session",
)
ENGAGEMENT_ACTIVITIES: tuple[str, ...] = ("joint_call", "deal_update", "deal_registration")
ACTIVITY_TYPES: tuple[str, ...] = SELLING_ACTIVITIES + LEARNING_ACTIVITIES + ENGAGEMENT_ACTIVITIES

#: Opportunity columns whose changes ``field_history`` may record (and the as-of view rebuilds).
#: The stage has its own history (``stage_history``); ids and dates are facts of the deal's
#: creation or outcome, not values that change while it is open.
HISTORY_FIELDS: tuple[str, ...] = (
    "partner_role", "influence_pct", "revenue_motion", "route_to_market", "deal_registration_id",
    "marketplace", "is_expansion", "arr", "technical_validation", "executive_sponsor",
)

#: Partner roles in :class:`PartnerRole` order: the index order of every per-role array
#: (deal-size role effects, new-deal role mix, ``open_deals.role``).
ROLES: tuple[str, ...] = tuple(r.value for r in PartnerRole)
#: Conversion covariates of a deal, in the order of the conversion model's coefficients:
#: the two deal flags (0/1) and engagement (engagement activities / ``engagement_full_at``,
#: capped at 1).
COVARIATES: tuple[str, ...] = ("technical_validation", "executive_sponsor", "engagement")
#: Days that scale time in stage in the conversion model: its duration slope multiplies
#: ``log(days_in_stage / DURATION_SCALE_DAYS)``.
DURATION_SCALE_DAYS = 30.0

#: Columns of the open pipeline handed to the simulation (one row per deal open at as-of),
#: with what each holds.
OPEN_DEAL_COLUMNS: dict[str, str] = {
    "opportunity_id": "deal id (str)",
    "partner": "index into partner_ids (int)",
    "stage": "index into OPEN_STAGES (int)",
    "days_in_stage": "days already spent in the current stage at as-of (float >= 0)",
    "arr": "deal ARR (currency per year, float >= 0)",
    "role": "index into ROLES (int)",
    "attribution": "share of ARR attributed to the partner channel, 0-1 (float)",
    "technical_validation": "covariate (float; 0/1, or its deviation from a stage mean)",
    "executive_sponsor": "covariate (float; 0/1, or its deviation from a stage mean)",
    "engagement": "covariate: engagement activities / engagement_full_at, capped (float; or its "
                  "deviation from a stage mean)",
    "marketplace": "deal is a marketplace deal (bool)",
    "is_expansion": "deal is an expansion (bool)",
    "commit_factor": "1 (score > 70), 0.75 (40-70) or 0 (< 40): DOMAIN.md section 6 (float)",
    "confidence_score": "deal confidence score 0-100 (float)",
}

REVENUE_MOTIONS: tuple[str, ...] = ("resell", "referral", "managed_service", "embedded_tech")
ROUTES_TO_MARKET: tuple[str, ...] = ("partner_assist", "partner_resale", "marketplace")

LABEL_SETS: dict[str, tuple[str, ...]] = {
    "partner_type": tuple(PartnerType),
    "tier": tuple(Tier),
    "partner_role": tuple(PartnerRole),
    "stage": tuple(Stage),
    "activity_type": ACTIVITY_TYPES,
    "revenue_motion": REVENUE_MOTIONS,
    "route_to_market": ROUTES_TO_MARKET,
    "history_field": HISTORY_FIELDS,
}

# Common spellings that normalise to a different canonical label.
LABEL_ALIASES: dict[str, dict[str, str]] = {
    "partner_type": {"technology_alliance": "tech_alliance", "tech_partner": "tech_alliance",
                     "system_integrator": "si", "global_system_integrator": "gsi",
                     "managed_service_provider": "msp", "var": "reseller"},
    "partner_role": {"cosell": "co_sell", "source": "sourced", "influence": "influenced"},
    "stage": {"closed_won": "won", "closed_lost": "lost", "qualification": "qualified"},
    "history_field": {"amount": "arr", "role": "partner_role", "influence": "influence_pct"},
}

#: Largest ARR one deal may carry (currency per year). 10^12 is beyond any real deal even in
#: currencies of small unit value; a larger figure (``1e300``) is a typo or a unit error.
MAX_DEAL_ARR = 1e12
#: Largest ARR total (targets, company figures; currency per year).
MAX_TOTAL_ARR = 1e15

_SEPARATORS = re.compile(r"[\s\-_/]+")


def normalise_label(value: object) -> str:
    """Canonical form of a label: lower case, runs of space/hyphen/underscore -> one '_'.

    >>> normalise_label(" Co-Sell ")
    'co_sell'
    """
    return _SEPARATORS.sub("_", str(value).strip().lower()).strip("_")


@dataclass(frozen=True)
class Column:
    """One column of the contract: its name, kind and whether it is required."""

    name: str
    kind: str  # "id", "text", "label", "date", "number", "bool", "quarter", "field_value"
    required: bool = False
    labels: str | None = None  # key into LABEL_SETS for kind == "label"
    min_value: float | None = None
    max_value: float | None = None


@dataclass(frozen=True)
class Table:
    """One file of the export."""

    name: str
    columns: tuple[Column, ...]
    key: str | None = None
    optional: bool = False
    references: dict[str, str] = field(default_factory=dict)  # column -> referenced table

    @property
    def required_columns(self) -> list[str]:
        """Names of the columns that must be present and non-empty."""
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        """The column spec called ``name``."""
        return next(c for c in self.columns if c.name == name)


TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table("partners", (
            Column("partner_id", "id", True),
            Column("partner_name", "text"),
            Column("partner_type", "label", True, "partner_type"),
            Column("tier", "label", True, "tier"),
            Column("onboarded_on", "date", True),
            Column("offboarded_on", "date"),
            Column("region", "text"),
        ), key="partner_id"),
        Table("sellers", (
            Column("seller_id", "id", True),
            Column("partner_id", "id", True),
            Column("seller_name", "text"),
            Column("role", "text"),
            Column("joined_on", "date", True),
            Column("left_on", "date"),
        ), key="seller_id", references={"partner_id": "partners"}),
        Table("activities", (
            Column("activity_id", "id", True),
            Column("seller_id", "id", True),
            Column("occurred_on", "date", True),
            Column("activity_type", "label", True, "activity_type"),
            Column("opportunity_id", "id"),
        ), key="activity_id", references={"seller_id": "sellers", "opportunity_id": "opportunities"}),
        Table("opportunities", (
            Column("opportunity_id", "id", True),
            Column("partner_id", "id", True),
            Column("referring_seller_id", "id"),
            Column("partner_role", "label", True, "partner_role"),
            Column("influence_pct", "number", min_value=0, max_value=100),
            Column("revenue_motion", "label", labels="revenue_motion"),
            Column("route_to_market", "label", labels="route_to_market"),
            Column("deal_registration_id", "text"),
            Column("marketplace", "bool"),
            Column("is_expansion", "bool"),
            Column("created_on", "date", True),
            Column("lead_submitted_on", "date"),
            Column("first_contact_on", "date"),
            Column("stage", "label", True, "stage"),
            Column("expected_close_on", "date"),
            Column("closed_on", "date"),
            Column("arr", "number", True, min_value=0, max_value=MAX_DEAL_ARR),
            Column("technical_validation", "bool"),
            Column("executive_sponsor", "bool"),
        ), key="opportunity_id",
            references={"partner_id": "partners", "referring_seller_id": "sellers"}),
        Table("stage_history", (
            Column("opportunity_id", "id", True),
            Column("stage", "label", True, "stage"),
            Column("entered_on", "date", True),
        ), references={"opportunity_id": "opportunities"}),
        Table("field_history", (
            Column("opportunity_id", "id", True),
            Column("field", "label", True, "history_field"),
            Column("value", "field_value"),
            Column("changed_on", "date", True),
            Column("old_value", "field_value"),
        ), optional=True, references={"opportunity_id": "opportunities"}),
        Table("targets", (
            Column("quarter", "quarter", True),
            Column("partner_type", "label", labels="partner_type"),
            Column("arr_target", "number", True, min_value=0, max_value=MAX_TOTAL_ARR),
        ), optional=True),
        Table("calls", (
            Column("quarter", "quarter", True),
            Column("partner_type", "label", labels="partner_type"),
            Column("partner_id", "id"),
            Column("made_on", "date", True),
            Column("commit", "number", True, min_value=0, max_value=MAX_TOTAL_ARR),
            Column("best_case", "number", min_value=0, max_value=MAX_TOTAL_ARR),
            Column("made_by", "text"),
        ), optional=True, references={"partner_id": "partners"}),
        Table("company", (
            Column("quarter", "quarter", True),
            Column("total_arr", "number", min_value=0, max_value=MAX_TOTAL_ARR),
            Column("total_pipeline", "number", min_value=0, max_value=MAX_TOTAL_ARR),
            Column("direct_avg_deal_size", "number", min_value=0, max_value=MAX_DEAL_ARR),
        ), optional=True),
    )
}

#: Tables no model reads: their changes do not invalidate fitted models (they are left out of
#: :func:`partner_forecast.data.export.fingerprint_folder`) and their dates do not move the
#: export's default as-of date (a call made after the CRM export does not make it newer).
NOT_MODEL_INPUTS: frozenset[str] = frozenset({"calls"})
#: Date columns holding plans rather than events: they may lie in the future of the export, so
#: they do not define its latest date (an open deal expected to close next year does not make
#: the export "as of" next year).
PLANNED_DATE_COLUMNS: frozenset[tuple[str, str]] = frozenset({("opportunities", "expected_close_on")})

BOOL_TRUE = frozenset({"true", "t", "yes", "y", "1"})
BOOL_FALSE = frozenset({"false", "f", "no", "n", "0"})
