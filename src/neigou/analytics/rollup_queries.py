"""Program-wide report statements over the pre-aggregated facts (``analytics.rollups``,
``customer_months`` in ``analytics.firsts``): the same answers, row for row, as the statements of
``analytics.queries`` over the facts, which a member's own figures keep using. DuckDB SQL, like them.
"""

from __future__ import annotations

_DAYS = "program_id = :program_id AND paid_on >= :start_on AND paid_on <= :end_on"

# The shape of queries.ECONOMICS: one 'total' row, one 'level' row per commission level.
ECONOMICS = f"""
SELECT 'total' AS part, coalesce(sum(orders), 0) AS orders, coalesce(sum(gmv_fen), 0) AS gmv_fen,
       coalesce(sum(refund_fen), 0) AS refund_fen, coalesce(sum(coupon_fen), 0) AS coupon_fen,
       coalesce(sum(promotion_fen), 0) AS promotion_fen, 0 AS level
FROM economics_days WHERE {_DAYS} AND level = 0
UNION ALL
SELECT 'level' AS part, 0, sum(commission_fen), 0, 0, 0, level
FROM economics_days WHERE {_DAYS} AND level > 0 GROUP BY level
"""

# The shape of queries.ECONOMICS_BY_ORDER; {key} is over the day, tier_code and group_id columns.
ECONOMICS_BY_ORDER = f"""
SELECT {{key}} AS key, sum(orders) AS orders, sum(gmv_fen) AS gmv_fen_sum, sum(refund_fen) AS refund_fen_sum,
       sum(coupon_fen) AS coupon_fen_sum, sum(promotion_fen) AS promotion_fen_sum,
       sum(commission_fen) AS commission_fen_sum
FROM economics_days WHERE {_DAYS} AND level = 0
GROUP BY {{key}} ORDER BY gmv_fen_sum DESC, key LIMIT 1200
"""

# The shape of queries.ECONOMICS_BY_LINE: :kind is 'sku' or 'brand'.
ECONOMICS_BY_LINE = f"""
SELECT key, sum(orders) AS orders, sum(gmv_fen) AS gmv_fen_sum, sum(refund_fen) AS refund_fen_sum,
       sum(coupon_fen) AS coupon_fen_sum, sum(promotion_fen) AS promotion_fen_sum,
       sum(commission_fen) AS commission_fen_sum
FROM sku_days WHERE {_DAYS} AND kind = :kind
GROUP BY key ORDER BY gmv_fen_sum DESC, key LIMIT 1200
"""

# The shape of worth.SIMULATION. {new_bp} is the CASE over c.tier_code, c.level and c.bp. A line's
# simulated share is floor(w × bp / 10^8); its refunds take back floor(share × R_l / P_l) of it and the
# refunds that name no line floor(S × U / P) of the commission's sum S. Rows with commission_ref = 0
# are sums of per-line terms (no unnamed refund, all of the order refunded unnamed, or a one-line
# order: see analytics.rollups); the others are one commission's lines, whose S is summed before the
# unnamed refunds' floor.
SIMULATION = f"""
WITH s AS (
    SELECT c.commission_ref AS commission_ref, c.paid_fen AS paid_fen, c.unnamed_fen AS unnamed_fen,
           c.lines AS lines, c.worth_fen AS worth_fen, c.weight * {{new_bp}} // 100000000 AS line_fen,
           c.line_paid_fen AS line_paid_fen, c.line_refund_fen AS line_refund_fen
    FROM commission_lines AS c WHERE c.{_DAYS.replace(" AND ", " AND c.")}
),
t AS (
    SELECT commission_ref, paid_fen, unnamed_fen, lines, worth_fen, line_fen,
           CASE WHEN line_paid_fen > 0 THEN line_fen * line_refund_fen // line_paid_fen ELSE 0 END AS taken_fen
    FROM s
),
parts AS (
    SELECT worth_fen AS actual_fen,
           lines * greatest(line_fen - taken_fen - line_fen * unnamed_fen // greatest(paid_fen, 1), 0)
               AS simulated_fen
    FROM t WHERE commission_ref = 0
    UNION ALL
    SELECT sum(worth_fen) AS actual_fen,
           greatest(sum(lines * line_fen) - sum(lines * taken_fen)
                    - sum(lines * line_fen) * unnamed_fen // greatest(paid_fen, 1), 0) AS simulated_fen
    FROM t WHERE commission_ref <> 0 GROUP BY commission_ref, paid_fen, unnamed_fen
)
SELECT coalesce(sum(actual_fen), 0) AS actual_fen, coalesce(sum(simulated_fen), 0) AS simulated_fen FROM parts
"""

# The shape of queries.COHORTS.
COHORTS = """
SELECT year(first_on) * 12 + month(first_on) AS cohort, channel, k, count(*) AS customers
FROM customer_months
WHERE program_id = :program_id AND first_on >= :start_on AND first_on <= :end_on
GROUP BY cohort, channel, k ORDER BY cohort, channel, k
"""

# The shape of queries.PRICES.
PRICES = """
SELECT key AS sku, sum(units) AS units, sum(list_fen) AS list_fen, sum(gmv_fen) AS paid_fen,
       sum(hidden_paid_fen) AS hidden_paid_fen, sum(hidden_list_fen) AS hidden_list_fen,
       sum(hidden_units) AS hidden_units
FROM sku_days
WHERE program_id = :program_id AND paid_on >= :start_on AND paid_on <= :end_on AND kind = 'sku'
GROUP BY key ORDER BY paid_fen DESC, sku LIMIT 200
"""

# The shape of queries.FUNNEL (program-wide): the kept clicks, claims and orders of the range's days;
# {key} is link_id, member_id or group_id.
FUNNEL = """
SELECT {key} AS key, sum(clicks) AS clicks, sum(claims) AS claims, sum(orders) AS orders, sum(net_fen) AS net_fen
FROM (
    SELECT {key}, clicks, 0 AS claims, 0 AS orders, 0 AS net_fen FROM click_days
    WHERE program_id = :program_id AND clicked_on >= :start_on AND clicked_on <= :end_on
    UNION ALL
    SELECT {key}, 0, claims, 0, 0 FROM claim_days
    WHERE program_id = :program_id AND claimed_on >= :start_on AND claimed_on <= :end_on
    UNION ALL
    SELECT {key}, 0, 0, orders, net_fen FROM order_link_days
    WHERE program_id = :program_id AND paid_on >= :start_on AND paid_on <= :end_on
) AS k
WHERE {key} IS NOT NULL GROUP BY {key} ORDER BY net_fen DESC, key LIMIT 200
"""

# The shape of queries.FISSION (program-wide) over the kept tree: per level members, members at the
# start, recruits and the recruits who sold something 30 days or more after joining.
FISSION = """
SELECT t.level AS level, count(*) AS members,
       count(CASE WHEN t.joined_on < :start_on THEN 1 END) AS at_start,
       count(CASE WHEN t.joined_on >= :start_on AND t.level > 1 THEN 1 END) AS recruits,
       count(CASE WHEN t.joined_on >= :start_on AND t.level > 1
                   AND s.last_paid_at >= t.joined_at + INTERVAL 30 DAY THEN 1 END) AS active,
       count(CASE WHEN t.joined_on >= :start_on AND t.level > 1
                   AND t.joined_at + INTERVAL 30 DAY > :as_of THEN 1 END) AS young
FROM member_tree AS t LEFT JOIN member_sales AS s ON s.program_id = t.program_id AND s.member_id = t.member_id
WHERE t.program_id = :program_id AND t.reach_on <= :end_on
GROUP BY t.level ORDER BY t.level
"""
