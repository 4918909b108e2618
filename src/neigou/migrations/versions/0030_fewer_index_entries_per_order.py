"""orders and ledger postings: no index entry that no read uses

* ``ix_orders_group_paid`` and ``ix_orders_event_member`` become partial (``WHERE group_id IS NOT
  NULL``, ``WHERE event_id IS NOT NULL``). Most orders carry neither, and every query that reads these
  indexes asks for one group or one event (an equality, which implies the column is set), so the
  entries of the orders without one were paid for by every insert and read by nothing.
* ``ix_ledger_postings_source`` (``source``, ``source_id``) and ``ix_ledger_postings_program_id`` go:
  no query looks postings up by their source or program (a member's statement and balances go through
  the entries; a posting is found by its ``key`` or its id).

An imported order writes about four index entries fewer (two on the order, two on its posting).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-05 08:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PARTIAL = (
    ("ix_orders_group_paid", ["group_id", "paid_at"], "group_id IS NOT NULL"),
    ("ix_orders_event_member", ["event_id", "member_id"], "event_id IS NOT NULL"),
)
_UNREAD = (
    ("ix_ledger_postings_source", ["source", "source_id"]),
    ("ix_ledger_postings_program_id", ["program_id"]),
)


def upgrade() -> None:
    for name, columns, where in _PARTIAL:
        op.drop_index(name, table_name="orders")
        op.create_index(name, "orders", columns, postgresql_where=sa.text(where), sqlite_where=sa.text(where))
    for name, _columns in _UNREAD:
        op.drop_index(name, table_name="ledger_postings")


def downgrade() -> None:
    for name, columns in _UNREAD:
        op.create_index(name, "ledger_postings", columns)
    for name, columns, _where in _PARTIAL:
        op.drop_index(name, table_name="orders")
        op.create_index(name, "orders", columns)
