"""Request and response bodies of the tiers API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class EvaluationIn(BaseModel):
    """Evaluate a period (``YYYY-MM``); a dry run previews the changes and writes nothing."""

    model_config = ConfigDict(extra="forbid")

    # Checked by the service, so a bad period gets the ``invalid_period`` code.
    period: str = Field(max_length=20)
    dry_run: bool = False


class ReasonOut(BaseModel):
    """Why a tier changed: a stable code, the figures, and the same sentence in English and Chinese."""

    code: str
    metric: str | None = None
    tier: str | None = None
    actual: int | None = None
    required: int | None = None
    en: str
    zh: str


class ChangeOut(BaseModel):
    """A member's tier change."""

    member_id: int
    from_: str | None = Field(serialization_alias="from")
    to: str
    kind: str
    reasons: list[ReasonOut]


class EvaluationOut(BaseModel):
    """An evaluation's changes; ``already_evaluated`` when the period had run before (nothing new written)."""

    program_id: int
    period: str
    dry_run: bool
    already_evaluated: bool
    evaluation_id: int | None
    ran_at: datetime | None
    effective_from: datetime
    members_evaluated: int
    changes: list[ChangeOut]
    # Members not decided for: their tier changed from the period's end on (an operator's override made
    # before the run). Null for a run recorded before this list was kept.
    left_out: list[int] | None


class EvaluationSummary(BaseModel):
    """A past evaluation in the list."""

    id: int
    period: str
    ran_at: datetime
    effective_from: datetime
    members_evaluated: int
    changes: int
    actor: str


class TierOverrideIn(BaseModel):
    """Put a member on a tier from now on, with the operator's reason."""

    model_config = ConfigDict(extra="forbid")

    tier: str = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=1, max_length=160)


class TierOverrideOut(BaseModel):
    """What an override changed."""

    member_id: int
    from_: str | None = Field(serialization_alias="from")
    to: str
    effective_from: datetime
    reason: str


class GapOut(BaseModel):
    """One condition of the next tier."""

    metric: str
    tier: str | None
    actual: int
    required: int
    missing: int


class ProgressOut(BaseModel):
    """A member's month so far against the next tier."""

    member_id: int
    period: str
    tier: str | None
    next_tier: str | None
    met: bool
    gaps: list[GapOut]
    direct_recruits: int
    orders: int
    gmv_fen: int
    text_zh: str
    text_en: str
