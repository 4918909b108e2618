"""JD 联盟 order rows (``jd.union.open.order.row.query``): one row per sku of an order.

* ``orderId`` is the order (``parentId`` only says it was split from another), ``skuId`` the line,
  ``skuNum`` its quantity and ``skuReturnNum`` the units returned.
* ``estimateCosPrice`` is what the shopper paid for the line (the amount commission is computed on),
  ``estimateFee`` the promoter's estimated commission on it; ``actualCosPrice`` / ``actualFee`` are the
  amounts once the order completed and settled. All in yuan.
* ``validCode``: 15 awaiting payment (not an order yet), 16 paid, 17 completed (the shopper received it),
  18 settled (已结算: JD paid the commission), 24 deposit paid (not an order yet), -1 unknown; every other
  code is a 无效 (invalid) reason: 2 split,
  3 cancelled, 4 京东帮 order, 5 account problem, 6 gift category, 7 campus, 8 company, 9 group buy,
  11 village promoter, 13 violation, 14 source differs from the registered site, 19 commission rate 0,
  20 repurchase of an invalid first order, 21 cloud-shop order, 22 PLUS rate 0, 23 pay-with-gift,
  25 ride-hailing and later codes.
* ``payMonth`` is the settlement date (``yyyyMMdd``), 0 while not settled. A completed row (17) is settled
  once that date is reached; a settled row (18) settled then, or at its ``modifyTime`` without one.
* ``subUnionId`` carries the share link's code; ``positionId`` is the promotion slot.
* Times (``orderTime``, ``finishTime``, ``modifyTime``) are Beijing wall-clock text, or epoch
  milliseconds in the older order query. A completion (17, 18) without ``finishTime`` is dated at its
  ``modifyTime``, and without either at the time neigou reads it, never at its payment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from neigou.kit.i18n import Message
from neigou.platforms.row_times import first_time, required_time, supported, when
from neigou.platforms.rows import (
    BEIJING,
    MAX_QUANTITY,
    LineStatus,
    PlatformLine,
    RowProblem,
    amount,
    as_written,
    integer,
    link_code,
    numeric_id,
    unknown_status,
    yuan_to_fen,
)

NOT_YET_ORDERS = frozenset({15, 24})
PAID, COMPLETED, SETTLED = 16, 17, 18


def _status(code: int) -> LineStatus:
    """The line's status by its code; completed stands for settled too until ``read`` finds it settled."""
    if code in NOT_YET_ORDERS:
        return LineStatus.UNPAID
    if code == PAID:
        return LineStatus.PAID
    if code in (COMPLETED, SETTLED):
        return LineStatus.COMPLETED
    if code in (-1, 0, 1):
        raise unknown_status("validCode", code)
    return LineStatus.INVALID


def _settled_at(row: Mapping[str, Any]) -> datetime | None:
    raw = row.get("payMonth")
    if raw in (None, "", 0, "0"):
        return None
    try:
        day = datetime.strptime(str(raw), "%Y%m%d").replace(tzinfo=BEIJING).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise RowProblem("invalid_time", Message("payMonth must be yyyyMMdd or 0.")) from exc
    return supported(day, "payMonth")


def read(index: int, row: Mapping[str, Any], now: datetime) -> PlatformLine:
    """A JD 联盟 order row as a neigou order line (raises ``RowProblem`` when it cannot be mapped)."""
    code = int(integer(row, "validCode", low=-1))
    status = _status(code)
    quantity = integer(row, "skuNum", low=1, high=MAX_QUANTITY)
    returned = integer(row, "skuReturnNum", default=0, high=MAX_QUANTITY)
    if returned > quantity:
        raise RowProblem("invalid_field", Message("skuReturnNum is more than skuNum."))
    paid_at = required_time(row, "orderTime")
    modified = when(row, "modifyTime", required=False)
    modified_at = modified or paid_at
    finished = when(row, "finishTime", required=False)
    settled = _settled_at(row)
    if code == SETTLED and settled is None:
        # settled, JD says, with no settlement date: when the row last changed, else when we learn of it
        settled = modified or now
    if status is LineStatus.COMPLETED and settled is not None and settled <= now:
        status = LineStatus.SETTLED
    else:
        settled = None
    if status in (LineStatus.COMPLETED, LineStatus.SETTLED) and finished is None:
        # no finishTime: when the row last changed, else now (never the payment: the freeze would be skipped)
        finished = modified or now
    paid_fen, estimate = amount(row, "estimateCosPrice"), amount(row, "estimateFee")
    return PlatformLine(
        index=index,
        external_id=numeric_id(row, "orderId"),
        line_key=numeric_id(row, "skuId"),
        quantity=quantity,
        returned=returned,
        paid_fen=paid_fen,
        estimate_fee_fen=estimate,
        actual_fee_fen=yuan_to_fen(row, "actualFee", required=False),
        status=status,
        link_code=link_code("subUnionId", row.get("subUnionId")),
        paid_at=paid_at,
        completed_at=finished if status in (LineStatus.COMPLETED, LineStatus.SETTLED) else None,
        settled_at=first_time(settled) if status is LineStatus.SETTLED else None,
        modified_at=modified_at,
        written_id=as_written(row, "orderId"),
        written_key=as_written(row, "skuId"),
        timed=modified is not None,
    )
