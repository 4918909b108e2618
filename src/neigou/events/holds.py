"""Holds run out: a reservation whose shopper paid (an order of the event) is kept, an unpaid one
expires after the event's hold time and gives its units back to the item and the shopper."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

import redis
import structlog
from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import after_commit
from neigou.events.gate import ReservationGate
from neigou.events.models import CustomerCount, Event, EventItem, Reservation, ReservationStatus
from neigou.events.writer import ReservationWriter
from neigou.kit.bulk import table_of
from neigou.kit.jobs import job
from neigou.kit.logging import error_summary
from neigou.kit.settings import settings_of
from neigou.links.click_stream import namespace
from neigou.orders.models import Order

ITEMS = table_of(EventItem)
COUNTS = table_of(CustomerCount)
log = structlog.get_logger(__name__)


def settle_holds(session: Session, *, at: datetime, gate: ReservationGate | None = None) -> tuple[int, int]:
    """Mark held reservations paid when their shopper has an order of the event, expire the unpaid ones
    past their hold and return their stock; returns (paid, expired)."""
    paid = session.execute(
        update(Reservation)
        .where(
            Reservation.status == ReservationStatus.HELD,
            exists().where(
                Order.event_id == Reservation.event_id,
                Order.customer_ref_hash == Reservation.customer_ref_hash,
                Order.paid_at >= Reservation.reserved_at,
            ),
        )
        .values(status=ReservationStatus.PAID)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    expired = list(
        session.execute(
            update(Reservation)
            .where(Reservation.status == ReservationStatus.HELD, Reservation.expires_at <= at)
            .values(status=ReservationStatus.EXPIRED)
            .returning(
                Reservation.event_id,
                Reservation.item_id,
                Reservation.sku,
                Reservation.customer_ref_hash,
                Reservation.quantity,
            )
            .execution_options(synchronize_session=False)
        )
    )
    if not expired:
        return int(paid), 0
    items = Counter[int]()
    customers = Counter[tuple[int, str]]()
    by_event: dict[int, Counter[tuple[str, str]]] = {}
    for event_id, item_id, sku, customer, quantity in expired:
        items[item_id] += quantity
        customers[(item_id, customer)] += quantity
        by_event.setdefault(event_id, Counter())[(sku, customer)] += quantity
    # The shoppers' counters before the items' rows, each in key order, as a reservation takes them
    # (``reservations``) and the gate's writer stores them: a hold expiring while its shopper reserves
    # again waits for that reservation instead of deadlocking with it.
    session.execute(
        update(COUNTS)
        .where(COUNTS.c.item_id == bindparam("item"), COUNTS.c.customer_ref_hash == bindparam("customer"))
        .values(reserved=COUNTS.c.reserved - bindparam("units")),
        [{"item": i, "customer": c, "units": n} for (i, c), n in sorted(customers.items())],
    )
    session.execute(
        update(ITEMS)
        .where(ITEMS.c.id == bindparam("item"))
        .values(reserved=ITEMS.c.reserved - bindparam("units")),
        [{"item": i, "units": n} for i, n in sorted(items.items())],
    )
    if gate is not None:
        created = dict(
            session.execute(select(Event.id, Event.created_at).where(Event.id.in_(list(by_event)))).all()
        )

        # Noted before the commit, once no seeding of the event is under way (a give-back never
        # overlaps a seeding, ``gate.note_return``): a note never followed by its give-back (Redis
        # failed it, the process died) is found by the next settlement (``gate.sweep_notes``), which
        # marks the event's state stale so that it is seeded again from the database.
        notes = {event_id: gate.note_return(gate.base(event_id, created[event_id])) for event_id in by_event}

        def give_back() -> None:
            for event_id, units in by_event.items():
                try:
                    gate.give_back(notes[event_id], [(s, c, n) for (s, c), n in units.items()])
                except redis.RedisError as exc:
                    log.warning("events.gate_return_failed", event_id=event_id, error=error_summary(exc))

        after_commit(session, give_back)
    return int(paid), len(expired)


@job("events.settle_holds", cron={"minute": "*"}, own_transactions=True)
def settle_holds_job(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Every minute: paid reservations kept, unpaid ones past their hold expired (stock returned).
    With Redis the stream of reservations is stored first, batch by batch on another connection, so
    the job's key is committed before (``own_transactions``: on SQLite it would hold the write lock the
    batches wait for; a drain that fails is logged, ``events.settle_drain_failed``, and the job goes
    on); then every event whose earlier settlement never gave its units back to the gate
    is marked stale (``gate.sweep_notes``: seeded again from the database by its next reservation);
    the settlement then commits while the gate's client is open, which gives the expired units back to
    the gate after the commit."""
    settings = settings_of(session)
    if (redis_url := settings.redis_client_url) is None:
        settle_holds(session, at=at)
        return
    client = redis.Redis.from_url(redis_url)
    try:
        gate = ReservationGate(client, namespace(settings.database_url))
        factory = sessionmaker(bind=session.get_bind(), expire_on_commit=False)
        try:
            ReservationWriter(client, gate.stream, factory, name="scheduled-settle").drain()
        except Exception as exc:
            # A batch that failed (a refused retry's give-back Redis failed, the database away) stays in
            # the stream for the next drain; the sweep and the settlement do not depend on it.
            log.error("events.settle_drain_failed", error=error_summary(exc))
        for base in gate.sweep_notes():
            event_id = int(base.rpartition(":event:")[2].partition(":")[0])
            log.warning("events.gate_marked_stale", event_id=event_id)
        settle_holds(session, at=at, gate=gate)
        session.commit()
    finally:
        client.close()
