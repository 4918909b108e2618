"""The console's review queue: merchants' new coupons and commission changes waiting for an
operator of an organization that reviews them, approved or rejected with a note; and the switch."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from neigou.auth.dependencies import ConsoleOperator
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Conflict
from neigou.kit.i18n import Message
from neigou.merchants import review
from neigou.offers.models import CouponTemplate, Product
from neigou.organizations import service as organizations
from neigou.organizations.models import MerchantReview, ReviewStatus
from neigou.organizations.schemas import OrganizationSettings
from neigou.web.listing import ListQueryDep, fetch
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
SORTS = {"id": MerchantReview.id, "requested": MerchantReview.requested_at}


@router.get("/console/reviews", response_class=HTMLResponse)
def reviews_page(
    request: Request,
    session: SessionDep,
    principal: ConsoleOperator,
    query: ListQueryDep,
    status: Annotated[str, Query(max_length=20)] = "pending",
) -> HTMLResponse:
    """Requests of one status (pending first), newest first, with what each asks for."""
    chosen = next((s for s in ReviewStatus if s.value == status), None)
    listing = fetch(
        session, request, review.reviews_statement(chosen), query, sorts=SORTS, default_sort="-id"
    )
    coupon_ids = [r.coupon_id for r in listing.rows if r.coupon_id is not None]
    product_ids = [r.product_id for r in listing.rows if r.product_id is not None]
    organization = (
        None
        if principal.organization_id is None
        else organizations.require_organization(session, principal.organization_id)
    )
    return render(
        request,
        "console/reviews.html",
        principal=principal,
        reviews=listing,
        status=chosen.value if chosen else "",
        statuses=[s.value for s in ReviewStatus],
        counts=review.status_counts(session),
        coupons={c.id: c for c in review.rows_by_id(session, CouponTemplate, coupon_ids)},
        products={p.id: p for p in review.rows_by_id(session, Product, product_ids)},
        organization=organization,
    )


@router.post("/console/reviews/{review_id}/{decision}")
def decide(
    review_id: int,
    decision: Literal["approve", "reject"],
    session: SessionDep,
    principal: ConsoleOperator,
    note: Annotated[str, Form(max_length=500)] = "",
) -> RedirectResponse:
    """Approve or reject one request."""
    review.decide(
        session,
        review_id=review_id,
        approve=decision == "approve",
        note=note.strip() or None,
        actor=principal.actor,
        at=utcnow(),
    )
    return RedirectResponse("/console/reviews", status_code=303)


@router.post("/console/review-setting")
def switch(
    session: SessionDep, principal: ConsoleOperator, review_merchant_changes: Annotated[str, Form()] = ""
) -> RedirectResponse:
    """Switch the review of merchants' changes on or off for the operator's organization; a platform
    administrator has none to switch (409 ``no_organization``: the page shows no switch)."""
    if principal.organization_id is None:
        raise Conflict(
            Message(
                "Each organization switches the review on for itself (its operators, here or through the API)."
            ),
            code="no_organization",
        )
    organizations.update_settings(
        session,
        organization_id=principal.organization_id,
        data=OrganizationSettings(review_merchant_changes=review_merchant_changes == "on"),
        actor=principal.actor,
    )
    return RedirectResponse("/console/reviews", status_code=303)
