"""A merchant's sales: orders paid over days (each order's program time zone) with lines of the
merchant's skus, counting only those lines.

- ``gmv_fen``: the lines' paid amounts;
- ``refund_fen``: each line's part of its order's refunds, ``floor(line paid × refunded / paid)``
  (refunds are reported per order and spread over its lines by what they paid);
- ``commission_fen``: what the order's commissions earn on these lines, each commission row's
  per-line share ``floor(pool × bp)`` as ``orders.commission`` computes it, less the part its
  refunds reversed, ``A − floor(A × refunded / paid)``.

One statement; the scope of the caller's session keeps other organizations out.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from neigou.offers.models import Product
from neigou.orders.models import Commission, Order, OrderLine
from neigou.programs.models import Program

BP = 10_000


@dataclass(frozen=True)
class MerchantSales:
    """The merchant's figures over the range."""

    orders: int
    gmv_fen: int
    refund_fen: int
    commission_fen: int


def _paid_in_range(session: Session, start: dt.date, end: dt.date) -> ColumnElement[bool]:
    """Orders paid from ``start`` to ``end`` inclusive, each in its program's time zone."""
    by_zone: dict[str, list[int]] = defaultdict(list)
    for program_id, zone in session.execute(select(Program.id, Program.timezone)).tuples():
        by_zone[zone].append(program_id)
    ranges = []
    for zone, program_ids in by_zone.items():
        tz = ZoneInfo(zone)
        low = dt.datetime.combine(start, dt.time(), tzinfo=tz)
        high = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz)
        ranges.append(and_(Order.program_id.in_(program_ids), Order.paid_at >= low, Order.paid_at < high))
    return or_(*ranges) if ranges else false()


def merchant_sales(session: Session, *, merchant_id: int, start: dt.date, end: dt.date) -> MerchantSales:
    """The figures of ``merchant_id``'s lines in orders paid from ``start`` to ``end``."""
    lines = (
        select(
            OrderLine.order_id,
            OrderLine.paid_fen,
            OrderLine.quantity,
            OrderLine.commission_rate_bp,
            OrderLine.fixed_commission_fen,
            Order.paid_fen.label("order_paid"),
            Order.refunded_fen.label("order_refunded"),
        )
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.sku == OrderLine.sku)
        .where(Product.merchant_id == merchant_id, _paid_in_range(session, start, end))
        .subquery()
    )
    refund = case(
        (lines.c.order_paid > 0, lines.c.paid_fen * lines.c.order_refunded // lines.c.order_paid), else_=0
    )
    totals = session.execute(
        select(
            func.count(func.distinct(lines.c.order_id)),
            func.coalesce(func.sum(lines.c.paid_fen), 0),
            func.coalesce(func.sum(refund), 0),
        )
    ).one()
    fixed_pool = lines.c.fixed_commission_fen * lines.c.quantity
    share = case(
        (
            lines.c.fixed_commission_fen.is_not(None),
            case((fixed_pool < lines.c.paid_fen, fixed_pool), else_=lines.c.paid_fen) * Commission.bp // BP,
        ),
        else_=lines.c.paid_fen * lines.c.commission_rate_bp * Commission.bp // (BP * BP),
    )
    earned = (
        select(
            func.sum(share).label("amount"),
            func.max(lines.c.order_paid).label("paid"),
            func.max(lines.c.order_refunded).label("refunded"),
        )
        .join(Commission, Commission.order_id == lines.c.order_id)
        .group_by(Commission.id)
        .subquery()
    )
    net = earned.c.amount - case(
        (earned.c.paid > 0, earned.c.amount * earned.c.refunded // earned.c.paid), else_=0
    )
    commission = session.scalar(select(func.coalesce(func.sum(net), 0)).select_from(earned))
    return MerchantSales(
        orders=int(totals[0]),
        gmv_fen=int(totals[1]),
        refund_fen=int(totals[2]),
        commission_fen=int(commission or 0),
    )
