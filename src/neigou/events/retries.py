"""Reservations retried under the caller's request id (``request_id`` or ``Idempotency-Key``).

A retry takes nothing and answers what the first reservation answered; the same key for another
shopper, sku or quantity is 422 ``request_id_reused``. Behind the gate the script keeps each key with
what it made (``gate.Prior``, seeded from the stored reservations by ``seeds.seed_state``), so a retry
racing the first is answered by Redis alone; on the database path the unique ``(event_id,
request_id)`` decides, and retries of one shopper queue on the shopper's lock.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.events.gate import ReservationGate
from neigou.events.gate_values import Prior
from neigou.events.models import Reservation
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message


def same_ask(prior: Prior, *, customer: str, sku: str, quantity: int) -> Prior:
    """``prior`` when the retry asks for what it made; else 422 ``request_id_reused``."""
    if (prior.customer, prior.sku, prior.quantity) != (customer, sku, quantity):
        raise Invalid(Message("This request_id was used for another reservation."), code="request_id_reused")
    return prior


def stored_prior(session: Session, event_id: int, request_id: str) -> Prior | None:
    """The stored reservation made under ``request_id`` in the event, if any."""
    row = session.execute(
        select(
            Reservation.id,
            Reservation.customer_ref_hash,
            Reservation.quantity,
            Reservation.price_fen,
            Reservation.expires_at,
            Reservation.sku,
        ).where(Reservation.event_id == event_id, Reservation.request_id == request_id)
    ).one_or_none()
    return None if row is None else Prior(*row)


def find_prior(
    session: Session,
    gate: ReservationGate | None,
    *,
    event_id: int,
    created_at: datetime,
    request_id: str,
) -> Prior | None:
    """What ``request_id`` made in the event, if anything: behind a seeded gate Redis knows every
    reservation (stored or still in the stream); otherwise the database does."""
    if gate is not None:
        prior, seeded = gate.prior(gate.base(event_id, created_at), request_id)
        if prior is not None or seeded:
            return prior
    prior = stored_prior(session, event_id, request_id)
    if gate is not None:
        session.rollback()  # behind the gate no connection is held on the way
    return prior
