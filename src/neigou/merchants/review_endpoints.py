"""HTTP endpoints of the review of merchants' changes (``/api/v1``): operators decide; a merchant
follows its own requests."""

from __future__ import annotations

from fastapi import APIRouter

from neigou.auth.dependencies import Operator, OperatorOrMerchant
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.paging import PageDep
from neigou.merchants import review
from neigou.merchants.schemas import ReviewDecision, ReviewOut
from neigou.organizations.models import ReviewStatus

router = APIRouter(tags=["merchants"])


@router.get("/merchant-reviews", response_model=list[ReviewOut])
def list_reviews(
    session: SessionDep, _principal: OperatorOrMerchant, page: PageDep, status: ReviewStatus | None = None
) -> list[ReviewOut]:
    """Merchants' coupons and commission changes held for review, newest first (a merchant: its own)."""
    found = review.page_reviews(session, page, status)
    page.answer(found.total)
    return [ReviewOut.model_validate(r) for r in found.items]


@router.get("/merchant-reviews/{review_id}", response_model=ReviewOut)
def get_review(review_id: int, session: SessionDep, _principal: OperatorOrMerchant) -> ReviewOut:
    """One review."""
    return ReviewOut.model_validate(review.require_review(session, review_id))


@router.post("/merchant-reviews/{review_id}/approve", response_model=ReviewOut)
def approve_review(
    review_id: int, body: ReviewDecision, session: SessionDep, principal: Operator
) -> ReviewOut:
    """Approve: the coupon goes live, or the product takes the new commission rate."""
    decided = review.decide(
        session, review_id=review_id, approve=True, note=body.note, actor=principal.actor, at=utcnow()
    )
    return ReviewOut.model_validate(decided)


@router.post("/merchant-reviews/{review_id}/reject", response_model=ReviewOut)
def reject_review(
    review_id: int, body: ReviewDecision, session: SessionDep, principal: Operator
) -> ReviewOut:
    """Reject: the coupon stays unused, the product keeps its rate."""
    decided = review.decide(
        session, review_id=review_id, approve=False, note=body.note, actor=principal.actor, at=utcnow()
    )
    return ReviewOut.model_validate(decided)
