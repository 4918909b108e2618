"""The report statements, written once in DuckDB's SQL (``:name`` placeholders, ``//`` for floor
division of non-negative integers) and transpiled for ClickHouse by ``analytics.store``.

Conventions: a member-scoped figure passes ``:member_id`` (0 for the whole program: ids start at 1);
ranges are local days ``[:start_on, :end_on]``; a fully refunded order is one whose refunds reach
its paid amount (an order paid 0 is never "fully refunded").
"""

from __future__ import annotations

from neigou.analytics import worth

# Orders that count, with what was refunded of each (refunds known now); each customer's first counted
# order in the range, and when their next counted order came (the earliest other order: repeat within
# N days is that order within N days).
_LIVE_ORDERS = (
    """
refunded AS (
    SELECT order_id, """
    + worth.REFUNDED
    + """ FROM refunds WHERE program_id = :program_id GROUP BY order_id
),
live AS (
    SELECT o.id, o.customer, o.channel, o.hidden_coupon, o.tier_code, o.group_id, o.paid_us, o.paid_on
    FROM orders AS o LEFT JOIN refunded AS r ON r.order_id = o.id
    WHERE o.program_id = :program_id
      AND (:member_id = 0 OR o.member_id = :member_id)
      AND NOT (o.paid_fen > 0 AND coalesce(r.refund_fen, 0) >= o.paid_fen)
),
"""
)

_RANKED_FIRSTS = """
ranked AS (
    SELECT id, customer, channel, hidden_coupon, tier_code, group_id, paid_us, paid_on,
           row_number() OVER (PARTITION BY customer ORDER BY paid_us, id) AS nth,
           -- the customer's next counted order (-1: none; ClickHouse's lead has no NULL)
           lead(paid_us, 1, -1) OVER (PARTITION BY customer ORDER BY paid_us, id) AS next_us
    FROM live
),
firsts AS (
    SELECT id, customer, channel, hidden_coupon, tier_code, group_id, paid_us, paid_on, next_us FROM ranked
    WHERE nth = 1 AND paid_on >= :start_on AND paid_on <= :end_on
)
"""

_LIVE_ORDERS = _LIVE_ORDERS + _RANKED_FIRSTS


# Program-wide, the first orders come from the pre-aggregated ``customer_firsts`` (analytics.firsts).
_STORED_FIRSTS = """
firsts AS (
    SELECT id, customer, channel, hidden_coupon, tier_code, group_id, paid_us, paid_on, next_us
    FROM customer_firsts
    WHERE program_id = :program_id AND paid_on >= :start_on AND paid_on <= :end_on
)
"""


def stored(sql: str) -> str:
    """The statement with each customer's first order read from ``customer_firsts``."""
    return sql.replace(_RANKED_FIRSTS, _STORED_FIRSTS)


# Only customers whose window has ended by ``:as_of_us`` (the data's time: reports.as_of_us) count,
# repeaters or not; those still inside it are counted apart (``in_window``), whatever they did.
REPEAT = (
    "WITH"
    + _LIVE_ORDERS
    + """
SELECT channel, hidden_coupon, count(CASE WHEN paid_us + :window_us <= :as_of_us THEN 1 END) AS customers,
       count(CASE WHEN paid_us + :window_us <= :as_of_us AND next_us >= paid_us AND next_us <= paid_us + :window_us
                  THEN 1 END) AS repeat_customers,
       count(CASE WHEN paid_us + :window_us > :as_of_us THEN 1 END) AS in_window
FROM firsts
GROUP BY channel, hidden_coupon
ORDER BY channel, hidden_coupon
"""
)

