"""What the reservation gate is seeded with: an event's counters, whitelist, invitations and the
reservations made under a request id, as the database holds them."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.events.gate_values import Prior, Seed
from neigou.events.models import CustomerCount, EventEmployee, EventItem, Invitation, Reservation


def seed_state(session: Session, event_id: int) -> Seed:
    """An event's counters, whitelist, invitations and request ids as the database holds them."""
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
    )
