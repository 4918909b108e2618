"""Request and response bodies of orders, refunds and settlements."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter

from neigou.kit.instants import Instant
from neigou.kit.json_ids import IdNumber
from neigou.kit.refs import NamesSomeone
from neigou.links.schemas import ShopperConsent
from neigou.orders.inputs import MAX_QUANTITY

ExternalId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Fen = Annotated[int, Field(ge=0, le=10_000_000_000, strict=True)]
SkuText = Annotated[str, StringConstraints(strip_whitespace=True)]
"""A line's sku as every JSON input reads it (the API's and a webhook's ``ItemBody``, a JSON-lines file's
line through :func:`sku_text`): text only, a JSON number (whole or not) being no sku's text, without
surrounding white space (``" WH-7 "`` is ``WH-7``)."""
_SKU_TEXT: TypeAdapter[str] = TypeAdapter(SkuText)


def sku_text(value: object) -> str:
    """``value`` read as :data:`SkuText`, as the API reads an item's ``sku``; a ``ValidationError`` (never
    quoting it) when it is no text."""
    return _SKU_TEXT.validate_python(value)


class ItemBody(BaseModel):
    """A paid line: ``paid_fen`` is what the shopper paid for all ``quantity`` units."""

    model_config = ConfigDict(extra="forbid")

    sku: Annotated[SkuText, StringConstraints(min_length=1, max_length=64)]
    quantity: Annotated[int, Field(ge=1, le=MAX_QUANTITY, strict=True)]
    paid_fen: Fen


class OrderBody(BaseModel):
    """A paid order; ``total_fen``, when sent, must equal the sum of the lines."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    # A JSON number with a point or an exponent is read in exponent form (``kit.json_ids``): refused where
    # an id is read ("write ids as text"), never its float's digits (13812345678.0 another customer).
    external_id: Annotated[ExternalId, IdNumber]
    program_id: int
    customer_ref: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128), NamesSomeone, IdNumber
    ]
    link_code: Annotated[
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] | None, IdNumber
    ] = None
    items: Annotated[list[ItemBody], Field(min_length=1, max_length=200)]
    paid_at: Instant
    total_fen: Fen | None = None
    event_id: int | None = None
    # The shopper's marketing consent: true adds them to the attributed member's customer book. Not a term
    # a retry must repeat: a retry may bring it where the first taking did not (orders.consent).
    consent: ShopperConsent | None = None


class CompleteBody(BaseModel):
    """When the order completed (default now)."""

    model_config = ConfigDict(extra="forbid")

    at: Instant | None = None


class RefundBody(BaseModel):
    """A refund; ``refund_id`` is the shop's id, unique within the program."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)

    refund_id: Annotated[ExternalId, IdNumber]  # a float in exponent form: refused (``require_id_text``)
    amount_fen: Annotated[int, Field(gt=0, le=10_000_000_000, strict=True)]
    at: Instant | None = None


class CommissionOut(BaseModel):
    """What one member earns on the order at one level."""

    member_id: int
    level: int
    amount_fen: int
    reversed_fen: int
    tier: str | None
    bp: int


class LineOut(BaseModel):
    """A stored line."""

    sku: str
    quantity: int
    list_fen: int
    paid_fen: int
    commission_rate_bp: int
    fixed_commission_fen: int | None
    pool_fen: int


class OrderOut(BaseModel):
    """An order with its commission breakdown."""

    id: int
    external_id: str
    program_id: int
    member_id: int | None
    group_id: int | None
    attribution: str
    self_purchase: bool
    paid_fen: int
    refunded_fen: int
    commission_fen: int
    commission_state: str
    paid_at: datetime
    completed_at: datetime | None
    commissions: list[CommissionOut]
    lines: list[LineOut]
    pricing: dict[str, Any]


class RefundOut(BaseModel):
    """A stored refund and what it took back."""

    id: int
    refund_id: str
    order_id: int
    external_id: str
    amount_fen: int
    reversed_fen: int
    refunded_fen: int
    at: datetime


class SettlementBody(BaseModel):
    """Release what finished its freeze by ``as_of`` (default now)."""

    model_config = ConfigDict(extra="forbid")

    as_of: Instant | None = None


class SettlementOut(BaseModel):
    """A release run."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    program_id: int
    as_of: datetime
    orders: int
    released_fen: int


class SkuCommissionBody(BaseModel):
    """A fixed commission pool per unit; null goes back to the product's rate."""

    model_config = ConfigDict(extra="forbid")

    fixed_commission_fen: Fen | None


class SkuCommissionOut(BaseModel):
    """A sku's fixed commission."""

    model_config = ConfigDict(from_attributes=True)

    sku: str
    fixed_commission_fen: int | None
