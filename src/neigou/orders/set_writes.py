"""A batch of new orders written set-based (PostgreSQL): commission and ledger legs computed in SQL.

The batch hands over what only Python knows (each order's head with an id taken from the sequence
beforehand and its commission total, its priced lines, and the chain of members who earn on it with
their tier's rate). The orders are COPYed in binary straight into ``orders``, inside a savepoint, then
their lines into ``order_lines`` (new orders' lines cannot clash), and the earners to a staging table
that lives as long as the transaction (temporary, ``ON COMMIT DROP``: a batch that fails or commits
leaves neither tables nor rows on its pooled connection); one statement (``_WRITE_COPIED``) does the
rest:

* each earner's commission is the sum over the order's lines of the same floors as
  ``orders.commission.Line.share`` (``floor(pool × bp / 10^4)`` for a platform's fee or a fixed
  pool, ``floor(paid × rate × bp / 10^8)`` otherwise), zero amounts left out; the order's total
  is the same rule in Python (``batch_rows.commission_total``, tested against ``commission.compute``);
* the commissions go in, and each earning order's posting (``order:<id>:earned``) and
  entries: each member's pending account up by their sum, the platform's expense down by the total
  (``ledger.legs.earned``), so every posting balances by construction.

A key already taken (a batch sent again, a resumed file, or a concurrent writer: a large batch does not
look its keys up first) breaks the unique key of ``orders`` during the COPY: the batch goes back to the
savepoint and stages its orders and lines too, and ``_WRITE`` inserts the orders
``ON CONFLICT DO NOTHING`` on (program, external id), writing the rest only for the orders that went
in. COPYing straight in costs the server less than staging the rows and inserting them from there.

``_EARNED_FROM`` is the one statement of the commission rule in SQL, over the staged lines (``EARNED``)
or the stored ones; ``earned_rows`` runs ``EARNED`` alone over staged lines and earners (SQLite and
PostgreSQL), which is how the tests compare it with the pure rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_core import to_json
from sqlalchemy import text
from sqlalchemy.orm import Session

from neigou.kit.bulk import copy_rows, copy_unless_taken, insert_driver_rows
from neigou.orders.row_writes import OrderHead

LINE_COLUMNS = (
    "order_id",
    "line_no",
    "sku",
    "quantity",
    "list_fen",
    "paid_fen",
    "commission_rate_bp",
    "fixed_commission_fen",
    "pool_fen",
)
LINE_TYPES = ("int8", "int4", "varchar", "int4", "int8", "int8", "int4", "int8", "int8")
EARNER_COLUMNS = ("order_id", "program_id", "member_id", "level", "tier_code", "bp")
EARNER_TYPES = ("int8", "int8", "int8", "int4", "varchar", "int4")
# An order's id, its head, its commission total (``batch_rows.commission_total``) and nothing refunded.
ORDER_COLUMNS = ("id", *OrderHead._fields, "commission_fen", "refunded_fen")
ORDER_TYPES = (
    "int8",
    "int8",
    "varchar",
    "varchar",
    "varchar",
    "int8",
    "int8",
    "int8",
    "varchar",
    "bool",
    "int8",
    "timestamptz",
    "varchar",
    "jsonb",
    "varchar",
    "timestamptz",
    "int8",
    "int8",
)

_STAGES = {
    "import_lines": "order_id BIGINT NOT NULL, line_no INTEGER NOT NULL, sku VARCHAR(64) NOT NULL, "
    "quantity INTEGER NOT NULL, list_fen BIGINT NOT NULL, paid_fen BIGINT NOT NULL, "
    "commission_rate_bp INTEGER NOT NULL, fixed_commission_fen BIGINT, pool_fen BIGINT NOT NULL",
    "import_earners": "order_id BIGINT NOT NULL, program_id BIGINT NOT NULL, member_id BIGINT NOT NULL, "
    "level INTEGER NOT NULL, tier_code VARCHAR(40), bp INTEGER NOT NULL",
}

# The commission rule of ``orders.commission`` in SQL: per earner, the sum of the per-line floors
# (every amount is non-negative, so integer division is the floor on both databases). A platform's
# fee or a fixed pool is stored as the line's pool with no rate (a rate of 0 pays a pool of 0).
_EARNED_FROM = """
SELECT e.order_id, e.program_id, e.member_id, e.level, e.tier_code, e.bp,
       SUM(CASE WHEN l.fixed_commission_fen IS NOT NULL OR l.commission_rate_bp = 0
                THEN l.pool_fen * e.bp / 10000
                ELSE l.paid_fen * l.commission_rate_bp * e.bp / 100000000 END) AS amount_fen
