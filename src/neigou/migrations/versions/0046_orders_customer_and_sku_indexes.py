"""orders and order lines: indexes for a customer's orders and a sku's buyers

* ``ix_orders_customer_program`` (``customer_ref_hash``, ``program_id``) on ``orders``. The customer
  card (its purchases and the anchors of the bought-together signal, read from the orders attributed to
  the member whose book holds the customer), the bought-together baskets of the anchors' latest buyers,
  the customer book's derive and the opt-out's erasure each ask for one shopper's orders, by equality on
  both columns (the erasure on the hash alone, in every program). With no index they scanned the whole
  table; the hash leads, so the unique (``program_id``, ``external_id``) index stays the one full index
  led by ``program_id``. Every order has a reference, so the index cannot be partial.
* ``ix_order_lines_sku_order`` (``sku``, ``order_id``) on ``order_lines``. The bought-together signal
  looks up the lines of at most five anchor skus and needs only their orders: the order ids come from the
  index alone, with no visit to the table.

Each imported order writes one more index entry, and each of its lines one more
(``bench/bench_order_import.py``, docs/benchmarks.md). Building them reads each table once; on
PostgreSQL a large table is better indexed ``CONCURRENTLY`` by hand before upgrading, under these names.

Downgrading drops both.

Revision ID: 0046
Revises: 0045
Create Date: 2026-12-07 00:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0046"
down_revision: str | None = "0045"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_INDEXES = (
    ("ix_orders_customer_program", "orders", ["customer_ref_hash", "program_id"]),
    ("ix_order_lines_sku_order", "order_lines", ["sku", "order_id"]),
)


def upgrade() -> None:
    for name, table, columns in _INDEXES:
        op.create_index(name, table, columns, if_not_exists=True)


def downgrade() -> None:
    for name, table, _columns in _INDEXES:
        op.drop_index(name, table_name=table, if_exists=True)
