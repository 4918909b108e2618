"""A merchant's changes an organization reviews: a new coupon waits unused, a new commission rate
waits beside its product, until an operator approves (``merchants.review`` decides)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.db import insert_unique
from neigou.kit.errors import Conflict
from neigou.kit.i18n import Message
from neigou.kit.scoping import current_scope
from neigou.offers.models import CouponTemplate, Product
from neigou.organizations.models import MerchantReview, Organization, ReviewKind, ReviewStatus


def under_review(session: Session) -> bool:
    """Whether the caller is a merchant whose organization reviews merchants' changes."""
    scope = current_scope(session)
    if scope is None or scope.merchant_id is None:
        return False
    return bool(
        session.scalar(
            select(Organization.review_merchant_changes).where(Organization.id == scope.organization_id)
        )
    )


def _record(session: Session, review: MerchantReview, actor: Actor) -> MerchantReview:
    session.add(review)
    session.flush()
    return _audited(session, review, actor)


def _audited(session: Session, review: MerchantReview, actor: Actor) -> MerchantReview:
    audit.record(
        session,
        actor=actor,
        action="merchant_review.request",
        entity="merchant_review",
        entity_id=review.id,
        after={
            "kind": review.kind.value,
            "coupon_id": review.coupon_id,
            "product_id": review.product_id,
            "rate_after_bp": review.rate_after_bp,
        },
        at=review.requested_at,
    )
    return review


def hold_coupon(session: Session, coupon: CouponTemplate, *, actor: Actor, at: datetime) -> MerchantReview:
    """Keep a merchant's new coupon out of use until an operator approves it."""
    assert coupon.merchant_id is not None
    coupon.live = False
    return _record(
        session,
        MerchantReview(
            organization_id=coupon.organization_id,
            merchant_id=coupon.merchant_id,
            kind=ReviewKind.COUPON,
            coupon_id=coupon.id,
            status=ReviewStatus.PENDING,
            requested_by=actor.stored_label,
            requested_at=at,
        ),
        actor,
    )


def hold_rate(
    session: Session, product: Product, rate_bp: int, *, actor: Actor, at: datetime
) -> MerchantReview:
    """Ask for a new commission rate; the product keeps its rate until an operator approves. One
    request per product at a time (409 ``review_pending``): the caller read the product locked
    (``catalog_service.update_product``), and the partial unique index on a product's pending review
    (migration 0037) turns a request that got past the check anyway into the same 409."""
    assert product.merchant_id is not None
    waiting = session.scalar(
        select(MerchantReview.id).where(
            MerchantReview.product_id == product.id, MerchantReview.status == ReviewStatus.PENDING
        )
    )
    if waiting is not None:
        raise Conflict(
            Message(
                "A commission change of {sku} waits for review already (request {review_id}).",
                sku=product.sku,
                review_id=waiting,
            ),
            code="review_pending",
        )
    review = MerchantReview(
        organization_id=product.organization_id,
        merchant_id=product.merchant_id,
        kind=ReviewKind.COMMISSION_RATE,
        product_id=product.id,
        rate_before_bp=product.commission_rate_bp,
        rate_after_bp=rate_bp,
        status=ReviewStatus.PENDING,
        requested_by=actor.stored_label,
        requested_at=at,
    )
    taken = Conflict(
        Message("A commission change of {sku} waits for review already.", sku=product.sku),
        code="review_pending",
    )
    insert_unique(session, review, taken)
    return _audited(session, review, actor)


def pending_review(session: Session, coupon: CouponTemplate) -> int | None:
    """The id of the coupon's review still waiting for a decision, if any."""
    return session.scalar(
        select(MerchantReview.id).where(
            MerchantReview.coupon_id == coupon.id, MerchantReview.status == ReviewStatus.PENDING
        )
    )


def require_live(coupon: CouponTemplate) -> None:
    """A coupon under review (or refused) is used by no link, quote or campaign: 409
    ``coupon_under_review``; nor is a paused one: 409 ``coupon_paused``."""
    if not coupon.live:
        raise Conflict(
            Message("Coupon {coupon_id} waits for an operator's approval.", coupon_id=coupon.id),
            code="coupon_under_review",
        )
    if coupon.paused:
        raise Conflict(Message("Coupon {coupon_id} is paused.", coupon_id=coupon.id), code="coupon_paused")