FROM import_earners e JOIN {lines} l ON l.order_id = e.order_id
GROUP BY e.order_id, e.program_id, e.member_id, e.level, e.tier_code, e.bp
"""
EARNED = _EARNED_FROM.format(lines="import_lines")
# The same over the lines already COPYed into ``order_lines`` (the batch's orders' ids lie between
# ``:first`` and ``:last``; the earners pick the batch's own).
_EARNED_STORED = _EARNED_FROM.format(
    lines="(SELECT * FROM order_lines WHERE order_id BETWEEN :first AND :last)"
)

# Each earning order's posting and its entries, from ``posted`` (the order, its posting id and its
# total) and ``earned``: each member's pending account up by their sum, the platform's expense down by
# the total.
_POSTINGS_AND_ENTRIES = """postings AS (
  INSERT INTO ledger_postings (id, program_id, kind, key, source, source_id, at, memo)
  SELECT posting_id, program_id, 'commission_earned', 'order:' || order_id || '\\:earned', 'order',
         order_id, paid_at, external_id
  FROM posted
),
entries AS (
  INSERT INTO ledger_entries (posting_id, program_id, member_id, account, amount_fen, at)
  SELECT p.posting_id, p.program_id, m.member_id, 'pending', m.amount_fen, p.paid_at
  FROM posted p
  JOIN (SELECT order_id, member_id, SUM(amount_fen) AS amount_fen FROM earned GROUP BY order_id, member_id) m
    ON m.order_id = p.order_id
  UNION ALL
  SELECT posting_id, program_id, NULL, 'commission_expense', -total, paid_at FROM posted
)"""
_ORDER_NAMES = ", ".join(ORDER_COLUMNS)
_ORDER_STAGE = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS import_orders ON COMMIT DROP AS SELECT {_ORDER_NAMES} "  # noqa: S608
    "FROM orders WITH NO DATA"
)


def _earned_and_totals(earned: str) -> str:
    """The two CTEs both writes start with: the non-zero earnings of ``earned`` and each order's total."""
    return f"""WITH earned AS MATERIALIZED (
  SELECT * FROM ({earned}) AS all_earned WHERE amount_fen > 0
),
totals AS MATERIALIZED (SELECT order_id, SUM(amount_fen) AS total FROM earned GROUP BY order_id)"""  # noqa: S608


_WRITE = f"""
{_earned_and_totals(EARNED)},
ins AS (
  INSERT INTO orders ({_ORDER_NAMES}, completed_at, settlement_id)
  SELECT {", ".join(f"o.{c}" for c in ORDER_COLUMNS)}, NULL, NULL FROM import_orders o
  ON CONFLICT (program_id, external_id) DO NOTHING
  RETURNING id, program_id, external_id, paid_at
),
lines AS (
  INSERT INTO order_lines ({", ".join(LINE_COLUMNS)})
  SELECT {", ".join(f"l.{c}" for c in LINE_COLUMNS)} FROM import_lines l JOIN ins ON ins.id = l.order_id
),
earnings AS (
  INSERT INTO commissions (order_id, program_id, member_id, level, tier_code, bp, amount_fen, reversed_fen)
  SELECT e.order_id, e.program_id, e.member_id, e.level, e.tier_code, e.bp, e.amount_fen, 0
  FROM earned e JOIN ins ON ins.id = e.order_id
),
posted AS MATERIALIZED (
  SELECT ins.id AS order_id,
         nextval((SELECT pg_get_serial_sequence('ledger_postings', 'id')::regclass)) AS posting_id,
         ins.program_id, ins.external_id, ins.paid_at, t.total
  FROM ins JOIN totals t ON t.order_id = ins.id
),
{_POSTINGS_AND_ENTRIES}
SELECT array_agg(id) FROM ins
"""  # noqa: S608 - names from this module, never from input


# After the orders were COPYed in: all of them went in, so their lines and commissions go in without a
# join, and the postings read each earning order's program, external id and time back from ``orders``
# (a range of its primary key: the batch's ids, taken together from the sequence, lie close together).
_WRITE_COPIED = f"""
{_earned_and_totals(_EARNED_STORED)},
earnings AS (
  INSERT INTO commissions (order_id, program_id, member_id, level, tier_code, bp, amount_fen, reversed_fen)
  SELECT e.order_id, e.program_id, e.member_id, e.level, e.tier_code, e.bp, e.amount_fen, 0 FROM earned e
),
posted AS MATERIALIZED (
  SELECT o.id AS order_id,
         nextval((SELECT pg_get_serial_sequence('ledger_postings', 'id')::regclass)) AS posting_id,
         o.program_id, o.external_id, o.paid_at, t.total
  FROM totals t JOIN orders o ON o.id = t.order_id
  WHERE o.id BETWEEN :first AND :last
),
{_POSTINGS_AND_ENTRIES}
SELECT 1
"""  # noqa: S608 - names from this module, never from input


