"""Pre-aggregated facts per program and local day, kept by the refresh, so program-wide economics
and the commission simulation read a few rows per day instead of the range's orders and lines.

* ``economics_days``: per program, day, seller's tier and group, ``level`` 0 holds the orders' figures
  (orders, paid, refunds, coupon, promotion, commission net of reversals); ``level`` k ≥ 1 holds the
  commission of that level alone.
* ``sku_days``: per program, day and sku (``kind = 'sku'``) or brand (``kind = 'brand'``), the line by
  line figures of the sku and brand economics, each line's share floored as the report floors it,
  and the prices report's units, list and paid amounts (all and through hidden coupons).
* ``commission_lines``: what the simulation needs to recompute commission with other rates exactly.
  A commission row's simulated worth is ``max(S − Σ floor(s_l × R_l / P_l) − floor(S × U / P), 0)``
  with ``s_l = floor(w × bp / 10^8)`` per line of the order (``w = paid × rate``, or ``pool × 10^4``
  for a platform's fee or a fixed pool, which gives ``floor(pool × bp / 10^4)``), ``S = Σ s_l``,
  ``R_l`` the refunds naming the line of its ``P_l``, ``U`` the order's refunds that name no line of
  its ``P``: the ledger's reversal (``analytics.worth``) at the new rate. Without an unnamed refund
  (U = 0) or with all of the order refunded unnamed (U ≥ P) that is a sum of per-line terms, and so
  is it for a one-line order; such rows are counted per (tier, level, bp, P, U, w, P_l, R_l) with
  ``commission_ref = 0``. A many-line order partly refunded without naming lines keeps its
  commission's id in ``commission_ref`` (the outer floor needs that commission's S whole).
  ``worth_fen`` carries each commission's actual worth (``worth.worth``) once (on its order's first
  line).
* ``click_days``, ``claim_days``, ``order_link_days``: the funnel's facts per program and local day,
  by link, member and group (each as the funnel keys that fact): the clicks by people (not bots,
  the link's group), the claims, and the orders with their net GMV (paid − every refund of the
  order, kept on the day it was paid), so the funnel reads a few rows per link and day instead of
  every click, claim and order of the range.

After the facts, the refresh finds the days it touched (orders, lines, commissions or refunds above
the marks logged by the last recomputation, by the order's program and day), deletes every row of
those programs and days and inserts them again from the facts, set-based; then it logs the marks
(``rollups.<fact>``). Delete and insert use the same predicate, so a refresh killed between them
redoes the same days without duplicates. Clicks and claims are kept the same way on their own marks
(``rollups.clicks``, ``rollups.claims``): the days of the facts above the mark are deleted and
counted again. The invite tree and the members' last sales (``analytics.tree``) are kept here too.
A member's own figures keep reading the facts.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from neigou.analytics import tree, worth
from neigou.analytics.store import Store, redo_above

MARKS = ("orders", "order_lines", "commissions", "refunds", "voids")

_DDL = {
    "economics_days": (
        "program_id BIGINT, paid_on DATE, tier_code VARCHAR NULL, group_id BIGINT NULL, level BIGINT, orders BIGINT, "
        "gmv_fen BIGINT, refund_fen BIGINT, coupon_fen BIGINT, promotion_fen BIGINT, commission_fen BIGINT",
        "program_id, paid_on, level",
    ),
    "sku_days": (
        "program_id BIGINT, paid_on DATE, kind VARCHAR, key VARCHAR, orders BIGINT, gmv_fen BIGINT, refund_fen BIGINT, "
        "coupon_fen BIGINT, promotion_fen BIGINT, commission_fen BIGINT, units BIGINT, list_fen BIGINT, "
        "hidden_paid_fen BIGINT, hidden_list_fen BIGINT, hidden_units BIGINT",
        "program_id, kind, paid_on, key",
    ),
    "commission_lines": (
        "program_id BIGINT, paid_on DATE, tier_code VARCHAR NULL, level BIGINT, bp BIGINT, paid_fen BIGINT, "
        "unnamed_fen BIGINT, commission_ref BIGINT, weight BIGINT, line_paid_fen BIGINT, line_refund_fen BIGINT, "
        "lines BIGINT, worth_fen BIGINT",
        "program_id, paid_on, commission_ref",
    ),
    "click_days": (
        "program_id BIGINT, clicked_on DATE, link_id BIGINT, member_id BIGINT, group_id BIGINT NULL, clicks BIGINT",
        "program_id, clicked_on, link_id",
    ),
    "claim_days": (
        "program_id BIGINT, claimed_on DATE, link_id BIGINT NULL, member_id BIGINT NULL, group_id BIGINT NULL, "
        "claims BIGINT",
        "program_id, claimed_on",
    ),
    "order_link_days": (
        "program_id BIGINT, paid_on DATE, link_id BIGINT NULL, member_id BIGINT NULL, group_id BIGINT NULL, "
        "orders BIGINT, net_fen BIGINT",
        "program_id, paid_on",
    ),
    "member_tree": (
        "program_id BIGINT, member_id BIGINT, level BIGINT, reach_on DATE, joined_on DATE, joined_at TIMESTAMP",
        "program_id, reach_on",
    ),
    "member_sales": ("program_id BIGINT, member_id BIGINT, last_paid_at TIMESTAMP", "program_id, member_id"),
    "touched_days": ("program_id BIGINT, paid_on DATE", "program_id, paid_on"),
}
TABLES = tuple(_DDL)
_CLICKHOUSE_TYPES = (("BIGINT NULL", "Nullable(Int64)"), ("VARCHAR NULL", "Nullable(String)"))
_CLICKHOUSE_PLAIN = (
    ("BIGINT", "Int64"),
    ("VARCHAR", "String"),
    ("DATE", "Date32"),
    ("TIMESTAMP", "DateTime64(6, 'UTC')"),
)


def ddl(table: str, dialect: str) -> str:
    """CREATE TABLE for the engine."""
    columns, order = _DDL[table]
    if dialect != "clickhouse":
        return f"CREATE TABLE IF NOT EXISTS {table} ({columns.replace(' NULL', '')})"
    for duck, clickhouse in (*_CLICKHOUSE_TYPES, *_CLICKHOUSE_PLAIN):
        columns = columns.replace(duck, clickhouse)
    return f"CREATE TABLE IF NOT EXISTS {table} ({columns}) ENGINE = MergeTree ORDER BY ({order})"


_TOUCH = """
INSERT INTO touched_days
SELECT DISTINCT program_id, paid_on FROM orders WHERE id > :orders
UNION DISTINCT
SELECT DISTINCT o.program_id, o.paid_on FROM order_lines AS l JOIN orders AS o ON o.id = l.order_id
WHERE l.id > :order_lines
UNION DISTINCT
SELECT DISTINCT o.program_id, o.paid_on FROM commissions AS c JOIN orders AS o ON o.id = c.order_id
WHERE c.id > :commissions
UNION DISTINCT
SELECT DISTINCT o.program_id, o.paid_on FROM refunds AS r JOIN orders AS o ON o.id = r.order_id WHERE r.id > :refunds
UNION DISTINCT
SELECT DISTINCT o.program_id, o.paid_on FROM voids AS v JOIN orders AS o ON o.id = v.order_id WHERE v.id > :voids
"""

# The touched (program, day) pairs themselves, not every touched day of every touched program.
_TOUCHED = "(program_id, paid_on) IN (SELECT program_id, paid_on FROM touched_days)"

# The touched days' orders, what was refunded of each, and each order's commission net of reversals
# (A − floor(A × R / P)) per level.
_ORDERS = f"""
WITH o AS (
    SELECT id, program_id, paid_on, tier_code, group_id, hidden_coupon, paid_fen, coupon_fen, promotion_fen
    FROM orders WHERE {_TOUCHED}
),
r AS (
    SELECT order_id, {worth.REFUNDED} FROM refunds WHERE order_id IN (SELECT id FROM o) GROUP BY order_id
),{worth.line_taken("SELECT id FROM o")},
per_level AS (
    SELECT cm.order_id AS order_id, cm.level AS level, sum({worth.worth("cm.amount_fen")}) AS fen
    FROM kept_commissions AS cm JOIN o ON o.id = cm.order_id LEFT JOIN r ON r.order_id = cm.order_id
    LEFT JOIN line_taken AS lt ON lt.id = cm.id
    WHERE cm.program_id = o.program_id
    GROUP BY cm.order_id, cm.level
),
per_order AS (SELECT order_id, sum(fen) AS fen FROM per_level GROUP BY order_id),
p AS (
    SELECT o.id AS id, o.program_id AS program_id, o.paid_on AS paid_on, o.tier_code AS tier_code,
           o.group_id AS group_id, o.hidden_coupon AS hidden_coupon, o.paid_fen AS paid_fen, o.coupon_fen AS coupon_fen,
           o.promotion_fen AS promotion_fen, coalesce(r.refund_fen, 0) AS refund_fen,
           coalesce(pc.fen, 0) AS commission_fen
    FROM o LEFT JOIN r ON r.order_id = o.id LEFT JOIN per_order AS pc ON pc.order_id = o.id
)
"""

_ECONOMICS = (
    "INSERT INTO economics_days (program_id, paid_on, tier_code, group_id, level, orders, gmv_fen, refund_fen, "
    "coupon_fen, promotion_fen, commission_fen)"
    + _ORDERS
    + """
