"""Reservations: an invited shopper holds event stock at the event price within the per-person limit.

Two paths, one answer. With Redis (``gate``) nothing is read from the database on the way: the event
comes from an in-process snapshot (``EventBook``), the link from the links cache, and the gate's one
script decides and appends the reservation to a stream that ``writer`` stores in batches. Without
Redis the database decides with conditional statements in the request's transaction
(``reservations_db``), so concurrent requests never oversell nor pass the per-person limit. What both
read and answer (the snapshot, the shopper, the ask, the reservation) is in ``reservation_values``.

A retry under the caller's request id takes nothing and answers what the first answered (``retries``).
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from neigou.events import seeds
from neigou.events.gate import ReservationGate
from neigou.events.gate_values import Prior
from neigou.events.models import Event, EventItem
from neigou.events.refusals import Recounting, refused
from neigou.events.reservation_values import (
    Asked,
    EventSnapshot,
    ItemTerms,
    Reserved,
    Shopper,
    replayed,
)
from neigou.events.reservations_db import in_database
from neigou.events.retries import find_prior
from neigou.kit.clock import ensure_aware, utcnow
from neigou.kit.errors import Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.kit.scoping import unscoped
from neigou.links.cache import CachedLink

__all__ = ["EventBook", "EventSnapshot", "Reserved", "Shopper", "load_snapshot", "reserve"]

SNAPSHOT_TTL_SECONDS = 5.0
# How long a reservation waits for its event's gate to be seeded before answering 503 ``event_busy``.
SEED_WAIT_SECONDS = 2.0


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
    """Reserve ``quantity`` units of ``sku`` for the shopper at ``at``, or raise why not (409 with its
    code); a retry under ``request_id`` answers what the first reservation answered and takes nothing.

    ``at`` counts at the server's now at the latest: a caller's clock may run up to the clock skew ahead
    of ours (``kit.instants``), and such an ``at`` is taken (not refused) as now. The event's window, the
    hold's expiry and the reservation's recorded time are all decided by it, so nothing is reserved
    before the event opens, nor held past ``hold`` from now, on either path."""
    at = min(ensure_aware(at), utcnow())
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
        return replayed(prior, shopper, sku, quantity)
    snapshot, item = _checked(event, event_id=event_id, sku=sku, quantity=quantity, at=at, link=link)
    if shopper.employee_no is None and shopper.invitation_code is None:
        raise refused("not_invited")
    asked = Asked(sku, quantity, request_id)
    if gate is not None:
        return _through_gate(
            session, gate, event=snapshot, item=item, shopper=shopper, asked=asked, at=at, link=link
        )
    return in_database(session, event=snapshot, item=item, shopper=shopper, asked=asked, at=at, link=link)


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
        return replayed(result.prior, shopper, sku, quantity)
    if result.code == "not_seeded":  # the event's state is still being rebuilt: nothing was wrong
        raise Recounting(
            Message("This event's stock is being recounted; retry in a moment."), code="event_busy"
        )
    if result.code != "taken":
        raise refused(result.code)
    return Reserved(id=result.reservation_id, price_fen=item.price_fen, expires_at=expires)
