"""HTTP endpoints of events (``/api/v1``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request, status

from neigou.auth.dependencies import Operator, OperatorOrIntegration, OperatorOrMember, require_member_access
from neigou.events import (
    holds,  # noqa: F401 - registers the hold-settling job
    service,
)
from neigou.events import leaderboard as ranks
from neigou.events import refunds as _refunds  # noqa: F401 - registers the full-refund listener
from neigou.events import repository as repo
from neigou.events.reservations import Shopper, reserve
from neigou.events.runtime import EventsRuntime
from neigou.events.schemas import (
    AddedOut,
    BoardOut,
    CodesOut,
    CreatedOut,
    EmployeeBody,
    EventBody,
    EventOut,
    InvitationBody,
    ItemOut,
    ReportLineOut,
    ReportOut,
    ReservationBody,
    ReservedOut,
    StandingOut,
)
from neigou.events.views import board_out
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.kit.ids import customer_ref_hash, customer_ref_mask
from neigou.kit.instants import MoneyClockDep
from neigou.kit.json_text import takes_large_body
from neigou.kit.paging import PageDep
from neigou.kit.scoping import current_scope

router = APIRouter(tags=["events"])


def _runtime(request: Request) -> EventsRuntime:
    runtime: EventsRuntime = request.app.state.events
    return runtime


@router.post("/events", status_code=status.HTTP_201_CREATED, response_model=CreatedOut)
def create_event(body: EventBody, session: SessionDep, principal: Operator) -> CreatedOut:
    """A new event with its price list."""
    event = service.create_event(
        session,
        program_id=body.program_id,
        name=body.name,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        guests_per_employee=body.guests_per_employee,
        hold_minutes=body.hold_minutes,
        stream_url=body.stream_url,
        items=[service.ItemIn(i.sku, i.price_fen, i.stock, i.per_person_limit) for i in body.items],
        actor=principal.actor,
        at=utcnow(),
    )
    return CreatedOut(id=event.id)


@router.get("/events", response_model=list[EventOut])
def list_events(
    session: SessionDep,
    _principal: Operator,
    page: PageDep,
    program_id: Annotated[int | None, Query()] = None,
) -> list[EventOut]:
    """Events, latest start first."""
    events = repo.page_events(session, page, program_id=program_id)
    page.answer(events.total)
    return [EventOut.model_validate(e) for e in events.items]


@router.get("/events/{event_id}", response_model=EventOut)
def get_event(event_id: int, session: SessionDep, _principal: Operator) -> EventOut:
    """One event."""
    return EventOut.model_validate(service.require_event(session, event_id))


@router.get("/events/{event_id}/items", response_model=list[ItemOut])
def list_items(
    event_id: int, session: SessionDep, _principal: OperatorOrIntegration, page: PageDep
) -> list[ItemOut]:
    """The price list with what is reserved of each sku."""
    service.require_event(session, event_id)
    items = repo.page_items(session, page, event_id)
    page.answer(items.total)
    return [ItemOut.model_validate(i) for i in items.items]


@router.post("/events/{event_id}/employees", response_model=AddedOut)
@takes_large_body  # up to 50,000 employees in one list
def add_employees(
    event_id: int,
    body: Annotated[list[EmployeeBody], Body(max_length=50_000)],
    request: Request,
    session: SessionDep,
    principal: Operator,
) -> AddedOut:
    """Import employees onto the whitelist by employee number."""
    added = service.add_employees(
        session,
        event_id=event_id,
        employees=[service.EmployeeIn(e.employee_no, e.name, e.member_id) for e in body],
        actor=principal.actor,
        gate=_runtime(request).gate,
    )
    return AddedOut(added=added)


@router.post("/events/{event_id}/invitations", status_code=status.HTTP_201_CREATED, response_model=CodesOut)
def issue_invitations(
    *,
    event_id: int,
    body: InvitationBody,
    request: Request,
    session: SessionDep,
    principal: Operator,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=64)] = None,
) -> CodesOut:
    """Personal invitation codes of an employee, within the guest quota (409 ``guest_quota_exceeded``).
    A retry under the same ``Idempotency-Key`` answers the codes it issued and issues none (409
    ``idempotency_key_reused`` when it asks for another employee or count)."""
    codes = service.issue_invitations(
        session,
        event_id=event_id,
        employee_no=body.employee_no,
        count=body.count,
        actor=principal.actor,
        at=utcnow(),
        gate=_runtime(request).gate,
        request_id=idempotency_key,
    )
    return CodesOut(codes=codes)


@router.post(
    "/events/{event_id}/reservations", status_code=status.HTTP_201_CREATED, response_model=ReservedOut
)
def create_reservation(
    *,
    event_id: int,
    body: ReservationBody,
    request: Request,
    session: SessionDep,
    _principal: OperatorOrIntegration,
    clock: MoneyClockDep,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=64)] = None,
) -> ReservedOut:
    """Reserve event stock at the event price (409 not_invited, not_live, sold_out, limit_reached); a
    reservation's ``at`` may be past, never in the future (422 time_in_future past the clock skew; one
    within the skew counts as now): it decides whether the event is live and when the hold expires. A
    retry under the same ``request_id`` (or ``Idempotency-Key``) answers what the first did and takes
    nothing (422 request_id_reused when it asks for another shopper, sku or quantity)."""
    if body.request_id and idempotency_key and body.request_id != idempotency_key:
        raise Invalid(Message("request_id and Idempotency-Key differ."), code="request_id_mismatch")
    runtime = _runtime(request)
    if current_scope(session) is not None:
        service.require_event(session, event_id)  # the runtime's book knows every organization's events
    link = None
    if body.link_code is not None:
        link = request.app.state.links.cache.get(body.link_code, session)  # one connection: the request's
        if link is None:
            raise Invalid(Message("{field} names no share link.", field="link_code"), code="unknown_link")
    secret = request.app.state.settings.secret_key
    reserved = reserve(
        session,
        event=runtime.book.get(event_id, session),
        event_id=event_id,
        shopper=Shopper(
            ref_hash=customer_ref_hash(secret, body.customer_ref),
            masked=customer_ref_mask(body.customer_ref),
            employee_no=body.employee_no,
            invitation_code=body.invitation_code if body.employee_no is None else None,
        ),
        sku=body.sku,
        quantity=body.quantity,
        at=clock.at(body.at),
        link=link,
        gate=runtime.gate,
        request_id=body.request_id or idempotency_key,
    )
    return ReservedOut(id=reserved.id, price_fen=reserved.price_fen, expires_at=reserved.expires_at)


@router.get("/events/{event_id}/board", response_model=BoardOut)
def get_board(event_id: int, session: SessionDep, _principal: Operator) -> BoardOut:
    """Live figures: orders, GMV, reservations, top salespeople and skus."""
    service.require_event(session, event_id)
    return board_out(repo.board(session, event_id))


@router.get("/events/{event_id}/leaderboard", response_model=list[StandingOut])
def get_leaderboard(
    event_id: int, request: Request, session: SessionDep, _principal: Operator, page: PageDep
) -> list[StandingOut]:
    """Salespeople ranked by the GMV of the event's orders they brought."""
    service.require_event(session, event_id)
    board = _runtime(request).leaderboard
    rows, total = (
        board.page(session, event_id, limit=page.limit, offset=page.offset)
        if board is not None
        else ranks.page_from_database(session, event_id, limit=page.limit, offset=page.offset)
    )
    page.answer(total)
    return [StandingOut(member_id=r.member_id, gmv_fen=r.gmv_fen, rank=r.rank) for r in rows]


