"""Load and merge TOML configuration into typed, validated settings.

The packaged ``default.toml`` (also at ``configs/default.toml``) holds every default; a user
file passed with ``--config`` is merged over it table by table. Settings are validated with
pydantic (unknown keys are errors, so a typo cannot silently fall back to a default), and
every output records :attr:`Settings.fingerprint`, a hash of the merged configuration.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from partner_forecast.errors import ConfigError

DEFAULT_CONFIG_TEXT = files("partner_forecast").joinpath("default.toml").read_text("utf-8")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CalendarSettings(_Strict):
    """Fiscal calendar: first month of the fiscal year."""

    fiscal_year_start_month: int = Field(1, ge=1, le=12)


class StageSettings(_Strict):
    """Ordered open stages, the closed outcomes, and aliases for a CRM's own stage names.

    ``aliases`` maps a CRM stage name (matched like every label: case, spaces, hyphens and
    underscores do not matter) onto a canonical stage (discovery, qualified, proposal,
    negotiation, won, lost); the reader applies it to ``opportunities.stage`` and
    ``stage_history.stage`` on top of the built-in aliases (``closed_won`` -> ``won`` ...).
    """

    open: list[str]
    closed: list[str]
    aliases: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _stage_list_is_the_canonical_one(self) -> StageSettings:
        """The stage list is fixed: say so rather than silently ignore an edited one.

        The models, the seed conversion table and the confidence scores are written for the
        four canonical open stages. A CRM with other stages maps them with ``aliases``; one
        that records fewer of them needs nothing (skipped stages are learned per type).
        """
        from partner_forecast.data.schema import OPEN_STAGES

        if tuple(self.open) != OPEN_STAGES or tuple(self.closed) != ("won", "lost"):
            raise ValueError(
                f"stages.open must be {list(OPEN_STAGES)} and stages.closed ['won', 'lost'] "
                f"(got {list(self.open)} and {list(self.closed)}): the stage list is fixed. Map "
                "your CRM's stages onto these with [stages] aliases (several may map onto one); "
                "a CRM recording fewer stages needs no change, skipped stages are learned")
        return self

    @model_validator(mode="after")
    def _aliases_name_canonical_stages(self) -> StageSettings:
        from partner_forecast.data.schema import LABEL_SETS, normalise_label

        canonical = LABEL_SETS["stage"]
        for name, target in self.aliases.items():
            if not normalise_label(name):
                raise ValueError("stages.aliases: an alias name is empty")
            if normalise_label(target) not in canonical:
                raise ValueError(f"stages.aliases: {name!r} maps onto {target!r}, which is not a "
                                 f"canonical stage ({', '.join(canonical)})")
        return self

    def alias_map(self) -> dict[str, str]:
        """The aliases as the reader uses them: normalised CRM label -> canonical stage."""
        from partner_forecast.data.schema import normalise_label

        return {normalise_label(k): normalise_label(v) for k, v in self.aliases.items()}


class AttributionSettings(_Strict):
    """Share of ARR attributed to the partner channel by role (0-1)."""

    sourced: float = Field(ge=0, le=1)
    co_sell: float = Field(ge=0, le=1)
    influenced: float = Field(ge=0, le=1)
    fulfillment: float = Field(ge=0, le=1)
    use_influence_pct: bool = True

    def weight(self, role: str) -> float:
        """Attribution weight of a partner role."""
        return float(getattr(self, role))


class ConfidenceSettings(_Strict):
    """Deal confidence score weights, factor scores and the commit/upside rule."""

    weights: dict[str, float]
    full_above: float
    discounted_from: float
    discount: float = Field(ge=0, le=1)
    stage_score: dict[str, float]
    tier_score: dict[str, float]
    engagement_full_at: int = Field(gt=0)

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> ConfidenceSettings:
        expected = {"stage", "tier", "partner_history", "engagement", "technical_validation",
                    "executive_sponsor"}
        if set(self.weights) != expected:
            raise ValueError(f"confidence.weights must have exactly the keys {sorted(expected)}")
        total = sum(self.weights.values())
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"confidence.weights must sum to 1, got {total:.4f}")
        if not self.discounted_from <= self.full_above:
            raise ValueError("confidence.discounted_from must be <= confidence.full_above")
        return self


class ActivationSettings(_Strict):
    """Activation targets and thresholds."""

    asr_target: float = Field(ge=0, le=1)
    paper_partnership_quarters: int = Field(ge=1)
    activated_within_days: int = Field(ge=1)
    lead_response_target_days: float = Field(gt=0)
    conversion_target: float = Field(ge=0, le=1)
    seller_engagement_target: int = Field(ge=0)
    fully_enabled_from: float
    partially_ready_from: float


class AuditSettings(_Strict):
    """Data-quality audit window and required fields."""

    window_days: int = Field(ge=1)
    required_fields: list[str]


class TimingSettings(_Strict):
    """How the time-in-stage model reads closes bunched at quarter end (see ``[timing]``)."""

    quarter_end: Literal["auto", "on", "off"] = "auto"
    quarter_end_window_days: int = Field(default=21, ge=1, le=45)
    """Last days of a fiscal quarter in which closes count as bunched."""
    quarter_end_pull_days: int = Field(default=21, ge=0, le=60)
    """How far after its date a close in the window may have been due (pulled in)."""


class SamplerSettings(_Strict):
    """MCMC sampler settings and the diagnostics a fit must pass."""

    draws: int = Field(ge=10)
    tune: int = Field(ge=10)
    chains: int = Field(ge=1)
    target_accept: float = Field(gt=0, lt=1)
    random_seed: int = Field(ge=0)
    max_rhat: float = Field(gt=1)
    min_ess: float = Field(ge=0)
    max_divergences: int = Field(ge=0)
    retries: int = Field(default=2, ge=0, le=4)
    fit_workers: int = Field(default=0, ge=0, le=64)
    """Models fitted side by side, each in its own process (0: automatic, see ``fit_pool``)."""


class SimulationSettings(_Strict):
    """Monte Carlo settings."""

    draws: int = Field(ge=1)
    chunk_draws: int = Field(ge=1)
    horizon: int = Field(ge=1, le=8)
    seed: int = Field(ge=0)


class Settings(_Strict):
    """The whole, validated configuration."""

    calendar: CalendarSettings
    stages: StageSettings
    attribution: AttributionSettings
    coverage: dict[str, float]
    conversion_table: dict[str, dict[str, float]]
    confidence: ConfidenceSettings
    activation: ActivationSettings
    audit: AuditSettings
    timing: TimingSettings = TimingSettings()
    sampler: SamplerSettings
    simulation: SimulationSettings
    priors: dict[str, dict[str, Any]]
    source: str = "default"

    @property
    def fingerprint(self) -> str:
        """Short hash of the merged configuration (excluding where it came from)."""
        payload = json.dumps(self.model_dump(exclude={"source"}), sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def conversion_probability(self, partner_type: str, stage: str) -> float:
        """Seed-table probability that a deal of this type at this stage closes won."""
        table = self.conversion_table.get(partner_type, self.conversion_table["default"])
        return float(table[stage])

    def with_overrides(self, **sections: dict[str, Any]) -> Settings:
        """A copy with some tables updated (e.g. ``sampler={"draws": 50}``)."""
        data = self.model_dump()
        for name, values in sections.items():
            data[name] = _deep_merge(data[name], values)
        return Settings.model_validate(data)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(path: str | Path | None = None) -> Settings:
    """Load the defaults, merge the user file at ``path`` over them and validate.

    Raises :class:`ConfigError` naming the file and key on any problem.
    """
    data = tomllib.loads(DEFAULT_CONFIG_TEXT)
    source = "default"
    if path is not None:
        p = Path(path)
        try:
            user = tomllib.loads(p.read_text("utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{p}: config file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: not valid TOML: {exc}") from None
        unknown = set(user) - set(data)
        if unknown:
            raise ConfigError(f"{p}: unknown config table(s): {', '.join(sorted(unknown))}")
        data = _deep_merge(data, user)
        source = str(p)
    try:
        return Settings.model_validate({**data, "source": source})
    except ValidationError as exc:
        lines = [f"{source}: {'.'.join(str(x) for x in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None
