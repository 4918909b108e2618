"""event_reservations: when a full refund released a reservation

``event_reservations.released_at`` (nullable, UTC): when a full refund gave the reservation's units
back (``events.refunds.release_refunded``, dated as that refund), null on every other reservation. A
released reservation is ``expired`` like a hold that ran out unpaid, and nothing else on the row told
them apart, so the gate's seeding (``events.seeds.seed_state``) counted as released every expired
reservation of a shopper with an order of the event refunded in full, unpaid expiries included. It now
reads this column.

Reservations stored before keep the earlier rule, as nothing better was kept: each expired reservation
of a shopper with an order of its event refunded in full (``refunded_fen`` not 0 and at least
``paid_fen``, the negation of ``holds.still_pays`` frozen here) gets the time of the latest refund of
those orders (the reservation's ``expires_at`` where no refund row is found). That set holds every
reservation a refund released and may hold unpaid expiries of the same shoppers: a released set too
large only skips give-backs with nothing to give, where one too small would give units back twice. One
set-based ``UPDATE`` on both databases; no index (the seeding reads an event's expired reservations by
``ix_event_reservations_hold``).

Downgrading drops the column: the reservations stay, the seeding reading the earlier rule again.

Revision ID: 0057
Revises: 0056
Create Date: 2026-12-07 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0057"
down_revision: str | None = "0056"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RESERVATIONS = sa.table(
    "event_reservations",
    sa.column("id", sa.BigInteger),
    sa.column("event_id", sa.BigInteger),
    sa.column("customer_ref_hash", sa.String),
    sa.column("status", sa.String),
    sa.column("expires_at", sa.DateTime(timezone=True)),
    sa.column("released_at", sa.DateTime(timezone=True)),
)
_ORDERS = sa.table(
    "orders",
    sa.column("id", sa.BigInteger),
    sa.column("event_id", sa.BigInteger),
    sa.column("customer_ref_hash", sa.String),
    sa.column("paid_fen", sa.BigInteger),
    sa.column("refunded_fen", sa.BigInteger),
)
_REFUNDS = sa.table(
    "refunds", sa.column("order_id", sa.BigInteger), sa.column("at", sa.DateTime(timezone=True))
)


def upgrade() -> None:
    op.add_column("event_reservations", sa.Column("released_at", sa.DateTime(timezone=True), nullable=True))
    backfill(op.get_bind())


def backfill(conn: sa.Connection) -> int:
    """Each expired reservation of a shopper with an order of its event refunded in full gets the latest
    refund of those orders' time (its ``expires_at`` without one); how many."""
    r, o, f = _RESERVATIONS, _ORDERS, _REFUNDS
    refunded_in_full = sa.and_(
        o.c.event_id == r.c.event_id,
        o.c.customer_ref_hash == r.c.customer_ref_hash,
        o.c.refunded_fen != 0,
        o.c.refunded_fen >= o.c.paid_fen,
    )
    latest = (
        sa.select(sa.func.max(f.c.at)).select_from(f.join(o, o.c.id == f.c.order_id)).where(refunded_in_full)
    ).scalar_subquery()
    done = conn.execute(
        r.update()
        .where(r.c.status == "expired", sa.exists().where(refunded_in_full))
        .values(released_at=sa.func.coalesce(latest, r.c.expires_at))
    )
    return int(done.rowcount or 0)


def downgrade() -> None:
    with op.batch_alter_table("event_reservations") as batch:
        batch.drop_column("released_at")
