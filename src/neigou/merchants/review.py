"""An operator's decision on a merchant's change held for review: approving makes the coupon live
or gives the product its new commission rate; rejecting leaves both as they were. Decided once,
audited; deciding the same way again answers the same review."""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.db import get_or_404
from neigou.kit.errors import Conflict
from neigou.kit.i18n import Message
from neigou.kit.paging import Page, Paged, paginate
from neigou.offers.models import CouponTemplate, Product
from neigou.organizations.models import MerchantReview, ReviewKind, ReviewStatus

T = TypeVar("T", CouponTemplate, Product)


def reviews_statement(status: ReviewStatus | None = None) -> Select[MerchantReview]:
    """The caller's reviews (a merchant's caller: its own), newest first, one status or all."""
    query = select(MerchantReview).order_by(MerchantReview.id.desc())
    if status is not None:
        query = query.where(MerchantReview.status == status)
    return query


def status_counts(session: Session) -> dict[str, int]:
    """How many of the caller's reviews are in each status (pending: waiting for an operator)."""
    rows = session.execute(
        select(MerchantReview.status, func.count(MerchantReview.id)).group_by(MerchantReview.status)
    )
    return {ReviewStatus(s).value: int(n) for s, n in rows}


def page_reviews(session: Session, page: Page, status: ReviewStatus | None = None) -> Paged[MerchantReview]:
    """A page of :func:`reviews_statement` and its count."""
    return paginate(session, reviews_statement(status), page)


def require_review(session: Session, review_id: int, *, lock: bool = False) -> MerchantReview:
    """The review or a 404 ``review_not_found``."""
    return get_or_404(
        session,
        MerchantReview,
        review_id,
        code="review_not_found",
        detail=Message("This review does not exist."),
        lock=lock,
    )


def decide(
    session: Session,
    *,
    review_id: int,
    approve: bool,
    note: str | None,
    actor: Actor,
    at: datetime,
) -> MerchantReview:
    """Approve or reject a pending review; the other decision once decided is 409 ``review_decided``.
    Approving a rate whose product no longer has the rate the request started from (an operator
    changed it meanwhile) is 409 ``rate_changed``, and the review stays pending."""
    review = require_review(session, review_id, lock=True)
    wanted = ReviewStatus.APPROVED if approve else ReviewStatus.REJECTED
    if review.status is wanted:
        return review
    if review.status is not ReviewStatus.PENDING:
        raise Conflict(
            Message("Review {review_id} was decided already.", review_id=review_id), code="review_decided"
        )
    if approve:
        _apply(session, review, at)
    review.status = wanted
    review.decided_by = actor.stored_label
    review.decided_at = at
    review.note = note
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"merchant_review.{'approve' if approve else 'reject'}",
        entity="merchant_review",
        entity_id=review.id,
        before={"status": ReviewStatus.PENDING.value},
        after={"status": wanted.value, "note": note},
        at=at,
    )
    return review


def _apply(session: Session, review: MerchantReview, at: datetime) -> None:
    if review.kind is ReviewKind.COUPON:
        coupon = session.get(CouponTemplate, review.coupon_id)
        if coupon is not None:
            coupon.live = True
        return
    # Locked: an operator's direct change of the rate waits for the approval, or the approval sees it.
    product = session.get(Product, review.product_id, with_for_update=True, populate_existing=True)
    if product is None or review.rate_after_bp is None:
        return
    if product.commission_rate_bp != review.rate_before_bp:
        # The rate the merchant asked to change is no longer the product's: approving would silently
        # overwrite the change made meanwhile. The review stays pending, to be rejected.
        raise Conflict(
            Message(
                "The commission rate of {sku} changed after review {review_id} was requested; reject "
                "the request, and the merchant can ask again.",
                sku=product.sku,
                review_id=review.id,
            ),
            code="rate_changed",
            extra={"rate_before_bp": review.rate_before_bp, "commission_rate_bp": product.commission_rate_bp},
        )
    product.commission_rate_bp = review.rate_after_bp
    product.updated_at = at


def rows_by_id(session: Session, model: type[T], ids: list[int]) -> list[T]:
    """The coupons or products a page of reviews names, in one query."""
    if not ids:
        return []
    return list(session.scalars(select(model).where(model.id.in_(sorted(set(ids))))))
