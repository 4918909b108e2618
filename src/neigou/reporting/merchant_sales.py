"""A merchant's sales: orders paid over days (each order's program time zone) with lines of the
merchant's skus, counting only those lines, in total or by day, group or program.

- ``gmv_fen``: the lines' paid amounts;
- ``refund_fen``: each line's part of its order's refunds, ``floor(line paid × refunded / paid)``
  (refunds are reported per order and spread over its lines by what they paid);
- ``commission_fen``: what the order's commissions earn on these lines, each commission row's
  per-line share ``floor(pool × bp)`` as ``orders.commission`` computes it, net of reversals: less
  the part its refunds reversed, ``A − floor(A × refunded / paid)``, and less, in proportion, what
  else reversed the row (a confirmed risk case reverses all that is left: the share then counts 0);
  see ``_net_of_reversals``;
- ``coupon_cost_fen``: what coupons took off these lines, and ``promotion_discount_fen``: what
  promotions took off them, each line's share as the order's offers snapshot (``orders.pricing``,
  written at ``paid_at``) recorded it per line (``applied[].per_line``, by source). A discount the
  shop gave on its own (paid below list with no offer of ours) is neither.

A few set-based statements whatever the number of orders: the days of the range in each program
time zone are arrays (PostgreSQL) or a JSON list (SQLite) the orders join (``_days``); the scope of the caller's session keeps other
organizations out. The discounts are read from the snapshots of the lines' orders in one statement.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session

from neigou.kit.db import UTCDateTime
from neigou.kit.pg_arrays import BinaryArray
from neigou.offers.models import Product
from neigou.orders.models import Commission, Order, OrderLine
from neigou.programs.models import Program

BP = 10_000
COLUMNS = ("zone", "day", "low", "high")


class SalesBy(enum.StrEnum):
    """How the figures are broken down."""

    DAY = "day"
    GROUP = "group"
    PROGRAM = "program"


@dataclass(frozen=True)
class MerchantSales:
    """The merchant's figures over the range (or one day, group or program of it: ``key``)."""

    orders: int
    gmv_fen: int
    refund_fen: int
    commission_fen: int
    coupon_cost_fen: int
    promotion_discount_fen: int
    key: str | None = None


def line_discounts(pricing: dict[str, Any] | None, line_no: int) -> tuple[int, int]:
    """(promotion, coupon) fen the order's offers snapshot took off its line ``line_no`` (from 1;
    the snapshot's ``per_line`` counts its basket lines from 0, in the order's item order)."""
    promotion = coupon = 0
    for offer in (pricing or {}).get("applied") or ():
        cut = sum(int(fen) for index, fen in offer.get("per_line") or () if index == line_no - 1)
        if offer.get("source") == "promotion":
            promotion += cut
        elif offer.get("source") == "coupon":
            coupon += cut
    return promotion, coupon


def _zones(session: Session) -> dict[str, list[int]]:
    by_zone: dict[str, list[int]] = defaultdict(list)
    for program_id, zone in session.execute(select(Program.id, Program.timezone)).all():
        by_zone[zone].append(program_id)
    return by_zone


def _bounds(zone: str, start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = ZoneInfo(zone)
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=tz),
    )


def _paid_in_range(by_zone: dict[str, list[int]], start: dt.date, end: dt.date) -> ColumnElement[bool]:
    """Orders paid from ``start`` to ``end`` inclusive, each in its program's time zone."""
    ranges = []
    for zone, program_ids in by_zone.items():
        low, high = _bounds(zone, start, end)
        ranges.append(and_(Order.program_id.in_(program_ids), Order.paid_at >= low, Order.paid_at < high))
    return or_(*ranges) if ranges else false()


