"""Named profiles of the sample generator: switches that step outside the models' family.

The default process (no profile) uses the same forms as the models. Each profile changes one
aspect of it so that a calibration benchmark can check the forecast on data the models were not
written for (issue 10, "Calibration across data shapes"). Profiles combine (``--profile a,b``)
unless listed as conflicting. Every profile draws its own random numbers from a stream of its
own (spawned from the seed), so the default streams, and with them the default export, do not
change; the same seed and profiles give byte-identical files.

The parameters below are written to ``truth.json`` under ``profiles``; the phases of the
generator read them from here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from partner_forecast.data.sample.params import MISSING


@dataclass(frozen=True)
class Profile:
    """One switch of the generator: name, one-line summary, parameters, conflicting profiles."""

    name: str
    summary: str
    parameters: Mapping[str, Any]
    conflicts: tuple[str, ...] = ()


_GAMMA_SHAPE = {"discovery": 1.6, "qualified": 1.8, "proposal": 2.2, "negotiation": 2.5}
_WEIBULL_SHAPE = {"discovery": 1.1, "qualified": 1.3, "proposal": 1.5, "negotiation": 1.8}

PROFILE_LIST: tuple[Profile, ...] = (
    Profile(
        "stage_times_gamma",
        "gamma times in stage (same medians), no link between lingering and losing",
        {"family": "gamma", "shape": _GAMMA_SHAPE,
         "scale": "median_days / median of Gamma(shape, 1); median_days = exp(time_mu)",
         "conv_duration": 0.0,
         "note": "d = max(1, round(Gamma(shape[s], scale[type][s]))); the advance logit has no "
                 "duration term and conv_logit is recalibrated without it; time_sigma is the sd "
                 "of log days of that gamma (sqrt(trigamma(shape)))"},
        conflicts=("stage_times_weibull",)),
    Profile(
        "stage_times_weibull",
        "Weibull times in stage (same medians), no link between lingering and losing",
        {"family": "weibull", "shape": _WEIBULL_SHAPE,
         "scale": "median_days / ln(2) ** (1 / shape); median_days = exp(time_mu)",
         "conv_duration": 0.0,
         "note": "d = max(1, round(scale[type][s] * Weibull(shape[s]))); no duration term, "
                 "conv_logit recalibrated without it; time_sigma is the sd of log days of that "
                 "Weibull (pi / (shape * sqrt(6)))"},
        conflicts=("stage_times_gamma",)),
    Profile(
        "hidden_quality",
        "a hidden partner quality moves volume, deal size and win odds together",
        {"quality": "z_p ~ Normal(0, 1) per partner (truth: hidden_quality)",
         "weight": 0.7,
         "effects": ["prod_partner", "size_partner", "conv_partner"],
         "note": "effect_p = sqrt(1 - weight) * own_p + sqrt(weight) * sigma * z_p for each "
                 "effect (own_p ~ Normal(0, sigma)): the marginal spread is unchanged, the "
                 "three effects correlate at `weight`; truth's *_partner are these totals"}),
    Profile(
        "progress_flags",
        "technical_validation / executive_sponsor filled in as deals progress (latest value)",
        {"technical_validation": {"at_creation": 0.04, "set_on_entering": "proposal",
                                  "rate": 0.95},
         "executive_sponsor": {"at_creation": 0.03, "set_on_entering": "negotiation",
                               "rate": 0.92},
         "note": "a flag unset at creation is set, with probability `rate`, on the day the deal "
                 "enters `set_on_entering` or any later stage (won included); it enters the "
                 "advance logit (conv_beta) only from then on. The export holds the value on "
                 "the export date; field_history (with --field-history) every change"}),
    Profile(
        "stage_skips",
        "deals skip stages and some are created at later stages",
        {"created_in": {"discovery": 0.72, "qualified": 0.18, "proposal": 0.10},
         "skip_on_advance": {"discovery": {"proposal": 0.15},
                             "qualified": {"negotiation": 0.12, "won": 0.08},
                             "proposal": {"won": 0.12}},
         "note": "on advancing from stage s the deal moves to a listed later destination with "
                 "its probability, else to the next stage; the advance probability itself is "
                 "the default's"},
        conflicts=("two_stage_crm",)),
    Profile(
        "two_stage_crm",
        "a CRM recording one open stage: every deal created in qualified, exits to won/lost",
        {"recorded_open_stages": ["qualified"],
         "note": "the deal path is the default four-stage process (truth), but stage_history "
                 "and opportunities show only 'qualified' from creation, then won or lost"},
        conflicts=("stage_skips",)),
    Profile(
        "messy_labels",
        "label spelling variants, yes/no booleans and many blank optional fields (still valid)",
        {"variant_share": 0.5,
         "missing_share": {"region": 0.25, "partner_name": 0.1, "seller_name": 0.2,
                           "seller_role": 0.3, "referring_seller_id": 0.35,
                           "influence_pct": 0.6, "revenue_motion": 0.3, "route_to_market": 0.3,
                           "marketplace": 0.3, "is_expansion": 0.3,
                           "deal_registration_id": 0.2, "lead_submitted_on": 0.3,
                           "first_contact_on": 0.4, "expected_close_on": 0.2},
         "note": "each label cell is written as a spelling variant (e.g. 'Co-Sell', 'co sell', "
                 "'Closed Won', 'Qualification', 'VAR') with probability variant_share; "
                 "booleans in CSV as true/false, yes/no, 1/0 or Y/N; model covariates and "
                 "required fields stay complete"}),
    Profile(
        "quarter_end_push",
        "closes bunched into the last weeks of each quarter",
        {"window_days": 21, "push_share": {"won": 0.65, "lost": 0.35},
         "pull_days": 21, "pull_share": 0.5,
         "note": "a won deal closing in the first pull_days of a quarter is pulled, with "
                 "probability pull_share, into the previous quarter's last window_days (if "
                 "after its last stage entry); any other close earlier than the last "
                 "window_days of its quarter moves, with probability push_share, to a uniform "
                 "day within them (same quarter, later day); outcomes are unchanged"}),
    Profile(
        "few_partners",
        "10-40 partners (drawn per seed; overrides --partners)",
        {"partners_range": [10, 40]}),
    Profile(
        "heavy_tails",
        "heavy-tailed deal sizes: a Pareto tail on top of the log-t body",
        {"tail_share": 0.1, "tail_alpha": 1.1, "tail_cap": 2000.0,
         "note": "a share tail_share of deals has its ARR multiplied by min(1 + Lomax(alpha), "
                 "cap): finite, but a few deals hundreds of times the median"}),
)
PROFILES: dict[str, Profile] = {p.name: p for p in PROFILE_LIST}

_STREAM_OFFSET = 1000  # profile k draws from SeedSequence(seed, spawn_key=(1000 + k,))


def profile_help() -> str:
    """The profiles, one line each (for the CLI help and error messages)."""
    width = max(len(p.name) for p in PROFILE_LIST)
    return "\n".join(f"  {p.name:<{width}}  {p.summary}" for p in PROFILE_LIST)


def parse_profiles(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Profile names from ``"a,b"`` (or an iterable of names), in registry order.

    Raises
    ------
    ValueError
        Naming every unknown profile with the list of valid ones, or a conflicting pair.

    """
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else list(value)
    names = [n.strip().lower().replace("-", "_") for n in items if n.strip()]
    unknown = [n for n in names if n not in PROFILES]
    if unknown:
        raise ValueError(f"unknown profile(s): {', '.join(unknown)}; choose from:\n"
                         + profile_help())
    chosen = tuple(p.name for p in PROFILE_LIST if p.name in names)
    for name in chosen:
        clash = [c for c in PROFILES[name].conflicts if c in chosen]
        if clash:
            raise ValueError(f"profiles {name} and {clash[0]} cannot be combined")
    return chosen


