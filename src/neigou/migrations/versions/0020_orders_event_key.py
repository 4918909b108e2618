"""orders: no per-row foreign key on the event an order counts for

The order import writes orders set-based; the key on ``orders.event_id`` queued a check for every
order inserted (NULL or not) and was the last per-row key of the bulk-written tables checked on
insert. The batch already looks every named event up once and refuses an order whose event is not
in its program (``event_not_found``), and events are never deleted, so the key goes.

What remains on the bulk-written tables (orders, order lines, commissions, ledger postings and
entries): primary keys; the unique keys that make the writes idempotent (orders per program and
external id, lines per order and number, commissions per order, member and level, posting keys);
the CHECK constraints on amounts; and ``orders.settlement_id``, which is NULL when an order is written
and set later by a settlement run, where the key checks a real reference once per settled order.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 14:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_constraint("fk_orders_event_id_events", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_foreign_key("fk_orders_event_id_events", "events", ["event_id"], ["id"])
