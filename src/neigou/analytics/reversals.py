"""Commission taken back by a confirmed risk case, carried into the analytics store.

Confirming a risk case (``risk.review``) takes back every commission of the case's orders that was
still standing (``reversed_fen = amount_fen``) in one ledger posting (``commission_reversed``, source
``risk_case``); from then on those orders' commission is worth nothing, whatever refunds come later.
The store's commission facts are append-only and follow refunds by rule, so the confirmation is a fact
of its own: ``voids``, one row per confirmation posting and order (``id`` the posting's id, its
watermark, logged as ``voids``). Every worth formula reads ``kept_commissions``, the commission facts
of the orders not voided, so economics, customer value, the simulation and a member's own figures no
longer count it; the refresh recomputes the days and customers of the voided orders (``rollups.voids``,
``firsts.voids``).
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.analytics.store import Store
from neigou.ledger.models import Posting, PostingKind
from neigou.orders.models import Order
from neigou.risk.models import CaseOrder

NAME = "voids"
RISK_SOURCE = "risk_case"
DDL = {
    "duckdb": "CREATE TABLE IF NOT EXISTS voids (id BIGINT, program_id BIGINT, order_id BIGINT)",
    "clickhouse": "CREATE TABLE IF NOT EXISTS voids (id Int64, program_id Int64, order_id Int64) "
    "ENGINE = MergeTree ORDER BY (id, order_id)",
}
# What every worth formula reads: the commission facts of orders no confirmed risk case voided.
VIEW = (
    "CREATE VIEW IF NOT EXISTS kept_commissions AS "
    "SELECT * FROM commissions WHERE order_id NOT IN (SELECT order_id FROM voids)"
)


def ensure(store: Store) -> None:
    """Create the table and the view if they are missing."""
    store.engine.execute(DDL[store.dialect])
    store.engine.execute(VIEW)


def copy(
    session: Session, store: Store, *, last: int, seen: int, moved: Callable[[pa.Array, int], None]
) -> int:
    """Copy the orders of the confirmations posted above ``last`` (deleting what lies above it first,
    as every fact's copy does); the confirmations new to the store (above ``seen``, what an earlier
    refresh copied provisionally on PostgreSQL: ``analytics.horizon``)."""
    store.run("DELETE FROM voids WHERE id > :last", last=last)
    rows = session.execute(
        select(Posting.id, Order.program_id, CaseOrder.order_id)
        .join(CaseOrder, CaseOrder.case_id == Posting.source_id)
        .join(Order, Order.id == CaseOrder.order_id)
        .where(
            Posting.id > last,
            Posting.kind == PostingKind.COMMISSION_REVERSED,
            Posting.source == RISK_SOURCE,
        )
        .order_by(Posting.id, CaseOrder.order_id)
    ).all()
    if not rows:
        return 0
    ids = [int(r[0]) for r in rows]
    store.engine.load(
        "voids",
        pa.table(
            {
                "id": pa.array(ids, pa.int64()),
                "program_id": pa.array([int(r[1]) for r in rows], pa.int64()),
                "order_id": pa.array([int(r[2]) for r in rows], pa.int64()),
            }
        ),
    )
    postings = sorted(set(ids))
    moved(pa.array(postings, pa.int64()), postings[-1])
    return sum(1 for posting in postings if posting > seen)
