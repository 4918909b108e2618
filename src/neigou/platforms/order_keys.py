"""Which platform order a row belongs to, read before (and whether or not) the row can be mapped.

A row holding a NUL character skips every row of its platform order (``adapters.read_rows``): one line
taken in without the others would stay an order without it, since a stored order's lines do not change
(``line_after_order``). Rows are grouped by the platform's order id (JD 联盟 ``orderId``, 多多进宝
``order_sn``, 淘宝联盟 ``trade_parent_id`` else ``trade_id``) as the adapters read it, without surrounding
white space, and with NUL characters removed: ``510002\\x00`` is a row of ``510002``. An id cell holding
nothing but NUL characters (or no id at all) names no order.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from neigou.platforms.rows import Platform

# The fields naming a row's order, the first one present winning (as each adapter reads them).
ORDER_ID: dict[Platform, tuple[str, ...]] = {
    Platform.JD_UNION: ("orderId",),
    Platform.PDD: ("order_sn",),
    Platform.TAOBAO: ("trade_parent_id", "trade_id"),
}


def order_key(platform: Platform, row: Mapping[str, Any]) -> str:
    """The order ``row`` belongs to as grouping reads it; ``""`` when it names none."""
    for name in ORDER_ID[platform]:
        value = row.get(name)
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            return ""
        return str(value).replace("\x00", "").strip()
    return ""


def holds_nul(row: Mapping[str, Any]) -> bool:
    """Whether a value of the row holds a NUL character."""
    return any(isinstance(value, str) and "\x00" in value for value in row.values())
