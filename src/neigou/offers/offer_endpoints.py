"""HTTP endpoints of coupon templates and promotions (``/api/v1``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status

from neigou.auth.dependencies import CatalogReader, OperatorOrMerchant
from neigou.auth.models import Role
from neigou.auth.service import Principal
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.paging import PageDep
from neigou.offers import coupons_service as coupons
from neigou.offers import offer_edit
from neigou.offers import promotions_service as promotions
from neigou.offers import repository as repo
from neigou.offers.offer_rules import CouponVisibility
from neigou.offers.offer_schemas import (
    CouponCreate,
    CouponOut,
    CouponUpdate,
    PromotionCreate,
    PromotionOut,
    PromotionUpdate,
)

router = APIRouter(tags=["offers"])


def sees_hidden_coupons(principal: Principal) -> bool:
    """Hidden coupons are channel-exclusive: only operators list them; shoppers meet them through links."""
    return principal.role in {Role.OPERATOR, Role.MERCHANT}  # a merchant's own coupons, by the scope


@router.post("/coupons", status_code=status.HTTP_201_CREATED, response_model=CouponOut)
def create_coupon(body: CouponCreate, session: SessionDep, principal: OperatorOrMerchant) -> CouponOut:
    """Add a coupon template (public, or hidden: claimable only through a share link)."""
    return CouponOut.model_validate(coupons.create_coupon(session, data=body, actor=principal.actor))


@router.get("/coupons", response_model=list[CouponOut])
def list_coupons(
    *,
    session: SessionDep,
    principal: CatalogReader,
    visibility: CouponVisibility | None = None,
    page: PageDep,
    active: Annotated[bool, Query(description="only coupons open now")] = False,
) -> list[CouponOut]:
    """Coupon templates, newest first; hidden, paused and ended ones only for operators and merchants
    (who manage them; members and integrations could not claim them)."""
    manages = sees_hidden_coupons(principal)
    if not manages:
        if visibility is CouponVisibility.HIDDEN:
            page.answer(0)
            return []
        visibility = CouponVisibility.PUBLIC
    now = utcnow()
    rows = repo.page_coupons(
        session,
        page,
        visibility=visibility,
        active_at=now if active else None,
        live_only=not manages,
        running_at=None if manages else now,
    )
    page.answer(rows.total)
    return [CouponOut.model_validate(c) for c in rows.items]


@router.get("/coupons/{coupon_id}", response_model=CouponOut)
def get_coupon(coupon_id: int, session: SessionDep, principal: CatalogReader) -> CouponOut:
    """One coupon template; a hidden one is not found for anyone but operators."""
    return CouponOut.model_validate(
        coupons.require_coupon(session, coupon_id, see_hidden=sees_hidden_coupons(principal))
    )


@router.patch("/coupons/{coupon_id}", response_model=CouponOut)
def update_coupon(
    coupon_id: int, body: CouponUpdate, session: SessionDep, principal: OperatorOrMerchant
) -> CouponOut:
    """Change a coupon's name, end, stock or running state (pause, resume, end); its value, cap,
    threshold and visibility only until it is first claimed or ordered with (409 ``terms_locked``)."""
    coupon = offer_edit.update_coupon(session, coupon_id=coupon_id, data=body, actor=principal.actor)
    return CouponOut.model_validate(coupon)


@router.post("/promotions", status_code=status.HTTP_201_CREATED, response_model=PromotionOut)
def create_promotion(
    body: PromotionCreate, session: SessionDep, principal: OperatorOrMerchant
) -> PromotionOut:
    """Add a promotion: quantity_discount (满N件X折), spend_threshold_off (满X减Y) or event_price."""
    return PromotionOut.model_validate(promotions.create_promotion(session, data=body, actor=principal.actor))


@router.get("/promotions", response_model=list[PromotionOut])
def list_promotions(
    *,
    session: SessionDep,
    _principal: CatalogReader,
    page: PageDep,
    active: Annotated[bool, Query(description="only promotions open now")] = False,
) -> list[PromotionOut]:
    """Promotions, newest first."""
    rows = repo.page_promotions(session, page, active_at=utcnow() if active else None)
    page.answer(rows.total)
    return [PromotionOut.model_validate(p) for p in rows.items]


@router.get("/promotions/{promotion_id}", response_model=PromotionOut)
def get_promotion(promotion_id: int, session: SessionDep, _principal: CatalogReader) -> PromotionOut:
    """One promotion."""
    return PromotionOut.model_validate(promotions.require_promotion(session, promotion_id))


@router.patch("/promotions/{promotion_id}", response_model=PromotionOut)
def update_promotion(
    promotion_id: int, body: PromotionUpdate, session: SessionDep, principal: OperatorOrMerchant
) -> PromotionOut:
    """Change a promotion's name, end or running state (pause, resume, end); its terms only until it
    opens (409 ``terms_locked``)."""
    promotion = offer_edit.update_promotion(
        session, promotion_id=promotion_id, data=body, actor=principal.actor
    )
    return PromotionOut.model_validate(promotion)


# POST /quotes lives in neigou.links.endpoints: a quote's link_code is resolved by the links domain,
# which hands the link's coupons to offers.quotes.price_quote as link_coupon_ids.
