"""Request and response bodies of the risk API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from neigou.kit.instants import Instant

RuleName = Literal[
    "order_brushing", "coupon_hoarding", "shared_identity", "invite_ring", "refund_abuse", "padded_group"
]
Threshold = Annotated[int, Field(ge=1, le=1_000_000_000, strict=True)]


class ScanIn(BaseModel):
    """Run every rule (or the named ones) now, over the program's window ending at ``as_of``."""

    model_config = ConfigDict(extra="forbid")

    as_of: Instant | None = None
    rules: Annotated[list[RuleName], Field(min_length=1, max_length=6)] | None = None


class ScanOut(BaseModel):
    """Cases opened; open cases that took more orders; findings in all."""

    opened: int
    extended: int
    findings: int


class ResolveIn(BaseModel):
    """Clear (the money is released at the next settlement) or confirm (it is reversed)."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["clear", "confirm"]
    note: Annotated[str, Field(max_length=2000)] | None = None
    suspend: bool = False


class ExplanationOut(BaseModel):
    """The same explanation in English and Chinese."""

    en: str
    zh: str


class CaseOut(BaseModel):
    """A case with the orders it holds and what it holds of their commission."""

    id: int
    program_id: int
    rule: str
    severity: str
    status: str
    member_id: int | None
    order_ids: list[int]
    held_fen: int
    reversed_fen: int
    suspended: bool
    evidence: dict[str, Any]
    explanation: ExplanationOut
    opened_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    note: str | None


class ThresholdsIn(BaseModel):
    """Thresholds to change; the others keep their value (see ``GET`` for every name and default)."""

    model_config = ConfigDict(extra="forbid")

    brushing_min_orders: Threshold | None = None
    brushing_max_paid_fen: Threshold | None = None
    brushing_window_minutes: Threshold | None = None
    brushing_refunded_min_orders: Threshold | None = None
    hoarding_min_refs: Threshold | None = None
    ring_min_shared: Threshold | None = None
    ring_burst_joins: Threshold | None = None
    ring_burst_hours: Threshold | None = None
    refund_abuse_min_orders: Threshold | None = None
    refund_abuse_min_refunds: Threshold | None = None
    refund_abuse_min_rate_bp: Threshold | None = None
    refund_abuse_factor_bp: Threshold | None = None
    lookback_days: Annotated[int, Field(ge=1, le=366, strict=True)] | None = None
