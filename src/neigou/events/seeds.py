"""What the reservation gate is seeded with: an event's counters, whitelist, invitations and the
reservations made under a request id, as the database holds them."""

from __future__ import annotations

from sqlalchemy import exists, select
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
from neigou.orders.models import Order


def seed_state(session: Session, event_id: int) -> Seed:
    """An event's counters, whitelist, invitations and request ids as the database holds them, and the
    reservations a refund released (``Seed.released``), read last: a refund commits its release and
    the counters it gives back together, so counters read before its commit go with a read of the
    released ones that may or may not see it (given back by the refund's give-back, or counted as
    taken: refusing, never overselling), and counters read after it with one that sees it (the
    give-back skips it). Read before the counters, a release could be missed by this read yet counted
    off by them, and given back twice."""
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
    # Every expired reservation of a shopper with a refunded order of the event: a refund releases only
    # such ones (``refunds.release_refunded``); more than it released only skips more give-backs.
    released = session.scalars(
        select(Reservation.id).where(
            Reservation.event_id == event_id,
            Reservation.status == ReservationStatus.EXPIRED,
            exists().where(
                Order.event_id == event_id,
                Order.customer_ref_hash == Reservation.customer_ref_hash,
                Order.refunded_fen > 0,
            ),
        )
    ).all()
    session.rollback()  # give the connection back before Redis is written
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
