"""What the opt-out erases of employee-purchase events (``privacy.service.erase`` calls it in its
transaction).

Set-based, one statement per kind, scoped to one program's events or all of them:

- ``event_reservations``: the shopper's hash becomes the opt-out's tombstone and the masked form
  ``已注销``; quantity, price, status and the employee, invitation, link and member they came through
  stay, so stock, the board and the report still add up;
- ``event_counts``: the per-person counters are re-keyed to the same tombstone (as coupon counters
  are), so they still add up to the reservations and the shopper's limit starts afresh;
- ``event_invitations``: an invitation bound to the shopper is bound to the tombstone: it stays used
  (an employee's guests are not given back) but names nobody;
- ``event_employees``: an employee number bound to the shopper (its first shopper) is released, bound
  to nobody again: the number is the employee's own, not a guest place of someone else's, so the
  employee buys with it again (as a new shopper, whose per-person limit starts afresh), where a number
  bound to the tombstone would be refused to them for good. Its reservations keep the employee.

With the Redis gate, the same happens to the gate's state once the database has committed (Redis
follows the database): in every event whose keys may still live, the ``sku|customer`` counters move
to the tombstone, invitation codes bound to the shopper are bound to it and employee numbers bound to
the shopper are released.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import redis
import structlog
from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from neigou.events import after_commit
from neigou.events.gate import ReservationGate
from neigou.events.models import CustomerCount, Event, EventEmployee, EventItem, Invitation, Reservation
from neigou.kit.clock import utcnow
from neigou.kit.ids import ERASED

KINDS = ("event_reservations", "event_counts", "event_invitations", "event_employees")
log = structlog.get_logger(__name__)


def store_stream_first(flush: Callable[[], int]) -> None:
    """Store the reservations still in the gate's stream before the opt-out erases (``flush``: the
    events runtime's). A Redis that does not answer is logged and the opt-out goes on: what the stream
    still holds is stored later, with the shopper's hash, like a later reservation."""
    try:
        flush()
    except redis.RedisError as exc:
        log.warning("events.opt_out_stream_unavailable", error=type(exc).__name__)


def _events(program_id: int | None) -> Select[int]:
    events = select(Event.id)
    return events if program_id is None else events.where(Event.program_id == program_id)


def erase_events(
    session: Session,
    *,
    customer_ref_hash: str,
    program_id: int | None,
    tombstone: str,
    gate: ReservationGate | None = None,
) -> dict[str, int]:
    """Tombstone the shopper's reservations, counters and invitation bindings and release their
    employee numbers (in one program's events, or all); rows affected per kind. With ``gate``, its
    state follows after the commit."""
    h = customer_ref_hash
    reservations = update(Reservation).where(Reservation.customer_ref_hash == h)
    counts = update(CustomerCount).where(CustomerCount.customer_ref_hash == h)
    invitations = update(Invitation).where(Invitation.customer_ref_hash == h)
    employees = update(EventEmployee).where(EventEmployee.customer_ref_hash == h)
    if program_id is not None:
        events = _events(program_id)
        items = select(EventItem.id).where(EventItem.event_id.in_(events))
        reservations = reservations.where(Reservation.event_id.in_(events))
        counts = counts.where(CustomerCount.item_id.in_(items))
        invitations = invitations.where(Invitation.event_id.in_(events))
        employees = employees.where(EventEmployee.event_id.in_(events))
    statements = {
        "event_reservations": reservations.values(customer_ref_hash=tombstone, customer_ref_masked=ERASED),
        "event_counts": counts.values(customer_ref_hash=tombstone),
        "event_invitations": invitations.values(customer_ref_hash=tombstone),
        "event_employees": employees.values(customer_ref_hash=None),
    }
    erased: dict[str, int] = {}
    for kind, statement in statements.items():
        result = session.execute(statement.execution_options(synchronize_session=False))
        erased[kind] = int(getattr(result, "rowcount", 0) or 0)
    if gate is not None:
        _rekey_after_commit(session, gate, customer=h, tombstone=tombstone, program_id=program_id)
    return erased


def _rekey_after_commit(
    session: Session, gate: ReservationGate, *, customer: str, tombstone: str, program_id: int | None
) -> None:
    """Once committed, move the shopper's gate state to the tombstone in every event whose keys may
    still be in Redis (they expire a day after the event ends)."""
    live = _events(program_id).where(Event.ends_at > utcnow() - timedelta(days=1))
    rows = session.execute(
        select(Event.id, Event.created_at, EventItem.sku)
        .join(EventItem, EventItem.event_id == Event.id)
        .where(Event.id.in_(live))
    ).all()
    skus: dict[str, list[str]] = {}
    for event_id, created_at, sku in rows:
        skus.setdefault(gate.base(event_id, created_at), []).append(sku)
    if not skus:
        return

    def rekey() -> None:
        try:
            for base, event_skus in skus.items():
                gate.rekey_customer(base, customer=customer, tombstone=tombstone, skus=event_skus)
        except redis.RedisError as exc:  # committed already: the keys keep the hash until they expire
            log.warning("events.opt_out_gate_unavailable", error=type(exc).__name__)

    after_commit(session, rekey)
