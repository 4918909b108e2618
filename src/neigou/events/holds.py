"""Holds run out: a reservation its shopper paid for (the units of its sku on the shopper's orders of the
event) is kept, an unpaid one expires after the event's hold time and gives its units back to the item
and the shopper."""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime
from typing import Any

import redis
import structlog
from sqlalchemy import ColumnElement, Engine, Select, bindparam, event, exists, func, or_, select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from neigou.events import after_commit
from neigou.events.gate import ReservationGate
from neigou.events.gate_claims import RETURN_CLAIM_SECONDS, SEED_LOCK_SECONDS
from neigou.events.models import CustomerCount, Event, EventItem, Reservation, ReservationStatus
from neigou.events.writer import ReservationWriter
from neigou.kit import commit_hooks
from neigou.kit.bulk import table_of
from neigou.kit.jobs import job
from neigou.kit.logging import error_summary
from neigou.kit.settings import settings_of
from neigou.kit.streams import namespace
from neigou.orders.models import Order, OrderLine

ITEMS = table_of(EventItem)
COUNTS = table_of(CustomerCount)
log = structlog.get_logger(__name__)
# How long a settlement waits for an event's seeding, from when it finds it under way, to note the
# event's give-back; an event still being seeded then settles at the settlement's next turn.
RETURN_NOTE_WAIT_SECONDS = 2.0
# How long it waits for the seeding under way of an event it claimed (left out before): as long as a
# seeding's lock lives, so the claimed event settles at this turn. Its claim is renewed while it waits
# and lives longer than this (``gate_claims.RETURN_CLAIM_SECONDS``).
CLAIMED_WAIT_SECONDS = float(SEED_LOCK_SECONDS + 1)
# The whole of a settlement turn's waiting, however many events it waits for and whenever their
# seedings start: a claimed event found at the first look gets its whole wait, and the turn ends well
# within the minute between turns. An event still being seeded then is left to the next turn.
SETTLE_WAIT_SECONDS = CLAIMED_WAIT_SECONDS + RETURN_NOTE_WAIT_SECONDS
assert RETURN_CLAIM_SECONDS > CLAIMED_WAIT_SECONDS > SEED_LOCK_SECONDS
assert 60 > SETTLE_WAIT_SECONDS >= CLAIMED_WAIT_SECONDS
# ``kit.commit_hooks`` key: the (gate, note) of each give-back noted, taken back if its transaction
# rolls back; and the session's flag of an outermost commit begun while it holds some.
_NOTES = "neigou_event_return_notes"
_COMMITTING = "neigou_event_return_notes_committing"


