"""event_invitations: one invitation per shopper per event, under a unique index

A shopper is one invitation's guest at an event: a reservation binds an unbound code only to a shopper
no other code of the event is bound to. Nothing in the database held it, so rows from before (two
concurrent reservations with two codes, a gate state seeded from another layout) may bind two codes of
one event to one shopper, and with them two per-person limits. A unique index on
``(event_id, customer_ref_hash)`` now holds it (a code bound to nobody is NULL, and NULLs never clash).

Before the index, each (event, shopper) keeps its oldest binding: the first by ``bound_at``, then id
(a binding without a time last), which is the invitation the event report credits the shopper's orders
to (``events.repository._first_invitation``), so every order keeps its credit. The others are detached,
not removed: their ``customer_ref_hash`` becomes ``detached:<id>``, naming nobody. A removal would
orphan what points at them (``event_reservations.invitation_id`` has no foreign key to refuse it,
``event_invitation_requests.codes`` lists their codes, the employee's ``invitations`` count took them
from the guest quota); a reset to NULL would hand a used code to the next shopper who types it, a guest
place the employee never gave. Detached, a code stays used (as an opt-out's tombstone keeps one) and
its reservations still name it. How many were detached is logged, never the shoppers.

Downgrading drops the index; detached codes stay detached.

Revision ID: 0047
Revises: 0046
Create Date: 2026-12-07 00:40:00.000000
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0047"
down_revision: str | None = "0046"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

INDEX = "uq_event_invitations_shopper"
DETACHED = "detached:"
_INVITATIONS = sa.table(
    "event_invitations",
    sa.column("id", sa.BigInteger),
    sa.column("event_id", sa.BigInteger),
    sa.column("customer_ref_hash", sa.String),
    sa.column("bound_at", sa.DateTime),
)


def upgrade() -> None:
    detach(op.get_bind())
    op.create_index(INDEX, "event_invitations", ["event_id", "customer_ref_hash"], unique=True)


def detach(conn: sa.Connection) -> int:
    """Detach every binding of a shopper in an event but the oldest; how many were detached."""
    t = _INVITATIONS
    rank = (
        sa.func.row_number()
        .over(
            partition_by=(t.c.event_id, t.c.customer_ref_hash),
            order_by=(sa.case((t.c.bound_at.is_(None), 1), else_=0), t.c.bound_at, t.c.id),
        )
        .label("rank")
    )
    ranked = sa.select(t.c.id, rank).where(t.c.customer_ref_hash.is_not(None)).subquery()
    later = sa.select(ranked.c.id).where(ranked.c.rank > 1)
    detached = conn.execute(
        t.update()
        .where(t.c.id.in_(later))
        .values(customer_ref_hash=sa.literal(DETACHED) + sa.cast(t.c.id, sa.String))
    )
    count = int(detached.rowcount or 0)
    if count:
        log.warning(
            "event invitations detached (their shopper held an older invitation of the same event): %d",
            count,
        )
    return count


def downgrade() -> None:
    op.drop_index(INDEX, table_name="event_invitations")
