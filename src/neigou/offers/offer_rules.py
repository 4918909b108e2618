"""Offer kinds as typed registries keyed by enums, never by class names loaded from strings.

For promotions a condition says whether the in-scope lines qualify and a benefit says how much comes
off each of them; adding a kind means a params dataclass, a condition, a benefit and one
``PROMOTION_RULES`` entry. Coupons only need a benefit: their one condition, min spend, is common.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeAlias, TypeVar

from neigou.offers.allocation import allocate

BP_SCALE = 10_000

OfferId: TypeAlias = str | int


def require_int(name: str, value: object, *, minimum: int | None = 0, maximum: int | None = None) -> int:
    """Return ``value`` if it is an int within bounds, else raise ``ValueError``."""
    # bool is an int subclass and a float would silently break fen exactness, so both are refused.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name} must be an int, got {type(value).__name__}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be within [{minimum}, {maximum}], got {value}")
    return value


def require_aware(name: str, value: datetime) -> datetime:
    """Return ``value`` if it carries a time zone, else raise ``ValueError``."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime")
    return value


def require_window(starts_at: datetime, ends_at: datetime) -> None:
    """Check an offer window ``[starts_at, ends_at)`` is aware and not reversed."""
    require_aware("starts_at", starts_at)
    require_aware("ends_at", ends_at)
    if ends_at < starts_at:
        raise ValueError("ends_at must not be before starts_at")


def freeze_skus(skus: object) -> frozenset[str] | None:
    """Normalise an offer's sku scope; ``None`` means the whole catalogue."""
    if skus is None:
        return None
    # frozenset("SKU1") would quietly scope the offer to single characters.
    if isinstance(skus, str) or not isinstance(skus, (set, frozenset, list, tuple)):
        raise ValueError("skus must be a frozenset of sku strings or None")
    frozen = frozenset(skus)
    if not all(isinstance(sku, str) for sku in frozen):
        raise ValueError("skus must contain only strings")
    return frozen


def is_active(starts_at: datetime, ends_at: datetime, at: datetime) -> bool:
    """True when ``at`` falls in the half-open window ``[starts_at, ends_at)``."""
    return starts_at <= at < ends_at


class PromotionKind(StrEnum):
    """Stable names of the promotion kinds, as stored and shown."""

    QUANTITY_DISCOUNT = "quantity_discount"
    SPEND_THRESHOLD_OFF = "spend_threshold_off"
    EVENT_PRICE = "event_price"


@dataclass(frozen=True, kw_only=True)
class QuantityDiscountParams:
    """满N件X折: at least ``min_quantity`` items in scope and the shopper pays ``pay_rate_bp`` of them."""

    min_quantity: int
    pay_rate_bp: int

    def __post_init__(self) -> None:
        require_int("min_quantity", self.min_quantity, minimum=1)
        require_int("pay_rate_bp", self.pay_rate_bp, maximum=BP_SCALE)

    def to_snapshot(self) -> dict[str, object]:
        """Plain JSON-able terms."""
        return {"min_quantity": self.min_quantity, "pay_rate_bp": self.pay_rate_bp}


@dataclass(frozen=True, kw_only=True)
class SpendThresholdOffParams:
    """满X减Y: ``off_fen`` off once the in-scope amount reaches ``min_spend_fen``."""

    min_spend_fen: int
    off_fen: int

    def __post_init__(self) -> None:
        require_int("min_spend_fen", self.min_spend_fen)
        require_int("off_fen", self.off_fen)

    def to_snapshot(self) -> dict[str, object]:
        """Plain JSON-able terms."""
        return {"min_spend_fen": self.min_spend_fen, "off_fen": self.off_fen}


@dataclass(frozen=True, kw_only=True)
class EventPriceParams:
    """Fixed event unit prices (fen) for the listed skus."""

    # Excluded from the hash so the params stay hashable; a private copy so that later edits of the
    # caller's dict cannot change a promotion already built.
    prices: Mapping[str, int] = field(hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.prices, Mapping) or not self.prices:
            raise ValueError("prices must be a non-empty mapping of sku to unit price fen")
        for sku, price in self.prices.items():
            if not isinstance(sku, str):
                raise ValueError("prices must be keyed by sku strings")
            require_int(f"prices[{sku!r}]", price)
        object.__setattr__(self, "prices", dict(self.prices))

    def to_snapshot(self) -> dict[str, object]:
        """Plain JSON-able terms."""
        return {"prices": {sku: self.prices[sku] for sku in sorted(self.prices)}}


