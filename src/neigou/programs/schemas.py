"""Request and response bodies of the programs API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from neigou.kit.instants import Instant
from neigou.kit.names import VisibleNameStr
from neigou.kit.refs import NamesSomeone
from neigou.programs.models import AttributionModel

Code = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")


class AttributionIn(BaseModel):
    """Attribution model and look-back window of a program."""

    model_config = ConfigDict(extra="forbid")

    model: AttributionModel = AttributionModel.LAST_CLICK
    window_days: int = Field(default=30, ge=1, le=365)


class ProgramCreate(BaseModel):
    """A new program."""

    model_config = ConfigDict(extra="forbid")

    code: str = Code
    name: VisibleNameStr
    timezone: str | None = None
    attribution: AttributionIn = Field(default_factory=AttributionIn)
    freeze_days: int = Field(default=7, ge=0, le=365)
    # Checked by the service, so a deeper plan gets its own error code and the legal reason.
    max_levels: int = 2
    self_purchase_commission: bool = True
    # A platform administrator names the organization (default: the default organization); a
    # scoped operator's programs are always its own.
    organization_id: int | None = None


class ProgramUpdate(BaseModel):
    """A program's profile and rules; fields left out stay as they are (the code never changes)."""

    model_config = ConfigDict(extra="forbid")

    name: VisibleNameStr | None = None
    timezone: str | None = Field(default=None, min_length=1, max_length=64)
    attribution: AttributionIn | None = None
    freeze_days: int | None = Field(default=None, ge=0, le=365)
    max_levels: int | None = Field(default=None, ge=-1000, le=1000)
    self_purchase_commission: bool | None = None


class ProgramOut(BaseModel):
    """A program as the API shows it."""

    id: int
    code: str
    name: str
    timezone: str
    attribution: AttributionIn
    freeze_days: int
    max_levels: int
    self_purchase_commission: bool
    created_at: datetime


class ConditionIn(BaseModel):
    """``metric >= gte`` over the period; ``tier`` narrows direct_recruits to that tier or higher."""

    model_config = ConfigDict(extra="forbid")

    metric: Literal["direct_recruits", "orders", "gmv_fen"]
    gte: int = Field(ge=0)
    tier: str | None = None


class KeepIn(BaseModel):
    """Keep rule: a member who misses ``all`` for ``periods`` consecutive periods drops one tier."""

    model_config = ConfigDict(extra="forbid")

    # Range checked by the ladder rules, so the refusal carries its own code.
    periods: int = 1
    all: list[ConditionIn] = Field(min_length=1)


class UpgradeIn(BaseModel):
    """All conditions must hold over one calendar period of the program's time zone."""

    model_config = ConfigDict(extra="forbid")

    period: Literal["month"] = "month"
    all: list[ConditionIn] = Field(min_length=1)
    keep: KeepIn | None = None


class TierIn(BaseModel):
    """One tier of a ladder."""

    model_config = ConfigDict(extra="forbid")

    code: str = Code
    name: VisibleNameStr
    rank: int = Field(ge=0, le=1000)
    share_bp: int = Field(ge=0, le=10_000)
    override_bp: int = Field(default=0, ge=0, le=10_000)
    upgrade: UpgradeIn | None = None


class TierOut(TierIn):
    """A stored tier."""

    model_config = ConfigDict(from_attributes=True)


class MemberCreate(BaseModel):
    """A member joining a program, optionally under an inviter."""

    model_config = ConfigDict(extra="forbid")

    name: VisibleNameStr
    customer_ref: Annotated[str, Field(min_length=1, max_length=128), NamesSomeone] | None = None
    inviter_id: int | None = None
    tier: str | None = None
    joined_at: Instant | None = None


class InviterChange(BaseModel):
    """Rebind a member under another inviter (operator correction), from ``effective_from`` (default:
    now; never in the future, never before the current inviter took effect)."""

    model_config = ConfigDict(extra="forbid")

    inviter_id: int | None
    effective_from: Instant | None = None


class MemberOut(BaseModel):
    """A member as the API shows it; personal data only masked."""

    id: int
    program_id: int
    name: str
    tier: str | None
    inviter_id: int | None
    joined_at: datetime
    customer_ref_masked: str | None
    direct_recruits: int | None = None
