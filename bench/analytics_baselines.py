"""Hand-written DuckDB queries for ``bench/analytics.py``: each computes a report's figures its own
way over the same tables, so the benchmark can check the answers and compare the times."""

BASE_REPEAT = """
WITH refunded AS (SELECT order_id, sum(amount_fen) r FROM refunds GROUP BY order_id),
live AS (SELECT o.* FROM orders o LEFT JOIN refunded f ON f.order_id = o.id
         WHERE o.program_id = 1 AND (o.paid_fen = 0 OR coalesce(f.r, 0) < o.paid_fen)),
firsts AS (SELECT customer, arg_min(channel, (paid_us, id)) channel, min(paid_us) first_us,
                  arg_min(id, (paid_us, id)) first_id, arg_min(paid_on, (paid_us, id)) first_on
           FROM live GROUP BY customer)
SELECT channel, count(*), count(*) FILTER (WHERE EXISTS (
    SELECT 1 FROM live l WHERE l.customer = f.customer AND l.id <> f.first_id
      AND l.paid_us BETWEEN f.first_us AND f.first_us + 30 * 86400000000))
FROM firsts f WHERE first_on BETWEEN DATE '2025-01-01' AND DATE '2025-12-31' GROUP BY channel ORDER BY channel
"""

BASE_ECONOMICS = """
SELECT count(*), sum(o.paid_fen), sum(coalesce(r.r, 0)), sum(coalesce(c.net, 0)) FROM orders o
LEFT JOIN (SELECT order_id, sum(amount_fen) r FROM refunds GROUP BY order_id) r ON r.order_id = o.id
LEFT JOIN (SELECT c.order_id, sum(c.amount_fen - c.amount_fen * coalesce(rf.r, 0) // greatest(o2.paid_fen, 1)) net
           FROM commissions c JOIN orders o2 ON o2.id = c.order_id
           LEFT JOIN (SELECT order_id, sum(amount_fen) r FROM refunds GROUP BY order_id) rf ON rf.order_id = c.order_id
           GROUP BY c.order_id) c ON c.order_id = o.id
WHERE o.program_id = 1 AND o.paid_on BETWEEN DATE '2025-01-01' AND DATE '2025-12-31'
"""

BASE_SIMULATION = """
SELECT sum(x.amount_fen - x.amount_fen * coalesce(r.r, 0) // greatest(o.paid_fen, 1)),
       sum(x.sim - x.sim * coalesce(r.r, 0) // greatest(o.paid_fen, 1))
FROM (SELECT c.id, c.order_id, any_value(c.amount_fen) amount_fen,
             sum(l.paid_fen * l.commission_rate_bp * CASE WHEN c.tier_code = 'super_member'
                 THEN (CASE WHEN c.level = 1 THEN 3000 ELSE 500 END) ELSE c.bp END // 100000000) sim
      FROM commissions c JOIN order_lines l ON l.order_id = c.order_id GROUP BY c.id, c.order_id) x
JOIN orders o ON o.id = x.order_id
LEFT JOIN (SELECT order_id, sum(amount_fen) r FROM refunds GROUP BY order_id) r ON r.order_id = o.id
WHERE o.paid_on BETWEEN DATE '2025-01-01' AND DATE '2025-12-31'
"""

# The whole fission report in one statement: the tree once, the depth histogram, members at the
# start, recruits, the K-factor (floored basis points) and recruits selling 30 days or more after joining.
BASE_FISSION = """
WITH RECURSIVE tree(id, joined_at, joined_on, level) AS (
    SELECT id, joined_at, joined_on, 1 FROM members
    WHERE program_id = 1 AND inviter_id IS NULL AND joined_on <= DATE '2025-03-31'
    UNION ALL
    SELECT m.id, m.joined_at, m.joined_on, t.level + 1 FROM members m JOIN tree t ON m.inviter_id = t.id
    WHERE m.program_id = 1 AND m.joined_on <= DATE '2025-03-31'
),
totals AS (
    SELECT count(*) FILTER (WHERE joined_on < DATE '2025-03-01') at_start,
           count(*) FILTER (WHERE joined_on >= DATE '2025-03-01' AND level > 1) recruits FROM tree
),
active AS (
    SELECT count(*) n FROM tree t WHERE t.level > 1 AND t.joined_on >= DATE '2025-03-01' AND EXISTS (
        SELECT 1 FROM orders o WHERE o.member_id = t.id AND o.program_id = 1
          AND o.paid_at >= t.joined_at + INTERVAL 30 DAY)
),
depth AS (SELECT list((level, n) ORDER BY level) d FROM (SELECT level, count(*) n FROM tree GROUP BY level))
SELECT at_start, recruits, CASE WHEN at_start > 0 THEN recruits * 10000 // at_start ELSE 0 END, active.n, depth.d
FROM totals, active, depth
"""

# The funnel per {key}: each fact counted per key on its own, then joined on the keys (the report
# stacks the facts and sums once). Clicks by people; net GMV is paid minus refunds.
_BASE_FUNNEL = """
WITH refunded AS (SELECT order_id, sum(amount_fen) r FROM refunds GROUP BY order_id),
k AS (SELECT {click_key} key, count(*) clicks FROM clicks c {click_join}
      WHERE c.program_id = 1 AND c.human AND c.clicked_on BETWEEN DATE '2025-01-01' AND DATE '2025-12-31'
      GROUP BY 1),
m AS (SELECT {claim_key} key, count(*) claims FROM claims c
      WHERE c.program_id = 1 AND c.claimed_on BETWEEN DATE '2025-01-01' AND DATE '2025-12-31' GROUP BY 1),
o AS (SELECT {order_key} key, count(*) orders, sum(o.paid_fen - coalesce(f.r, 0)) net FROM orders o
      {order_join} LEFT JOIN refunded f ON f.order_id = o.id
      WHERE o.program_id = 1 AND o.paid_on BETWEEN DATE '2025-01-01' AND DATE '2025-12-31' GROUP BY 1)
SELECT key, coalesce(k.clicks, 0), coalesce(m.claims, 0), coalesce(o.orders, 0), coalesce(o.net, 0) net
FROM k FULL JOIN m USING (key) FULL JOIN o USING (key)
WHERE key IS NOT NULL ORDER BY net DESC, key LIMIT 200
"""

BASE_FUNNEL = {
    "link": _BASE_FUNNEL.format(
        click_key="c.link_id",
        click_join="",
        claim_key="c.link_id",
        order_key="l.id",
        order_join="JOIN links l ON l.code = o.link_code",
    ),
    "member": _BASE_FUNNEL.format(
        click_key="c.member_id",
        click_join="",
        claim_key="c.member_id",
        order_key="o.member_id",
        order_join="",
    ),
    "group": _BASE_FUNNEL.format(
        click_key="l.group_id",
        click_join="JOIN links l ON l.id = c.link_id",
        claim_key="c.group_id",
        order_key="o.group_id",
        order_join="",
    ),
}