SELECT program_id, paid_on, tier_code, group_id, 0, count(*), sum(paid_fen), sum(refund_fen), sum(coupon_fen),
       sum(promotion_fen), sum(commission_fen)
FROM p GROUP BY program_id, paid_on, tier_code, group_id
UNION ALL
SELECT p.program_id, p.paid_on, p.tier_code, p.group_id, pl.level, 0, 0, 0, 0, 0, sum(pl.fen)
FROM per_level AS pl JOIN p ON p.id = pl.order_id
GROUP BY p.program_id, p.paid_on, p.tier_code, p.group_id, pl.level
"""
)

# Line by line: an order's refunds, coupon, promotion and commission shared among its lines in
# proportion to what each line was paid, floored per line (as ``queries.ECONOMICS_BY_LINE``).
_SKUS = (
    "INSERT INTO sku_days (program_id, paid_on, kind, key, orders, gmv_fen, refund_fen, coupon_fen, "
    "promotion_fen, commission_fen, units, list_fen, hidden_paid_fen, hidden_list_fen, hidden_units)"
    + _ORDERS
    + """,
lines AS (
    SELECT p.program_id AS program_id, p.paid_on AS paid_on, p.id AS id, l.sku AS sku,
           coalesce(CAST(l.brand_id AS VARCHAR), '') AS brand, l.paid_fen AS gmv_fen,
           p.refund_fen * l.paid_fen // greatest(p.paid_fen, 1) AS refund_fen,
           p.coupon_fen * l.paid_fen // greatest(p.paid_fen, 1) AS coupon_fen,
           p.promotion_fen * l.paid_fen // greatest(p.paid_fen, 1) AS promotion_fen,
           p.commission_fen * l.paid_fen // greatest(p.paid_fen, 1) AS commission_fen,
           l.quantity AS units, l.list_fen AS list_fen,
           CASE WHEN p.hidden_coupon THEN l.paid_fen ELSE 0 END AS hidden_paid_fen,
           CASE WHEN p.hidden_coupon THEN l.list_fen ELSE 0 END AS hidden_list_fen,
           CASE WHEN p.hidden_coupon THEN l.quantity ELSE 0 END AS hidden_units
    FROM order_lines AS l JOIN p ON p.id = l.order_id
    WHERE l.program_id = p.program_id
),
per_sku AS (
    SELECT program_id, paid_on, 'sku' AS kind, sku AS key, id, sum(gmv_fen) AS gmv_fen, sum(refund_fen) AS refund_fen,
           sum(coupon_fen) AS coupon_fen, sum(promotion_fen) AS promotion_fen, sum(commission_fen) AS commission_fen,
           sum(units) AS units, sum(list_fen) AS list_fen, sum(hidden_paid_fen) AS hidden_paid_fen,
           sum(hidden_list_fen) AS hidden_list_fen, sum(hidden_units) AS hidden_units
    FROM lines GROUP BY program_id, paid_on, sku, id
    UNION ALL
    SELECT program_id, paid_on, 'brand' AS kind, brand AS key, id, sum(gmv_fen), sum(refund_fen), sum(coupon_fen),
           sum(promotion_fen), sum(commission_fen), sum(units), sum(list_fen), sum(hidden_paid_fen),
           sum(hidden_list_fen), sum(hidden_units)
    FROM lines GROUP BY program_id, paid_on, brand, id
)
SELECT program_id, paid_on, kind, key, count(*), sum(gmv_fen), sum(refund_fen), sum(coupon_fen),
       sum(promotion_fen), sum(commission_fen), sum(units), sum(list_fen), sum(hidden_paid_fen),
       sum(hidden_list_fen), sum(hidden_units)
