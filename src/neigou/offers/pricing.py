"""Basket pricing: promotions by priority, then the requested coupons in order, every fen on a line.

Rounding rules, all in integer fen and basis points:

* 满N件X折 (quantity_discount): the scope pays ceil(amount × pay_rate_bp / 10000); the rest is the discount.
* percent_off coupons: discount = floor(amount × value_bp / 10000), then capped at ``cap_fen``.
* Coupons stack by their own rule: an exclusive coupon applies alone (refused after another coupon,
  and every coupon after it is refused), and at most one coupon of each kind applies to an order.
* Every discount is spread over the in-scope lines by largest remainder, in proportion to what is still
  to pay on each line, so that line sums equal totals exactly and no line goes below zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from neigou.offers.allocation import allocate
from neigou.offers.basket import (
    AppliedOffer,
    BasketLine,
    OfferSource,
    PerLine,
    PricedBasket,
    PricedLine,
    RefusedOffer,
)
from neigou.offers.offer_rules import (
    PROMOTION_RULES,
    Coupon,
    CouponKind,
    CouponStacking,
    CouponTerms,
    CouponVisibility,
    EventPriceParams,
    OfferId,
    Promotion,
    PromotionKind,
    QuantityDiscountParams,
    RefusalReason,
    ScopeLine,
    SpendThresholdOffParams,
    coupon_discount,
    is_active,
    require_aware,
    stacking_refusal,
)

# The offer types are re-exported so callers price baskets from this one module.
__all__ = [
    "AppliedOffer",
    "BasketLine",
    "Coupon",
    "CouponKind",
    "CouponStacking",
    "CouponVisibility",
    "EventPriceParams",
    "OfferSource",
    "PricedBasket",
    "PricedLine",
    "Promotion",
    "PromotionKind",
    "QuantityDiscountParams",
    "RefusalReason",
    "RefusedOffer",
    "SpendThresholdOffParams",
    "allocate",
    "price_basket",
]


class _Ledger:
    """What is left to pay on each line while offers are applied one after another."""

    def __init__(self, lines: Sequence[BasketLine]) -> None:
        self.lines = tuple(lines)
        self.remaining = [line.unit_price_fen * line.quantity for line in self.lines]
        self.promotion_cut = [0] * len(self.lines)
        self.coupon_cut = [0] * len(self.lines)
        # Offers walk the lines in a canonical order rather than the order they were added, so the
        # remainder fen of an allocation land on the same kind of line whatever that order was: only
        # lines that are indistinguishable (same sku, price and quantity) can trade places.
        self.canonical = sorted(
            range(len(self.lines)),
            key=lambda i: (self.lines[i].sku, self.lines[i].unit_price_fen, self.lines[i].quantity, i),
        )

    def scope(self, skus: frozenset[str] | None) -> list[int]:
        return [i for i in self.canonical if skus is None or self.lines[i].sku in skus]

    def view(self, scope: Sequence[int]) -> list[ScopeLine]:
        return [
            ScopeLine(
                sku=self.lines[i].sku,
                quantity=self.lines[i].quantity,
                unit_price_fen=self.lines[i].unit_price_fen,
                amount_fen=self.remaining[i],
            )
            for i in scope
        ]

    def take(self, scope: Sequence[int], cuts: Sequence[int], bucket: list[int]) -> PerLine:
        # A faulty benefit must fail loudly rather than price a line below zero.
        if len(cuts) != len(scope):
            raise RuntimeError("a benefit returned a cut count that does not match its scope")
        for i, cut in zip(scope, cuts, strict=True):
            if not 0 <= cut <= self.remaining[i]:
                raise RuntimeError(f"a benefit tried to take {cut} fen from line {i}, more than it holds")
        for i, cut in zip(scope, cuts, strict=True):
            self.remaining[i] -= cut
            bucket[i] += cut
        return tuple(sorted((i, cut) for i, cut in zip(scope, cuts, strict=True) if cut))

    def priced(self, applied: Sequence[AppliedOffer], refused: Sequence[RefusedOffer]) -> PricedBasket:
        lines = tuple(
            PricedLine(
                index=i,
                sku=line.sku,
                quantity=line.quantity,
                unit_price_fen=line.unit_price_fen,
                list_fen=line.unit_price_fen * line.quantity,
                promotion_discount_fen=self.promotion_cut[i],
                coupon_discount_fen=self.coupon_cut[i],
                payable_fen=self.remaining[i],
            )
            for i, line in enumerate(self.lines)
        )
        return PricedBasket(
            lines=lines,
            list_total_fen=sum(line.list_fen for line in lines),
            promotion_discount_fen=sum(self.promotion_cut),
            coupon_discount_fen=sum(self.coupon_cut),
            payable_fen=sum(self.remaining),
            applied=tuple(applied),
            refused=tuple(refused),
        )


def _sorted_skus(skus: frozenset[str] | None) -> tuple[str, ...] | None:
    return None if skus is None else tuple(sorted(skus))


def _apply_promotion(
    promotion: Promotion, ledger: _Ledger, at: datetime, *, blocked: bool
) -> AppliedOffer | RefusalReason:
    if not is_active(promotion.starts_at, promotion.ends_at, at):
        return RefusalReason.NOT_ACTIVE
    scope = ledger.scope(promotion.skus)
    if not scope:
        return RefusalReason.OUT_OF_SCOPE
    if blocked:
        return RefusalReason.EXCLUDED_BY_EXCLUSIVE
    rule = PROMOTION_RULES[promotion.kind]
    view = ledger.view(scope)
    if not rule.is_met(promotion.params, view):
        return RefusalReason.CONDITION_NOT_MET
    cuts = rule.discounts(promotion.params, view)
    if sum(cuts) == 0:
        return RefusalReason.NOTHING_TO_DISCOUNT
    per_line = ledger.take(scope, cuts, ledger.promotion_cut)
    return AppliedOffer(
        source=OfferSource.PROMOTION,
        rule_id=promotion.id,
        name=promotion.name,
        kind=promotion.kind,
        amount_fen=sum(cuts),
        per_line=per_line,
        skus=_sorted_skus(promotion.skus),
        terms=promotion.params,
    )


def _hidden_refusal(
    coupon: Coupon, linked: frozenset[str], claimed: frozenset[str] | None
) -> RefusalReason | None:
    """A hidden coupon applies only through its link and, when claims are known, to one who claimed it."""
    if coupon.visibility is not CouponVisibility.HIDDEN:
        return None
    if str(coupon.id) not in linked:
        return RefusalReason.LINK_REQUIRED
    if claimed is not None and str(coupon.id) not in claimed:
        return RefusalReason.NOT_CLAIMED
    return None


def _apply_coupon(
    coupon: Coupon,
    ledger: _Ledger,
    at: datetime,
    *,
    linked: frozenset[str],
    claimed: frozenset[str] | None,
    after_promotions: Sequence[int],
    stacked: Sequence[Coupon],
) -> AppliedOffer | RefusalReason:
    # Checked first so a shopper without the link (or the claim) learns nothing else about a hidden coupon.
    refusal = _hidden_refusal(coupon, linked, claimed) or (
        RefusalReason.NOT_ACTIVE
        if not is_active(coupon.starts_at, coupon.ends_at, at)
        else stacking_refusal(coupon, stacked)
    )
    if refusal is not None:
        return refusal
    scope = ledger.scope(coupon.skus)
    if not scope:
        return RefusalReason.OUT_OF_SCOPE
    # The threshold is read after promotions but before other coupons, so stacking coupons never
    # disqualifies one the basket had already earned.
    if sum(after_promotions[i] for i in scope) < coupon.min_spend_fen:
        return RefusalReason.MIN_SPEND_NOT_MET
    amounts = [ledger.remaining[i] for i in scope]
    discount = coupon_discount(coupon, sum(amounts))
    if discount == 0:
        return RefusalReason.NOTHING_TO_DISCOUNT
    per_line = ledger.take(scope, allocate(discount, amounts), ledger.coupon_cut)
    return AppliedOffer(
        source=OfferSource.COUPON,
        rule_id=coupon.id,
        name=coupon.name,
        kind=coupon.kind,
        amount_fen=discount,
        per_line=per_line,
        skus=_sorted_skus(coupon.skus),
        terms=CouponTerms(
            value=coupon.value,
            cap_fen=coupon.cap_fen,
            min_spend_fen=coupon.min_spend_fen,
            visibility=coupon.visibility,
        ),
    )


def _require_unique_ids(what: str, offers: Sequence[Promotion] | Sequence[Coupon]) -> None:
    # Ids are compared as strings because ordering ties are broken on str(id) and links carry
    # string ids: 7 and "7" must name the same offer, and one coupon must not be used twice.
    seen: set[str] = set()
    for offer in offers:
        key = str(offer.id)
        if key in seen:
            raise ValueError(f"{what} id {offer.id!r} given more than once")
        seen.add(key)


def price_basket(
    *,
    lines: Sequence[BasketLine],
    promotions: Sequence[Promotion],
    coupons: Sequence[Coupon],
    at: datetime,
    link_coupon_ids: frozenset[OfferId] = frozenset(),
    claimed_coupon_ids: frozenset[OfferId] | None = None,
) -> PricedBasket:
    """Price ``lines`` at instant ``at``: promotions by priority, then ``coupons`` in the order given.

    ``claimed_coupon_ids``, when given, are the coupons the shopper holds: a hidden coupon outside them
    is refused ``not_claimed`` even through its link (a shop's checkout quotes its customer). None
    prices what the link would give anyone who claims (the landing page's group price)."""
    require_aware("at", at)
    for position, line in enumerate(lines):
        if not isinstance(line, BasketLine):
            raise ValueError(f"lines[{position}] is not a BasketLine")
    _require_unique_ids("promotion", promotions)
    _require_unique_ids("coupon", coupons)

    ledger = _Ledger(lines)
    applied: list[AppliedOffer] = []
    refused: list[RefusedOffer] = []

    # Priority decides between an exclusive promotion and the others: once an exclusive one applies,
    # everything after it is refused; an exclusive one met after others already applied is refused.
    exclusive_applied = False
    for promotion in sorted(promotions, key=lambda p: (-p.priority, str(p.id))):
        blocked = exclusive_applied or (promotion.exclusive and bool(applied))
        outcome = _apply_promotion(promotion, ledger, at, blocked=blocked)
        if isinstance(outcome, RefusalReason):
            refused.append(_refusal(OfferSource.PROMOTION, promotion, outcome))
        else:
            applied.append(outcome)
            exclusive_applied = exclusive_applied or promotion.exclusive

    after_promotions = tuple(ledger.remaining)
    linked = frozenset(str(coupon_id) for coupon_id in link_coupon_ids)
    claimed = None if claimed_coupon_ids is None else frozenset(str(c) for c in claimed_coupon_ids)
    stacked: list[Coupon] = []
    for coupon in coupons:
        outcome = _apply_coupon(
            coupon,
            ledger,
            at,
            linked=linked,
            claimed=claimed,
            after_promotions=after_promotions,
            stacked=stacked,
        )
        if isinstance(outcome, RefusalReason):
            refused.append(_refusal(OfferSource.COUPON, coupon, outcome))
        else:
            applied.append(outcome)
            stacked.append(coupon)

    return ledger.priced(applied, refused)


def _refusal(source: OfferSource, offer: Promotion | Coupon, reason: RefusalReason) -> RefusedOffer:
    return RefusedOffer(source=source, rule_id=offer.id, name=offer.name, reason=reason)
