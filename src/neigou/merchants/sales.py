"""A merchant's sales as the API and the console show them: totals, a breakdown, an Excel sheet."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict

from sqlalchemy.orm import Session

from neigou.kit import exports
from neigou.kit.dates import check_day
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message
from neigou.merchants.schemas import MerchantSalesOut, SalesRowOut
from neigou.merchants.service import require_merchant
from neigou.reporting.merchant_sales import MerchantSales, SalesBy, merchant_sales_by

MAX_DAYS = 366
COLUMNS = (
    "key",
    "orders",
    "gmv_fen",
    "refund_fen",
    "commission_fen",
    "coupon_cost_fen",
    "promotion_discount_fen",
)


def check_range(start: dt.date, end: dt.date) -> None:
    """From ``start`` to ``end`` inclusive, at most a year: 422 ``invalid_range`` otherwise."""
    check_day(start, "from")
    check_day(end, "to")
    if end < start or (end - start).days >= MAX_DAYS:
        raise Invalid(
            Message("The range runs from 'from' to 'to', at most {days} days.", days=MAX_DAYS),
            code="invalid_range",
        )


def sales_out(
    session: Session, *, merchant_id: int, start: dt.date, end: dt.date, by: SalesBy | None
) -> MerchantSalesOut:
    """The merchant's totals over the range and, with ``by``, a row per day, group or program."""
    check_range(start, end)
    require_merchant(session, merchant_id)
    if by is None:
        rows: list[MerchantSales] = []
        figures = _figures(merchant_sales_by(session, merchant_id=merchant_id, start=start, end=end))
    else:
        rows = merchant_sales_by(session, merchant_id=merchant_id, start=start, end=end, by=by)
        figures = _figures(rows)
    return MerchantSalesOut(
        merchant_id=merchant_id,
        from_=start,
        to=end,
        by=by,
        rows=[SalesRowOut(**asdict(r)) for r in rows],
        **figures,
    )


def _figures(rows: list[MerchantSales]) -> dict[str, int]:
    """The totals of ``rows``: a breakdown's rows add up to the range's figures, every key (a day, a group,
    a program) being the order's, so no order, line or commission counts in two rows; one pass over the
    lines, not a second one for the totals."""
    names = [name for name in asdict(MerchantSales(0, 0, 0, 0, 0, 0)) if name != "key"]
    return {name: sum(getattr(row, name) for row in rows) for name in names}


def sales_xlsx(sales: MerchantSalesOut) -> bytes:
    """The breakdown (or the totals alone) as one Excel sheet, amounts in fen."""
    rows = [[getattr(r, c) for c in COLUMNS] for r in sales.rows]
    rows.append(["total", *(getattr(sales, c) for c in COLUMNS[1:])])
    return exports.xlsx_bytes(f"sales-{sales.from_}-{sales.to}", COLUMNS, rows)