FROM per_sku GROUP BY program_id, paid_on, kind, key
"""
)

_COMMISSION_LINES = (
    "INSERT INTO commission_lines (program_id, paid_on, tier_code, level, bp, paid_fen, unnamed_fen, "
    "commission_ref, weight, line_paid_fen, line_refund_fen, lines, worth_fen)"
    + _ORDERS
    + """,
n AS (
    SELECT order_id, count(*) AS lines, min(id) AS first_line FROM order_lines
    WHERE order_id IN (SELECT id FROM o) GROUP BY order_id
),
x AS (
    SELECT p.program_id AS program_id, p.paid_on AS paid_on, cm.tier_code AS tier_code, cm.level AS level,
           cm.bp AS bp, p.paid_fen AS paid_fen, coalesce(r.unnamed_fen, 0) AS unnamed_fen,
           CASE WHEN coalesce(r.unnamed_fen, 0) = 0 OR coalesce(r.unnamed_fen, 0) >= p.paid_fen OR n.lines = 1
                THEN 0 ELSE cm.id END AS commission_ref,
           CASE WHEN l.fixed_commission_fen IS NOT NULL OR l.commission_rate_bp = 0 THEN l.pool_fen * 10000
                ELSE l.paid_fen * l.commission_rate_bp END AS weight,
           l.paid_fen AS line_paid_fen, coalesce(lr.refund_fen, 0) AS line_refund_fen,
           CASE WHEN l.id = n.first_line THEN """
    + worth.worth("cm.amount_fen", order="p")
    + """ ELSE 0 END AS worth_fen
    FROM kept_commissions AS cm JOIN p ON p.id = cm.order_id
    JOIN order_lines AS l ON l.order_id = cm.order_id JOIN n ON n.order_id = cm.order_id
    LEFT JOIN r ON r.order_id = cm.order_id LEFT JOIN line_taken AS lt ON lt.id = cm.id
    LEFT JOIN line_refunds AS lr ON lr.order_id = l.order_id AND lr.line_no = l.line_no
    WHERE cm.program_id = p.program_id
)
SELECT program_id, paid_on, tier_code, level, bp, paid_fen, unnamed_fen, commission_ref, weight, line_paid_fen,
       line_refund_fen, count(*), sum(worth_fen)
