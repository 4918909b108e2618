"""Console pages of events (a list, and an event's page with its live board over Server-Sent
Events) and the public live page of an event, ``/e/{code}``."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session, sessionmaker

from neigou.auth.dependencies import ConsoleOperator
from neigou.auth.service import Principal
from neigou.auth.standing import valid_until
from neigou.events import repository as events
from neigou.events.models import EventItem
from neigou.events.schemas import LiveBoardOut, invitation_code
from neigou.events.service import require_event
from neigou.events.views import live_board_out
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import NotFound
from neigou.kit.i18n import Message
from neigou.kit.scoping import Scope, current_request_scope, use_scope
from neigou.offers import repository as offers
from neigou.offers.forms import FieldError
from neigou.programs import repository as programs
from neigou.programs.service import require_program
from neigou.web.listing import ListQueryDep, fetch
from neigou.web.pages import render
from neigou.web.streaming import stream_gate

router = APIRouter(include_in_schema=False)
BOARD_SECONDS = 2.0
STANDING_TICKS = 5  # a stream's operator is asked again every this many ticks, and at expiry


@router.get("/console/events", response_class=HTMLResponse)
def events_page(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    query: ListQueryDep,
    program: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    state: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    """Events, latest start first: searchable by name or code, sortable, by program and state, paged."""
    now = utcnow()
    window = state if state in events.STATES else None
    listing = fetch(
        session,
        request,
        events.events_statement(program_id=program, state=window, at=now),
        query,
        sorts=events.SORTS,
        default_sort="-starts_at",
        search=events.SEARCH,
    )
    listed = programs.list_programs(session)
    return render(
        request,
        "console/events/index.html",
        principal=principal,
        events=listing,
        programs=listed,
        names={p.id: p.name for p in listed},
        zones={p.id: p.timezone for p in listed},
        filters={"program": program or "", "state": window or ""},
        now=now,
    )


@router.get("/console/events/{event_id}", response_class=HTMLResponse)
def event_page(
    request: Request,
    event_id: int,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    added: Annotated[int | None, Query(ge=0, le=2**31)] = None,
) -> HTMLResponse:
    """An event: its price list, the live board and the form that adds employees to its whitelist."""
    return render_event(request, session, principal, event_id, added=added)


def render_event(
    request: Request,
    session: Session,
    principal: Principal,
    event_id: int,
    *,
    added: int | None = None,
    lines: str = "",
    errors: list[FieldError] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The event's page, with what the whitelist form added, or its refused lines and their errors."""
    event = require_event(session, event_id)
    program = require_program(session, event.program_id)
    items = events.items_of(session, event_id)
    board = _live_board(session, event_id)
    return render(
        request,
        "console/events/detail.html",
        status_code=status_code,
        principal=principal,
        event=event,
        zone=program.timezone,
        items=items,
        board=board,
        titles=_titles(session, program.organization_id, items),
        employees=events.employee_count(session, event_id),
        added=added,
        lines=lines,
        errors=errors or [],
    )


def _board_json(factory: sessionmaker[Session], scope: Scope | None, event_id: int) -> str:
    with factory() as session:  # one short read per tick: no connection held across the wait
        use_scope(session, scope)
        require_event(session, event_id)
        return _live_board(session, event_id).model_dump_json()


def _live_board(session: Session, event_id: int) -> LiveBoardOut:
    """The board with its sellers' names and products' titles, as the page and its stream show it."""
    board = events.board(session, event_id)
    return live_board_out(board, events.board_labels(session, event_id, board))


@router.get("/console/events/{event_id}/board/stream")
async def board_stream(request: Request, event_id: int, principal: ConsoleOperator) -> Response:
    """The live board as Server-Sent Events: a ``board`` event every two seconds while it changes.
    The event is looked up in the caller's organization first (another organization's is a 404).
    Every stream of one event and tenant scope shares one read per tick (``web.feeds``): the board
    holds figures, sellers' names and products' titles (``LiveBoardOut``), no text in the reader's
    language, and what a caller may see of it is
    decided by its scope (organization, merchant), so the scope is part of the key and a stream is
    never handed a board read for another scope. The stream ends once the operator's session no
    longer stands (signed out, account stopped, expired), asked every ``STANDING_TICKS`` ticks and
    at its expiry. Past ``max_streams`` open streams, 503
    ``overloaded`` with Retry-After (``web.streaming``)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    scope = current_request_scope(request.state)
    gate = stream_gate(request)
    if not gate.admit():
        return gate.refused(request)
    try:
        watch = await gate.watch(
            ("board", event_id, scope), partial(_board_json, factory, scope, event_id), every=BOARD_SECONDS
        )
    except BaseException:
        gate.release()
        raise
    standing = partial(_valid_until, factory, principal.token_id)
    return gate.respond(watch, "board", standing=standing, every=BOARD_SECONDS * STANDING_TICKS)


def _valid_until(factory: sessionmaker[Session], token_id: int) -> datetime | None:
    with factory() as session:  # one short read, on the streams' reader threads
        return valid_until(session, token_id)


@router.get("/e/{code}", response_class=HTMLResponse)
def live_page(
    request: Request,
    code: str,
    *,
    session: SessionDep,
    invite: Annotated[str, Query(max_length=256)] = "",
) -> HTMLResponse:
    """The event's public live page: countdown to the start, the stream's link, the price list, and
    who invites the guest when it is opened through an invitation code's poster."""
    event = events.event_by_code(session, code)
    if event is None:
        raise NotFound(Message("This event does not exist."), code="event_not_found")
    # As a reservation reads it: a poster's code pasted full-width or with a zero-width mark is the code.
    found = events.invitation(session, issued) if (issued := invitation_code(invite)) else None
    now = utcnow()
    items = events.items_of(session, event.id)
    program = require_program(session, event.program_id)
    return render(
        request,
        "events/live.html",
        event=event,
        zone=program.timezone,
        items=items,
        titles=_titles(session, program.organization_id, items),
        invitation=found if found is not None and found[2].id == event.id else None,
        state="upcoming" if now < event.starts_at else "live" if now < event.ends_at else "ended",
    )


def _titles(session: Session, organization_id: int, items: list[EventItem]) -> dict[str, str]:
    """The titles of an event's skus in its program's catalog: the public page's session has no scope,
    and another organization's product of the same sku is never shown."""
    products = offers.products_by_sku(session, [i.sku for i in items], organization_id=organization_id)
    return {sku: p.title for sku, p in products.items()}
