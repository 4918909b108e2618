"""What a customer's suggestions are drawn from, read set-based from the program's orders and catalog:
the customer's purchases, item-item co-purchase, the catalog's price terciles, live campaigns, and the
products on sale that carry at least one signal. The scoring itself is ``crm.recommend`` (pure).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_, select
from sqlalchemy.orm import Session

from neigou.campaigns.models import Campaign, CampaignItem
from neigou.crm import recommend
from neigou.offers.models import Category, CouponTemplate, Product
from neigou.orders.models import Order, OrderLine, refunded_in_full
from neigou.programs.repository import organization_of

# The most co-purchased products the bought-together signal adds as candidates.
CO_PURCHASE_LIMIT = 200
# The customer's products the bought-together signal starts from: the most recently bought distinct
# skus through the member whose book holds them (a customer's whole history would make every card
# view join the baskets of every buyer of every product they ever bought).
ANCHOR_LIMIT = 5
# The other customers whose baskets are read: the most recent buyers of the anchors. The co-purchase
# join reads these buyers' orders only, so its cost stays bounded however large the program grows.
CO_BUYER_LIMIT = 500


@dataclass(frozen=True)
class Purchases:
    """What a customer bought through one member (orders attributed to the member whose book holds
    them): every sku, those bought lately, their categories, and the anchors of the bought-together
    signal (newest first). Nothing bought through another salesperson is in it."""

    skus: frozenset[str]
    recent: frozenset[str]
    categories: tuple[str, ...]  # category codes, most bought first
    anchors: tuple[str, ...] = ()


def kept_purchase(order: type[Order]) -> ColumnElement[bool]:
    # A fully refunded order is no purchase; one paid 0 (a 100% coupon) is (``Order.fully_refunded``).
    return ~order.fully_refunded


def purchases(
    session: Session, *, program_id: int, customer_ref_hash: str, member_id: int, at: datetime
) -> Purchases:
    """The skus the customer bought in orders attributed to ``member_id``, those of the last
    ``JUST_BOUGHT_DAYS`` days, their categories and the ``ANCHOR_LIMIT`` last bought (the anchors), in
    one grouped statement: a salesperson's card shows, suggests from and leaves out only what the
    customer bought through them, never a sale of another salesperson of the program."""
    rows = session.execute(
        select(OrderLine.sku, func.max(Order.paid_at), func.sum(OrderLine.quantity), Category.code)
        .join(Order, Order.id == OrderLine.order_id)
        .outerjoin(
            Product,
            and_(
                Product.sku == OrderLine.sku, Product.organization_id == organization_of(session, program_id)
            ),
        )
        .outerjoin(Category, Category.id == Product.category_id)
        .where(
            Order.program_id == program_id,
            Order.customer_ref_hash == customer_ref_hash,
            Order.member_id == member_id,
            kept_purchase(Order),
        )
        .group_by(OrderLine.sku, Category.code)
        .order_by(func.max(Order.paid_at).desc(), OrderLine.sku)
    ).all()
    since = at - timedelta(days=recommend.JUST_BOUGHT_DAYS)
    by_category: dict[str, int] = {}
    for _, _, quantity, code in rows:
        if code is not None:
            by_category[code] = by_category.get(code, 0) + int(quantity or 0)
    return Purchases(
        skus=frozenset(sku for sku, _, _, _ in rows),
        recent=frozenset(sku for sku, paid_at, _, _ in rows if paid_at >= since),
        categories=tuple(sorted(by_category, key=lambda c: (-by_category[c], c))),
        anchors=tuple(sku for sku, _, _, _ in rows[:ANCHOR_LIMIT]),
    )


def co_purchases(
    session: Session,
    *,
    program_id: int,
    customer_ref_hash: str,
    anchors: Collection[str],
    bought: Collection[str] = (),
) -> dict[str, tuple[int, str]]:
    """Per sku: how many other customers of the program bought it and one of ``anchors``, and the
    anchor most bought with it (plain item-item co-occurrence by customer, in one statement). Only the
    ``CO_BUYER_LIMIT`` most recent other buyers of the anchors count, so the join reads a bounded
    number of baskets; callers pass at most ``ANCHOR_LIMIT`` anchors (``Purchases.anchors``). Nothing
    of ``bought`` (what the customer already has) is answered."""
    if not anchors:
        return {}
    first, second = OrderLine.__table__.alias("first_line"), OrderLine.__table__.alias("second_line")
    first_order, second_order = Order.__table__.alias("first_order"), Order.__table__.alias("second_order")
    anchor_line, anchor_order = (
        OrderLine.__table__.alias("anchor_line"),
        Order.__table__.alias("anchor_order"),
    )
    buyers = (
        select(anchor_order.c.customer_ref_hash.label("ref"))
        .select_from(anchor_line)
        .join(anchor_order, anchor_order.c.id == anchor_line.c.order_id)
        .where(
            anchor_order.c.program_id == program_id,
            anchor_order.c.customer_ref_hash != customer_ref_hash,
            ~refunded_in_full(anchor_order.c.paid_fen, anchor_order.c.refunded_fen),
            anchor_line.c.sku.in_(sorted(anchors)),
        )
        .group_by(anchor_order.c.customer_ref_hash)
        .order_by(func.max(anchor_order.c.paid_at).desc(), anchor_order.c.customer_ref_hash)
        .limit(CO_BUYER_LIMIT)
        .subquery()
    )
    pairs = (
        select(
            second.c.sku.label("sku"),
            first.c.sku.label("anchor"),
            func.count(func.distinct(first_order.c.customer_ref_hash)).label("buyers"),
        )
        .select_from(buyers)
        .join(first_order, first_order.c.customer_ref_hash == buyers.c.ref)
        .join(first, first.c.order_id == first_order.c.id)
        .join(
            second_order,
            and_(
                second_order.c.program_id == first_order.c.program_id,
                second_order.c.customer_ref_hash == first_order.c.customer_ref_hash,
            ),
        )
        .join(second, and_(second.c.order_id == second_order.c.id, second.c.sku != first.c.sku))
        .where(
            first_order.c.program_id == program_id,
            first_order.c.customer_ref_hash != customer_ref_hash,
            ~refunded_in_full(first_order.c.paid_fen, first_order.c.refunded_fen),
            ~refunded_in_full(second_order.c.paid_fen, second_order.c.refunded_fen),
            first.c.sku.in_(sorted(anchors)),
            second.c.sku.not_in(sorted({*anchors, *bought})),
        )
        .group_by(second.c.sku, first.c.sku)
        .subquery()
    )
    ranked = select(
        pairs.c.sku,
        pairs.c.anchor,
        pairs.c.buyers,
        func.row_number()
        .over(partition_by=pairs.c.sku, order_by=(pairs.c.buyers.desc(), pairs.c.anchor))
        .label("place"),
    ).subquery()
    rows = session.execute(
        select(ranked.c.sku, ranked.c.buyers, ranked.c.anchor)
        .where(ranked.c.place == 1)
        .order_by(ranked.c.buyers.desc(), ranked.c.sku)
        .limit(CO_PURCHASE_LIMIT)
    )
    return {sku: (int(buyers), anchor) for sku, buyers, anchor in rows}


def price_bands(session: Session, *, organization_id: int) -> recommend.PriceBands:
    """Terciles of the organization's prices on sale (nearest rank), read by offset, not loaded."""
    on_sale = select(Product.price_fen).where(Product.organization_id == organization_id, Product.active)
    n = session.scalar(select(func.count()).select_from(on_sale.subquery())) or 0
    if n == 0:
        return recommend.price_bands([])

    def at_rank(rank: int) -> int:
        return int(session.scalar(on_sale.order_by(Product.price_fen).offset(rank).limit(1)) or 0)

    return recommend.PriceBands(low_max_fen=at_rank((n - 1) // 3), mid_max_fen=at_rank(2 * (n - 1) // 3))


def live_campaigns(session: Session, *, program_id: int, at: datetime) -> dict[str, str]:
    """Per sku, the name of the program's earliest-started live campaign that lists it and whose
    coupon (if any) is not sold out."""
    rows = session.execute(
        select(CampaignItem.sku, Campaign.name)
        .join(Campaign, Campaign.id == CampaignItem.campaign_id)
        .outerjoin(CouponTemplate, CouponTemplate.id == Campaign.coupon_id)
        .where(
            Campaign.program_id == program_id,
            Campaign.starts_at <= at,
            Campaign.ends_at > at,
            or_(
                Campaign.coupon_id.is_(None), CouponTemplate.claimed_quantity < CouponTemplate.total_quantity
            ),
        )
        .order_by(Campaign.starts_at.desc(), Campaign.id.desc())
    )
    return dict(rows.all())  # the earliest started comes last and wins


def _tag_match(session: Session, tags: Collection[str]) -> ColumnElement[bool]:
    lowered = sorted({recommend.normal_tag(t) for t in tags} | {t.strip().lower() for t in tags})
    if session.get_bind().dialect.name == "postgresql":
        elements = func.jsonb_array_elements_text(Product.tags).table_valued("value")
    else:
        elements = func.json_each(Product.tags).table_valued("value")
    return exists(select(literal(1)).select_from(elements).where(func.lower(elements.c.value).in_(lowered)))


@dataclass(frozen=True)
class Signals:
    """What the candidate query looks for."""

    organization_id: int
    tags: frozenset[str]
    categories: frozenset[str]
    co_bought: frozenset[str]
    campaign_skus: frozenset[str]
    excluded: frozenset[str]


def candidates(
    session: Session, signals: Signals, *, at: datetime
) -> list[tuple[Product, str | None, str | None]]:
    """Products on sale in the organization with at least one signal, none of ``excluded``:
    (product, category code, category name)."""
    new_since = at - timedelta(days=recommend.NEW_DAYS)
    any_signal: list[ColumnElement[bool]] = [and_(Product.created_at >= new_since, Product.created_at <= at)]
    if signals.categories:
        any_signal.append(Category.code.in_(sorted(signals.categories)))
    if signals.co_bought or signals.campaign_skus:
        any_signal.append(Product.sku.in_(sorted(signals.co_bought | signals.campaign_skus)))
    if signals.tags:
        any_signal.append(_tag_match(session, signals.tags))
    stmt = (
        select(Product, Category.code, Category.name)
        .outerjoin(Category, Category.id == Product.category_id)
        .where(Product.organization_id == signals.organization_id, Product.active, or_(*any_signal))
        .order_by(Product.id)
    )
    if signals.excluded:
        stmt = stmt.where(Product.sku.not_in(sorted(signals.excluded)))
    return [(product, code, name) for product, code, name in session.execute(stmt)]


def titles(session: Session, organization_id: int, skus: Collection[str]) -> dict[str, str]:
    """The organization's products' titles by sku."""
    if not skus:
        return {}
    owned = Product.organization_id == organization_id
    return dict(
        session.execute(select(Product.sku, Product.title).where(owned, Product.sku.in_(sorted(skus)))).all()
    )