# Month k after the first order's month: customers of the cohort with a counted order in it.
COHORTS = (
    "WITH"
    + _LIVE_ORDERS
    + """,
months AS (
    SELECT DISTINCT f.customer, f.channel, year(f.paid_on) * 12 + month(f.paid_on) AS cohort,
           year(l.paid_on) * 12 + month(l.paid_on) - year(f.paid_on) * 12 - month(f.paid_on) AS k
    FROM firsts AS f JOIN live AS l ON l.customer = f.customer
)
SELECT cohort, channel, k, count(*) AS customers FROM months
GROUP BY cohort, channel, k ORDER BY cohort, channel, k
"""
)

# A commission's worth after the order's refunds, as the ledger reversed it (``analytics.worth``):
# order-wide for refunds that name no line, line by line for a platform's line refunds.
_REFUNDED = "SELECT order_id, " + worth.REFUNDED + " FROM refunds"
_LINE_TAKEN = worth.line_taken("SELECT id FROM o")
_WORTH = worth.worth("c.amount_fen")

# GMV, refunds, coupon and promotion are the orders sold (a member's: their own sales); commission is
# the commission rows' (a member's: their own rows) on every order paid in the range, whoever sold it,
# so a member's level-2 and level-3 commission on their recruits' sales is theirs too, as the
# simulation counts it.
ECONOMICS = f"""
WITH o AS (
    SELECT id, paid_fen, coupon_fen, promotion_fen FROM orders
    WHERE program_id = :program_id AND paid_on >= :start_on AND paid_on <= :end_on
      AND (:member_id = 0 OR member_id = :member_id)
),
oc AS (
    SELECT id, paid_fen FROM orders
    WHERE program_id = :program_id AND paid_on >= :start_on AND paid_on <= :end_on
      AND (:member_id = 0 OR id IN (SELECT order_id FROM kept_commissions
                                    WHERE program_id = :program_id AND member_id = :member_id))
),
r AS (
    {_REFUNDED}
    WHERE program_id = :program_id AND (order_id IN (SELECT id FROM o) OR order_id IN (SELECT id FROM oc))
    GROUP BY order_id
),{worth.line_taken("SELECT id FROM oc")},
c AS (
    SELECT c.id, c.order_id, c.level, c.amount_fen FROM kept_commissions AS c
    WHERE c.program_id = :program_id AND c.order_id IN (SELECT id FROM oc)
      AND (:member_id = 0 OR c.member_id = :member_id)
),
per_level AS (
    SELECT c.level, sum({worth.worth("c.amount_fen", order="oc")}) AS commission_fen
    FROM c JOIN oc ON oc.id = c.order_id LEFT JOIN r ON r.order_id = c.order_id
    LEFT JOIN line_taken AS lt ON lt.id = c.id
    GROUP BY c.level
)
SELECT 'total' AS part, count(*) AS orders, coalesce(sum(o.paid_fen), 0) AS gmv_fen,
       coalesce(sum(r.refund_fen), 0) AS refund_fen, coalesce(sum(o.coupon_fen), 0) AS coupon_fen,
       coalesce(sum(o.promotion_fen), 0) AS promotion_fen, 0 AS level
FROM o LEFT JOIN r ON r.order_id = o.id
UNION ALL
SELECT 'level' AS part, 0, commission_fen, 0, 0, 0, level FROM per_level
"""

# The same figures per day, tier, group (order by order) or per sku, brand (line by line: an order's
# refunds, coupon, promotion and commission are shared among its lines in proportion to what each
# line was paid, floored, so the rows of a many-sku order may sum to a few fen under its totals).
# {key} is the key's expression (reports.ECONOMICS_KEYS).
_ECONOMICS_PER_ORDER = f"""
WITH o AS (
    SELECT id, paid_on, tier_code, group_id, paid_fen, coupon_fen, promotion_fen FROM orders
    WHERE program_id = :program_id AND paid_on >= :start_on AND paid_on <= :end_on
      AND (:member_id = 0 OR member_id = :member_id)
),
r AS (
    {_REFUNDED}
    WHERE program_id = :program_id AND order_id IN (SELECT id FROM o) GROUP BY order_id
),{_LINE_TAKEN},
c AS (
    SELECT c.order_id, sum({_WORTH}) AS commission_fen
    FROM kept_commissions AS c JOIN o ON o.id = c.order_id LEFT JOIN r ON r.order_id = c.order_id
    LEFT JOIN line_taken AS lt ON lt.id = c.id
    WHERE c.program_id = :program_id AND (:member_id = 0 OR c.member_id = :member_id)
    GROUP BY c.order_id
),
p AS (
    SELECT o.id, o.paid_on, o.tier_code, o.group_id, o.paid_fen, o.coupon_fen, o.promotion_fen,
           coalesce(r.refund_fen, 0) AS refund_fen, coalesce(c.commission_fen, 0) AS commission_fen
    FROM o LEFT JOIN r ON r.order_id = o.id LEFT JOIN c ON c.order_id = o.id
)
"""

