"""Which platform order a row belongs to, read before (and whether or not) the row can be mapped.

A row holding a NUL character skips every row of its platform order (``adapters.read_rows``): one line
taken in without the others would stay an order without it, since a stored order's lines do not change
(``line_after_order``). Rows are grouped by the platform's order id (JD 联盟 ``orderId``, 多多进宝
``order_sn``, 淘宝联盟 ``trade_parent_id`` else ``trade_id``) in the one form the adapters read it in
(``rows.numeric_id``, ``rows.order_sn``), with NUL characters removed: ``510002\\x00`` and ``0510002``
are rows of ``510002``. An id the adapter would refuse groups as written, without surrounding white
space. An id cell holding nothing but NUL characters (or no id at all) names no order.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from neigou.platforms.rows import Platform, RowProblem, numeric_id, order_sn

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
        written = value.replace("\x00", "") if isinstance(value, str) else value
        try:  # the id's one form, as the adapter reads it (``300001`` and ``"０300001"`` are one order)
            return (order_sn if platform is Platform.PDD else numeric_id)({name: written}, name)
        except RowProblem:
            return str(written).strip()
    return ""


def holds_nul(row: Mapping[str, Any]) -> bool:
    """Whether a value of the row holds a NUL character."""
    return any(isinstance(value, str) and "\x00" in value for value in row.values())
