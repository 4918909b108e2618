"""Setting an event up: the event and its price list, the employee whitelist, invitation codes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.events import after_commit
from neigou.events.gate import ReservationGate
from neigou.events.models import Event, EventEmployee, EventItem, Invitation, InvitationRequest
from neigou.events.numbers import one_form
from neigou.kit.actor import Actor
from neigou.kit.bulk import insert_ignoring_duplicates
from neigou.kit.db import get_or_404
from neigou.kit.errors import Conflict, Invalid
from neigou.kit.i18n import Message
from neigou.links.codes import new_code
from neigou.programs.models import Member
from neigou.programs.service import require_program

DEFAULT_HOLD_MINUTES = 15
MAX_ITEMS = 200


@dataclass(frozen=True)
class ItemIn:
    """A price-list line as asked for."""

    sku: str
    price_fen: int
    stock: int
    per_person_limit: int


@dataclass(frozen=True)
class EmployeeIn:
    """A whitelist entry as imported."""

    employee_no: str
    name: str
    member_id: int | None = None


def require_event(session: Session, event_id: int, *, lock: bool = False) -> Event:
    """The event or a 404."""
    return get_or_404(
        session,
        Event,
        event_id,
        code="event_not_found",
        detail=Message("This event does not exist."),
        lock=lock,
    )


def create_event(
    session: Session,
    *,
    program_id: int,
    name: str,
    starts_at: datetime,
    ends_at: datetime,
    guests_per_employee: int,
    items: list[ItemIn],
    actor: Actor,
    at: datetime,
    hold_minutes: int = DEFAULT_HOLD_MINUTES,
    stream_url: str | None = None,
) -> Event:
    """A new event with its price list."""
    require_program(session, program_id)
    if starts_at >= ends_at:
        raise Invalid(Message("An event must end after it starts."), code="invalid_window")
    skus = [i.sku for i in items]
    if len(set(skus)) != len(skus):
        raise Invalid(Message("Each sku appears once in an event's price list."), code="duplicate_sku")
    event = Event(
        program_id=program_id,
        code=new_code(),
        name=name,
        starts_at=starts_at,
        ends_at=ends_at,
        guests_per_employee=guests_per_employee,
        hold_minutes=hold_minutes,
        stream_url=stream_url,
        created_at=at,
    )
    session.add(event)
    session.flush()
    session.add_all(
        EventItem(
            event_id=event.id,
            sku=i.sku,
            price_fen=i.price_fen,
            stock=i.stock,
            per_person_limit=i.per_person_limit,
            reserved=0,
        )
        for i in items
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="event.create",
        entity="event",
        entity_id=event.id,
        after={"name": name, "program_id": program_id, "items": len(items)},
        at=at,
    )
    return event


def add_employees(
    session: Session,
    *,
    event_id: int,
    employees: list[EmployeeIn],
    actor: Actor,
    gate: ReservationGate | None = None,
) -> int:
    """Add whitelist entries (an employee number already there is kept as it was); returns how many were new."""
    event = require_event(session, event_id)
    employees = [EmployeeIn(one_form(e.employee_no), e.name, e.member_id) for e in employees]
    numbers = [e.employee_no for e in employees]
    if len(set(numbers)) != len(numbers):
        raise Invalid(Message("Each employee number appears once."), code="duplicate_employee")
    members = {e.member_id for e in employees if e.member_id is not None}
    if members:
        found = set(
            session.scalars(
                select(Member.id).where(Member.id.in_(members), Member.program_id == event.program_id)
            )
        )
        if members - found:
            # Named by its place, counted from 1 (a pasted list's line, the API list's entry).
            number = 1 + next(n for n, e in enumerate(employees) if e.member_id in members - found)
            raise Invalid(
                Message("Entry {number} names a member who is not in this event's program.", number=number),
                code="member_not_found",
            )
    added = insert_ignoring_duplicates(
        session,
        EventEmployee,
        [
            {
                "event_id": event_id,
                "employee_no": e.employee_no,
                "name": e.name,
                "member_id": e.member_id,
                "invitations": 0,
            }
            for e in employees
        ],
        index_elements=["event_id", "employee_no"],
        returning=["employee_no"],
    )
    new = [str(row[0]) for row in added]
    if gate is not None and new:
        # Noted before the commit (Redis down fails the request, nothing committed): a note the call
        # after the commit never cleared marks the event's state stale (``gate.sweep_notes``).
        note = gate.note(gate.base(event.id, event.created_at))
        after_commit(session, lambda: gate.add_employees(note, new))
    audit.record(
        session,
        actor=actor,
        action="event.employees",
        entity="event",
        entity_id=event_id,
        after={"added": len(new)},
    )
    return len(new)


def _stored_or_one_form(session: Session, event_id: int, given: str) -> str:
    """The number exactly as a row of the event stores it, when one does (a member's own entry, a row
    migration 0036 left in its old form beside the one that took the normal form, or one in a form the
    rule now refuses: kept usable as stored); else its one form (422 when the rule refuses it): a
    stored number never resolves to another employee's row."""
    stored = session.scalar(
        select(EventEmployee.employee_no).where(
            EventEmployee.event_id == event_id, EventEmployee.employee_no == given
        )
    )
    return stored if stored is not None else one_form(given)