@dataclass
class ActiveProfiles:
    """The profiles switched on for one generation, with one random stream each."""

    names: tuple[str, ...]
    seed: int
    _streams: dict[str, np.random.Generator] = field(default_factory=dict, repr=False)

    def __contains__(self, name: object) -> bool:
        """Whether profile ``name`` is on."""
        return name in self.names

    def __bool__(self) -> bool:
        """Whether any profile is on."""
        return bool(self.names)

    def params(self, name: str) -> Mapping[str, Any]:
        """The parameters of profile ``name``."""
        return PROFILES[name].parameters

    def rng(self, name: str) -> np.random.Generator:
        """The profile's own random stream (the same object on every call)."""
        if name not in self._streams:
            k = [p.name for p in PROFILE_LIST].index(name)
            seq = np.random.SeedSequence(self.seed, spawn_key=(_STREAM_OFFSET + k,))
            self._streams[name] = np.random.default_rng(seq)
        return self._streams[name]

    def truth(self) -> dict[str, Any]:
        """``{name: parameters}`` of the profiles on (for ``truth.json``)."""
        return {n: dict(PROFILES[n].parameters) for n in self.names}


def missing_share(prof: ActiveProfiles, column: str) -> float:
    """Share of blank cells of an optional ``column``: the default's, or ``messy_labels``'."""
    if "messy_labels" in prof:
        return prof.params("messy_labels")["missing_share"][column]
    return MISSING[column]


__all__ = ["PROFILES", "PROFILE_LIST", "ActiveProfiles", "Profile", "missing_share", "parse_profiles",
           "profile_help"]