def settle_holds(session: Session, *, at: datetime, gate: ReservationGate | None = None) -> tuple[int, int]:
    """Mark held reservations paid as far as their shopper's orders of the event pay for them (per sku, up
    to the units ordered: ``_paid_holds``; the orders counted locked first, ``_lock_counted_orders``),
    expire the unpaid ones past their hold and return their stock; returns (paid, expired). With the gate, only the holds of
    events whose give-back could be noted expire (``note_returns``): the others' at the next turn."""
    notes = None if gate is None else note_returns(session, gate, at=at)
    _lock_counted_orders(session)
    paid = session.execute(
        update(Reservation)
        .where(Reservation.id.in_(_paid_holds()))
        .values(status=ReservationStatus.PAID)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    expiring = [Reservation.status == ReservationStatus.HELD, Reservation.expires_at <= at]
    if notes is not None:
        expiring.append(Reservation.event_id.in_(list(notes)))
    expired = list(
        session.execute(
            update(Reservation)
            .where(*expiring)
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
    items = Counter[int]()
    customers = Counter[tuple[int, str]]()
    by_event: dict[int, Counter[tuple[str, str]]] = {}
    for event_id, item_id, sku, customer, quantity in expired:
        items[item_id] += quantity
        customers[(item_id, customer)] += quantity
        by_event.setdefault(event_id, Counter())[(sku, customer)] += quantity
    if gate is not None and notes:

        def give_back() -> None:
            # Every note is cleared, an event's with nothing expired after all (paid meanwhile) too.
            for event_id, note in notes.items():
                units = by_event.get(event_id, Counter())
                try:
                    gate.give_back(note, [(s, c, n) for (s, c), n in units.items()])
                except redis.RedisError as exc:
                    log.warning("events.gate_return_failed", event_id=event_id, error=error_summary(exc))

        after_commit(session, give_back)
    if not expired:
        return int(paid), 0
    return_units(session, items, customers)
    return int(paid), len(expired)


def return_units(session: Session, items: Counter[int], customers: Counter[tuple[int, str]]) -> None:
    """Give units back to the items' stock (``items``: units per item) and the shoppers' per-person
    counters (``customers``: units per item and shopper), of holds expired or released.

    The shoppers' counters before the items' rows, each in key order, as a reservation takes them
    (``reservations_db``) and the gate's writer stores them: a hold expiring while its shopper reserves
    again waits for that reservation instead of deadlocking with it."""
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


def still_pays() -> ColumnElement[bool]:
    """An order that still pays for the reservations of its event: not refunded in full. One never
    refunded pays, a 0-fen one (a free gift of the event) too. Settlement (``_paid_holds``) and the
    give-back of a refund (``refunds.release_refunded``) count the same orders by it."""
    return or_(Order.refunded_fen == 0, Order.refunded_fen < Order.paid_fen)


def _lock_counted_orders(session: Session) -> None:
    """Lock (``FOR SHARE``, in id order) the event orders of every shopper with a held reservation,
    before settlement counts them. A refund locks its order before it gives reservations back
    (``refunds.release_refunded``), so the two go one after the other, in the same order, never
    deadlocking: settlement waits for a refund under way and counts it committed (on PostgreSQL each
    statement reads what was committed when it began), or the refund waits for settlement and finds
    the holds it marked paid. Without it, a hold marked paid from a count read before a concurrent
    refund committed stayed paid for an order refunded in full, and nothing gave it back. On SQLite the
    locking read takes the write lock, which serialises them the same way."""
    session.execute(
        select(Order.id)
        .where(
            Order.event_id.is_not(None),
            exists().where(
                Reservation.event_id == Order.event_id,
                Reservation.customer_ref_hash == Order.customer_ref_hash,
                Reservation.status == ReservationStatus.HELD,
            ),
        )
        .order_by(Order.id)
        .with_for_update(read=True)
    ).all()


def _paid_holds() -> Select[tuple[int]]:
    """The held reservations the shoppers' orders pay for, in one statement: per event, shopper and
    sku, the units of the event's order lines of that sku paid since the group's first live
    reservation (an order refunded in full counts none) cover the units already paid, then the held
    ones oldest first (``reserved_at``, id), each whole or not at all; the rest expire as usual."""
    held, live, kept = aliased(Reservation), aliased(Reservation), aliased(Reservation)

    def same(other: type[Reservation]) -> tuple[ColumnElement[bool], ...]:
        return (
            other.event_id == held.event_id,
            other.customer_ref_hash == held.customer_ref_hash,
            other.sku == held.sku,
        )

    first = (
        select(func.min(live.reserved_at))
        .where(*same(live), live.status != ReservationStatus.EXPIRED)
        .correlate(held)
        .scalar_subquery()
    )
    ordered = (
        select(func.coalesce(func.sum(OrderLine.quantity), 0))
        .join(Order, Order.id == OrderLine.order_id)
        .where(
            Order.event_id == held.event_id,
            Order.customer_ref_hash == held.customer_ref_hash,
            OrderLine.sku == held.sku,
            Order.paid_at >= first,
            still_pays(),
        )
        .correlate(held)
        .scalar_subquery()
    )
    paid_before = (
        select(func.coalesce(func.sum(kept.quantity), 0))
        .where(*same(kept), kept.status == ReservationStatus.PAID)
        .correlate(held)
        .scalar_subquery()
    )
    upto = func.sum(held.quantity).over(
        partition_by=(held.event_id, held.customer_ref_hash, held.sku), order_by=(held.reserved_at, held.id)
    )
    ranked = (
        select(held.id, upto.label("upto"), ordered.label("ordered"), paid_before.label("paid"))
        .where(
            held.status == ReservationStatus.HELD,
            exists().where(
                Order.event_id == held.event_id, Order.customer_ref_hash == held.customer_ref_hash
            ),
        )
        .subquery()
    )
    return select(ranked.c.id).where(ranked.c.upto + ranked.c.paid <= ranked.c.ordered)


def note_returns(session: Session, gate: ReservationGate, *, at: datetime) -> dict[int, str]:
    """Note the give-back of every event with holds past ``at`` (``gate.try_note_return``), before any
    row is updated or locked, and only while the event is not being seeded (a give-back never overlaps
    a seeding). The events are found on a connection of their own, closed before the wait, so no
    transaction stays open while the settlement waits (``_events_to_settle``); an event left out
    before that has nothing left to settle has its deferral ended (``gate.end_deferrals``). The
    settlement then waits, noting nothing, until none of them is being seeded, each for its own time
    and all within ``SETTLE_WAIT_SECONDS`` (``_wait_for_seedings``): a noted give-back holds its event's
    seeding back until the commit, so every note is taken right before the updates, never while the
    settlement waits for another event, and an event nobody is seeding is claimed, if left out before,
    only at the last look, and noted right after. An event still being seeded when its time or the
    turn's is up, or (never left out before) whose seeding started between the last look and its note,
    is left out and marked deferred; it settles at the next turn. Each note is registered with the
    transaction (``_NOTES``): a note never followed by its give-back (Redis failed it, the process
    died) is found by the next settlement (``gate.sweep_notes``), which marks the event's state stale
    so that it is seeded again from the database; one of a transaction that rolls back is taken back."""
    waiting = _events_to_settle(session, gate, at=at)
    for base in gate.end_deferrals(waiting.values()):
        log.info("events.settle_deferral_ended", event_id=_event_id(base))
    _wait_for_seedings(gate, list(waiting.values()), until=time.monotonic() + SETTLE_WAIT_SECONDS)
    notes: dict[int, str] = {}
    for event_id, base in waiting.items():
        if (note := gate.try_note_return(base)) is not None:
            commit_hooks.add(session, _NOTES, (gate, note))
            notes[event_id] = note
        else:
            log.info("events.settle_deferred", event_id=event_id)
    return notes


def _event_id(base: str) -> int:
    return int(base.rpartition(":event:")[2].partition(":")[0])


def _events_to_settle(session: Session, gate: ReservationGate, *, at: datetime) -> dict[int, str]:
    """The key prefix of every event with holds past ``at``. Read on a connection of its own, closed
    at once, when the session holds no transaction: the session's begins with the updates, after the
    wait (on PostgreSQL a transaction left open through the wait kept its share locks on the tables,
    so a migration's ``ALTER TABLE`` queued behind it and every shopper's read behind that). A
    transaction the caller opened stays the caller's: the read runs in it."""
    query = select(Event.id, Event.created_at).where(
        exists().where(
            Reservation.event_id == Event.id,
            Reservation.status == ReservationStatus.HELD,
            Reservation.expires_at <= at,
        )
    )
    bind = session.get_bind()
    if session.in_transaction() or not isinstance(bind, Engine):
        rows = session.execute(query).all()
    else:
        with bind.connect() as connection:
            rows = list(connection.execute(query).all())
    return {event_id: gate.base(event_id, created) for event_id, created in rows}


def _wait_for_seedings(gate: ReservationGate, bases: list[str], *, until: float) -> None:
    """Wait until none of these events is being seeded, each for its own time from when the settlement
    first finds its seeding under way: ``RETURN_NOTE_WAIT_SECONDS``, or, for an event an earlier
    settlement left out (deferred), ``CLAIMED_WAIT_SECONDS``, as long as a seeding's lock lives; and
    all of it by ``until`` (``SETTLE_WAIT_SECONDS`` from the start). Such an event is claimed once it is
    found being seeded (``gate.claim_returns``: no new seeding takes its lock, so the one under way is
    the last the settlement waits for, and it settles at this turn); a claim is renewed at every look,
    so it stands until the note, which drops it. The last look claims every deferred event not being
    seeded (``gate.claim_left_out``, in the look itself), so none of them is left out again by a seeding
    that starts before its note; one found being seeded then (it started since the previous look) is
    waited for as claimed, and the other claims of that look are taken back meanwhile. An event nobody
    is seeding is neither claimed nor noted while the settlement waits for others."""
    deadlines: dict[str, float] = {}
    claimed: set[str] = set()
    while bases:
        now = time.monotonic()
        busy = gate.seedings_under_way(bases)
        for base in gate.claim_returns(busy | claimed) - claimed:
            claimed.add(base)
            deadlines[base] = now + CLAIMED_WAIT_SECONDS
        for base in busy:
            deadlines.setdefault(base, now + RETURN_NOTE_WAIT_SECONDS)
        if now >= until or all(now >= deadlines[base] for base in busy):
            idle, started = gate.claim_left_out(set(bases) - busy)
            if not started or now >= until:
                return
            gate.drop_claims(idle - claimed)
            for base in started:
                claimed.add(base)
                deadlines[base] = now + CLAIMED_WAIT_SECONDS
        time.sleep(max(0.0, min(0.05, until - now)))


@event.listens_for(Session, "before_commit")
def _committing(session: Session) -> None:
    if session.get_nested_transaction() is None and commit_hooks.pending(session, _NOTES):
        session.info[_COMMITTING] = True


# The commit flushes first (after ``before_commit``): a flush that fails sent no COMMIT, and the
# database rolls the transaction back, so the flag says "the commit may have happened" only once the
# commit's last flush went through.
@event.listens_for(Session, "before_flush")
def _flushing(session: Session, _context: Any, _instances: Any) -> None:
    if _COMMITTING in session.info:
        session.info[_COMMITTING] = False


@event.listens_for(Session, "after_flush_postexec")
def _flushed(session: Session, _context: Any) -> None:
    if _COMMITTING in session.info:
        session.info[_COMMITTING] = True


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    if commit_hooks.released(session, _NOTES) is not None:  # the give-back clears them
        session.info.pop(_COMMITTING, None)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    """The notes of a rolled-back transaction are taken back (nothing expired: no give-back comes), so
    they neither hold the event's seeding back nor make the sweep mark a right state stale; so are
    those of a commit whose flush failed (no COMMIT was sent). After a commit that failed once sent,
    the database may have committed all the same: its notes stay for the sweep."""
    failed_commit = session.get_nested_transaction() is None and session.info.pop(_COMMITTING, False)
    for gate, note in commit_hooks.rolled_back(session, _NOTES):
        if failed_commit:
            continue
        try:
            gate.drop_return_note(note)
        except redis.RedisError as exc:  # swept later: the state is marked stale, never wrong
            log.warning("events.gate_note_not_taken_back", error=error_summary(exc))


@job("events.settle_holds", cron={"minute": "*"}, own_transactions=True)
def settle_holds_job(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Every minute: paid reservations kept, unpaid ones past their hold expired (stock returned).
    With Redis the stream of reservations is stored first (those in it when the job starts, for 45 s
    at most: ``drain_backlog``, so a burst of reservations never holds the settlement back), batch by
    batch on another connection, so
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
            ReservationWriter(client, gate.stream, factory, name="scheduled-settle").drain_backlog()
        except Exception as exc:
            # A batch that failed (a refused retry's give-back Redis failed, the database away) stays in
            # the stream for the next drain; the sweep and the settlement do not depend on it.
            log.error("events.settle_drain_failed", error=error_summary(exc))
        for base in gate.sweep_notes():
            log.warning("events.gate_marked_stale", event_id=_event_id(base))
        try:
            settle_holds(session, at=at, gate=gate)
            session.commit()
        except BaseException:
            session.rollback()  # while the gate's client is open: the notes taken are taken back
            raise
    finally:
        client.close()