FROM x
GROUP BY program_id, paid_on, tier_code, level, bp, paid_fen, unnamed_fen, commission_ref, weight, line_paid_fen,
         line_refund_fen
"""
)

# The funnel's orders: per day, link (by the order's link code), member and group, the orders and
# their net GMV (paid − every refund of the order), as ``queries.FUNNEL`` counts them.
_ORDER_LINKS = f"""
INSERT INTO order_link_days (program_id, paid_on, link_id, member_id, group_id, orders, net_fen)
WITH o AS (
    SELECT id, program_id, paid_on, member_id, group_id, link_code, paid_fen FROM orders WHERE {_TOUCHED}
),
r AS (
    SELECT order_id, sum(amount_fen) AS refund_fen FROM refunds WHERE order_id IN (SELECT id FROM o) GROUP BY order_id
)
SELECT o.program_id, o.paid_on, l.id, o.member_id, o.group_id, count(*), sum(o.paid_fen - coalesce(r.refund_fen, 0))
FROM o LEFT JOIN r ON r.order_id = o.id LEFT JOIN links AS l ON l.code = o.link_code
GROUP BY o.program_id, o.paid_on, l.id, o.member_id, o.group_id
"""

_RECOMPUTE = {
    "economics_days": _ECONOMICS,
    "sku_days": _SKUS,
    "commission_lines": _COMMISSION_LINES,
    "order_link_days": _ORDER_LINKS,
}


def ensure(store: Store) -> None:
    """Create the tables if they are missing."""
    for table in TABLES:
        store.engine.execute(ddl(table, store.dialect))


def recompute(store: Store, *, marks: dict[str, int]) -> int:
    """Recompute every program and day with a fact above its mark (``MARKS``); the days touched."""
    store.run("DELETE FROM touched_days WHERE program_id IS NOT NULL")
    store.run(_TOUCH, **{name: marks[name] for name in MARKS})
    ((touched,),) = store.query("SELECT count(*) FROM touched_days")
    if touched:
        for table, statement in _RECOMPUTE.items():
            with store.atomic():
                store.run(f"DELETE FROM {table} WHERE {_TOUCHED}")
                store.run(statement)
    return int(touched)


# The days (per program) of a fact's rows above the mark: delete and insert use the same predicate,
# so a recomputation killed between them is redone whole by the next.
def _days_above(fact: str, day: str, alias: str = "") -> str:
    return f"({alias}program_id, {alias}{day}) IN (SELECT program_id, {day} FROM {fact} WHERE id > :mark)"


_CLICKS = f"""
INSERT INTO click_days (program_id, clicked_on, link_id, member_id, group_id, clicks)
SELECT c.program_id, c.clicked_on, c.link_id, c.member_id, l.group_id, count(*)
FROM clicks AS c JOIN links AS l ON l.id = c.link_id
WHERE c.human AND {_days_above("clicks", "clicked_on", "c.")}
GROUP BY c.program_id, c.clicked_on, c.link_id, c.member_id, l.group_id
"""

_CLAIMS = f"""
INSERT INTO claim_days (program_id, claimed_on, link_id, member_id, group_id, claims)
SELECT program_id, claimed_on, link_id, member_id, group_id, count(*) FROM claims
WHERE {_days_above("claims", "claimed_on")}
GROUP BY program_id, claimed_on, link_id, member_id, group_id
"""

# fact: (its local day, the kept table, the statement that counts the days above the mark again)
_RECOUNT = {
    "clicks": ("clicked_on", "click_days", _CLICKS),
    "claims": ("claimed_on", "claim_days", _CLAIMS),
}
COUNTED = tuple(_RECOUNT)


def recount(store: Store, fact: str, *, mark: int) -> int:
    """Count again the ``fact`` (clicks or claims) of every program and day with a row above
    ``mark``; the days touched."""
    day, table, insert = _RECOUNT[fact]
    return redo_above(
        store,
        mark=mark,
        touched=f"SELECT count(*) FROM (SELECT DISTINCT program_id, {day} FROM {fact} WHERE id > :mark) AS d",
        table=table,
        where=_days_above(fact, day),
        insert=insert,
    )


# The kept tables recomputed on marks of their own (``rollups.<name>``): the fact whose ids each mark
# follows, and the recomputation.
ON_MARKS: dict[str, tuple[str, Callable[..., int]]] = {
    "members": ("members", tree.recompute_tree),
    "sellers": ("orders", tree.recompute_sales),
    **{fact: (fact, partial(recount, fact=fact)) for fact in COUNTED},
}
