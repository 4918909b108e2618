"""Reservations the writer could not store because their request id was taken.

Behind the gate a retry under a request id is answered by Redis from the requests hash (``gate.Prior``).
Were that record lost (evicted, or gone with a Redis that lost its data while the counters came back),
a retry would take a second reservation in Redis that the database refuses on the unique
``(event_id, request_id)``: the INSERT skips it like a stream entry delivered twice. The writer tells the
two apart (a replayed entry's id is stored, a refused one's is not) and gives a refused reservation's
units back to the gate after the commit, pointing the request id at the stored reservation again, so
that the next retry answers it. Once per reservation id, however often its entry is delivered.
"""

from __future__ import annotations

from typing import Any

import structlog
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from neigou.events import after_commit
from neigou.events.gate import ReservationGate
from neigou.events.gate_values import Prior
from neigou.events.models import Event, Reservation
from neigou.events.retries import stored_prior

log = structlog.get_logger(__name__)


def give_back_refused(session: Session, gate: ReservationGate, skipped: list[dict[str, Any]]) -> int:
    """Of the keyed rows the batch's INSERT skipped, those not stored (refused for their request id):
    their units go back to the gate once the batch commits; returns how many."""
    keyed = [r for r in skipped if r["request_id"] is not None]
    if not keyed:
        return 0
    ids = [r["id"] for r in keyed]
    stored = set(
        session.scalars(
            select(Reservation.id).where(Reservation.id.in_(bindparam("ids", ids, expanding=True)))
        )
    )
    refused = [r for r in keyed if r["id"] not in stored]
    if not refused:
        return 0
    events = sorted({r["event_id"] for r in refused})
    created = dict(session.execute(select(Event.id, Event.created_at).where(Event.id.in_(events))).all())
    backs: list[tuple[dict[str, Any], Prior]] = []
    for r in refused:
        kept = stored_prior(session, r["event_id"], r["request_id"])
        if kept is not None:  # the key is taken: its reservation is there
            backs.append((r, kept))

    def give_back() -> None:
        for r, kept in backs:
            held = Prior.held(
                kept.id, Prior.terms(kept.customer, kept.quantity, kept.price_fen, kept.expires_at, kept.sku)
            )
            given = gate.give_back_dropped(
                gate.base(r["event_id"], created[r["event_id"]]),
                str(r["id"]),
                request_id=r["request_id"],
                stored=held,
                units=(r["sku"], r["customer_ref_hash"], r["quantity"]),
            )
            log.warning(
                "events.reservation_refused_request_id_taken",
                event_id=r["event_id"],
                reservation_id=r["id"],
                stored_id=kept.id,
                units=r["quantity"],
                given_back=given,
            )

    # Raised when Redis fails it: the batch is then not acknowledged and comes back, and its entry gives
    # the units back then (once per reservation id), instead of leaving them counted for good.
    after_commit(session, give_back, redeliver=True)
    return len(backs)