@router.get("/events/{event_id}/leaderboard/{member_id}", response_model=StandingOut)
def get_standing(
    event_id: int, member_id: int, request: Request, session: SessionDep, principal: OperatorOrMember
) -> StandingOut:
    """One salesperson's rank in the event (members see their own)."""
    require_member_access(principal, member_id)
    service.require_event(session, event_id)
    board = _runtime(request).leaderboard
    mine = (
        board.standing(session, event_id, member_id)
        if board is not None
        else ranks.standing_from_database(session, event_id, member_id)
    )
    if mine is None:
        raise NotFound(Message("This salesperson has no orders in this event."), code="no_standing")
    return StandingOut(member_id=mine.member_id, gmv_fen=mine.gmv_fen, rank=mine.rank)


@router.get("/events/{event_id}/report", response_model=ReportOut)
def get_report(
    event_id: int,
    session: SessionDep,
    _principal: Operator,
    refund_days: Annotated[int, Query(ge=0, le=365)] = 7,
) -> ReportOut:
    """After the event: per salesperson, per employee's guests and per sku, with refunds within ``refund_days``."""
    event = service.require_event(session, event_id)
    lines = repo.report(session, event, refund_days=refund_days)
    return ReportOut(
        refund_days=refund_days,
        **{k: [ReportLineOut.model_validate(x) for x in v] for k, v in lines.items()},
    )
