"""The invite tree and each member's last sale, kept by the refresh, so the fission report reads one
row per member instead of walking the tree (a recursive statement, slow on ClickHouse) and joining
every order.

* ``member_tree``: per member, its level in the program's invite tree (roots, who joined invited by
  no one, are level 1) and ``reach_on``, the latest join day on its path from the root. The report's
  tree at a day D (members joined by D, reached through members joined by D) is exactly the members
  with ``reach_on <= D``, at the same levels. A program with a member above the mark is walked again
  whole (members are few; a member copied late may be anyone's inviter).
* ``member_sales``: per program and member, the latest ``paid_at`` of the orders it sold; "sold
  something 30 days or more after joining" is ``last_paid_at >= joined_at + 30 days``. Members with an
  order above the mark are recomputed.

Both are recomputed with ``analytics.store.redo_above`` (delete and insert under one predicate).
"""

from __future__ import annotations

from neigou.analytics.store import Store, redo_above

_TREE_PROGRAMS = "program_id IN (SELECT program_id FROM members WHERE id > :mark)"

_TREE = f"""
INSERT INTO member_tree (program_id, member_id, level, reach_on, joined_on, joined_at)
WITH RECURSIVE tree AS (
    SELECT program_id, id, 1 AS level, joined_on AS reach_on, joined_on, joined_at FROM members
    WHERE inviter_id IS NULL AND {_TREE_PROGRAMS}
    UNION ALL
    SELECT m.program_id, m.id, t.level + 1 AS level, greatest(t.reach_on, m.joined_on) AS reach_on,
           m.joined_on, m.joined_at
    FROM members AS m JOIN tree AS t ON m.inviter_id = t.id
    WHERE m.program_id = t.program_id
)
SELECT program_id, id, level, reach_on, joined_on, joined_at FROM tree
"""

_SELLERS = "member_id IN (SELECT member_id FROM orders WHERE id > :mark AND member_id IS NOT NULL)"

_SALES = f"""
INSERT INTO member_sales (program_id, member_id, last_paid_at)
SELECT program_id, member_id, max(paid_at) FROM orders WHERE {_SELLERS}
GROUP BY program_id, member_id
"""


def recompute_tree(store: Store, *, mark: int) -> int:
    """Walk again the tree of every program with a member above ``mark``; the programs walked."""
    return redo_above(
        store,
        mark=mark,
        touched="SELECT count(*) FROM (SELECT DISTINCT program_id FROM members WHERE id > :mark) AS p",
        table="member_tree",
        where=_TREE_PROGRAMS,
        insert=_TREE,
    )


def recompute_sales(store: Store, *, mark: int) -> int:
    """Recompute the last sale of every member with an order above ``mark``; the members."""
    return redo_above(
        store,
        mark=mark,
        touched="SELECT count(*) FROM (SELECT DISTINCT member_id FROM orders "
        "WHERE id > :mark AND member_id IS NOT NULL) AS m",
        table="member_sales",
        where=_SELLERS,
        insert=_SALES,
    )