ECONOMICS_BY_ORDER = (
    _ECONOMICS_PER_ORDER
    + """
SELECT {key} AS key, count(*) AS orders, sum(paid_fen) AS gmv_fen_sum, sum(refund_fen) AS refund_fen_sum,
       sum(coupon_fen) AS coupon_fen_sum, sum(promotion_fen) AS promotion_fen_sum, sum(commission_fen) AS commission_fen_sum
FROM p GROUP BY {key} ORDER BY gmv_fen_sum DESC, key LIMIT 1200
"""
)

ECONOMICS_BY_LINE = (
    _ECONOMICS_PER_ORDER
    + """
SELECT {key} AS key, count(DISTINCT p.id) AS orders, sum(l.paid_fen) AS gmv_fen_sum,
       sum(p.refund_fen * l.paid_fen // greatest(p.paid_fen, 1)) AS refund_fen_sum,
       sum(p.coupon_fen * l.paid_fen // greatest(p.paid_fen, 1)) AS coupon_fen_sum,
       sum(p.promotion_fen * l.paid_fen // greatest(p.paid_fen, 1)) AS promotion_fen_sum,
       sum(p.commission_fen * l.paid_fen // greatest(p.paid_fen, 1)) AS commission_fen_sum
FROM order_lines AS l JOIN p ON p.id = l.order_id
WHERE l.program_id = :program_id
GROUP BY {key} ORDER BY gmv_fen_sum DESC, key LIMIT 1200
"""
)

# The invite tree from its roots (members without an inviter, or one member for their own team),
# level 1 at the roots, over members who joined by the end of the period: per level its members,
# those who joined before the period, the recruits of the period (joined in it, with an inviter in
# scope) and those of them who sold something 30 days or more after joining. Program-wide,
# rollup_queries.FISSION reads the kept tree instead.
FISSION = """
WITH RECURSIVE tree AS (
    SELECT id, joined_at, joined_on, 1 AS level FROM members
    WHERE program_id = :program_id AND joined_on <= :end_on
      AND (CASE WHEN :member_id = 0 THEN inviter_id IS NULL ELSE id = :member_id END)
    UNION ALL
    SELECT m.id, m.joined_at, m.joined_on, t.level + 1 AS level FROM members AS m
    JOIN tree AS t ON m.inviter_id = t.id
    WHERE m.program_id = :program_id AND m.joined_on <= :end_on
),
sales AS (
    SELECT member_id, max(paid_at) AS last_paid_at FROM orders WHERE program_id = :program_id GROUP BY member_id
)
SELECT t.level AS level, count(*) AS members,
       count(CASE WHEN t.joined_on < :start_on THEN 1 END) AS at_start,
       count(CASE WHEN t.joined_on >= :start_on AND t.level > 1 THEN 1 END) AS recruits,
       count(CASE WHEN t.joined_on >= :start_on AND t.level > 1
                   AND s.last_paid_at >= t.joined_at + INTERVAL 30 DAY THEN 1 END) AS active,
       count(CASE WHEN t.joined_on >= :start_on AND t.level > 1
                   AND t.joined_at + INTERVAL 30 DAY > :as_of THEN 1 END) AS young
FROM tree AS t LEFT JOIN sales AS s ON s.member_id = t.id
GROUP BY t.level ORDER BY t.level
"""

