"""Request and response bodies of quotes: a basket priced with today's promotions and chosen coupons."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from neigou.kit.instants import Instant
from neigou.kit.refs import NamesSomeone
from neigou.offers.schemas import Sku

MAX_QUANTITY = 100_000


class QuoteItem(BaseModel):
    """``quantity`` units of ``sku``."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY, strict=True)]


class QuoteRequest(BaseModel):
    """A basket to price; ``at`` (default now) picks the promotions and coupon windows in force."""

    model_config = ConfigDict(extra="forbid")

    link_code: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    customer_ref: Annotated[str, Field(min_length=1, max_length=128), NamesSomeone] | None = None
    items: Annotated[list[QuoteItem], Field(min_length=1, max_length=200)]
    # Ids are used back as given: 7 and "7" name the same coupon.
    coupon_ids: Annotated[list[int], Field(max_length=20)] | None = None
    at: Instant | None = None


class QuoteLineOut(BaseModel):
    """A priced line: its share of every discount; the lines add up to the totals exactly."""

    index: int
    sku: str
    title: str
    quantity: int
    unit_price_fen: int
    list_fen: int
    promotion_discount_fen: int
    coupon_discount_fen: int
    payable_fen: int


class AppliedOut(BaseModel):
    """A discount as granted, with its terms as they stood."""

    source: str
    id: int | str
    name: str
    kind: str
    amount_fen: int
    per_line: list[list[int]]
    skus: list[str] | None
    terms: dict[str, Any]


class RefusedOut(BaseModel):
    """An offer that did not apply, and the stable reason why."""

    source: str
    id: int | str
    name: str
    reason: str


class QuoteOut(BaseModel):
    """The priced basket."""

    at: datetime
    lines: list[QuoteLineOut]
    list_total_fen: int
    promotion_discount_fen: int
    coupon_discount_fen: int
    payable_fen: int
    applied: list[AppliedOut]
    refused: list[RefusedOut]
