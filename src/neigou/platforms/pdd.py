"""多多进宝 order lists (``pdd.ddk.order.list.increment.get``): one row per order (one goods each).

* ``order_sn`` is the order, ``goods_id`` the line, ``goods_quantity`` its quantity.
* ``order_amount`` (what the shopper paid) and ``promotion_amount`` (the promoter's commission) are
  in fen already: the platform counts in 分.
* ``order_status``: -1 not paid (not an order yet), 0 paid, 1 group formed, 2 received, 3 audited,
  5 settled; 4 audit failed, 8 not a 多多进宝 goods (no commission) and 10 penalised are invalid.
* ``custom_parameters`` is what the link carried: the share link's code, as text or as a JSON object
  whose ``uid`` (or ``code``) holds it.
* Times (``order_pay_time``, ``order_receive_time``, ``order_settle_time``, ``order_modify_at``) are
  epoch seconds. A completion (2, 3, 5) is dated at ``order_receive_time``, else ``order_modify_at``,
  else at the time neigou reads it, never at its payment.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from neigou.kit.i18n import Message
from neigou.kit.json_input import loads_untrusted
from neigou.platforms.row_times import unix_time
from neigou.platforms.rows import (
    MAX_QUANTITY,
    LineStatus,
    PlatformLine,
    RowProblem,
    as_written,
    integer,
    link_code,
    missing_field,
    numeric_id,
    order_sn,
    text,
    unknown_status,
)

CUSTOM = "custom_parameters"
STATUSES = {
    -1: LineStatus.UNPAID,
    0: LineStatus.PAID,
    1: LineStatus.PAID,
    2: LineStatus.COMPLETED,
    3: LineStatus.COMPLETED,
    5: LineStatus.SETTLED,
    4: LineStatus.INVALID,
    8: LineStatus.INVALID,
    10: LineStatus.INVALID,
}


def custom_link_code(raw: str | None) -> str | None:
    """The share link's code in ``custom_parameters``: plain text, or a JSON object's uid/code, read as
    every adapter reads a code (``rows.link_code``: stripped, blank is none)."""
    if raw is None or not raw.startswith("{"):
        return link_code(CUSTOM, raw)
    try:
        parsed = loads_untrusted(raw)
    except ValueError as exc:
        raise RowProblem("invalid_field", Message("custom_parameters is not valid JSON.")) from exc
    if not isinstance(parsed, dict):
        return None
    for name in ("uid", "code"):
        value = parsed.get(name)
        if isinstance(value, str | int) and not isinstance(value, bool):
            code = link_code(CUSTOM, value)
            if code is not None:
                return code
    return None


def read(index: int, row: Mapping[str, Any], now: datetime) -> PlatformLine:
    """A 多多进宝 order as a neigou order line (raises ``RowProblem`` when it cannot be mapped)."""
    code = integer(row, "order_status", low=-1)
    if code not in STATUSES:
        raise unknown_status("order_status", code)
    status = STATUSES[code]
    pay = unix_time(row, "order_pay_time", required=status is not LineStatus.UNPAID)
    created = unix_time(row, "order_create_time", required=False)
    paid_at = pay or created or unix_time(row, "order_modify_at")
    if paid_at is None:
        raise missing_field("order_modify_at")
    timed = unix_time(row, "order_modify_at", required=False)
    modified = timed or paid_at
    received = unix_time(row, "order_receive_time", required=False)
    settled = unix_time(row, "order_settle_time", required=False)
    if status is LineStatus.SETTLED and (settled is None or settled > now):
        status = LineStatus.COMPLETED
    done = status in (LineStatus.COMPLETED, LineStatus.SETTLED)
    paid_fen, fee = integer(row, "order_amount"), integer(row, "promotion_amount")
    custom = text(row, "custom_parameters", required=False, max_length=500)
    return PlatformLine(
        index=index,
        external_id=order_sn(row, "order_sn"),
        line_key=numeric_id(row, "goods_id"),
        quantity=integer(row, "goods_quantity", low=1, high=MAX_QUANTITY),
        returned=0,
        paid_fen=paid_fen,
        estimate_fee_fen=fee,
        actual_fee_fen=fee if status is LineStatus.SETTLED else None,
        status=status,
        link_code=custom_link_code(custom),
        paid_at=paid_at,
        completed_at=(received or timed or now) if done else None,  # never dated by its payment
        settled_at=settled if status is LineStatus.SETTLED else None,
        modified_at=modified,
        written_id=as_written(row, "order_sn"),
        written_key=as_written(row, "goods_id"),
        timed=timed is not None,
    )