# Per customer with a counted first order in the range: paid − refunds − commission (net of
# reversals) over all their orders, coupon and promotion cost beside; by the first order's channel.
_PER_CUSTOMER = (
    "WITH"
    + _LIVE_ORDERS
    + """,
all_orders AS (
    SELECT o.id AS id, o.customer AS customer, o.paid_fen AS paid_fen, o.coupon_fen AS coupon_fen,
           o.promotion_fen AS promotion_fen, coalesce(r.refund_fen, 0) AS refund_fen,
           coalesce(r.unnamed_fen, 0) AS unnamed_fen
    FROM orders AS o LEFT JOIN refunded AS r ON r.order_id = o.id
    WHERE o.program_id = :program_id AND (:member_id = 0 OR o.member_id = :member_id)
      AND o.customer IN (SELECT customer FROM firsts)
),
"""
    + worth.line_taken("SELECT id FROM all_orders")
    + """,
paid_commission AS (
    SELECT c.order_id, sum("""
    + worth.worth("c.amount_fen", refunds="a", order="a")
    + """) AS fen
    FROM kept_commissions AS c JOIN all_orders AS a ON a.id = c.order_id LEFT JOIN line_taken AS lt ON lt.id = c.id
    WHERE c.program_id = :program_id GROUP BY c.order_id
),
per_customer AS (
    SELECT f.customer AS customer, {key} AS channel,
           sum(a.paid_fen - a.refund_fen - coalesce(pc.fen, 0)) AS net_fen,
           sum(a.coupon_fen) AS coupon_fen, sum(a.promotion_fen) AS promotion_fen, count(*) AS orders
    FROM firsts AS f JOIN all_orders AS a ON a.customer = f.customer
    LEFT JOIN paid_commission AS pc ON pc.order_id = a.id
    GROUP BY f.customer, {key}
)
"""
)

CUSTOMER_VALUE = (
    _PER_CUSTOMER
    + """,
value_ranks AS (
    SELECT channel, customer, net_fen, row_number() OVER (PARTITION BY channel ORDER BY net_fen, customer) AS rn,
           count(*) OVER (PARTITION BY channel) AS n
    FROM per_customer
)
SELECT 'total' AS part, channel, count(*) AS customers, sum(net_fen) AS net_fen, sum(coupon_fen) AS coupon_fen,
       sum(promotion_fen) AS promotion_fen, 0 AS rn, 0 AS n
FROM per_customer GROUP BY channel
UNION ALL
SELECT 'rank' AS part, channel, 0, net_fen, 0, 0, rn, n FROM value_ranks
WHERE rn IN ((n * 10 + 99) // 100, (n * 25 + 99) // 100, (n * 50 + 99) // 100, (n * 75 + 99) // 100,
             (n * 90 + 99) // 100)
"""
)

# Program-wide, each customer's worth is kept in ``customer_firsts`` too (analytics.firsts).
_STORED_PER_CUSTOMER = """
WITH per_customer AS (
    SELECT f.customer AS customer, {key} AS channel, f.net_fen AS net_fen, f.coupon_fen AS coupon_fen,
           f.promotion_fen AS promotion_fen, f.orders AS orders
    FROM customer_firsts AS f
    WHERE f.program_id = :program_id AND f.paid_on >= :start_on AND f.paid_on <= :end_on
)
"""

TOP_CUSTOMERS = (
    _PER_CUSTOMER
    + """
SELECT customer, channel, orders, net_fen, coupon_fen, promotion_fen FROM per_customer
ORDER BY net_fen DESC, customer LIMIT 10
"""
)