def issue_invitations(
    session: Session,
    *,
    event_id: int,
    employee_no: str,
    count: int,
    actor: Actor,
    at: datetime,
    gate: ReservationGate | None = None,
    request_id: str | None = None,
) -> list[str]:
    """``count`` new invitation codes of an employee, within the event's guest quota (409 beyond it).
    Under a ``request_id`` already used in the event, the codes it issued and nothing more (409
    ``idempotency_key_reused`` for another employee or count), also when retries arrive at once."""
    event = require_event(session, event_id)
    employee_no = _stored_or_one_form(session, event_id, employee_no)
    if request_id is None:
        return _issue(session, event, employee_no, count, actor=actor, at=at, gate=gate, request_id=None)
    if (earlier := _issued_under(session, event_id, request_id)) is not None:
        return _same_ask(earlier, employee_no=employee_no, count=count)
    try:
        with session.begin_nested():  # a parallel retry that stored its key first wins it
            return _issue(
                session, event, employee_no, count, actor=actor, at=at, gate=gate, request_id=request_id
            )
    except IntegrityError:
        earlier = _issued_under(session, event_id, request_id)
        if earlier is None:
            raise
        return _same_ask(earlier, employee_no=employee_no, count=count)


def _issued_under(session: Session, event_id: int, request_id: str) -> tuple[str, int, list[str]] | None:
    """The employee number, count and codes of the invitations issued under ``request_id``, if any."""
    row = session.execute(
        select(EventEmployee.employee_no, InvitationRequest.count, InvitationRequest.codes)
        .join(EventEmployee, EventEmployee.id == InvitationRequest.employee_id)
        .where(InvitationRequest.event_id == event_id, InvitationRequest.request_id == request_id)
    ).one_or_none()
    return None if row is None else (row[0], row[1], list(row[2]))


def _same_ask(earlier: tuple[str, int, list[str]], *, employee_no: str, count: int) -> list[str]:
    """The codes issued first under a key, when the retry asks for the same; else 409."""
    if earlier[:2] != (employee_no, count):
        raise Conflict(
            Message("This Idempotency-Key was used for other invitations."), code="idempotency_key_reused"
        )
    return earlier[2]


def _issue(
    session: Session,
    event: Event,
    employee_no: str,
    count: int,
    *,
    actor: Actor,
    at: datetime,
    gate: ReservationGate | None,
    request_id: str | None,
) -> list[str]:
    employee_id = session.scalar(
        select(EventEmployee.id).where(
            EventEmployee.event_id == event.id, EventEmployee.employee_no == employee_no
        )
    )
    if employee_id is None:
        raise Invalid(
            Message("This employee number is not on this event's list."),
            code="employee_not_found",
        )
    codes = [new_code(10) for _ in range(count)]
    if request_id is not None:  # the key first: a retry racing this one waits for it, then finds it
        session.add(
            InvitationRequest(
                event_id=event.id,
                request_id=request_id,
                employee_id=employee_id,
                count=count,
                codes=codes,
                created_at=at,
            )
        )
        session.flush()
    # One conditional UPDATE takes the quota: concurrent requests for one employee never exceed it.
    taken = session.execute(
        update(EventEmployee)
        .where(
            EventEmployee.id == employee_id,
            EventEmployee.invitations + count <= event.guests_per_employee,
        )
        .values(invitations=EventEmployee.invitations + count)
        .returning(EventEmployee.id)
    ).scalar_one_or_none()
    if taken is None:
        raise Conflict(
            Message(
                "Each employee may invite {quota} guests to this event.", quota=event.guests_per_employee
            ),
            code="guest_quota_exceeded",
        )
    session.add_all(
        Invitation(event_id=event.id, employee_id=taken, code=code, created_at=at) for code in codes
    )
    session.flush()
    if gate is not None:
        note = gate.note(gate.base(event.id, event.created_at))  # as ``add_employees`` does
        after_commit(session, lambda: gate.add_invitations(note, codes))
    audit.record(
        session,
        actor=actor,
        action="event.invitations",
        entity="event",
        entity_id=event.id,
        after={"employee_no": employee_no, "count": count},
        at=at,
    )
    return codes
