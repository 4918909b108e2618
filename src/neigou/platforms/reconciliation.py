"""Reconciliation of a platform's month: the commission the platform pays on each order against the
commission neigou booked on it, with the cause of every difference.

* ``platform_commission_fen``: the platform's fee on the order's paid lines (paid, completed or
  settled: not unpaid, not invalid), settled where it settled (JD ``actualFee``, 淘宝联盟
  ``pub_share_fee``, 多多进宝 ``promotion_amount``), estimated before; lines the neigou order was taken in
  without included.
* ``ledger_commission_fen``: the commission pool neigou booked on the order (its lines' pools) after
  its refunds, by the rule the ledger reverses a platform line's commission with, line by line: each
  taken line's pool less ``floor(pool × R_l / P_l)`` of what neigou refunded of the line (``R_l``) of
  what it paid when taken (``P_l``), as ``orders.commission.line_reversal``; a refund that names no line
  (the shop's, through the API) by the order-wide rule ``floor(pool × U / P)``.
  What the members earned from that pool (``members_commission_fen``) is shown beside it.
* ``cause``: ``missing`` when the platform's paid order is not a neigou order (its rows were skipped),
  ``status`` when neigou's order stands elsewhere (not completed though the platform says so, or refunded
  more or less than the platform's returns and invalid lines say: taken lines only), ``amount`` when only the amounts
  differ (the settled fee moved away from the estimate), none when they agree; ``missing_line`` when the
  platform pays on a line the neigou order does not have (a line reported after the order was taken in,
  skipped ``line_after_order``, or a line not yet paid then), its fee in the difference.

The comparison is one statement (:func:`compared`): each platform order of the month with its lines'
sums, its neigou order's pool and refunds, and the cause, computed by the database. A page of it, the
month's totals and the workbook's pages all select from that statement; nothing compares in Python.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Subquery, and_, case, exists, func, literal, null, or_, select, true
from sqlalchemy.orm import Session

from neigou.kit.errors import Invalid
from neigou.kit.exports import Sheet
from neigou.kit.i18n import Message
from neigou.kit.paging import Page
from neigou.orders.models import Commission, Order, OrderLine
from neigou.platforms.models import PlatformOrder, PlatformOrderLine
from neigou.platforms.rows import DONE, PAID, LineStatus, Platform
from neigou.platforms.schemas import ReconciliationCounts, ReconciliationOut, ReconciliationRow
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
EXPORT_PAGE_ROWS = 1000  # rows read per statement while a workbook is written
MAX_EXPORT_ROWS = 200_000  # rows one workbook holds; a larger month is exported a cause at a time
CAUSES = ("missing", "status", "missing_line", "amount")
_MONEY = ("platform_commission_fen", "ledger_commission_fen", "members_commission_fen", "diff_fen")


class CauseFilter(enum.StrEnum):
    """The rows a list or workbook keeps: one cause, the agreeing orders (``none``) or every difference."""

    MISSING = "missing"
    STATUS = "status"
    MISSING_LINE = "missing_line"
    AMOUNT = "amount"
    NONE = "none"
    DIFFERING = "differing"


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


_L = PlatformOrderLine
_TAKEN = _L.taken_fen.is_not(None)


def _of_order(*where: ColumnElement[bool]) -> ColumnElement[bool]:
    """Whether a line of the outer platform order meets ``where``."""
    return exists(select(_L.id).where(_L.platform_order_id == PlatformOrder.id, *where))


def _lines_sum(value: ColumnElement[Any]) -> ColumnElement[int]:
    """The sum of ``value`` over the outer platform order's lines (0 without lines)."""
    return (
        select(func.coalesce(func.sum(value), 0))
        .where(_L.platform_order_id == PlatformOrder.id)
        .scalar_subquery()
    )


def _larger(a: ColumnElement[Any], b: ColumnElement[Any]) -> ColumnElement[Any]:
    return case((a > b, a), else_=b)


# The platform's fee on a line: paid lines only, settled where it settled (``actualFee``), else estimated.
_FEE = case(
    (_L.status.not_in(PAID), 0),
    (and_(_L.status == LineStatus.SETTLED, _L.actual_fee_fen.is_not(None)), _L.actual_fee_fen),
    else_=_L.estimate_fee_fen,
)
# ``rows.refund_target`` of a taken line: all of it when invalid or wholly returned, else the returned share
# or what the platform took off its paid amount (at most all of it), whichever is more.
_TAKEN_OFF = _larger(_L.taken_fen - _L.paid_fen, literal(0))
_REFUND = case(
    (or_(_L.status == LineStatus.INVALID, _L.returned >= _L.quantity), _L.taken_fen),
    else_=_larger(
        _L.taken_fen * _L.returned // _L.quantity,
        case((_L.taken_fen < _TAKEN_OFF, _L.taken_fen), else_=_TAKEN_OFF),
    ),
)


