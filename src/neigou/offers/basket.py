"""What basket pricing reads and answers: the basket's lines, the offers applied or refused with
their terms frozen, and the priced lines and totals (``offers.pricing`` prices them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import TypeAlias

from neigou.offers.offer_rules import (
    CouponKind,
    CouponTerms,
    OfferId,
    PromotionKind,
    PromotionParams,
    RefusalReason,
    require_int,
)

PerLine: TypeAlias = tuple[tuple[int, int], ...]
"""(line index, fen) pairs, by line index, for the lines an offer actually touched."""


class OfferSource(StrEnum):
    """Where a discount came from."""

    PROMOTION = "promotion"
    COUPON = "coupon"


@dataclass(frozen=True)
class BasketLine:
    """One line of a basket: ``quantity`` units of ``sku`` at ``unit_price_fen`` each."""

    sku: str
    unit_price_fen: int
    quantity: int

    def __post_init__(self) -> None:
        if not isinstance(self.sku, str):
            raise ValueError("sku must be a string")
        require_int("unit_price_fen", self.unit_price_fen)
        require_int("quantity", self.quantity, minimum=1)


@dataclass(frozen=True, kw_only=True)
class AppliedOffer:
    """A discount as granted, with its terms frozen so a later edit of the offer never rewrites an order."""

    source: OfferSource
    rule_id: OfferId
    name: str
    kind: PromotionKind | CouponKind
    amount_fen: int
    per_line: PerLine
    skus: tuple[str, ...] | None
    terms: PromotionParams | CouponTerms

    def to_snapshot(self) -> dict[str, object]:
        """Plain JSON-able record for storing on an order."""
        return {
            "source": self.source.value,
            "id": self.rule_id,
            "name": self.name,
            "kind": self.kind.value,
            "amount_fen": self.amount_fen,
            "per_line": [[index, fen] for index, fen in self.per_line],
            "skus": None if self.skus is None else list(self.skus),
            "terms": self.terms.to_snapshot(),
        }


@dataclass(frozen=True, kw_only=True)
class RefusedOffer:
    """An offer that did not apply, and why."""

    source: OfferSource
    rule_id: OfferId
    name: str
    reason: RefusalReason

    def to_snapshot(self) -> dict[str, object]:
        """Plain JSON-able record."""
        return {
            "source": self.source.value,
            "id": self.rule_id,
            "name": self.name,
            "reason": self.reason.value,
        }


@dataclass(frozen=True, kw_only=True)
class PricedLine:
    """A basket line with its share of every discount."""

    index: int
    sku: str
    quantity: int
    unit_price_fen: int
    list_fen: int
    promotion_discount_fen: int
    coupon_discount_fen: int
    payable_fen: int

    def to_snapshot(self) -> dict[str, object]:
        """Plain JSON-able record."""
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class PricedBasket:
    """The priced basket: per-line amounts that add up exactly to the totals."""

    lines: tuple[PricedLine, ...]
    list_total_fen: int
    promotion_discount_fen: int
    coupon_discount_fen: int
    payable_fen: int
    applied: tuple[AppliedOffer, ...]
    refused: tuple[RefusedOffer, ...]

    def to_snapshot(self) -> dict[str, object]:
        """Plain JSON-able record for storing on an order."""
        return {
            "list_total_fen": self.list_total_fen,
            "promotion_discount_fen": self.promotion_discount_fen,
            "coupon_discount_fen": self.coupon_discount_fen,
            "payable_fen": self.payable_fen,
            "lines": [line.to_snapshot() for line in self.lines],
            "applied": [offer.to_snapshot() for offer in self.applied],
            "refused": [offer.to_snapshot() for offer in self.refused],
        }
