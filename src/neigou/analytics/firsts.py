"""A pre-aggregated fact kept by the refresh: each customer's first counted order, per program, and
what the customer is worth over all their orders there (paid − refunds − commission net of
reversals; coupon and promotion cost beside).

The repeat, customer-value and cohort reports start from every customer's first counted order (not
fully refunded) and when their next counted order came; over all orders that is a window pass per
report. ``customer_firsts`` keeps the answer, one row per program and customer. After the facts are
copied, the refresh recomputes the rows of the customers it touched, set-based: customers with
orders above the orders' watermark at the last recomputation, or orders with refunds above the
refunds' one (a refund can make a first order stop counting), or orders a confirmed risk case voided
(their commission is worth nothing: ``analytics.reversals``). It deletes their rows, inserts them
again, then logs the two watermarks (``firsts.orders``, ``firsts.refunds``): a refresh killed
between the two recomputes the same customers next time, without duplicates. Rows above a fact's
watermark (late commits on PostgreSQL) are recomputed by every refresh until it settles. The table
answers program-wide reports; a member's own figures keep the window pass over their orders.
``customer_months`` keeps, for the same customers, the months after their first in which they
bought (the cohorts), recomputed with them.
"""

from __future__ import annotations

from neigou.analytics import worth
from neigou.analytics.store import Store

COLUMNS = (
    "program_id, customer, id, channel, hidden_coupon, tier_code, group_id, paid_us, paid_on, next_us, "
    "orders, net_fen, coupon_fen, promotion_fen"
)
DUCK_DDL = (
    "CREATE TABLE IF NOT EXISTS customer_firsts (program_id BIGINT, customer VARCHAR, id BIGINT, "
    "channel VARCHAR, hidden_coupon BOOLEAN, tier_code VARCHAR, group_id BIGINT, paid_us BIGINT, "
    "paid_on DATE, next_us BIGINT, orders BIGINT, net_fen BIGINT, coupon_fen BIGINT, promotion_fen BIGINT)"
)
# On ClickHouse the customer is no key column: an opt-out rewrites it (ALTER … UPDATE cannot).
CLICKHOUSE_DDL = (
    "CREATE TABLE IF NOT EXISTS customer_firsts (program_id Int64, customer String, id Int64, "
    "channel String, hidden_coupon Bool, tier_code Nullable(String), group_id Nullable(Int64), "
    "paid_us Int64, paid_on Date32, next_us Int64, orders Int64, net_fen Int64, coupon_fen Int64, "
    "promotion_fen Int64) ENGINE = MergeTree ORDER BY (program_id, paid_on, id)"
)
MONTHS_DDL = {
    "duckdb": "CREATE TABLE IF NOT EXISTS customer_months (program_id BIGINT, customer VARCHAR, first_on DATE, "
    "channel VARCHAR, k BIGINT)",
    "clickhouse": "CREATE TABLE IF NOT EXISTS customer_months (program_id Int64, customer String, first_on Date32, "
    "channel String, k Int64) ENGINE = MergeTree ORDER BY (program_id, first_on, k)",
}
TOUCHED_DDL = {
    "duckdb": "CREATE TABLE IF NOT EXISTS touched_customers (customer VARCHAR)",
    "clickhouse": "CREATE TABLE IF NOT EXISTS touched_customers (customer String) ENGINE = MergeTree ORDER BY customer",
}

# The facts whose rows above a mark (``firsts.<fact>``) touch a customer.
MARKS = ("orders", "refunds", "voids")

_TOUCH = """
INSERT INTO touched_customers
SELECT DISTINCT customer FROM orders WHERE id > :orders
UNION DISTINCT
SELECT DISTINCT o.customer FROM refunds AS r JOIN orders AS o ON o.id = r.order_id WHERE r.id > :refunds
UNION DISTINCT
SELECT DISTINCT o.customer FROM voids AS v JOIN orders AS o ON o.id = v.order_id WHERE v.id > :voids
"""

