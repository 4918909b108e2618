"""Reconciliation of a platform's month: the commission the platform pays on each order against the
commission neigou booked on it, with the cause of every difference.

* ``platform_commission_fen``: the platform's fee on the order's paid lines (paid, completed or
  settled: not unpaid, not invalid), settled where it settled (JD ``actualFee``, 淘宝联盟
  ``pub_share_fee``, 多多进宝 ``promotion_amount``), estimated before; lines the neigou order was taken in
  without included.
* ``ledger_commission_fen``: the commission pool neigou booked on the order (its lines' pools) after
  its refunds, by the rule the ledger reverses commission with: ``pool − floor(pool × R / P)``.
  What the members earned from that pool (``members_commission_fen``) is shown beside it.
* ``cause``: ``missing`` when the platform's paid order is not a neigou order (its rows were skipped),
  ``status`` when neigou's order stands elsewhere (not completed though the platform says so, or refunded
  more or less than the platform's returns and invalid lines say: taken lines only), ``amount`` when only the amounts
  differ (the settled fee moved away from the estimate), none when they agree; ``missing_line`` when the
  platform pays on a line the neigou order does not have (a line reported after the order was taken in,
  skipped ``line_after_order``, or a line not yet paid then), its fee in the difference.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neigou.kit.bulk import chunks
from neigou.kit.errors import Invalid
from neigou.kit.exports import xlsx_bytes
from neigou.kit.i18n import Message
from neigou.orders.commission import worth_after_refunds
from neigou.orders.models import Commission, Order, OrderLine
from neigou.platforms.models import PlatformOrder, PlatformOrderLine
from neigou.platforms.rows import DONE, PAID, LineStatus, Platform, refund_target
from neigou.platforms.schemas import ReconciliationOut, ReconciliationRow
from neigou.programs.models import Program

# A month as the API and the console take it: ASCII digits, a year from 1970 to 2999, the month 01-12.
MONTH = re.compile(r"(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])")
COLUMNS = (
    "external_id",
    "platform_status",
    "platform_commission_fen",
    "ledger_commission_fen",
    "members_commission_fen",
    "diff_fen",
    "cause",
)


def month_range(program: Program, month: str, *, now: datetime) -> tuple[datetime, datetime]:
    """The month ``YYYY-MM`` in the program's time zone, as UTC instants [start, end): 422
    ``invalid_month`` when it is not such a month, ``month_in_future`` when it has not begun at ``now``."""
    matched = MONTH.fullmatch(month)
    if matched is None:
        raise Invalid(
            Message("The month must be written YYYY-MM, such as 2026-03."),
            code="invalid_month",
        )
    year, number = int(matched[1]), int(matched[2])
    zone = ZoneInfo(program.timezone)
    start = datetime(year, number, 1, tzinfo=zone)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=zone)
    if start > now:
        raise Invalid(
            Message("The month {month} lies in the future; it has no orders to reconcile yet.", month=month),
            code="month_in_future",
            extra={"month": month},
        )
    return start.astimezone(UTC), end.astimezone(UTC)


def _fee(line: PlatformOrderLine) -> int:
    if line.status not in PAID:  # the platform pays on paid lines only
        return 0
    if line.status is LineStatus.SETTLED and line.actual_fee_fen is not None:
        return line.actual_fee_fen
    return line.estimate_fee_fen


def _cause(row: PlatformOrder, order: Order | None, lines: list[PlatformOrderLine], diff: int) -> str | None:
    paid_on_platform = row.status not in (LineStatus.UNPAID, LineStatus.INVALID) or any(
        line.taken_fen is not None for line in lines
    )
    if order is None:
        return "missing" if paid_on_platform else None
    expected_refund = sum(
        refund_target(
            status=line.status,
            quantity=line.quantity,
            returned=line.returned,
            paid_fen=line.paid_fen,
            taken_fen=line.taken_fen,
        )
        for line in lines
        if line.taken_fen is not None
    )
    done = any(line.status in DONE for line in lines if line.taken_fen is not None)
    if order.refunded_fen != expected_refund or (done and order.completed_at is None):
        return "status"
    if any(line.taken_fen is None and line.status in PAID for line in lines):
        return "missing_line"
    return "amount" if diff else None


def month(
    session: Session, *, program: Program, platform: Platform, month: str, now: datetime
) -> ReconciliationOut:
    """Every order of ``platform`` paid in ``month`` (program time, begun by ``now``), platform against
    neigou."""
    start, end = month_range(program, month, now=now)
    rows = list(
        session.scalars(
            select(PlatformOrder)
            .where(
                PlatformOrder.program_id == program.id,
                PlatformOrder.platform == platform,
                PlatformOrder.paid_at >= start,
                PlatformOrder.paid_at < end,
            )
            .order_by(PlatformOrder.paid_at, PlatformOrder.id)
        )
    )
    lines: dict[int, list[PlatformOrderLine]] = {}
    orders: dict[int, Order] = {}
    pools: dict[int, int] = {}
    earned: dict[int, int] = {}
    for part in chunks([row.id for row in rows]):
        for line in session.scalars(
            select(PlatformOrderLine).where(PlatformOrderLine.platform_order_id.in_(part))
        ):
            lines.setdefault(line.platform_order_id, []).append(line)
    for part in chunks([row.order_id for row in rows if row.order_id is not None]):
        orders.update((o.id, o) for o in session.scalars(select(Order).where(Order.id.in_(part))))
        pools.update(
            (int(i), int(s))
            for i, s in session.execute(
                select(OrderLine.order_id, func.sum(OrderLine.pool_fen))
                .where(OrderLine.order_id.in_(part))
                .group_by(OrderLine.order_id)
            )
        )
        earned.update(
            (int(i), int(s))
            for i, s in session.execute(
                select(Commission.order_id, func.sum(Commission.amount_fen - Commission.reversed_fen))
                .where(Commission.order_id.in_(part))
                .group_by(Commission.order_id)
            )
        )
    out: list[ReconciliationRow] = []
    for row in rows:
        own = lines.get(row.id, [])
        order = orders.get(row.order_id) if row.order_id is not None else None
        platform_fen = sum(_fee(line) for line in own)
        ledger_fen = 0
        if order is not None:
            ledger_fen = worth_after_refunds(pools.get(order.id, 0), order.refunded_fen, order.paid_fen)
        diff = platform_fen - ledger_fen
        out.append(
            ReconciliationRow(
                external_id=row.external_id,
                platform_status=row.status.value,
                platform_commission_fen=platform_fen,
                ledger_commission_fen=ledger_fen,
                members_commission_fen=earned.get(order.id, 0) if order is not None else 0,
                diff_fen=diff,
                cause=_cause(row, order, own, diff),
            )
        )
    return ReconciliationOut(
        platform=platform.value,
        month=month,
        rows=out,
        platform_commission_fen=sum(r.platform_commission_fen for r in out),
        ledger_commission_fen=sum(r.ledger_commission_fen for r in out),
        diff_fen=sum(r.diff_fen for r in out),
    )


def workbook(report: ReconciliationOut) -> bytes:
    """The reconciliation as one Excel sheet, a row per order."""
    return xlsx_bytes(
        f"{report.platform} {report.month}",
        COLUMNS,
        (
            (
                r.external_id,
                r.platform_status,
                r.platform_commission_fen,
                r.ledger_commission_fen,
                r.members_commission_fen,
                r.diff_fen,
                r.cause or "",
            )
            for r in report.rows
        ),
    )