def _days(session: Session, by_zone: dict[str, list[int]], start: dt.date, end: dt.date) -> Any:
    """Every day of the range in every program time zone: (zone, day, low, high), bound as a constant
    number of parameters whatever the zones and days (a ``VALUES`` row each was four per day and zone,
    past PostgreSQL's 65,535 parameters for a year over some 45 zones): four arrays ``unnest`` reads on
    PostgreSQL, one JSON list ``json_each`` reads on SQLite (its instants as SQLite stores them)."""
    rows = []
    for zone in by_zone:
        day = start
        while day <= end:
            low, high = _bounds(zone, day, day)
            rows.append((zone, day.isoformat(), low, high))
            day += dt.timedelta(days=1)
    if not rows:  # no program yet: one empty day (low == high) that no order falls in
        low = _bounds("UTC", start, start)[0]
        rows.append(("", start.isoformat(), low, low))
    zones, names, lows, highs = (list(part) for part in zip(*rows, strict=True))
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        table = (
            func.unnest(
                literal(zones, BinaryArray("VARCHAR")),
                literal(names, BinaryArray("VARCHAR")),
                literal(lows, BinaryArray("TIMESTAMPTZ")),
                literal(highs, BinaryArray("TIMESTAMPTZ")),
            )
            .table_valued("zone", "day", "low", "high")
            .render_derived(name="day_rows")
        )
        return select(table.c.zone, table.c.day, table.c.low, table.c.high).cte("days")
    stored = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert stored is not None
    packed = json.dumps([[z, d, stored(lo), stored(hi)] for z, d, lo, hi in rows])
    each = func.json_each(literal(packed)).table_valued("value")
    parts = [func.json_extract(each.c.value, f"$[{n}]").label(name) for n, name in enumerate(COLUMNS)]
    return select(*parts).cte("days")


def _zone_of(by_zone: dict[str, list[int]]) -> ColumnElement[Any]:
    return case(*((Order.program_id.in_(ids), zone) for zone, ids in by_zone.items()), else_=literal(""))


