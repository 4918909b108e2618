"""淘宝联盟 order details (``taobao.tbk.order.details.get``): one row per sub-order (``trade_id``).

* ``trade_parent_id`` is the shopper's order (one neigou order), ``trade_id`` the line, ``item_id`` the
  goods and ``item_num`` its quantity.
* ``alipay_total_price`` is what the shopper paid; ``pub_share_pre_fee`` the promoter's estimated
  income at payment, ``pub_share_fee`` the income once settled. All in yuan, as decimal text.
* ``tk_status``: 12 paid, 14 received, 3 settled, 13 closed (invalid).
* The share link's code travels in the channel fields: ``external_id`` when the link set one, else
  ``relation_id`` (渠道关系 id), else ``special_id`` (会员运营 id).
* Times (``tk_paid_time``, ``tk_earning_time``, ``modified_time``, ``tk_create_time``) are Beijing
  wall-clock text. A completion (14, 3) is dated at ``modified_time``, else at the time neigou reads
  it, never at its payment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from neigou.platforms.row_times import wall_time
from neigou.platforms.rows import (
    MAX_QUANTITY,
    LineStatus,
    PlatformLine,
    amount,
    as_written,
    integer,
    link_code,
    missing_field,
    numeric_id,
    unknown_status,
    yuan_to_fen,
)

LINK_FIELDS = ("external_id", "relation_id", "special_id")
STATUSES = {12: LineStatus.PAID, 14: LineStatus.COMPLETED, 3: LineStatus.SETTLED, 13: LineStatus.INVALID}


def read(index: int, row: Mapping[str, Any], now: datetime) -> PlatformLine:
    """A 淘宝联盟 sub-order as a neigou order line (raises ``RowProblem`` when it cannot be mapped)."""
    code = integer(row, "tk_status", low=0)
    if code not in STATUSES:
        raise unknown_status("tk_status", code)
    status = STATUSES[code]
    paid_at = wall_time(row, "tk_paid_time", required=False) or wall_time(row, "tk_create_time")
    if paid_at is None:
        raise missing_field("tk_create_time")
    timed = wall_time(row, "modified_time", required=False)
    modified = timed or paid_at
    earned = wall_time(row, "tk_earning_time", required=False)
    if status is LineStatus.SETTLED and (earned is None or earned > now):
        status = LineStatus.COMPLETED
    paid_fen, estimate = amount(row, "alipay_total_price"), amount(row, "pub_share_pre_fee")
    trade = numeric_id(row, "trade_id")
    parent = trade if row.get("trade_parent_id") in (None, "") else numeric_id(row, "trade_parent_id")
    codes = (link_code(name, row.get(name)) for name in LINK_FIELDS)
    link = next((found for found in codes if found is not None), None)
    done = status in (LineStatus.COMPLETED, LineStatus.SETTLED)
    return PlatformLine(
        index=index,
        external_id=parent,
        line_key=trade,
        quantity=integer(row, "item_num", low=1, high=MAX_QUANTITY),
        returned=0,
        paid_fen=paid_fen,
        estimate_fee_fen=estimate,
        actual_fee_fen=yuan_to_fen(row, "pub_share_fee", required=False),
        status=status,
        link_code=link,
        paid_at=paid_at,
        completed_at=(timed or now) if done else None,  # never dated by its payment
        settled_at=earned if status is LineStatus.SETTLED else None,
        modified_at=modified,
        written_id=as_written(row, "trade_parent_id") or as_written(row, "trade_id"),
        written_key=as_written(row, "trade_id"),
        timed=timed is not None,
    )
