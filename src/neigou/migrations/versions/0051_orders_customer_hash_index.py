"""orders: a customer's orders by a hash index on PostgreSQL

``ix_orders_customer_program`` (migration 0046) was a B-tree on (``customer_ref_hash``, ``program_id``):
each entry holds the 64-character reference, and references arrive in no order, so every imported
order wrote one entry into a random page of a large index. At a million imported orders it cost more
server time and WAL than any other index of the import (docs/benchmarks.md, 7 December 2026). Every
reader asks for one customer's orders by equality (the customer card, the bought-together baskets, the
book's derive, the opt-out's erasure) and a customer has few orders, so the program needs no place in
the index: ``ix_orders_customer`` is a hash index on ``customer_ref_hash`` on PostgreSQL (each entry a
4-byte hash code) and a B-tree on the same column on SQLite, which has no hash index.

On PostgreSQL the upgrade runs in the migrations' one transaction: dropping the old index locks
``orders`` until the commit, so building the new one in the same transaction would stop every order's
reads and writes for the whole build on a large table. There, create the new index by hand first,
``CREATE INDEX CONCURRENTLY ix_orders_customer ON orders USING hash (customer_ref_hash)``, and the
upgrade skips it (``if_not_exists``): it only drops the old index, a moment's lock. (An invalid index
left by a failed concurrent build must be dropped before retrying.)

Downgrading puts the B-tree of migration 0046 back.

Revision ID: 0051
Revises: 0050
Create Date: 2026-12-07 04:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0051"
down_revision: str | None = "0050"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "ix_orders_customer_program"
NEW = "ix_orders_customer"


def upgrade() -> None:
    op.drop_index(OLD, table_name="orders", if_exists=True)
    op.create_index(NEW, "orders", ["customer_ref_hash"], postgresql_using="hash", if_not_exists=True)


def downgrade() -> None:
    op.drop_index(NEW, table_name="orders", if_exists=True)
    op.create_index(OLD, "orders", ["customer_ref_hash", "program_id"], if_not_exists=True)