PromotionParams: TypeAlias = QuantityDiscountParams | SpendThresholdOffParams | EventPriceParams


@dataclass(frozen=True)
class ScopeLine:
    """A basket line as an offer sees it: ``amount_fen`` is what is still to pay after earlier offers."""

    sku: str
    quantity: int
    unit_price_fen: int
    amount_fen: int


def scope_amount(scope: Sequence[ScopeLine]) -> int:
    """What is still to pay across the in-scope lines."""
    return sum(line.amount_fen for line in scope)


def _quantity_reached(params: QuantityDiscountParams, scope: Sequence[ScopeLine]) -> bool:
    return sum(line.quantity for line in scope) >= params.min_quantity


def _pay_rate_discount(params: QuantityDiscountParams, scope: Sequence[ScopeLine]) -> list[int]:
    amount = scope_amount(scope)
    # The payable is rounded up (ceiling, integer-only) so a fraction of a fen never makes the
    # shopper pay less than the advertised rate: 199000 fen at 1100 bp pays 21890.
    payable = -(-amount * params.pay_rate_bp // BP_SCALE)
    return allocate(amount - payable, [line.amount_fen for line in scope])


def _spend_reached(params: SpendThresholdOffParams, scope: Sequence[ScopeLine]) -> bool:
    return scope_amount(scope) >= params.min_spend_fen


def _threshold_off(params: SpendThresholdOffParams, scope: Sequence[ScopeLine]) -> list[int]:
    amounts = [line.amount_fen for line in scope]
    return allocate(min(params.off_fen, sum(amounts)), amounts)


def _has_event_price(params: EventPriceParams, scope: Sequence[ScopeLine]) -> bool:
    return any(line.sku in params.prices for line in scope)


def _down_to_event_price(params: EventPriceParams, scope: Sequence[ScopeLine]) -> list[int]:
    # A listed line is brought down to event_price × quantity. On an untouched line that is
    # (unit − event) × quantity; when an earlier promotion already took the line lower, the event
    # price adds nothing rather than stacking a second cut.
    cuts: list[int] = []
    for line in scope:
        event_price = params.prices.get(line.sku)
        cuts.append(0 if event_price is None else max(0, line.amount_fen - event_price * line.quantity))
    return cuts


P = TypeVar("P", QuantityDiscountParams, SpendThresholdOffParams, EventPriceParams)


@dataclass(frozen=True)
class PromotionRule(Generic[P]):
    """One registry entry: the params type a kind takes, its condition and its benefit."""

    params_type: type[P]
    condition: Callable[[P, Sequence[ScopeLine]], bool]
    benefit: Callable[[P, Sequence[ScopeLine]], list[int]]

    def is_met(self, params: PromotionParams, scope: Sequence[ScopeLine]) -> bool:
        """Whether the in-scope lines qualify for the promotion."""
        return self.condition(self._own(params), scope)

    def discounts(self, params: PromotionParams, scope: Sequence[ScopeLine]) -> list[int]:
        """The discount on each in-scope line, in scope order, each within what is left on it."""
        return self.benefit(self._own(params), scope)

    def _own(self, params: PromotionParams) -> P:
        if not isinstance(params, self.params_type):
            raise TypeError(f"expected {self.params_type.__name__}, got {type(params).__name__}")
        return params


AnyPromotionRule: TypeAlias = (
    PromotionRule[QuantityDiscountParams]
    | PromotionRule[SpendThresholdOffParams]
    | PromotionRule[EventPriceParams]
)

PROMOTION_RULES: dict[PromotionKind, AnyPromotionRule] = {
    PromotionKind.QUANTITY_DISCOUNT: PromotionRule(
        QuantityDiscountParams, _quantity_reached, _pay_rate_discount
    ),
    PromotionKind.SPEND_THRESHOLD_OFF: PromotionRule(SpendThresholdOffParams, _spend_reached, _threshold_off),
    PromotionKind.EVENT_PRICE: PromotionRule(EventPriceParams, _has_event_price, _down_to_event_price),
}


@dataclass(frozen=True, kw_only=True)
class Promotion:
    """A shop promotion: applies by itself to every basket whose in-scope lines meet its condition."""

    id: OfferId
    name: str
    kind: PromotionKind
    params: PromotionParams
    starts_at: datetime
    ends_at: datetime
    skus: frozenset[str] | None = None
    priority: int = 0
    exclusive: bool = False

    def __post_init__(self) -> None:
        require_window(self.starts_at, self.ends_at)
        kind = PromotionKind(self.kind)
        if not isinstance(self.params, PROMOTION_RULES[kind].params_type):
            raise ValueError(f"promotion {self.id!r}: params do not match kind {kind.value}")
        require_int("priority", self.priority, minimum=None)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "skus", freeze_skus(self.skus))


