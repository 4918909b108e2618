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


# A commission's share of one line (``l``) at the simulated rate ``c.new_bp``, as ``_SHARE`` at the
# commission's own ``bp``.
NEW_SHARE = _SHARE.replace("k.bp", "c.new_bp")


def simulated(share: str, taken: str, *, refunds: str = "r", order: str = "o") -> str:
    """The simulated worth of a commission whose lines' shares at the new rate sum to ``share`` and whose
    line refunds take back ``taken`` of them at that rate: the same reversal as ``worth``."""
    order_wide = f"{share} * coalesce({refunds}.unnamed_fen, 0) // greatest({order}.paid_fen, 1)"
    return f"greatest({share} - {taken} - {order_wide}, 0)"


# The simulation over the facts (a member's own commissions, whoever sold the order): each commission
# of the orders paid in the range recomputed line by line at its new rate (``{new_bp}``, a CASE over
# the simulated tiers), then taken back by the order's refunds as the ledger takes them back (each
# named line's refunds from that line's share, the others order-wide), beside its actual worth.
SIMULATION = f"""
WITH o AS (
    SELECT id, paid_fen FROM orders
    WHERE program_id = :program_id AND paid_on >= :start_on AND paid_on <= :end_on
),
c AS (
    SELECT c.id, c.order_id, c.amount_fen, {{new_bp}} AS new_bp FROM kept_commissions AS c
    WHERE c.program_id = :program_id AND c.order_id IN (SELECT id FROM o)
      AND (:member_id = 0 OR c.member_id = :member_id)
),
r AS (
    SELECT order_id, {REFUNDED} FROM refunds
    WHERE program_id = :program_id AND order_id IN (SELECT order_id FROM c) GROUP BY order_id
),{line_taken("SELECT order_id FROM c")},
s AS (
    SELECT c.id AS id, c.order_id AS order_id, c.amount_fen AS amount_fen, sum({NEW_SHARE}) AS simulated_fen,
           sum(CASE WHEN l.paid_fen > 0 THEN ({NEW_SHARE}) * coalesce(lr.refund_fen, 0) // l.paid_fen ELSE 0 END)
               AS simulated_taken
    FROM c JOIN order_lines AS l ON l.order_id = c.order_id
    LEFT JOIN line_refunds AS lr ON lr.order_id = l.order_id AND lr.line_no = l.line_no
    GROUP BY c.id, c.order_id, c.amount_fen
)
SELECT coalesce(sum({worth("s.amount_fen")}), 0) AS actual_fen,
       coalesce(sum({simulated("s.simulated_fen", "s.simulated_taken")}), 0) AS simulated_fen
FROM s JOIN o ON o.id = s.order_id LEFT JOIN r ON r.order_id = s.order_id LEFT JOIN line_taken AS lt ON lt.id = s.id
"""
