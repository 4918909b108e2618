"""Reservations: an invited shopper holds event stock at the event price within the per-person limit.

Two paths, one answer. With Redis (``gate``) nothing is read from the database on the way: the event
comes from an in-process snapshot (``EventBook``), the link from the links cache, and the gate's one
script decides and appends the reservation to a stream that ``writer`` stores in batches. Without
Redis the database decides with conditional statements in the request's transaction: the invitation
binds only if unbound or already this shopper's, the shopper's counter and the item's stock rise only
while under their limits, so concurrent requests never oversell nor pass the per-person limit.

A retry under the caller's request id takes nothing and answers what the first answered (``retries``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import seeds
from neigou.events.gate import ReservationGate
from neigou.events.gate_values import Prior
from neigou.events.models import (
    CustomerCount,
    Event,
    EventEmployee,
    EventItem,
    Invitation,
    Reservation,
    ReservationStatus,
)
from neigou.events.numbers import one_form
from neigou.events.refusals import Recounting, refused
from neigou.events.retries import find_prior, same_ask, stored_prior
from neigou.kit.bulk import insert_ignoring_duplicates
from neigou.kit.errors import Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.kit.scoping import unscoped
from neigou.links.cache import CachedLink
from neigou.privacy import repository as privacy

SNAPSHOT_TTL_SECONDS = 5.0
# How long a reservation waits for its event's gate to be seeded before answering 503 ``event_busy``.
SEED_WAIT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class ItemTerms:
    """A price-list line as reservations need it."""

    id: int
    price_fen: int
    stock: int
    limit: int


@dataclass(frozen=True, slots=True)
class EventSnapshot:
    """What a reservation needs to know about its event."""

    id: int
    program_id: int
    starts_at: datetime
    ends_at: datetime
    hold: timedelta
    created_at: datetime
    items: dict[str, ItemTerms]


@dataclass(frozen=True, slots=True)
class Shopper:
    """Who reserves: the hashed customer reference, its mask, and how they are invited."""

    ref_hash: str
    masked: str
    employee_no: str | None = None
    invitation_code: str | None = None

    def __post_init__(self) -> None:  # the number as stored and as the gate keys it; 422 if refused
        if self.employee_no is not None:
            object.__setattr__(self, "employee_no", one_form(self.employee_no))


@dataclass(frozen=True, slots=True)
class Asked:
    """What a reservation asks for, and the caller's idempotency key."""

    sku: str
    quantity: int
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Reserved:
    """A reservation made."""

    id: int
    price_fen: int
    expires_at: datetime


def load_snapshot(session: Session, event_id: int) -> EventSnapshot | None:
    """The event and its price list (two queries), or None."""
    event = session.get(Event, event_id)
    if event is None:
        return None
    items = session.execute(
        select(
            EventItem.sku, EventItem.id, EventItem.price_fen, EventItem.stock, EventItem.per_person_limit
        ).where(EventItem.event_id == event_id)
    )
    return EventSnapshot(
        id=event.id,
        program_id=event.program_id,
        starts_at=event.starts_at,
        ends_at=event.ends_at,
        hold=timedelta(minutes=event.hold_minutes),
        created_at=event.created_at,
        items={sku: ItemTerms(i, price, stock, limit) for sku, i, price, stock, limit in items},
    )


class EventBook:
    """event id → snapshot, each for ``ttl`` seconds: a burst reads its event once per process."""

    def __init__(self, factory: sessionmaker[Session], ttl: float = SNAPSHOT_TTL_SECONDS) -> None:
        self.factory = factory
        self.ttl = ttl
        self._entries: dict[int, tuple[float, EventSnapshot | None]] = {}
        self._lock = threading.Lock()

    def get(self, event_id: int, session: Session | None = None) -> EventSnapshot | None:
        """The event's snapshot; on a miss read through ``session`` (a request's own, unscoped for the
        read: the book knows every organization's events) when given, so that a request holds one
        connection at a time, else through a session of its own."""
        now = time.monotonic()
        entry = self._entries.get(event_id)
        if entry is not None and entry[0] > now:
            return entry[1]
        if session is None:
            with self.factory() as own:
                snapshot = load_snapshot(own, event_id)
        else:
            with unscoped(session):
                snapshot = load_snapshot(session, event_id)
        with self._lock:
            if len(self._entries) > 10_000:
                self._entries.clear()
            self._entries[event_id] = (now + self.ttl, snapshot)
        return snapshot


