"""Queries of the salesperson's workspace: whether a member keeps a customer book, birthdays this week,
and a customer's history with this member (orders through their links, identified clicks and claims)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, exists, extract, func, or_, select
from sqlalchemy.orm import Session

from neigou.crm.models import CrmSettings, Customer
from neigou.links.models import ShareLink, Touch
from neigou.offers.models import Product
from neigou.orders.models import Order, OrderLine
from neigou.programs.models import Member
from neigou.programs.repository import organization_of

HISTORY_ROWS = 10


def has_customer_book(session: Session, member_id: int) -> bool:
    """True for a member of a salesperson program (one with CRM settings) or one who keeps customers."""
    settings = exists().where(
        CrmSettings.program_id == select(Member.program_id).where(Member.id == member_id).scalar_subquery()
    )
    own = exists().where(Customer.member_id == member_id)
    return bool(session.scalar(select(or_(settings, own))))


def birthdays(session: Session, member_id: int, days: Sequence[tuple[int, int]]) -> list[Customer]:
    """The member's customers (not erased) whose birthday falls on one of ``days`` ((month, day))."""
    if not days:
        return []
    on_day = or_(
        *(
            and_(extract("month", Customer.birthday) == month, extract("day", Customer.birthday) == day)
            for month, day in days
        )
    )
    return list(
        session.scalars(
            select(Customer)
            .where(
                Customer.member_id == member_id, Customer.erased_at.is_(None), Customer.birthday.is_not(None)
            )
            .where(on_day)
            .order_by(Customer.id)
        )
    )


def orders_with_member(
    session: Session, customer: Customer, member_id: int, *, limit: int = HISTORY_ROWS
) -> list[tuple[Order, list[str]]]:
    """The customer's latest orders attributed to this member, with the titles of their products."""
    orders = list(
        session.scalars(
            select(Order)
            .where(
                Order.program_id == customer.program_id,
                Order.customer_ref_hash == customer.customer_ref_hash,
                Order.member_id == member_id,
            )
            .order_by(Order.paid_at.desc(), Order.id.desc())
            .limit(limit)
        )
    )
    titles: dict[int, list[str]] = {o.id: [] for o in orders}
    if orders:
        rows = session.execute(
            select(OrderLine.order_id, func.coalesce(Product.title, OrderLine.sku))
            .outerjoin(
                Product,
                and_(
                    Product.sku == OrderLine.sku,
                    Product.organization_id == organization_of(session, customer.program_id),
                ),
            )
            .where(OrderLine.order_id.in_(list(titles)))
            .order_by(OrderLine.order_id, OrderLine.line_no)
        )
        for order_id, title in rows:
            titles[order_id].append(title)
    return [(o, titles[o.id]) for o in orders]


def touches_with_member(
    session: Session, customer: Customer, member_id: int, *, limit: int = HISTORY_ROWS
) -> list[tuple[Touch, str]]:
    """The customer's latest identified clicks and claims through this member's links, with the product."""
    rows = session.execute(
        select(Touch, func.coalesce(Product.title, ""))
        .join(ShareLink, ShareLink.id == Touch.link_id)
        .outerjoin(Product, Product.id == ShareLink.product_id)
        .where(
            Touch.program_id == customer.program_id,
            Touch.customer_ref_hash == customer.customer_ref_hash,
            Touch.member_id == member_id,
        )
        .order_by(Touch.touched_at.desc(), Touch.id.desc())
        .limit(limit)
    )
    return list(rows)


def new_products(
    session: Session, organization_id: int, *, since: datetime, at: datetime, limit: int
) -> list[Product]:
    """The organization's products on sale added since ``since``, newest first."""
    return list(
        session.scalars(
            select(Product)
            .where(
                Product.organization_id == organization_id,
                Product.active,
                Product.created_at >= since,
                Product.created_at <= at,
            )
            .order_by(Product.created_at.desc(), Product.id.desc())
            .limit(limit)
        )
    )
