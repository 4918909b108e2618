"""events: an employee number is tied to the first shopper who reserves with it

``event_employees.customer_ref_hash`` holds the hashed customer reference of the first shopper who
reserved with the employee's number (NULL: nobody yet), as ``event_invitations`` binds a code: a second
shopper with the same number is refused (``employee_no_taken``), so one number buys within one
per-person limit and its guests come through the ``guests_per_employee`` invitation codes.

An entry some shopper reserved with already is bound to the shopper of its earliest reservation
(``reserved_at``, then id), in one statement; an opted-out shopper's reservations carry the opt-out's
tombstone, and so does the entry then. The other shoppers who reserved with that number keep their
reservations; they are refused only from now on. Downgrading drops the column.

Revision ID: 0044
Revises: 0043
Create Date: 2026-12-06 21:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0044"
down_revision: str | None = "0043"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIND_FIRST = """
UPDATE event_employees SET customer_ref_hash = (
    SELECT r.customer_ref_hash FROM event_reservations r
    WHERE r.event_id = event_employees.event_id AND r.employee_id = event_employees.id
    ORDER BY r.reserved_at, r.id
    LIMIT 1
)
WHERE EXISTS (
    SELECT 1 FROM event_reservations r
    WHERE r.event_id = event_employees.event_id AND r.employee_id = event_employees.id
)
"""


def upgrade() -> None:
    with op.batch_alter_table("event_employees", schema=None) as batch_op:
        batch_op.add_column(sa.Column("customer_ref_hash", sa.String(length=64), nullable=True))
    op.execute(BIND_FIRST)


def downgrade() -> None:
    with op.batch_alter_table("event_employees", schema=None) as batch_op:
        batch_op.drop_column("customer_ref_hash")
