"""Changing a coupon or a promotion once it exists.

Safe at any time: the name, a later (never past) end, a coupon's stock (never below what is claimed,
counting the claims a claim gate has answered and the database not yet stored: ``STOCK_GUARDS``) and
the running state (pause, resume, end now). The terms shoppers were promised (a coupon's value,
cap, threshold and visibility; a promotion's params) change only while nothing was claimed or ordered
with them: a coupon until its first claim or order (claims a claim gate answered and the database not
yet stored included: ``TERMS_GUARDS``), a promotion until it opens (no order can be priced with it
before). A merchant's new terms wait for review again where the organization reviews merchants'
changes. Every change is audited; the claim path's copy of a coupon's terms is dropped when the
outermost transaction commits (not when a savepoint is released or rolled back).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import column, exists, select, table
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit import commit_hooks
from neigou.kit.actor import Actor
from neigou.kit.clock import ensure_aware, utcnow
from neigou.kit.db import get_or_404
from neigou.kit.errors import Conflict, Invalid
from neigou.kit.i18n import Message
from neigou.offers.coupons_service import require_skus
from neigou.offers.models import CouponTemplate, Promotion
from neigou.offers.offer_rules import BP_SCALE, CouponKind
from neigou.offers.offer_schemas import (
    PARAMS_OF_KIND,
    CouponUpdate,
    EventPriceIn,
    OfferStatus,
    PromotionUpdate,
)
from neigou.offers.promotions_service import PRICES, require_priced_in_scope
from neigou.offers.review import hold_coupon, pending_review, under_review

# ``kit.commit_hooks`` key: ids of coupons whose terms changed, registered with the transaction that
# changed them; the claim path's caches forget them when the outermost transaction commits.
TERMS_CHANGED = "offers.coupon_terms_changed"
COUPON_TERMS = ("value", "cap_fen", "min_spend_fen", "visibility")
# Claim gates that give stock out before the database stores it (``links.stock_gate.hold_stock``
# registers itself at import): called under the coupon's row lock before its stock changes to the
# given total, a guard answers the units it has given out when a lowering goes below them (the
# change is refused, 409 ``quantity_below_claimed``), else stops its claims at the new stock from that
# instant, undone if the transaction rolls back.
StockGuard = Callable[[Session, CouponTemplate, int], int | None]
STOCK_GUARDS: list[StockGuard] = []
# The same gates on a change of the promised terms (``links.stock_gate.hold_terms``), called under the
# row lock once the database found no claim nor order, with the stock the change leaves: a guard answers
# the units it has given out when any (refused, 409 ``terms_locked``: they were promised the old terms),
# else stops its claims until the transaction's outcome; one that cannot tell refuses the change (503).
TERMS_GUARDS: list[StockGuard] = []


def _state(row: CouponTemplate | Promotion, names: tuple[str, ...]) -> dict[str, Any]:
    state: dict[str, Any] = {}
    for name in names:
        value = getattr(row, name)
        state[name] = value.isoformat() if isinstance(value, datetime) else getattr(value, "value", value)
    return state


def _new_end(row: CouponTemplate | Promotion, ends_at: datetime, at: datetime) -> datetime:
    ends_at = ensure_aware(ends_at)
    if ends_at <= at:
        raise Invalid(Message("The new end lies in the past."), code="ends_in_past")
    if ends_at <= row.starts_at:
        raise Invalid(Message("ends_at must be after starts_at."), code="invalid_window")
    return ends_at


def _check_run(
    row: CouponTemplate | Promotion, status: OfferStatus | None, ends_at: datetime | None, at: datetime
) -> None:
    """An ended offer is neither paused nor resumed (409 ``offer_ended``) unless given a later end."""
    if status in ("active", "paused") and (ends_at or row.ends_at) <= at:
        raise Conflict(
            Message("This offer has ended; give it a later end first to run it again."), code="offer_ended"
        )


def _run_state(row: CouponTemplate | Promotion, status: OfferStatus, at: datetime) -> None:
    """Pause, resume or end now."""
    if status == "ended":
        row.ends_at = min(row.ends_at, at)
    row.paused = status == "paused"


def _record(
    session: Session,
    row: CouponTemplate | Promotion,
    *,
    entity: str,
    before: dict[str, Any],
    after: dict[str, Any],
    actor: Actor,
    at: datetime,
) -> None:
    changed = sorted(name for name in after if after[name] != before[name])
    if not changed:
        return
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"{entity}.update",
        entity=entity,
        entity_id=row.id,
        before={name: before[name] for name in changed},
        after={name: after[name] for name in changed},
        at=at,
    )


def coupon_used(session: Session, coupon: CouponTemplate) -> bool:
    """Whether anything was claimed or ordered with the coupon: a claim, or an order through a link
    that carries it (links and orders sit above offers: read by name)."""
    if coupon.claimed_quantity > 0:
        return True
    links = table("share_links", column("code"), column("coupon_id"))
    orders = table("orders", column("link_code"))
    ordered = exists().where(orders.c.link_code == links.c.code, links.c.coupon_id == coupon.id)
    return bool(session.scalar(select(ordered)))


def _coupon_terms(session: Session, coupon: CouponTemplate, data: CouponUpdate) -> dict[str, Any]:
    """The terms the update changes, checked: none once the coupon was used (409 ``terms_locked``), as
    the database tells; the claim gates are asked last (``TERMS_GUARDS``)."""
    wanted = {name: getattr(data, name) for name in COUPON_TERMS if name in data.model_fields_set}
    changes = {name: value for name, value in wanted.items() if getattr(coupon, name) != value}
    if not changes:
        return {}
    value = changes.get("value", coupon.value)
    if coupon.kind is CouponKind.PERCENT_OFF and value > BP_SCALE:
        raise Invalid(
            Message("A percent_off value is in basis points, at most 10000 (100%)."), code="invalid_percent"
        )
    if coupon.kind is CouponKind.AMOUNT_OFF and changes.get("cap_fen") is not None:
        raise Invalid(Message("cap_fen only limits percent_off coupons."), code="cap_not_allowed")
    if coupon_used(session, coupon):
        raise _terms_locked(coupon, changes)
    return changes


def _terms_locked(coupon: CouponTemplate, changes: dict[str, Any]) -> Conflict:
    return Conflict(
        Message(
            "Coupon {coupon_id} was already claimed or ordered with: its value, cap, threshold and "
            "visibility stay as promised.",
            coupon_id=coupon.id,
        ),
        code="terms_locked",
        extra={"fields": sorted(changes)},
    )


def _below_claimed(coupon: CouponTemplate, claimed: int) -> Conflict:
    return Conflict(
        Message(
            "Coupon {coupon_id} has {claimed} claimed already; its stock cannot be less.",
            coupon_id=coupon.id,
            claimed=claimed,
        ),
        code="quantity_below_claimed",
        extra={"claimed_quantity": claimed},
    )


def update_coupon(
    session: Session, *, coupon_id: int, data: CouponUpdate, actor: Actor, at: datetime | None = None
) -> CouponTemplate:
    """Apply the fields sent; validate everything before writing anything."""
    at = at or utcnow()
    coupon = get_or_404(
        session,
        CouponTemplate,
        coupon_id,
        code="coupon_not_found",
        detail=Message("This coupon does not exist."),
        lock=True,  # claims wait: the stock cannot drop below a claim taken meanwhile
    )
    names = ("name", "ends_at", "total_quantity", "paused", "live", *COUPON_TERMS)
    before = _state(coupon, names)
    ends_at = _new_end(coupon, data.ends_at, at) if data.ends_at is not None else None
    if data.total_quantity is not None and data.total_quantity < coupon.claimed_quantity:
        raise _below_claimed(coupon, coupon.claimed_quantity)
    _check_run(coupon, data.status, ends_at, at)
    terms = _coupon_terms(session, coupon, data)
    if data.total_quantity is not None and data.total_quantity != coupon.total_quantity:
        for guard in STOCK_GUARDS:  # last: a refusal after a guard's hold rolls it back anyway
            if (taken := guard(session, coupon, data.total_quantity)) is not None:
                raise _below_claimed(coupon, taken)
    total = data.total_quantity if data.total_quantity is not None else coupon.total_quantity
    for terms_guard in TERMS_GUARDS if terms else []:  # after the stock's: its stop of claims stands
        if terms_guard(session, coupon, total) is not None:
            raise _terms_locked(coupon, terms)
    if data.name is not None:
        coupon.name = data.name
    if ends_at is not None:
        coupon.ends_at = ends_at
    if data.total_quantity is not None:
        coupon.total_quantity = data.total_quantity
    if data.status is not None:
        _run_state(coupon, data.status, at)
    for name, value in terms.items():
        setattr(coupon, name, value)
    _record(session, coupon, entity="coupon", before=before, after=_state(coupon, names), actor=actor, at=at)
    if terms and under_review(session) and pending_review(session, coupon) is None:
        hold_coupon(session, coupon, actor=actor, at=at)  # the new terms wait for an operator
    commit_hooks.add(session, TERMS_CHANGED, coupon.id)
    return coupon


def _promotion_params(session: Session, promotion: Promotion, data: PromotionUpdate, at: datetime) -> Any:
    """The new params, checked: of the promotion's kind, and only before it opens (409 ``terms_locked``)."""
    if data.params is None:
        return None
    if not isinstance(data.params, PARAMS_OF_KIND[promotion.kind]):
        raise Invalid(
            Message("These terms are not those of a {kind} promotion.", kind=promotion.kind.value),
            code="params_kind_mismatch",
        )
    params = data.params.model_dump(mode="json")
    if params == promotion.params:
        return None
    if promotion.starts_at <= at:
        raise Conflict(
            Message(
                "Promotion {promotion_id} has opened and orders may be priced with it: its terms stay "
                "as promised.",
                promotion_id=promotion.id,
            ),
            code="terms_locked",
            extra={"fields": ["params"]},
        )
    if isinstance(data.params, EventPriceIn):
        require_skus(session, promotion.organization_id, data.params.prices, field=PRICES)
        require_priced_in_scope(list(data.params.prices), promotion.skus)
    return params


def update_promotion(
    session: Session, *, promotion_id: int, data: PromotionUpdate, actor: Actor, at: datetime | None = None
) -> Promotion:
    """Apply the fields sent; validate everything before writing anything."""
    at = at or utcnow()
    promotion = get_or_404(
        session,
        Promotion,
        promotion_id,
        code="promotion_not_found",
        detail=Message("This promotion does not exist."),
        lock=True,
    )
    names = ("name", "ends_at", "paused", "params")
    before = _state(promotion, names)
    ends_at = _new_end(promotion, data.ends_at, at) if data.ends_at is not None else None
    _check_run(promotion, data.status, ends_at, at)
    params = _promotion_params(session, promotion, data, at)
    if data.name is not None:
        promotion.name = data.name
    if ends_at is not None:
        promotion.ends_at = ends_at
    if data.status is not None:
        _run_state(promotion, data.status, at)
    if params is not None:
        promotion.params = params
    _record(
        session,
        promotion,
        entity="promotion",
        before=before,
        after=_state(promotion, names),
        actor=actor,
        at=at,
    )
    return promotion
