"""The demo catalog and its offers, drawn from the field: a shampoo whose ¥25 hidden coupon makes it
¥24.90 in the group (¥49.90 in the app), a clothing brand's 满10件1.1折, a few public coupons and an
employee-purchase live event (内购会). Built through the services so every rule applies."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from neigou.kit.actor import Actor
from neigou.offers import catalog_service as catalog
from neigou.offers import coupons_service as coupons
from neigou.offers import promotions_service as promotions
from neigou.offers.offer_rules import CouponKind, CouponVisibility, PromotionKind
from neigou.offers.offer_schemas import (
    CouponCreate,
    EventPriceIn,
    PromotionCreate,
    QuantityDiscountIn,
    SpendThresholdOffIn,
)
from neigou.offers.schemas import BrandCreate, CategoryCreate, ProductCreate

SHAMPOO_SKU = "LQ-SHAMPOO-500"
BRANDS = {
    "lanquan": "澜泉 LanQuan",
    "yiduo": "衣朵 Yiduo",
    "heshi": "禾实 Heshi",
    "mianmian": "棉棉 Mianmian",
}
CATEGORIES = {
    "personal-care": "个护美妆",
    "apparel": "服饰",
    "food": "食品生鲜",
    "household": "家居日用",
    "baby": "母婴",
}
# sku, title, list price (fen), commission rate (bp), brand, category
PRODUCTS = [
    (SHAMPOO_SKU, "澜泉 氨基酸控油蓬松洗发水 500ml", 4990, 2000, "lanquan", "personal-care"),
    ("LQ-CONDITIONER-400", "澜泉 修护柔顺护发素 400ml", 3990, 2000, "lanquan", "personal-care"),
    ("LQ-BODYWASH-750", "澜泉 樱花香氛沐浴露 750ml", 5990, 1800, "lanquan", "personal-care"),
    ("YD-TEE-CREW", "衣朵 新疆棉圆领短袖T恤 男女同款", 5900, 2500, "yiduo", "apparel"),
    ("YD-JEANS-HW", "衣朵 高腰直筒牛仔裤 显瘦百搭", 12900, 2500, "yiduo", "apparel"),
    ("YD-HOODIE", "衣朵 加绒连帽卫衣 宽松休闲", 9900, 2500, "yiduo", "apparel"),
    ("YD-SUNCOAT", "衣朵 冰丝防晒开衫 UPF50+", 8900, 2500, "yiduo", "apparel"),
    ("YD-SOCKS-5", "衣朵 精梳棉中筒袜 5双装", 2990, 3000, "yiduo", "apparel"),
    ("HS-RICE-5KG", "禾实 五常稻花香大米 5kg", 6990, 800, "heshi", "food"),
    ("HS-NUTS-30", "禾实 每日坚果 混合果仁 30袋", 8990, 1500, "heshi", "food"),
    ("HS-TISSUE-24", "禾实 原木抽纸 3层100抽 24包", 3990, 1000, "heshi", "household"),
    ("HS-PODS-52", "禾实 三合一洗衣凝珠 52颗", 4990, 1600, "heshi", "household"),
    ("MM-WIPES-80", "棉棉 婴儿手口湿巾 80抽×6包", 3590, 2000, "mianmian", "baby"),
    ("MM-DIAPER-L", "棉棉 轻薄透气拉拉裤 L码 84片", 12900, 1200, "mianmian", "baby"),
]
GARMENTS = ["YD-TEE-CREW", "YD-JEANS-HW", "YD-HOODIE", "YD-SUNCOAT", "YD-SOCKS-5"]


HIDDEN_COUPON_DAYS = 31
# The catalog has been on sale since before the demo's oldest links and orders (``demo.orders.DAYS``,
# four months back); a coupon is made when it opens, before its first claim.
CATALOG_DAYS = 180


@dataclass(frozen=True)
class OffersDemo:
    """Ids worth trying in the demo."""

    shampoo_sku: str
    hidden_coupon_id: int
    quantity_promotion_id: int
    welcome_coupon_id: int  # public, every sku, open a month: what shoppers claim through owners' links


def seed_offers(session: Session, *, now: datetime, actor: Actor) -> OffersDemo:
    """Create the demo catalog, coupons and promotions."""
    listed = now - timedelta(days=CATALOG_DAYS)
    for code, name in BRANDS.items():
        catalog.create_brand(session, data=BrandCreate(code=code, name=name), actor=actor, at=listed)
    for code, name in CATEGORIES.items():
        catalog.create_category(session, data=CategoryCreate(code=code, name=name), actor=actor, at=listed)
    for sku, title, price, rate, brand, category in PRODUCTS:
        catalog.create_product(
            session,
            data=ProductCreate(
                sku=sku,
                title=title,
                price_fen=price,
                commission_rate_bp=rate,
                brand_code=brand,
                category_code=category,
                image_url=None,  # the landing page and posters draw a tile with its name and price
                shop_url=f"https://shop.neigou.example/item/{sku}",
            ),
            actor=actor,
            at=listed,
        )
    month = (now - timedelta(days=1), now + timedelta(days=30))
    hidden = _coupon(
        session,
        actor,
        (now - timedelta(days=HIDDEN_COUPON_DAYS), month[1]),  # open a month: its claims have a history
        name="澜泉洗发水 群内专享券 ¥25",
        kind=CouponKind.AMOUNT_OFF,
        value=2500,
        skus=[SHAMPOO_SKU],
        visibility=CouponVisibility.HIDDEN,
        total=5000,
        min_spend=4900,
    )
    _coupon(
        session, actor, month, name="全场满199减20", kind=CouponKind.AMOUNT_OFF, value=2000, min_spend=19900
    )
    _coupon(
        session,
        actor,
        month,
        name="个护9折券 最高减30",
        kind=CouponKind.PERCENT_OFF,
        value=1000,
        cap=3000,
        skus=[sku for sku, *_, category in PRODUCTS if category == "personal-care"],
    )
    welcome = _coupon(
        session,
        actor,
        (now - timedelta(days=HIDDEN_COUPON_DAYS), month[1]),  # claimed through links all month
        name="新人立减5元",
        kind=CouponKind.AMOUNT_OFF,
        value=500,
        min_spend=2000,
    )
    quantity = promotions.create_promotion(
        session,
        data=PromotionCreate(
            name="衣朵 满10件1.1折",
            kind=PromotionKind.QUANTITY_DISCOUNT,
            params=QuantityDiscountIn(min_quantity=10, pay_rate_bp=1100),
            skus=GARMENTS,
            starts_at=month[0],
            ends_at=month[1],
            priority=10,
        ),
        actor=actor,
        at=month[0],  # added when it opened, after its products
    )
    promotions.create_promotion(
        session,
        data=PromotionCreate(
            name="家居日用 满99减10",
            kind=PromotionKind.SPEND_THRESHOLD_OFF,
            params=SpendThresholdOffIn(min_spend_fen=9900, off_fen=1000),
            skus=["HS-TISSUE-24", "HS-PODS-52"],
            starts_at=month[0],
            ends_at=month[1],
        ),
        actor=actor,
        at=month[0],
    )
    # The live event opens next week: its window shows as upcoming in the console.
    event_day = now + timedelta(days=7)
    promotions.create_promotion(
        session,
        data=PromotionCreate(
            name="员工内购会 直播专享价",
            kind=PromotionKind.EVENT_PRICE,
            params=EventPriceIn(prices={"LQ-BODYWASH-750": 3990, "HS-NUTS-30": 5990}),
            skus=None,
            starts_at=event_day,
            ends_at=event_day + timedelta(hours=3),
            priority=20,
            exclusive=True,
        ),
        actor=actor,
        at=now,
    )
    return OffersDemo(
        shampoo_sku=SHAMPOO_SKU,
        hidden_coupon_id=hidden,
        quantity_promotion_id=quantity.id,
        welcome_coupon_id=welcome,
    )


def _coupon(
    session: Session,
    actor: Actor,
    window: tuple[datetime, datetime],
    *,
    name: str,
    kind: CouponKind,
    value: int,
    skus: list[str] | None = None,
    visibility: CouponVisibility = CouponVisibility.PUBLIC,
    total: int = 10_000,
    min_spend: int = 0,
    cap: int | None = None,
) -> int:
    coupon = coupons.create_coupon(
        session,
        data=CouponCreate(
            name=name,
            kind=kind,
            value=value,
            cap_fen=cap,
            min_spend_fen=min_spend,
            visibility=visibility,
            skus=skus,
            total_quantity=total,
            per_customer_limit=1,
            starts_at=window[0],
            ends_at=window[1],
        ),
        actor=actor,
        at=window[0],
    )
    return coupon.id
