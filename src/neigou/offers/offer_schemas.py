"""Request and response bodies of coupon templates and promotions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from neigou.kit.field_errors import CLEARED
from neigou.kit.i18n import Message
from neigou.kit.instants import Instant
from neigou.offers.offer_rules import CouponKind, CouponStacking, CouponVisibility, PromotionKind
from neigou.offers.schemas import MAX_FEN, Name, PriceFen, Sku

Skus = Annotated[list[Sku], Field(min_length=1, max_length=1000)]
Count = Annotated[int, Field(ge=1, le=100_000_000, strict=True)]


class CouponCreate(BaseModel):
    """A coupon template: ``value`` is fen for amount_off, basis points (1–10000) for percent_off."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    skus: Skus | None = None
    kind: CouponKind
    value: Annotated[int, Field(ge=1, le=MAX_FEN, strict=True)]
    cap_fen: PriceFen | None = None
    min_spend_fen: PriceFen = 0
    visibility: CouponVisibility = CouponVisibility.PUBLIC
    stacking: CouponStacking = CouponStacking.COMBINABLE
    total_quantity: Count
    per_customer_limit: Count = 1
    starts_at: Instant
    ends_at: Instant
    # The shop whose coupon it is (operators; a merchant's coupons are its own, on its own skus).
    merchant_id: int | None = None


class CouponOut(BaseModel):
    """A coupon template with its stock."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    skus: list[str] | None
    kind: CouponKind
    value: int
    cap_fen: int | None
    min_spend_fen: int
    visibility: CouponVisibility
    stacking: CouponStacking
    total_quantity: int
    claimed_quantity: int
    per_customer_limit: int
    starts_at: datetime
    ends_at: datetime
    merchant_id: int | None = None
    # False while a merchant's coupon waits for (or was refused) an operator's approval.
    live: bool = True
    paused: bool = False
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def remaining_quantity(self) -> int:
        """Units still to claim."""
        return self.total_quantity - self.claimed_quantity


class QuantityDiscountIn(BaseModel):
    """满N件X折: ``min_quantity`` items or more in scope pay ``pay_rate_bp`` of their price."""

    model_config = ConfigDict(extra="forbid")

    min_quantity: Annotated[int, Field(ge=1, le=100_000, strict=True)]
    pay_rate_bp: Annotated[int, Field(ge=0, lt=10_000, strict=True)]


class SpendThresholdOffIn(BaseModel):
    """满X减Y: ``off_fen`` off once the in-scope amount reaches ``min_spend_fen``."""

    model_config = ConfigDict(extra="forbid")

    min_spend_fen: PriceFen
    off_fen: Annotated[int, Field(ge=1, le=MAX_FEN, strict=True)]


class EventPriceIn(BaseModel):
    """Fixed event unit prices (fen) by sku."""

    model_config = ConfigDict(extra="forbid")

    prices: Annotated[dict[Sku, PriceFen], Field(min_length=1, max_length=1000)]


PromotionParamsIn = QuantityDiscountIn | SpendThresholdOffIn | EventPriceIn
PARAMS_OF_KIND: dict[PromotionKind, type[BaseModel]] = {
    PromotionKind.QUANTITY_DISCOUNT: QuantityDiscountIn,
    PromotionKind.SPEND_THRESHOLD_OFF: SpendThresholdOffIn,
    PromotionKind.EVENT_PRICE: EventPriceIn,
}
_KIND_FIELDS = ("type", "kind")


def _normalise_kind(data: Any) -> Any:
    """Accept the kind's terms as ``params``, beside ``kind``, or inside it; keep one shape inside.

    ``{"kind": "quantity_discount", "params": {...}}`` is the shape we answer with; callers may also send
    ``{"kind": "quantity_discount", "min_quantity": 10, ...}``, ``{"kind": {"quantity_discount": {...}}}``
    or ``{"kind": {"type": "quantity_discount", ...}}``.
    """
    if not isinstance(data, dict):
        return data
    data = dict(data)
    kind = data.get("kind")
    if isinstance(kind, dict):
        inner = dict(kind)
        tag = next((inner.pop(f) for f in _KIND_FIELDS if isinstance(inner.get(f), str)), None)
        if tag is None and len(inner) == 1:
            tag, terms = next(iter(inner.items()))
            inner = dict(terms) if isinstance(terms, dict) else {}
        data["kind"] = tag
        data.setdefault("params", inner)
    if "params" not in data and isinstance(data.get("kind"), str):
        known = {kind.value: model for kind, model in PARAMS_OF_KIND.items()}
        wanted = known.get(data["kind"])
        if wanted is not None:
            data["params"] = {f: data.pop(f) for f in list(data) if f in wanted.model_fields}
    return data


class PromotionCreate(BaseModel):
    """A promotion: its kind and terms, sku scope (``null``: everything), window, priority, exclusivity."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    kind: PromotionKind
    params: PromotionParamsIn
    skus: Skus | None = None
    starts_at: Instant
    ends_at: Instant
    priority: Annotated[int, Field(ge=-1000, le=1000, strict=True)] = 0
    exclusive: bool = False
    # The shop whose promotion it is (operators; a merchant's are its own, on its own skus).
    merchant_id: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_kind_shapes(cls, data: Any) -> Any:
        return _normalise_kind(data)

    @model_validator(mode="after")
    def _params_match_kind(self) -> PromotionCreate:
        if not isinstance(self.params, PARAMS_OF_KIND[self.kind]):
            raise ValueError(Message("params do not have the shape this kind of promotion takes."))
        return self


class PromotionOut(BaseModel):
    """A stored promotion."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    kind: PromotionKind
    params: dict[str, Any]
    skus: list[str] | None
    starts_at: datetime
    ends_at: datetime
    priority: int
    exclusive: bool
    merchant_id: int | None = None
    paused: bool = False
    created_at: datetime


# What a PATCH may do to an offer's running state: pause it, resume it, or end it now.
OfferStatus = Literal["active", "paused", "ended"]
_KEPT_SET = ("name", "ends_at", "status", "total_quantity", "value", "min_spend_fen", "visibility", "params")


def _no_cleared(model: BaseModel) -> None:
    cleared = [n for n in _KEPT_SET if n in model.model_fields_set and getattr(model, n, 0) is None]
    if cleared:
        raise ValueError(Message(CLEARED, fields=", ".join(cleared)))


class CouponUpdate(BaseModel):
    """What may change on a coupon: name, end, stock (never below what is claimed), running state;
    and, until anything is claimed or ordered with it, its terms. ``cap_fen: null`` clears the cap."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    ends_at: Instant | None = None
    total_quantity: Count | None = None
    status: OfferStatus | None = None
    value: Annotated[int, Field(ge=1, le=MAX_FEN, strict=True)] | None = None
    cap_fen: PriceFen | None = None
    min_spend_fen: PriceFen | None = None
    visibility: CouponVisibility | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> CouponUpdate:
        _no_cleared(self)
        return self


class PromotionUpdate(BaseModel):
    """What may change on a promotion: name, end, running state; and, until it opens, its terms
    (``params`` of its own kind)."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    ends_at: Instant | None = None
    status: OfferStatus | None = None
    params: PromotionParamsIn | None = None

    @model_validator(mode="after")
    def _required_stay_set(self) -> PromotionUpdate:
        _no_cleared(self)
        return self