class CouponKind(StrEnum):
    """Stable names of the coupon kinds."""

    AMOUNT_OFF = "amount_off"
    PERCENT_OFF = "percent_off"


class CouponStacking(StrEnum):
    """How a coupon combines with others on one order: never (exclusive), or with coupons of other kinds."""

    EXCLUSIVE = "exclusive"
    COMBINABLE = "combinable"


class CouponVisibility(StrEnum):
    """Public coupons can be claimed by anyone; hidden ones only through a share link carrying them."""

    PUBLIC = "public"
    HIDDEN = "hidden"


@dataclass(frozen=True, kw_only=True)
class Coupon:
    """A coupon the shopper asks to use; ``value`` is fen for amount_off and basis points for percent_off."""

    id: OfferId
    name: str
    kind: CouponKind
    value: int
    starts_at: datetime
    ends_at: datetime
    min_spend_fen: int = 0
    cap_fen: int | None = None
    visibility: CouponVisibility = CouponVisibility.PUBLIC
    skus: frozenset[str] | None = None
    stacking: CouponStacking = CouponStacking.COMBINABLE

    def __post_init__(self) -> None:
        kind = CouponKind(self.kind)
        require_int("value", self.value, maximum=BP_SCALE if kind is CouponKind.PERCENT_OFF else None)
        require_int("min_spend_fen", self.min_spend_fen)
        if self.cap_fen is not None:
            require_int("cap_fen", self.cap_fen)
        require_window(self.starts_at, self.ends_at)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "visibility", CouponVisibility(self.visibility))
        object.__setattr__(self, "stacking", CouponStacking(self.stacking))
        object.__setattr__(self, "skus", freeze_skus(self.skus))


@dataclass(frozen=True, kw_only=True)
class CouponTerms:
    """The money terms of a coupon as they stood when it was applied."""

    value: int
    cap_fen: int | None
    min_spend_fen: int
    visibility: CouponVisibility

    def to_snapshot(self) -> dict[str, object]:
        """Plain JSON-able terms."""
        return {
            "value": self.value,
            "cap_fen": self.cap_fen,
            "min_spend_fen": self.min_spend_fen,
            "visibility": self.visibility.value,
        }


def _amount_off(coupon: Coupon, amount_fen: int) -> int:
    return coupon.value


def _percent_off(coupon: Coupon, amount_fen: int) -> int:
    # Floor, so the shop never gives more than the advertised percentage.
    return amount_fen * coupon.value // BP_SCALE


COUPON_BENEFITS: dict[CouponKind, Callable[[Coupon, int], int]] = {
    CouponKind.AMOUNT_OFF: _amount_off,
    CouponKind.PERCENT_OFF: _percent_off,
}


def coupon_discount(coupon: Coupon, amount_fen: int) -> int:
    """What ``coupon`` takes off ``amount_fen``: its benefit, capped at ``cap_fen`` and at the amount."""
    discount = COUPON_BENEFITS[coupon.kind](coupon, amount_fen)
    if coupon.cap_fen is not None:
        discount = min(discount, coupon.cap_fen)
    return min(discount, amount_fen)


class RefusalReason(StrEnum):
    """Stable codes telling why an offer did not apply."""

    NOT_ACTIVE = "not_active"
    CONDITION_NOT_MET = "condition_not_met"
    MIN_SPEND_NOT_MET = "min_spend_not_met"
    LINK_REQUIRED = "link_required"
    NOT_CLAIMED = "not_claimed"
    OUT_OF_SCOPE = "out_of_scope"
    EXCLUDED_BY_EXCLUSIVE = "excluded_by_exclusive"
    ONE_PER_KIND = "one_per_kind"
    NOTHING_TO_DISCOUNT = "nothing_to_discount"


def stacking_refusal(coupon: Coupon, stacked: Sequence[Coupon]) -> RefusalReason | None:
    """Why ``coupon`` may not join the coupons already applied (``stacked``), or None."""
    if stacked and (
        coupon.stacking is CouponStacking.EXCLUSIVE
        or any(c.stacking is CouponStacking.EXCLUSIVE for c in stacked)
    ):
        return RefusalReason.EXCLUDED_BY_EXCLUSIVE
    if any(c.kind is coupon.kind for c in stacked):
        return RefusalReason.ONE_PER_KIND
    return None