def _stage(
    session: Session, table: str, columns: Sequence[str], types: Sequence[str], rows: list[Any]
) -> None:
    """Make the staging table if this transaction has not, empty it and fill it: binary COPY on
    PostgreSQL. On PostgreSQL it is dropped when the transaction ends (``ON COMMIT DROP``, and a
    rollback undoes its creation), so a pooled connection never carries a batch's staging tables or
    rows to its next user; on SQLite the caller drops it (``_unstage``)."""
    postgres = session.connection().dialect.name == "postgresql"
    drop = " ON COMMIT DROP" if postgres else ""
    session.execute(text(f"CREATE TEMPORARY TABLE IF NOT EXISTS {table} ({_STAGES[table]}){drop}"))
    session.execute(text(f"{'TRUNCATE' if postgres else 'DELETE FROM'} {table}"))
    if not rows:
        return
    if postgres:
        copy_rows(session, table, columns, rows, types=types)
    else:
        insert_driver_rows(session, table, columns, rows)


def _unstage(session: Session) -> None:
    """Drop the staging tables on SQLite, which has no ``ON COMMIT DROP``."""
    if session.connection().dialect.name != "postgresql":
        for table in _STAGES:
            session.execute(text(f"DROP TABLE IF EXISTS temp.{table}"))


def earned_rows(
    session: Session, lines: list[tuple[Any, ...]], earners: list[tuple[Any, ...]]
) -> list[tuple[int, int, int, int, str | None, int, int]]:
    """``EARNED`` alone over these lines and earners (``LINE_COLUMNS``, ``EARNER_COLUMNS``), zero
    amounts included: (order, program, member, level, tier, bp, amount) per earner and order."""
    try:
        _stage(session, "import_lines", LINE_COLUMNS, LINE_TYPES, lines)
        _stage(session, "import_earners", EARNER_COLUMNS, EARNER_TYPES, earners)
        rows = session.execute(text(f"{EARNED} ORDER BY 1, 4")).all()
    finally:
        _unstage(session)
    return [(int(o), int(p), int(m), int(lv), t, int(bp), int(a)) for o, p, m, lv, t, bp, a in rows]


def write(
    session: Session,
    orders: list[tuple[Any, ...]],
    lines: list[tuple[Any, ...]],
    earners: list[tuple[Any, ...]],
) -> dict[tuple[int, str], int]:
    """Write new orders (``ORDER_COLUMNS``, ids from the sequence) with their lines, commissions and
    postings (PostgreSQL). Returns ``(program, external id) → id`` of the orders that went in (an
    order stored before, or by a concurrent writer first, is left out, with everything that hangs from
    it)."""
    _stage(session, "import_earners", EARNER_COLUMNS, EARNER_TYPES, earners)
    # Temporary tables are never analyzed by autovacuum: without their sizes the planner would join the
    # staged rows with nested loops. Nested loops are ruled out for the write instead of analyzing the
    # tables per batch (a tenth of the server's time per batch): every join in it is between whole sets
    # and hashes or merges.
    session.execute(text("SET LOCAL enable_nestloop = off"))
    # The pricing snapshots (plain JSON documents) encoded by pydantic-core's encoder, here and in
    # ``_write_staged``: a quarter of ``json.dumps``'s time per order; the server parses either into the
    # same ``jsonb``.
    if copy_unless_taken(session, "orders", ORDER_COLUMNS, orders, types=ORDER_TYPES, json_dumps=to_json):
        copy_rows(session, "order_lines", LINE_COLUMNS, lines, types=LINE_TYPES)  # new orders' lines
        ids = [int(o[0]) for o in orders]
        session.execute(text(_WRITE_COPIED), {"first": min(ids), "last": max(ids)})
        inserted = {(int(o[1]), str(o[2])): int(o[0]) for o in orders}
    else:
        _stage(session, "import_lines", LINE_COLUMNS, LINE_TYPES, lines)
        inserted = _write_staged(session, orders)
        session.execute(text("TRUNCATE import_lines"))
    session.execute(text("SET LOCAL enable_nestloop = on"))  # LOCAL: never outlives the transaction
    # Dropped at commit (or rollback) anyway; emptied now for a second batch in the same transaction.
    session.execute(text("TRUNCATE import_earners"))
    return inserted


def _write_staged(session: Session, orders: list[tuple[Any, ...]]) -> dict[tuple[int, str], int]:
    """The orders through a staging table and ``_WRITE``: those whose key is free go in, with the rest."""
    session.execute(text(_ORDER_STAGE))
    session.execute(text("TRUNCATE import_orders"))
    copy_rows(session, "import_orders", ORDER_COLUMNS, orders, types=ORDER_TYPES, json_dumps=to_json)
    went_in = set(session.scalar(text(_WRITE)) or ())  # the ids, as one array
    session.execute(text("TRUNCATE import_orders"))
    return {(int(o[1]), str(o[2])): int(o[0]) for o in orders if o[0] in went_in}