def refunded_share(pool: Any, refunded: Any, paid: Any) -> Any:
    """``floor(pool × refunded / paid)``: what refunds of a line take back of its pool (nothing when the
    line paid 0), ``orders.commission.line_reversal`` from nothing refunded, in SQL."""
    return case((paid > 0, pool * refunded // paid), else_=0)


def _reversed_pool(platform: Platform) -> ColumnElement[int]:
    """What the refunds of the outer platform order's taken lines took back of its neigou order's pool,
    line by line: each line's order line is the one of its sku (``feeds.line_sku``)."""
    sku = func.substr(literal(f"{platform.value}:") + _L.line_key, 1, 64)
    return (
        select(func.coalesce(func.sum(refunded_share(OrderLine.pool_fen, _L.refunded_fen, _L.taken_fen)), 0))
        .where(
            _L.platform_order_id == PlatformOrder.id,
            _TAKEN,
            OrderLine.order_id == Order.id,
            OrderLine.sku == sku,
        )
        .scalar_subquery()
    )


def _after_refunds(pool: ColumnElement[int], platform: Platform) -> ColumnElement[int]:
    """The outer neigou order's ``pool`` after its refunds: each taken line's refunds take back their
    share of its pool (``_reversed_pool``); refunds that name no line (the shop's, through the API) the
    order's share of it, ``floor(pool × U / P)`` of what they refunded (U) of what the order paid (P),
    as the ledger reverses them; never below nothing."""
    by_lines = _lines_sum(case((_TAKEN, _L.refunded_fen), else_=0))
    unnamed = _larger(Order.refunded_fen - by_lines, literal(0))
    taken_back = _reversed_pool(platform) + refunded_share(pool, unnamed, Order.paid_fen)
    return _larger(pool - taken_back, literal(0))


def compared(program_id: int, platform: Platform, start: datetime, end: datetime) -> Subquery:
    """Every order of ``platform`` paid in [start, end), the platform's commission against neigou's and
    the cause of a difference, as a subquery with the columns of :data:`COLUMNS` (and ``id``, ``paid_at``)."""
    pool = select(func.coalesce(func.sum(OrderLine.pool_fen), 0)).where(OrderLine.order_id == Order.id)
    earned = select(func.coalesce(func.sum(Commission.amount_fen - Commission.reversed_fen), 0)).where(
        Commission.order_id == Order.id
    )
    pool_fen = pool.scalar_subquery()
    sides = (
        select(
            PlatformOrder.id,
            PlatformOrder.paid_at,
            PlatformOrder.external_id,
            PlatformOrder.status.label("platform_status"),
            _lines_sum(_FEE).label("platform_fen"),
            case((Order.id.is_(None), 0), else_=_after_refunds(pool_fen, platform)).label("ledger_fen"),
            case((Order.id.is_(None), 0), else_=earned.scalar_subquery()).label("members_fen"),
            Order.id.label("order_id"),
            Order.refunded_fen,
            Order.completed_at,
            _lines_sum(case((_TAKEN, _REFUND), else_=0)).label("expected_refund_fen"),
            _of_order(_TAKEN).label("any_taken"),
            _of_order(_TAKEN, _L.status.in_(DONE)).label("done"),
            _of_order(~_TAKEN, _L.status.in_(PAID)).label("missing_line"),
        )
        .select_from(PlatformOrder)
        .outerjoin(Order, Order.id == PlatformOrder.order_id)
        .where(
            PlatformOrder.program_id == program_id,
            PlatformOrder.platform == platform,
            PlatformOrder.paid_at >= start,
            PlatformOrder.paid_at < end,
        )
        .subquery("sides")
    )
    s = sides.c
    paid_on_platform = or_(s.platform_status.not_in((LineStatus.UNPAID, LineStatus.INVALID)), s.any_taken)
    cause = case(
        (s.order_id.is_(None), case((paid_on_platform, "missing"), else_=null())),
        (or_(s.refunded_fen != s.expected_refund_fen, and_(s.done, s.completed_at.is_(None))), "status"),
        (s.missing_line, "missing_line"),
        (s.platform_fen != s.ledger_fen, "amount"),
        else_=null(),
    )
    return select(
        s.id,
        s.paid_at,
        s.external_id,
        s.platform_status,
        s.platform_fen.label("platform_commission_fen"),
        s.ledger_fen.label("ledger_commission_fen"),
        s.members_fen.label("members_commission_fen"),
        (s.platform_fen - s.ledger_fen).label("diff_fen"),
        cause.label("cause"),
    ).subquery("reconciled")


def _kept(rows: Subquery, cause: CauseFilter | None) -> ColumnElement[bool]:
    if cause is None:
        return true()
    if cause is CauseFilter.NONE:
        return rows.c.cause.is_(None)
    if cause is CauseFilter.DIFFERING:
        return rows.c.cause.is_not(None)
    return rows.c.cause == cause.value


def _row(r: Any) -> ReconciliationRow:
    return ReconciliationRow(
        external_id=r.external_id,
        platform_status=r.platform_status.value,
        platform_commission_fen=r.platform_commission_fen,
        ledger_commission_fen=r.ledger_commission_fen,
        members_commission_fen=r.members_commission_fen,
        diff_fen=r.diff_fen,
        cause=r.cause,
    )


def kept_count(counts: ReconciliationCounts, cause: CauseFilter | None) -> int:
    """How many of the month's orders ``cause`` keeps."""
    if cause is None:
        return counts.orders
    if cause is CauseFilter.DIFFERING:
        return counts.orders - counts.agreeing
    return counts.agreeing if cause is CauseFilter.NONE else int(getattr(counts, cause.value))


def _totals(session: Session, rows: Subquery, platform: Platform, month: str) -> ReconciliationOut:
    """The month's sums and counts per cause, one grouped statement over every row; no rows yet."""
    groups = session.execute(
        select(rows.c.cause, func.count(), *(func.coalesce(func.sum(rows.c[m]), 0) for m in _MONEY)).group_by(
            rows.c.cause
        )
    ).all()
    by_cause = {g[0]: int(g[1]) for g in groups}
    sums = [sum(int(g[2 + i]) for g in groups) for i in range(len(_MONEY))]
    counts = ReconciliationCounts(
        orders=sum(by_cause.values()),
        agreeing=by_cause.get(None, 0),
        **{c: by_cause.get(c, 0) for c in CAUSES},
    )
    return ReconciliationOut(
        platform=platform.value, month=month, rows=[], counts=counts, **dict(zip(_MONEY, sums, strict=True))
    )


def month(
    session: Session,
    *,
    program: Program,
    platform: Platform,
    month: str,
    now: datetime,
    page: Page,
    cause: CauseFilter | None = None,
    differences_first: bool = False,
) -> tuple[ReconciliationOut, int]:
    """A page of the orders of ``platform`` paid in ``month`` (program time, begun by ``now``) that
    ``cause`` keeps, platform against neigou, with the whole month's totals; and how many rows ``cause``
    keeps. Paid order first, or with ``differences_first`` the differing orders first by order id."""
    start, end = month_range(program, month, now=now)
    rows = compared(program.id, platform, start, end)
    report = _totals(session, rows, platform, month)
    order = (rows.c.cause.is_(None), rows.c.external_id) if differences_first else (rows.c.paid_at,)
    found = session.execute(
        select(rows)
        .where(_kept(rows, cause))
        .order_by(*order, rows.c.id)
        .limit(page.limit)
        .offset(page.offset)
    )
    report.rows = [_row(r) for r in found]
    return report, kept_count(report.counts, cause)


def _pages(session: Session, rows: Subquery, cause: CauseFilter | None) -> Iterator[ReconciliationRow]:
    """The rows ``cause`` keeps in paid order, read :data:`EXPORT_PAGE_ROWS` at a time after the last
    row read (keyset paging: each statement starts where the previous one stopped)."""
    after: tuple[datetime, int] | None = None
    while True:
        stmt = select(rows).where(_kept(rows, cause))
        if after is not None:
            stmt = stmt.where(
                or_(rows.c.paid_at > after[0], and_(rows.c.paid_at == after[0], rows.c.id > after[1]))
            )
        found = session.execute(stmt.order_by(rows.c.paid_at, rows.c.id).limit(EXPORT_PAGE_ROWS)).all()
        yield from (_row(r) for r in found)
        if len(found) < EXPORT_PAGE_ROWS:
            return
        after = (found[-1].paid_at, found[-1].id)


def workbook(
    session: Session,
    *,
    program: Program,
    platform: Platform,
    month: str,
    now: datetime,
    cause: CauseFilter | None = None,
) -> list[Sheet]:
    """The month's reconciliation as Excel sheets: a row per order ``cause`` keeps, read in pages while
    the sheet is written, then the month's totals. 422 ``export_too_large`` past :data:`MAX_EXPORT_ROWS`."""
    start, end = month_range(program, month, now=now)
    rows = compared(program.id, platform, start, end)
    totals = _totals(session, rows, platform, month)
    if kept_count(totals.counts, cause) > MAX_EXPORT_ROWS:
        raise Invalid(
            Message(
                "A workbook holds at most {max_rows} orders; export the month one cause at a time.",
                max_rows=MAX_EXPORT_ROWS,
            ),
            code="export_too_large",
            extra={"max_rows": MAX_EXPORT_ROWS},
        )
    orders = (
        (
            r.external_id,
            r.platform_status,
            r.platform_commission_fen,
            r.ledger_commission_fen,
            r.members_commission_fen,
            r.diff_fen,
            r.cause or "",
        )
        for r in _pages(session, rows, cause)
    )
    summary: list[Sequence[object]] = [(m, getattr(totals, m)) for m in _MONEY]
    summary += [(name, value) for name, value in totals.counts.model_dump().items()]
    return [(f"{platform.value} {month}", COLUMNS, orders), ("totals", ("total", "value"), summary)]