_RECOMPUTE = f"""
INSERT INTO customer_firsts ({COLUMNS})
WITH mine AS (
    SELECT id, program_id, customer, channel, hidden_coupon, tier_code, group_id, paid_fen, coupon_fen,
           promotion_fen, paid_us, paid_on
    FROM orders WHERE customer IN (SELECT customer FROM touched_customers)
),
refunded AS (
    SELECT order_id, {worth.REFUNDED} FROM refunds
    WHERE order_id IN (SELECT id FROM mine) GROUP BY order_id
),{worth.line_taken("SELECT id FROM mine")},
ranked AS (
    SELECT m.program_id AS program_id, m.customer AS customer, m.id AS id, m.channel AS channel,
           m.hidden_coupon AS hidden_coupon, m.tier_code AS tier_code, m.group_id AS group_id,
           m.paid_us AS paid_us, m.paid_on AS paid_on,
           row_number() OVER (PARTITION BY m.program_id, m.customer ORDER BY m.paid_us, m.id) AS nth,
           lead(m.paid_us, 1, -1) OVER (PARTITION BY m.program_id, m.customer ORDER BY m.paid_us, m.id) AS next_us
    FROM mine AS m LEFT JOIN refunded AS r ON r.order_id = m.id
    WHERE NOT (m.paid_fen > 0 AND coalesce(r.refund_fen, 0) >= m.paid_fen)
),
commission AS (
    SELECT c.order_id AS order_id,
           sum({worth.worth("c.amount_fen", refunds="r", order="m")}) AS worth
    FROM kept_commissions AS c JOIN mine AS m ON m.id = c.order_id LEFT JOIN refunded AS r ON r.order_id = c.order_id
    LEFT JOIN line_taken AS lt ON lt.id = c.id
    GROUP BY c.order_id
),
totals AS (
    SELECT m.program_id AS t_program, m.customer AS t_customer, count(*) AS n,
           sum(m.paid_fen - coalesce(r.refund_fen, 0) - coalesce(c.worth, 0)) AS net_sum,
           sum(m.coupon_fen) AS coupon_sum, sum(m.promotion_fen) AS promotion_sum
    FROM mine AS m LEFT JOIN refunded AS r ON r.order_id = m.id LEFT JOIN commission AS c ON c.order_id = m.id
    GROUP BY m.program_id, m.customer
)
SELECT k.program_id, k.customer, k.id, k.channel, k.hidden_coupon, k.tier_code, k.group_id, k.paid_us, k.paid_on,
       k.next_us, t.n, t.net_sum, t.coupon_sum, t.promotion_sum
FROM ranked AS k JOIN totals AS t ON t.t_program = k.program_id AND t.t_customer = k.customer
WHERE k.nth = 1
"""


# Per customer (of the touched ones), each month k after their first counted order's month in which
# they had a counted order: the cohorts report counts these rows.
_MONTHS = """
INSERT INTO customer_months (program_id, customer, first_on, channel, k)
WITH mine AS (
    SELECT id, program_id, customer, paid_fen, paid_on FROM orders
    WHERE customer IN (SELECT customer FROM touched_customers)
),
refunded AS (
    SELECT order_id, sum(amount_fen) AS refund_fen FROM refunds
    WHERE order_id IN (SELECT id FROM mine) GROUP BY order_id
),
live AS (
    SELECT m.program_id AS program_id, m.customer AS customer, m.paid_on AS paid_on
    FROM mine AS m LEFT JOIN refunded AS r ON r.order_id = m.id
    WHERE NOT (m.paid_fen > 0 AND coalesce(r.refund_fen, 0) >= m.paid_fen)
)
SELECT DISTINCT f.program_id, f.customer, f.paid_on, f.channel,
       year(l.paid_on) * 12 + month(l.paid_on) - year(f.paid_on) * 12 - month(f.paid_on)
FROM customer_firsts AS f JOIN live AS l ON l.program_id = f.program_id AND l.customer = f.customer
WHERE f.customer IN (SELECT customer FROM touched_customers)
"""


def ensure(store: Store) -> None:
    """Create the tables and their work table if they are missing."""
    clickhouse = store.dialect == "clickhouse"
    store.engine.execute(CLICKHOUSE_DDL if clickhouse else DUCK_DDL)
    store.engine.execute(MONTHS_DDL[store.dialect])
    store.engine.execute(TOUCHED_DDL[store.dialect])


def recompute(store: Store, *, marks: dict[str, int]) -> int:
    """Recompute the rows of customers with orders, refunds or risk voids (``analytics.reversals``)
    above their marks (``MARKS``); the number of customers touched."""
    store.run("DELETE FROM touched_customers WHERE customer IS NOT NULL")
    store.run(_TOUCH, **{name: marks[name] for name in MARKS})
    ((touched,),) = store.query("SELECT count(*) FROM touched_customers")
    if touched:
        with store.atomic():
            store.run(
                "DELETE FROM customer_firsts WHERE customer IN (SELECT customer FROM touched_customers)"
            )
            store.run(_RECOMPUTE)
        with store.atomic():
            store.run(
                "DELETE FROM customer_months WHERE customer IN (SELECT customer FROM touched_customers)"
            )
            store.run(_MONTHS)
    return int(touched)
