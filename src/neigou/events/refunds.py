"""A reservation given back when the order that paid for it is refunded in full.

Settlement pays a shopper's held reservations of an sku up to the units of their orders of the event
that still pay (``holds.still_pays``: an order refunded in full counts none, a 0-fen one counts). When
such an order is refunded in full later (a refund through the API or a shop's webhook: both end in
``orders.service.refund``, which announces it once, ``EVENT_ORDER_REFUNDED``; a platform's order
carries no event, so its refunds give nothing back), the paid reservations of that shopper and sku
beyond what their orders still paying pay for (counted by the same ``still_pays``) are given back:
marked expired and released (``released_at``, the refund's time), their units returned to the item's stock and the shopper's per-person counter, newest
first, each whole or not at all, so never more than the refunded order's units. The rule reads the
state, not the event: a repeated refund or webhook finds nothing beyond what is paid for and releases
nothing. The refund's order is locked before the paid reservations are read, as settlement locks the
orders it counts (``holds._lock_counted_orders``), so a settlement never marks paid from a count
read before a concurrent refund committed.
With the Redis gate, the same units go back to the gate once the refund committed (never while its row
locks are held, nothing for a refund rolled back), on the events runtime's client
(``runtime.redis_client``): a note first, then the give-back (``gate.give_back_refund``), which takes
the note off and returns each released reservation's units once (per sku and per shopper, never below
zero: never more than the event's stock on offer) and none the state's seeding already read as released
(whenever it ran and however late the give-back comes: no clock decides it), or, when it cannot tell (a
seeding under way or since the note, one by an older version, one in the last seconds), marks the state
stale, seeded again from the database by the next reservation. If Redis fails the give-back, the note
stays and the next settlement's sweep marks the state stale (until then the gate counts the units as
taken, refusing rather than overselling); the refund itself never fails for it."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

import redis
import structlog
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from neigou.events import after_commit
from neigou.events.gate import ReservationGate
from neigou.events.holds import return_units, still_pays
from neigou.events.models import Event, Reservation, ReservationStatus
from neigou.events.runtime import redis_client
from neigou.kit.events import Event as DomainEvent
from neigou.kit.events import listen
from neigou.kit.logging import error_summary
from neigou.kit.settings import settings_of
from neigou.kit.streams import namespace
from neigou.orders.commission_events import EVENT_ORDER_REFUNDED
from neigou.orders.models import Order, OrderLine

log = structlog.get_logger(__name__)


@listen(EVENT_ORDER_REFUNDED)
def _refunded(session: Session, announced: DomainEvent) -> None:
    order = session.get_one(Order, announced.data["order_id"])
    if order.event_id is not None:
        release_refunded(session, event_id=order.event_id, customer=order.customer_ref_hash, at=announced.at)


def release_refunded(session: Session, *, event_id: int, customer: str, at: datetime) -> int:
    """Give back the shopper's paid reservations of the event that their orders no longer pay for (per
    sku: the units of the orders that still pay, paid since the sku's first live reservation, as
    settlement counts them), each marked released at ``at`` (the refund's time); returns how many were
    released."""
    paid = session.execute(
        select(Reservation.id, Reservation.item_id, Reservation.sku, Reservation.quantity)
        .where(
            Reservation.event_id == event_id,
            Reservation.customer_ref_hash == customer,
            Reservation.status == ReservationStatus.PAID,
        )
        .order_by(Reservation.reserved_at.desc(), Reservation.id.desc())
        .with_for_update()
    ).all()
    if not paid:
        return 0
    excess = Counter[str]()
    for _, _, sku, quantity in paid:
        excess[sku] += quantity
    for sku, units in _ordered(session, event_id, customer).items():
        excess[sku] -= units
    released: list[int] = []
    given: list[tuple[int, str, str, int]] = []
    items, customers = Counter[int](), Counter[tuple[int, str]]()
    for reservation_id, item_id, sku, quantity in paid:  # newest first, each whole
        if quantity <= excess[sku]:
            excess[sku] -= quantity
            released.append(reservation_id)
            given.append((reservation_id, sku, customer, quantity))
            items[item_id] += quantity
            customers[(item_id, customer)] += quantity
    if not released:
        return 0
    _give_back_to_the_gate(session, event_id, given)
    session.execute(
        update(Reservation)
        .where(Reservation.id.in_(released))
        .values(status=ReservationStatus.EXPIRED, released_at=at)
        .execution_options(synchronize_session=False)
    )
    return_units(session, items, customers)
    return len(released)


def _ordered(session: Session, event_id: int, customer: str) -> dict[str, int]:
    """Units per sku of the shopper's orders of the event that still pay (``holds.still_pays``), paid
    since the sku's first reservation not expired (``holds._paid_holds``' count)."""
    first = dict(
        session.execute(
            select(Reservation.sku, func.min(Reservation.reserved_at))
            .where(
                Reservation.event_id == event_id,
                Reservation.customer_ref_hash == customer,
                Reservation.status != ReservationStatus.EXPIRED,
            )
            .group_by(Reservation.sku)
        ).all()
    )
    lines = session.execute(
        select(OrderLine.sku, OrderLine.quantity, Order.paid_at)
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.event_id == event_id,
            Order.customer_ref_hash == customer,
            still_pays(),
            OrderLine.sku.in_(list(first)),
        )
    ).all()
    units: defaultdict[str, int] = defaultdict(int)
    for sku, quantity, paid_at in lines:
        since: datetime = first[sku]
        if paid_at >= since:
            units[sku] += quantity
    return dict(units)


def _give_back_to_the_gate(session: Session, event_id: int, units: list[tuple[int, str, str, int]]) -> None:
    """With Redis, once the refund committed (``events.after_commit``, on the runtime's client: no
    network call while the refund holds its row locks, none for a refund that rolls back), note the
    event's state (``gate.note``: left for the next settlement's sweep should the give-back never run),
    then give the released reservations' units back (``gate.give_back_refund``), each once."""
    settings = settings_of(session)
    if (url := settings.redis_client_url) is None:
        return
    event = session.get_one(Event, event_id)
    gate = ReservationGate(redis_client(url), namespace(settings.database_url))
    base = gate.base(event.id, event.created_at)

    def give_back() -> None:
        try:
            note = gate.note(base)
            outcome = gate.give_back_refund(note, units)
        except redis.RedisError as exc:  # the note, if taken, is swept: the state is seeded again
            log.warning("events.refund_give_back_failed", event_id=event_id, error=error_summary(exc))
            return
        if outcome == 0:
            log.info("events.refund_marked_stale", event_id=event_id)

    after_commit(session, give_back)
