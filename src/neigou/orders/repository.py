"""Queries of orders for listings: pages of orders with their members, refunds, settlements."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from neigou.kit.bulk import chunks
from neigou.orders.models import Commission, Order, Refund


def list_orders(
    session: Session,
    *,
    program_id: int | None = None,
    member_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Order]:
    """Orders, newest paid first."""
    query = select(Order).order_by(Order.paid_at.desc(), Order.id.desc()).limit(limit).offset(offset)
    if program_id is not None:
        query = query.where(Order.program_id == program_id)
    if member_id is not None:
        query = query.where(Order.member_id == member_id)
    return list(session.scalars(query))


def count_orders(session: Session, *, program_id: int | None = None) -> int:
    """How many orders (of a program)."""
    query = select(func.count(Order.id))
    if program_id is not None:
        query = query.where(Order.program_id == program_id)
    return int(session.scalar(query) or 0)


def refunds_of(session: Session, order_id: int) -> list[Refund]:
    """An order's refunds, oldest first."""
    return list(
        session.scalars(select(Refund).where(Refund.order_id == order_id).order_by(Refund.at, Refund.id))
    )


def link_sales(session: Session, member_id: int, codes: Iterable[str]) -> dict[str, tuple[int, int]]:
    """Orders and GMV (paid − refunded) through each of a member's links, by link code; fully refunded
    orders are not counted (one grouped query, on the member's orders)."""
    wanted = sorted(set(codes))
    if not wanted:
        return {}
    counted = func.sum(case((Order.fully_refunded, 0), else_=1))
    rows = session.execute(
        select(Order.link_code, counted, func.sum(Order.paid_fen - Order.refunded_fen))
        .where(Order.member_id == member_id, Order.link_code.in_(wanted))
        .group_by(Order.link_code)
    )
    return {str(code): (int(n or 0), int(gmv or 0)) for code, n, gmv in rows}


def orders_of_link(session: Session, *, program_id: int, code: str, limit: int) -> list[Order]:
    """The latest orders a share link brought, newest paid first."""
    query = (
        select(Order)
        .where(Order.program_id == program_id, Order.link_code == code)
        .order_by(Order.paid_at.desc(), Order.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def order_numbers_of_member(session: Session, member_id: int, order_ids: Iterable[int]) -> dict[int, str]:
    """The shop's order number (``external_id``) of each of these orders that the member earns
    commission on, by order id: a member's statement names its orders as the shop does, and an id
    that is not the member's own stays unnamed (one query per chunk of ids)."""
    found: dict[int, str] = {}
    for part in chunks(sorted(set(order_ids))):
        rows = session.execute(
            select(Order.id, Order.external_id)
            .join(Commission, Commission.order_id == Order.id)
            .where(Order.id.in_(part), Commission.member_id == member_id)
            .distinct()
        )
        found.update({int(i): str(e) for i, e in rows})
    return found