def _replayed(prior: Prior, shopper: Shopper, sku: str, quantity: int) -> Reserved:
    """The first answer under a request id, when the retry asks for the same (else 422)."""
    same = same_ask(prior, customer=shopper.ref_hash, sku=sku, quantity=quantity)
    return Reserved(id=same.id, price_fen=same.price_fen, expires_at=same.expires_at.astimezone(UTC))


def _checked(
    event: EventSnapshot | None,
    *,
    event_id: int,
    sku: str,
    quantity: int,
    at: datetime,
    link: CachedLink | None,
) -> tuple[EventSnapshot, ItemTerms]:
    if event is None:
        raise NotFound(Message("This event does not exist."), code="event_not_found")
    item = event.items.get(sku)
    if item is None:
        raise Invalid(Message("{field} is not on this event's price list.", field="sku"), code="unknown_sku")
    if link is not None and link.program_id != event.program_id:
        raise Invalid(Message("This share link belongs to another program."), code="link_program_mismatch")
    if link is not None and not link.active:
        raise refused("link_disabled")
    if not event.starts_at <= at < event.ends_at:
        raise refused("not_live")
    if quantity > item.limit:
        raise refused("limit_reached")
    return event, item


def reserve(
    session: Session,
    *,
    event: EventSnapshot | None,
    event_id: int,
    shopper: Shopper,
    sku: str,
    quantity: int,
    at: datetime,
    link: CachedLink | None = None,
    gate: ReservationGate | None = None,
    request_id: str | None = None,
) -> Reserved:
    """Reserve ``quantity`` units of ``sku`` for the shopper, or raise why not (409 with its code); a
    retry under ``request_id`` answers what the first reservation answered and takes nothing."""
    if (
        event is not None
        and request_id is not None
        and (
            prior := find_prior(
                session, gate, event_id=event.id, created_at=event.created_at, request_id=request_id
            )
        )
        is not None
    ):
        return _replayed(prior, shopper, sku, quantity)
    snapshot, item = _checked(event, event_id=event_id, sku=sku, quantity=quantity, at=at, link=link)
    if shopper.employee_no is None and shopper.invitation_code is None:
        raise refused("not_invited")
    asked = Asked(sku, quantity, request_id)
    if gate is not None:
        return _through_gate(
            session, gate, event=snapshot, item=item, shopper=shopper, asked=asked, at=at, link=link
        )
    return _in_database(session, event=snapshot, item=item, shopper=shopper, asked=asked, at=at, link=link)


def _through_gate(
    session: Session,
    gate: ReservationGate,
    *,
    event: EventSnapshot,
    item: ItemTerms,
    shopper: Shopper,
    asked: Asked,
    at: datetime,
    link: CachedLink | None,
) -> Reserved:
    sku, quantity = asked.sku, asked.quantity
    base = gate.base(event.id, event.created_at)
    expires = (at + event.hold).astimezone(UTC)
    record = {
        "e": event.id,
        "i": item.id,
        "s": sku,
        "q": quantity,
        "p": item.price_fen,
        "c": shopper.ref_hash,
        "m": shopper.masked,
        "en": shopper.employee_no,
        "ic": shopper.invitation_code,
        "l": link.id if link else None,
        "mb": link.member_id if link else None,
        "at": at.isoformat(),
        "x": expires.isoformat(),
        "rq": asked.request_id,
    }
    terms = Prior.terms(shopper.ref_hash, quantity, item.price_fen, expires, sku)
    # Two seconds at most, by the clock (not a count of tries: one try's seeding may read a long stream).
    deadline = time.monotonic() + SEED_WAIT_SECONDS
    while True:
        result = gate.reserve(
            base,
            sku=sku,
            customer=shopper.ref_hash,
            quantity=quantity,
            stock=item.stock,
            limit=item.limit,
            employee_no=shopper.employee_no,
            invitation_code=shopper.invitation_code,
            record=record,
            request_id=asked.request_id,
            terms=terms,
        )
        if result.code != "not_seeded" or time.monotonic() >= deadline:
            break
        if not gate.seed(
            base,
            lambda: seeds.seed_state(session, event.id),
            event_id=event.id,
            expire_at=gate.expiry(event.ends_at),
        ):
            time.sleep(0.05)  # another process is seeding, or the event's reservations are being stored
    if result.prior is not None:  # a retry raced the first past ``_prior``
        return _replayed(result.prior, shopper, sku, quantity)
    if result.code == "not_seeded":  # the event's state is still being rebuilt: nothing was wrong
        raise Recounting(
            Message("This event's stock is being recounted; retry in a moment."), code="event_busy"
        )
    if result.code != "taken":
        raise refused(result.code)
    return Reserved(id=result.reservation_id, price_fen=item.price_fen, expires_at=expires)


