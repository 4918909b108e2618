"""A reservation without Redis: the database decides with conditional statements in the request's
transaction. The employee number or invitation binds only if unbound or already this shopper's, the
shopper's counter and the item's stock rise only while under their limits, so concurrent requests
never oversell nor pass the per-person limit; a retry under the caller's request id answers what the
first reservation answered."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import and_, exists, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.events.models import (
    CustomerCount,
    EventEmployee,
    EventItem,
    Invitation,
    Reservation,
    ReservationStatus,
)
from neigou.events.refusals import refused
from neigou.events.reservation_values import Asked, EventSnapshot, ItemTerms, Reserved, Shopper, replayed
from neigou.events.retries import stored_prior
from neigou.kit.bulk import insert_ignoring_duplicates
from neigou.kit.errors import Conflict
from neigou.links.cache import CachedLink
from neigou.privacy import repository as privacy


def in_database(
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
            return replayed(prior, shopper, asked.sku, asked.quantity)
        try:
            with session.begin_nested():  # a refusal or a key taken meanwhile undoes the counters
                return _write(session, event=event, item=item, shopper=shopper, asked=asked, at=at, link=link)
        except (IntegrityError, Conflict):  # another shopper's reservation took the key since
            # A refusal too: the employee number, bound meanwhile by the shopper who took the key, is
            # refused after waiting for them; the key's answer comes first, as behind the gate.
            prior = stored_prior(session, event.id, asked.request_id)
            if prior is None:
                raise
            return replayed(prior, shopper, asked.sku, asked.quantity)
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
    """(employee id, invitation id) of an invited shopper; binds an unbound employee number or invitation
    to them. A number another shopper reserved with first is refused ``employee_no_taken``: one number
    is one shopper, within one per-person limit (the employee's guests come with invitation codes). A
    shopper is an employee or a guest of an event, never both (one per-person limit, not two): a code is
    refused ``already_employee`` to a shopper a number is bound to, and an unbound number is refused
    ``already_guest`` to a shopper a code is bound to (the shopper's lock, taken first, orders the two)."""
    guest = select(Invitation.id).where(
        Invitation.event_id == event_id, Invitation.customer_ref_hash == shopper.ref_hash
    )
    if shopper.employee_no is not None:
        of_event = (EventEmployee.event_id == event_id, EventEmployee.employee_no == shopper.employee_no)
        employee = session.execute(
            update(EventEmployee)
            .where(
                *of_event,
                or_(
                    and_(EventEmployee.customer_ref_hash.is_(None), ~exists(guest)),
                    EventEmployee.customer_ref_hash == shopper.ref_hash,
                ),
            )
            .values(customer_ref_hash=shopper.ref_hash)
            .returning(EventEmployee.id)
            .execution_options(synchronize_session=False)
        ).scalar_one_or_none()
        if employee is None:
            listed = session.execute(select(EventEmployee.customer_ref_hash).where(*of_event)).one_or_none()
            raise refused(
                "not_invited"
                if listed is None
                else "already_guest"
                if listed[0] is None
                else "employee_no_taken"
            )
        return employee, None
    staff = select(EventEmployee.id).where(
        EventEmployee.event_id == event_id, EventEmployee.customer_ref_hash == shopper.ref_hash
    )
    # A shopper is one invitation's guest: an unbound code binds only to a shopper no other code holds.
    held = guest.where(Invitation.code != shopper.invitation_code)
    bound = session.execute(
        update(Invitation)
        .where(
            Invitation.event_id == event_id,
            Invitation.code == shopper.invitation_code,
            or_(
                and_(Invitation.customer_ref_hash.is_(None), ~exists(held)),
                Invitation.customer_ref_hash == shopper.ref_hash,
            ),
            ~exists(staff),
        )
        .values(customer_ref_hash=shopper.ref_hash, bound_at=func.coalesce(Invitation.bound_at, at))
        .returning(Invitation.id)
        .execution_options(synchronize_session=False)
    ).scalar_one_or_none()
    if bound is None:
        code = session.execute(
            select(Invitation.customer_ref_hash).where(
                Invitation.event_id == event_id, Invitation.code == shopper.invitation_code
            )
        ).one_or_none()
        if code is None or code[0] not in (None, shopper.ref_hash):
            raise refused("not_invited")
        raise refused("already_employee" if session.scalar(staff) is not None else "already_invited")
    return None, bound
