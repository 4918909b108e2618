"""Console pages of events (a list, and an event's page with its live board over Server-Sent
Events) and the public live page of an event, ``/e/{code}``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session, sessionmaker
from sse_starlette import EventSourceResponse
from starlette.concurrency import run_in_threadpool

from neigou.auth.dependencies import ConsoleOperator
from neigou.events import repository as events
from neigou.events.service import require_event
from neigou.events.views import board_out
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import NotFound
from neigou.kit.i18n import Message
from neigou.programs import repository as programs
from neigou.web.listing import ListQueryDep, fetch
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
BOARD_SECONDS = 2.0


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
        default_sort="-starts",
        search=events.SEARCH,
    )
    listed = programs.list_programs(session)
    return render(
        request,
        "console/events/index.html",
        principal=principal,
        listing=listing,
        programs=listed,
        names={p.id: p.name for p in listed},
        zones={p.id: p.timezone for p in listed},
        filters={"program": program or "", "state": window or ""},
        now=now,
    )


@router.get("/console/events/{event_id}", response_class=HTMLResponse)
def event_page(
    request: Request, event_id: int, *, session: SessionDep, principal: ConsoleOperator
) -> HTMLResponse:
    """An event: its price list and the live board."""
    event = require_event(session, event_id)
    return render(
        request,
        "console/events/detail.html",
        principal=principal,
        event=event,
        items=events.items_of(session, event_id),
        board=board_out(events.board(session, event_id)),
    )


def _board_json(factory: sessionmaker[Session], event_id: int) -> str:
    with factory() as session:  # one short read per tick: no connection held across the wait
        return board_out(events.board(session, event_id)).model_dump_json()


@router.get("/console/events/{event_id}/board/stream")
async def board_stream(request: Request, event_id: int, _principal: ConsoleOperator) -> EventSourceResponse:
    """The live board as Server-Sent Events: a ``board`` event every two seconds while it changes."""
    factory: sessionmaker[Session] = request.app.state.session_factory

    async def ticks() -> AsyncIterator[dict[str, str]]:
        last = ""
        while not await request.is_disconnected():
            data = await run_in_threadpool(_board_json, factory, event_id)
            if data != last:
                last = data
                yield {"event": "board", "data": data}
            await asyncio.sleep(BOARD_SECONDS)

    return EventSourceResponse(ticks(), ping=15)


@router.get("/e/{code}", response_class=HTMLResponse)
def live_page(request: Request, code: str, *, session: SessionDep) -> HTMLResponse:
    """The event's public live page: countdown to the start, the stream's link, the price list."""
    event = events.event_by_code(session, code)
    if event is None:
        raise NotFound(Message("This event does not exist."), code="event_not_found")
    now = utcnow()
    return render(
        request,
        "events/live.html",
        event=event,
        items=events.items_of(session, event.id),
        state="upcoming" if now < event.starts_at else "live" if now < event.ends_at else "ended",
    )
