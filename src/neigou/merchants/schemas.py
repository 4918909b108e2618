"""Request and response bodies of the merchants API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from neigou.kit.names import VisibleNameStr
from neigou.organizations.models import ReviewKind, ReviewStatus
from neigou.reporting.merchant_sales import SalesBy


class MerchantCreate(BaseModel):
    """A new merchant (shop) of the caller's organization."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    name: VisibleNameStr
    # A platform administrator names the organization (default: the default organization).
    organization_id: int | None = None


class MerchantOut(BaseModel):
    """A merchant as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    organization_id: int
    code: str
    name: str
    created_at: dt.datetime
    deleted_at: dt.datetime | None


class SalesRowOut(BaseModel):
    """The figures of one day (``YYYY-MM-DD``), group or program (its id; ``null``: no group)."""

    key: str | None
    orders: int
    gmv_fen: int
    refund_fen: int
    commission_fen: int
    coupon_cost_fen: int
    promotion_discount_fen: int


class MerchantSalesOut(BaseModel):
    """A merchant's sales over days (each order's program time zone), its own lines only; with
    ``by``, broken down by day, group or program."""

    model_config = ConfigDict(populate_by_name=True)

    merchant_id: int
    from_: dt.date = Field(serialization_alias="from")
    to: dt.date
    orders: int
    gmv_fen: int
    refund_fen: int
    commission_fen: int
    coupon_cost_fen: int
    promotion_discount_fen: int
    by: SalesBy | None = None
    rows: list[SalesRowOut] = []


class ReviewDecision(BaseModel):
    """An operator's approval or rejection, with an optional note for the merchant."""

    model_config = ConfigDict(extra="forbid")

    note: str | None = Field(default=None, min_length=1, max_length=500)


class ReviewOut(BaseModel):
    """A merchant's change held for review, as the API shows it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    merchant_id: int
    kind: ReviewKind
    coupon_id: int | None
    product_id: int | None
    rate_before_bp: int | None
    rate_after_bp: int | None
    status: ReviewStatus
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    note: str | None
