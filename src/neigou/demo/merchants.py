"""The demo's merchant: the shampoo brand's flagship shop (澜泉官方旗舰店) owns the LanQuan products,
runs a hidden coupon of its own for the groups and an upcoming promotion, and has a console account
that signs in to the merchant portal. Built through the services so every rule applies."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from neigou.auth import service as auth
from neigou.kit.actor import Actor
from neigou.merchants import service as merchants
from neigou.merchants.schemas import MerchantCreate
from neigou.offers import catalog_service as catalog
from neigou.offers import coupons_service as coupons
from neigou.offers import promotions_service as promotions
from neigou.offers import repository as offers
from neigou.offers.offer_rules import CouponKind, CouponVisibility, PromotionKind
from neigou.offers.offer_schemas import CouponCreate, PromotionCreate, QuantityDiscountIn
from neigou.offers.schemas import ProductUpdate

MERCHANT_USERNAME = "lanquan-shop"
SHOP_SKUS = ["LQ-SHAMPOO-500", "LQ-CONDITIONER-400", "LQ-BODYWASH-750"]


def seed_merchant(session: Session, *, now: datetime, password: str, actor: Actor) -> str:
    """The shop, its products, coupon and promotion, and its console account; the account's username.

    The shop opened, took over its products and made its group coupon a day ago, when the coupon opened:
    nothing is dated after its window began."""
    opened = now - timedelta(days=1)
    shop = merchants.create_merchant(
        session, data=MerchantCreate(code="lanquan-flagship", name="澜泉官方旗舰店"), actor=actor, at=opened
    )
    for product in offers.products_by_sku(session, SHOP_SKUS, organization_id=shop.organization_id).values():
        catalog.update_product(
            session, product_id=product.id, data=ProductUpdate(merchant_id=shop.id), actor=actor, at=opened
        )
    coupons.create_coupon(
        session,
        data=CouponCreate(
            name="澜泉群专享 满99减20",
            kind=CouponKind.AMOUNT_OFF,
            value=2000,
            min_spend_fen=9900,
            visibility=CouponVisibility.HIDDEN,
            skus=SHOP_SKUS,
            total_quantity=500,
            per_customer_limit=1,
            starts_at=opened,
            ends_at=now + timedelta(days=30),
            merchant_id=shop.id,
        ),
        actor=actor,
        at=opened,
    )
    promotions.create_promotion(
        session,
        data=PromotionCreate(
            name="澜泉 周年庆 满2件9折",
            kind=PromotionKind.QUANTITY_DISCOUNT,
            params=QuantityDiscountIn(min_quantity=2, pay_rate_bp=9000),
            skus=SHOP_SKUS,
            starts_at=now + timedelta(days=7),  # upcoming: the demo's prices today stay as they are
            ends_at=now + timedelta(days=14),
            merchant_id=shop.id,
        ),
        actor=actor,
        at=now,
    )
    auth.create_user(
        session,
        username=MERCHANT_USERNAME,
        password=password,
        display_name="澜泉官方旗舰店",
        actor=actor,
        merchant_id=shop.id,
    )
    return MERCHANT_USERNAME
