"""Request and response bodies of the push, push settings and engagement API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Self

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from neigou.crm.models import MessageStatus, PushChannel, RobotVia
from neigou.crm.push_rules import MAX_CUSTOMERS
from neigou.kit.i18n import Message
from neigou.kit.instants import Instant

Sku = Annotated[str, Field(min_length=1, max_length=64)]
CustomerId = Annotated[int, Field(ge=1, le=2**63 - 1)]


class PushCreate(BaseModel):
    """Customers (or a segment) and products to push; ``at`` schedules it, the template is optional."""

    model_config = ConfigDict(extra="forbid")

    customer_ids: list[CustomerId] | None = Field(default=None, min_length=1, max_length=MAX_CUSTOMERS)
    segment_id: CustomerId | None = None
    skus: list[Sku] = Field(min_length=1, max_length=10)
    template: str | None = Field(default=None, min_length=1, max_length=1000)
    at: Instant | None = None

    @model_validator(mode="after")
    def _one_audience(self) -> Self:
        if (self.customer_ids is None) == (self.segment_id is None):
            raise ValueError(Message("Give either customer_ids or segment_id, not both."))
        return self


class MessageOut(BaseModel):
    """One customer's message for one product."""

    id: int
    customer_id: int
    sku: str
    text: str
    link_code: str
    send_at: dt.datetime
    status: MessageStatus
    sent_at: dt.datetime | None
    attempts: int
    last_error: str | None
    # Robot channel: whose robot the latest attempt went through, the customer's group's (with its id)
    # or the program's; null before a robot is tried and on the other channels.
    sent_via: RobotVia | None
    sent_via_group_id: int | None


class SkipOut(BaseModel):
    """A customer left out, and why."""

    customer_id: int
    reason: str


class PushOut(BaseModel):
    """A push as written: its messages and its skipped customers."""

    id: int
    program_id: int
    member_id: int
    channel: PushChannel
    skus: list[str]
    segment_id: int | None
    created_at: dt.datetime
    messages: list[MessageOut]
    skipped: list[SkipOut]


class FiguresOut(BaseModel):
    """What a push or a message brought."""

    messages: int
    sent: int
    clicks: int
    claims: int
    orders: int
    gmv_fen: int


class MessageReportOut(MessageOut):
    """A message with its figures."""

    clicks: int
    claims: int
    orders: int
    gmv_fen: int


class PushReportOut(BaseModel):
    """A push with its figures (an order through one of its links counts), message by message."""

    id: int
    program_id: int
    member_id: int
    channel: PushChannel
    skus: list[str]
    created_at: dt.datetime
    messages: list[MessageReportOut]
    skipped: list[SkipOut]
    sent: int
    clicks: int
    claims: int
    orders: int
    gmv_fen: int


class PushSummaryOut(FiguresOut):
    """A push in a list: when, which products, and its figures."""

    id: int
    member_id: int
    channel: PushChannel
    skus: list[str]
    created_at: dt.datetime
    skipped: int


class SettingsIn(BaseModel):
    """A program's push settings; ``target`` null keeps the stored URL, "" removes it."""

    model_config = ConfigDict(extra="forbid")

    channel: PushChannel = PushChannel.TASK
    cap_pushes: int = Field(default=2, ge=1, le=100)
    cap_days: int = Field(default=7, ge=1, le=365)
    quiet_start: dt.time = dt.time(22, 0)
    quiet_end: dt.time = dt.time(8, 0)
    target: AnyHttpUrl | Annotated[str, Field(max_length=0)] | None = None

    @model_validator(mode="after")
    def _plain_times(self) -> Self:
        for value in (self.quiet_start, self.quiet_end):
            if value.tzinfo is not None or value.second or value.microsecond:
                raise ValueError(Message("Quiet hours are wall-clock hours and minutes, such as 22:00."))
        if self.target is not None and len(str(self.target)) > 500:
            raise ValueError(Message("At most {limit} characters.", limit=500))
        return self


class SettingsOut(BaseModel):
    """A program's push settings; the target masked, a new webhook secret shown this once."""

    program_id: int
    channel: PushChannel
    cap_pushes: int
    cap_days: int
    quiet_start: dt.time
    quiet_end: dt.time
    target_masked: str | None
    webhook_secret: str | None = None


class DormantOut(BaseModel):
    """A customer gone quiet (masked)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    member_id: int
    name: str | None
    customer_ref_masked: str
    last_purchase_at: dt.datetime | None
    last_click_at: dt.datetime | None


class MutedGroupOut(BaseModel):
    """A group far below the program's median clicks per member."""

    model_config = ConfigDict(from_attributes=True)

    group_id: int
    owner_member_id: int
    name: str
    member_count: int
    clicks: int
    clicks_per_100: int
    median_per_100: int