CUSTOMER_VALUE_STORED = _STORED_PER_CUSTOMER + CUSTOMER_VALUE[len(_PER_CUSTOMER) :]
TOP_CUSTOMERS_STORED = _STORED_PER_CUSTOMER + TOP_CUSTOMERS[len(_PER_CUSTOMER) :]

# Per sku over lines of orders paid in the range: units, list and paid amounts, split by whether the
# order used a hidden coupon.
PRICES = """
SELECT l.sku, sum(l.quantity) AS units, sum(l.list_fen) AS list_fen, sum(l.paid_fen) AS paid_fen,
       sum(CASE WHEN o.hidden_coupon THEN l.paid_fen ELSE 0 END) AS hidden_paid_fen,
       sum(CASE WHEN o.hidden_coupon THEN l.list_fen ELSE 0 END) AS hidden_list_fen,
       sum(CASE WHEN o.hidden_coupon THEN l.quantity ELSE 0 END) AS hidden_units
FROM order_lines AS l JOIN orders AS o ON o.id = l.order_id
WHERE o.program_id = :program_id AND o.paid_on >= :start_on AND o.paid_on <= :end_on
  AND (:member_id = 0 OR o.member_id = :member_id)
GROUP BY l.sku ORDER BY paid_fen DESC, l.sku LIMIT 200
"""

# Per sku over claims made in the range through a link: claims, hidden-coupon claims, the app (list)
# price and the group price after the claimed coupon, summed (averages are floored in Python).
CLAIM_PRICES = """
SELECT sku, count(*) AS claims, count(CASE WHEN hidden_coupon THEN 1 END) AS hidden_claims,
       sum(list_fen) AS list_sum, sum(group_fen) AS group_sum
FROM claims
WHERE program_id = :program_id AND claimed_on >= :start_on AND claimed_on <= :end_on
  AND (:member_id = 0 OR member_id = :member_id) AND sku IS NOT NULL AND list_fen IS NOT NULL
GROUP BY sku ORDER BY claims DESC, sku LIMIT 200
"""

# Clicks (people, not bots) → claims → orders → net GMV, per {key}: the statement is built with the
# key's column for each fact (see reports.FUNNEL_KEYS) and its clicks part, FUNNEL_CLICKS; a member's
# own funnel. Program-wide, rollup_queries.FUNNEL reads the kept days instead.
FUNNEL_CLICKS = """
    SELECT {click_key} AS key, 1 AS clicks, 0 AS claims, 0 AS orders, 0 AS net_fen
    FROM clicks AS c JOIN links AS l ON l.id = c.link_id
    WHERE c.program_id = :program_id AND c.human AND c.clicked_on >= :start_on AND c.clicked_on <= :end_on
      AND (:member_id = 0 OR c.member_id = :member_id)"""

FUNNEL = """
WITH refunded AS (
    SELECT order_id, sum(amount_fen) AS refund_fen FROM refunds WHERE program_id = :program_id GROUP BY order_id
),
k AS ({clicks}
    UNION ALL
    SELECT {claim_key}, 0, 1, 0, 0 FROM claims AS c
    WHERE c.program_id = :program_id AND c.claimed_on >= :start_on AND c.claimed_on <= :end_on
      AND (:member_id = 0 OR c.member_id = :member_id)
    UNION ALL
    SELECT {order_key}, 0, 0, 1, o.paid_fen - coalesce(r.refund_fen, 0)
    FROM orders AS o LEFT JOIN refunded AS r ON r.order_id = o.id LEFT JOIN links AS l ON l.code = o.link_code
    WHERE o.program_id = :program_id AND o.paid_on >= :start_on AND o.paid_on <= :end_on
      AND (:member_id = 0 OR o.member_id = :member_id)
)
SELECT key, sum(clicks) AS clicks, sum(claims) AS claims, sum(orders) AS orders, sum(net_fen) AS net_fen
FROM k WHERE key IS NOT NULL GROUP BY key ORDER BY net_fen DESC, key LIMIT 200
"""
