"""orders: the settlement's and the links' indexes hold only the orders they are read for

* ``ix_orders_state_completed`` (``commission_state``, ``completed_at``, ``program_id``) becomes
  partial, ``WHERE completed_at IS NOT NULL``. Its one reader, the settlement, asks for orders
  completed before a cutoff (``completed_at <= :cutoff``, which implies the column is set); a paid order
  not yet completed (every order an import or a platform feed brings in as paid) was an entry no read
  ever used until completion.
* ``ix_orders_program_link`` (``program_id``, ``link_code``) becomes partial, ``WHERE link_code IS NOT
  NULL``: every query that reads it asks for a link's orders (an equality or a join on the code).

An imported paid order writes one index entry fewer, an order without a link two.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 06:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PARTIAL = (
    (
        "ix_orders_state_completed",
        ["commission_state", "completed_at", "program_id"],
        "completed_at IS NOT NULL",
    ),
    ("ix_orders_program_link", ["program_id", "link_code"], "link_code IS NOT NULL"),
)


def upgrade() -> None:
    for name, columns, where in _PARTIAL:
        op.drop_index(name, table_name="orders")
        op.create_index(name, "orders", columns, postgresql_where=sa.text(where), sqlite_where=sa.text(where))


def downgrade() -> None:
    for name, columns, _where in _PARTIAL:
        op.drop_index(name, table_name="orders")
        op.create_index(name, "orders", columns)
