"""A commission's worth after its order's refunds, as the ledger reversed it, in the reports' SQL.

A refund that names no line (the shop's, through the API) takes back the order's share of every
commission: of a commission of ``A`` on an order paid ``P``, ``floor(A × U / P)`` of those refunds ``U``.
A refund of one line (a platform's line, ``refunds.line_no``) takes back the commission's share ``s`` of
that line alone: ``floor(s × R_l / P_l)`` of the line's refunds ``R_l`` of what it paid ``P_l``
(``orders.commission.line_reversal`` summed over the line's refunds, nothing for a line that paid 0),
``s`` being the line's pool times the commission's ``bp`` as ``orders.commission.Line.share`` computes
it. What is left is never below nothing; it is what ``platforms.reconciliation`` compares with the
platform's fee, order by order.

Each statement using ``WORTH`` groups its refunds per order with ``REFUNDED`` (``r``), names its orders
``o`` and its commission facts ``c`` (ids kept), and joins ``line_taken(...)`` as ``lt`` on ``lt.id = c.id``.
"""

from __future__ import annotations

# Per order: every refund (``refund_fen``) and the refunds that name no line (``unnamed_fen``).
REFUNDED = (
    "sum(amount_fen) AS refund_fen, sum(CASE WHEN line_no IS NULL THEN amount_fen ELSE 0 END) AS unnamed_fen"
)

# A commission's (``k``) share of one order line (``l``): ``floor(pool × bp / 10^4)`` of a platform's
# fee or a fixed commission (the line's stored pool, with no rate or with a fixed commission), else
# ``floor(paid × rate × bp / 10^8)``.
_SHARE = (
    "CASE WHEN l.fixed_commission_fen IS NOT NULL OR l.commission_rate_bp = 0 THEN l.pool_fen * k.bp // 10000 "
    "ELSE l.paid_fen * l.commission_rate_bp * k.bp // 100000000 END"
)


def line_taken(orders: str) -> str:
    """Two CTEs (``line_refunds``, ``line_taken``): per commission fact of the orders ``orders`` selects
    (``SELECT id FROM …``), what the refunds of its order's lines took back of it."""
    return f"""
line_refunds AS (
    SELECT order_id, line_no, sum(amount_fen) AS refund_fen FROM refunds
    WHERE line_no IS NOT NULL AND order_id IN ({orders}) GROUP BY order_id, line_no
),
line_taken AS (
    SELECT k.id AS id,
           sum(CASE WHEN l.paid_fen > 0 THEN ({_SHARE}) * lr.refund_fen // l.paid_fen ELSE 0 END) AS fen
    FROM kept_commissions AS k JOIN order_lines AS l ON l.order_id = k.order_id
    JOIN line_refunds AS lr ON lr.order_id = l.order_id AND lr.line_no = l.line_no
    GROUP BY k.id
)"""


def worth(amount: str, *, refunds: str = "r", order: str = "o", taken: str = "lt") -> str:
    """The worth of a commission of ``amount`` after its order's refunds (``REFUNDED`` as ``refunds``,
    the order as ``order``, ``line_taken`` as ``taken``)."""
    order_wide = f"{amount} * coalesce({refunds}.unnamed_fen, 0) // greatest({order}.paid_fen, 1)"
    return f"greatest({amount} - coalesce({taken}.fen, 0) - {order_wide}, 0)"
