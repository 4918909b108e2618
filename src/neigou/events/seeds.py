"""What the reservation gate is seeded with: an event's counters, whitelist, invitations, the
reservations made under a request id and those a refund released, as one snapshot of the database
holds them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.events.gate_values import Prior, Seed
from neigou.events.models import (
    CustomerCount,
    EventEmployee,
    EventItem,
    Invitation,
    Reservation,
    ReservationStatus,
)
from neigou.kit.db import read_snapshot


def seed_state(session: Session, event_id: int) -> Seed:
    """An event's counters, whitelist, invitations and request ids as the database holds them, and the
    reservations a refund released (``Seed.released``), all read in one snapshot (``kit.db.read_snapshot``:
    REPEATABLE READ on PostgreSQL, one read transaction on SQLite). A refund commits its release and
    the counters it gives back together, so the snapshot sees both or neither: counters that still count
    a refund's units go with a set that leaves its reservations out (its give-back returns them), and
    counters that leave them out with a set that holds them (its give-back skips them). Read under READ
    COMMITTED, a refund committed between the two reads left its units counted and its reservations in
    the set: taken until the next seeding (never oversold, but never sold again either)."""
    read_snapshot(session)
    try:
        return _read(session, event_id)
    finally:
        session.rollback()  # end the snapshot and give the connection back before Redis is written


def _read(session: Session, event_id: int) -> Seed:
    stock = session.execute(
        select(EventItem.sku, EventItem.reserved).where(EventItem.event_id == event_id)
    ).all()
    customers = session.execute(
        select(EventItem.sku, CustomerCount.customer_ref_hash, CustomerCount.reserved)
        .join(EventItem, EventItem.id == CustomerCount.item_id)
        .where(EventItem.event_id == event_id, CustomerCount.reserved > 0)
    ).all()
    employees = session.execute(
        select(EventEmployee.employee_no, EventEmployee.customer_ref_hash).where(
            EventEmployee.event_id == event_id
        )
    ).all()
    invitations = session.execute(
        select(Invitation.code, Invitation.customer_ref_hash).where(Invitation.event_id == event_id)
    ).all()
    requests = session.execute(
        select(
            Reservation.request_id,
            Reservation.id,
            Reservation.customer_ref_hash,
            Reservation.quantity,
            Reservation.price_fen,
            Reservation.expires_at,
            Reservation.sku,
        ).where(Reservation.event_id == event_id, Reservation.request_id.is_not(None))
    ).all()
    # The reservations a refund released (``refunds.release_refunded`` marks them ``released_at``): an
    # expired one that ran out unpaid is left out, also of a shopper with an order refunded in full.
    released = session.scalars(
        select(Reservation.id).where(
            Reservation.event_id == event_id,
            Reservation.status == ReservationStatus.EXPIRED,
            Reservation.released_at.is_not(None),
        )
    ).all()
    return Seed(
        stock={sku: n for sku, n in stock},  # noqa: C416 - rows, not pairs
        customers={f"{sku}|{customer}": n for sku, customer, n in customers},
        employees={no: bound or "" for no, bound in employees},
        invitations={code: bound or "" for code, bound in invitations},
        requests={
            str(key): Prior.held(number, Prior.terms(customer, units, price, expires, sku))
            for key, number, customer, units, price, expires, sku in requests
        },
        released=tuple(sorted(released)),
    )
