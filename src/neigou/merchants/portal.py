"""What the merchant portal reads: the caller's own products, coupons, promotions and review
requests (the session's scope keeps every other merchant's rows out), and its month in figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from neigou.offers.models import CouponTemplate, Product, Promotion
from neigou.organizations.models import MerchantReview, ReviewStatus
from neigou.reporting.merchant_sales import MerchantSales, merchant_sales_by

PRODUCT_SORTS: dict[str, Any] = {
    "sku": Product.sku,
    "title": Product.title,
    "price": Product.price_fen,
    "rate": Product.commission_rate_bp,
}
PRODUCT_SEARCH = (Product.sku, Product.title)
COUPON_SORTS: dict[str, Any] = {
    "id": CouponTemplate.id,
    "name": CouponTemplate.name,
    "ends": CouponTemplate.ends_at,
}
PROMOTION_SORTS: dict[str, Any] = {"id": Promotion.id, "name": Promotion.name, "ends": Promotion.ends_at}


def products_statement() -> Select[Product]:
    """The caller's products."""
    return select(Product).order_by(Product.id)


def coupons_statement() -> Select[CouponTemplate]:
    """The caller's coupons, live or not."""
    return select(CouponTemplate).order_by(CouponTemplate.id.desc())


def promotions_statement() -> Select[Promotion]:
    """The caller's promotions."""
    return select(Promotion).order_by(Promotion.id.desc())


def pending_rates(session: Session, product_ids: list[int]) -> dict[int, int]:
    """The commission rate each of these products waits to be approved at."""
    if not product_ids:
        return {}
    rows = session.execute(
        select(MerchantReview.product_id, MerchantReview.rate_after_bp).where(
            MerchantReview.product_id.in_(product_ids), MerchantReview.status == ReviewStatus.PENDING
        )
    )
    return {int(p): int(r) for p, r in rows if p is not None and r is not None}


def coupon_reviews(session: Session, coupon_ids: list[int]) -> dict[int, ReviewStatus]:
    """The latest review status of each of these coupons that went through review."""
    if not coupon_ids:
        return {}
    rows = session.execute(
        select(MerchantReview.coupon_id, MerchantReview.status)
        .where(MerchantReview.coupon_id.in_(coupon_ids))
        .order_by(MerchantReview.id)
    )
    return {int(c): s for c, s in rows if c is not None}


@dataclass(frozen=True)
class Overview:
    """The merchant's home: this month's figures and what it has on offer."""

    month: MerchantSales
    start: dt.date
    end: dt.date
    products: int
    live_coupons: int
    held_coupons: int
    pending_reviews: int


def overview(session: Session, *, merchant_id: int, today: dt.date) -> Overview:
    """This month so far (each order in its program's time zone) and the counts of its offers."""
    start = today.replace(day=1)
    month = merchant_sales_by(session, merchant_id=merchant_id, start=start, end=today)[0]
    live = dict(
        session.execute(select(CouponTemplate.live, func.count()).group_by(CouponTemplate.live)).all()
    )
    return Overview(
        month=month,
        start=start,
        end=today,
        products=int(session.scalar(select(func.count(Product.id))) or 0),
        live_coupons=int(live.get(True, 0)),
        held_coupons=int(live.get(False, 0)),
        pending_reviews=int(
            session.scalar(
                select(func.count(MerchantReview.id)).where(MerchantReview.status == ReviewStatus.PENDING)
            )
            or 0
        ),
    )