def _in_database(
    session: Session,
    *,
    event: EventSnapshot,
    item: ItemTerms,
    shopper: Shopper,
    asked: Asked,
    at: datetime,
    link: CachedLink | None,
) -> Reserved:
    # The shopper's opt-out lock before the first write of them: an opt-out at the same moment either
    # waits and erases this reservation, or is erased already (``privacy.repository.lock_customers``).
    # Retries of one shopper queue on it too, so the second finds the first's reservation.
    privacy.lock_customers(session, {shopper.ref_hash})
    if asked.request_id is not None:
        if (prior := stored_prior(session, event.id, asked.request_id)) is not None:
            return _replayed(prior, shopper, asked.sku, asked.quantity)
        try:
            with session.begin_nested():  # a refusal or a key taken meanwhile undoes the counters
                return _write(session, event=event, item=item, shopper=shopper, asked=asked, at=at, link=link)
        except IntegrityError:  # another shopper's reservation took the key since
            prior = stored_prior(session, event.id, asked.request_id)
            if prior is None:
                raise
            return _replayed(prior, shopper, asked.sku, asked.quantity)
    return _write(session, event=event, item=item, shopper=shopper, asked=asked, at=at, link=link)


def _write(
    session: Session,
    *,
    event: EventSnapshot,
    item: ItemTerms,
    shopper: Shopper,
    asked: Asked,
    at: datetime,
    link: CachedLink | None,
) -> Reserved:
    sku, quantity = asked.sku, asked.quantity
    employee_id, invitation_id = _eligible(session, event.id, shopper, at)
    insert_ignoring_duplicates(
        session, CustomerCount, [{"item_id": item.id, "customer_ref_hash": shopper.ref_hash, "reserved": 0}]
    )
    mine = session.execute(
        update(CustomerCount)
        .where(
            CustomerCount.item_id == item.id,
            CustomerCount.customer_ref_hash == shopper.ref_hash,
            CustomerCount.reserved + quantity <= item.limit,
        )
        .values(reserved=CustomerCount.reserved + quantity)
        .execution_options(synchronize_session=False)
    )
    if mine.rowcount == 0:  # type: ignore[attr-defined]
        raise refused("limit_reached")
    stock = session.execute(
        update(EventItem)
        .where(EventItem.id == item.id, EventItem.reserved + quantity <= EventItem.stock)
        .values(reserved=EventItem.reserved + quantity)
        .execution_options(synchronize_session=False)
    )
    if stock.rowcount == 0:  # type: ignore[attr-defined]
        raise refused("sold_out")
    expires = (at + event.hold).astimezone(UTC)
    reservation_id = session.execute(
        insert(Reservation)
        .values(
            event_id=event.id,
            item_id=item.id,
            sku=sku,
            quantity=quantity,
            price_fen=item.price_fen,
            customer_ref_hash=shopper.ref_hash,
            customer_ref_masked=shopper.masked,
            employee_id=employee_id,
            invitation_id=invitation_id,
            link_id=link.id if link else None,
            member_id=link.member_id if link else None,
            status=ReservationStatus.HELD,
            reserved_at=at,
            expires_at=expires,
            request_id=asked.request_id,
        )
        .returning(Reservation.id)
    ).scalar_one()
    return Reserved(id=reservation_id, price_fen=item.price_fen, expires_at=expires)


def _eligible(
    session: Session, event_id: int, shopper: Shopper, at: datetime
) -> tuple[int | None, int | None]:
    """(employee id, invitation id) of an invited shopper; binds an unbound invitation to them."""
    if shopper.employee_no is not None:
        employee = session.scalar(
            select(EventEmployee.id).where(
                EventEmployee.event_id == event_id, EventEmployee.employee_no == shopper.employee_no
            )
        )
        if employee is None:
            raise refused("not_invited")
        return employee, None
    bound = session.execute(
        update(Invitation)
        .where(
            Invitation.event_id == event_id,
            Invitation.code == shopper.invitation_code,
            or_(Invitation.customer_ref_hash.is_(None), Invitation.customer_ref_hash == shopper.ref_hash),
        )
        .values(customer_ref_hash=shopper.ref_hash, bound_at=func.coalesce(Invitation.bound_at, at))
        .returning(Invitation.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if bound is None:
        raise refused("not_invited")
    return None, bound