def _after_refunds(amount: Any, paid: Any, refunded: Any) -> Any:
    """``A − floor(A × refunded / paid)``, ``orders.commission.worth_after_refunds`` in SQL."""
    return amount - case((paid > 0, amount * refunded // paid), else_=0)


def _net_of_reversals(share: Any, whole: Any, kept: Any, paid: Any, refunded: Any) -> Any:
    """What a commission row keeps of its ``share`` on the merchant's lines. Refunds reverse the share
    as they reverse the whole row (``_after_refunds``); whatever else was reversed (a confirmed risk
    case takes all that is left, ``risk.review``) shrinks it in proportion to what the row kept,
    ``amount_fen − reversed_fen`` (``kept``), of what its refunds left it. A row reversed by refunds
    only keeps the refund rule's figure; a row whose lines are all the merchant's keeps ``kept``, the
    figure group sales and the dashboard count; a row reversed whole keeps nothing."""
    left = _after_refunds(whole, paid, refunded)
    return case(
        (kept >= left, _after_refunds(share, paid, refunded)),
        (left > 0, _after_refunds(share, paid, refunded) * kept // left),
        else_=0,
    )


def merchant_sales_by(
    session: Session, *, merchant_id: int, start: dt.date, end: dt.date, by: SalesBy | None = None
) -> list[MerchantSales]:
    """The figures of ``merchant_id``'s lines in orders paid from ``start`` to ``end``: one row
    (``by`` None) or one per day, group (``key`` None: orders of no group) or program that sold."""
    by_zone = _zones(session)
    key: ColumnElement[Any]
    query = (
        select(OrderLine.order_id)
        .join(Order, Order.id == OrderLine.order_id)
        # The line's sku among its order's program's organization's products: another organization
        # may sell the same sku, its orders are not this merchant's sales.
        .join(Program, Program.id == Order.program_id)
        .join(Product, and_(Product.sku == OrderLine.sku, Product.organization_id == Program.organization_id))
        .where(Product.merchant_id == merchant_id, _paid_in_range(by_zone, start, end))
    )
    if by is SalesBy.DAY:
        days = _days(session, by_zone, start, end)
        key = days.c.day
        query = query.join(
            days,
            and_(days.c.zone == _zone_of(by_zone), Order.paid_at >= days.c.low, Order.paid_at < days.c.high),
        )
    elif by is SalesBy.GROUP:
        key = func.cast(Order.group_id, String)
    elif by is SalesBy.PROGRAM:
        key = func.cast(Order.program_id, String)
    else:
        key = literal("").cast(String)
    lines = query.add_columns(
        key.label("key"),
        OrderLine.line_no,
        OrderLine.paid_fen,
        OrderLine.list_fen,
        OrderLine.quantity,
        OrderLine.commission_rate_bp,
        OrderLine.fixed_commission_fen,
        Order.paid_fen.label("order_paid"),
        Order.refunded_fen.label("order_refunded"),
    ).subquery()
    refund = case(
        (lines.c.order_paid > 0, lines.c.paid_fen * lines.c.order_refunded // lines.c.order_paid), else_=0
    )
    totals = {
        row.key: row
        for row in session.execute(
            select(
                lines.c.key,
                func.count(func.distinct(lines.c.order_id)).label("orders"),
                func.coalesce(func.sum(lines.c.paid_fen), 0).label("gmv"),
                func.coalesce(func.sum(refund), 0).label("refund"),
            ).group_by(lines.c.key)
        )
    }
    promotions: dict[str | None, int] = defaultdict(int)
    coupons: dict[str | None, int] = defaultdict(int)
    for k, line_no, pricing in session.execute(
        select(lines.c.key, lines.c.line_no, Order.pricing).join(Order, Order.id == lines.c.order_id)
    ):
        promotion, coupon = line_discounts(pricing, int(line_no))
        promotions[k] += promotion
        coupons[k] += coupon
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
            lines.c.key,
            cast(func.sum(share), BigInteger).label("amount"),  # PostgreSQL sums integers as numeric
            func.max(Commission.amount_fen).label("whole"),
            func.max(Commission.amount_fen - Commission.reversed_fen).label("kept"),
            func.max(lines.c.order_paid).label("paid"),
            func.max(lines.c.order_refunded).label("refunded"),
        )
        .join(Commission, Commission.order_id == lines.c.order_id)
        .group_by(Commission.id, lines.c.key)
        .subquery()
    )
    net = _net_of_reversals(earned.c.amount, earned.c.whole, earned.c.kept, earned.c.paid, earned.c.refunded)
    commissions: dict[str | None, int] = {
        k: int(v)
        for k, v in session.execute(
            select(earned.c.key, func.coalesce(func.sum(net), 0)).group_by(earned.c.key)
        )
    }
    if by is None:
        row = next(iter(totals.values()), None)
        return [
            MerchantSales(
                orders=int(row.orders) if row else 0,
                gmv_fen=int(row.gmv) if row else 0,
                refund_fen=int(row.refund) if row else 0,
                commission_fen=int(sum(commissions.values())),
                coupon_cost_fen=sum(coupons.values()),
                promotion_discount_fen=sum(promotions.values()),
            )
        ]
    return sorted(
        (
            MerchantSales(
                key=k,
                orders=int(row.orders),
                gmv_fen=int(row.gmv),
                refund_fen=int(row.refund),
                commission_fen=int(commissions.get(k, 0)),
                coupon_cost_fen=coupons[k],
                promotion_discount_fen=promotions[k],
            )
            for k, row in totals.items()
        ),
        key=lambda s: (s.key is None, int(s.key) if by is not SalesBy.DAY and s.key else s.key or ""),
    )


def merchant_sales(session: Session, *, merchant_id: int, start: dt.date, end: dt.date) -> MerchantSales:
    """The figures of ``merchant_id``'s lines in orders paid from ``start`` to ``end``."""
    return merchant_sales_by(session, merchant_id=merchant_id, start=start, end=end)[0]
