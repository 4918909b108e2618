"""Live events on a salesperson's phone: the events they are on the employee list of, their personal
invitation codes (asking for more within the guest quota), each code's poster, and the live page."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neigou.events import repository as events
from neigou.events import service
from neigou.events.poster import InvitationPosterData, render_invitation_poster
from neigou.events.runtime import EventsRuntime
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import NotFound, ProblemError
from neigou.kit.i18n import Message
from neigou.programs.service import require_member, require_program
from neigou.web.hosts import public_url
from neigou.web.pager import PageNumber, page_of, pager
from neigou.web.pages import WorkspaceMember, local_time, render

router = APIRouter(include_in_schema=False)
EVENTS_PER_PAGE = 5


def invitation_url(request: Request, event_code: str, code: str) -> str:
    """Where an invitation code's poster sends a guest: the event's live page with the code."""
    return public_url(request, f"/e/{event_code}?invite={code}")


@router.get("/m/events", response_class=HTMLResponse)
def my_events(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    page: PageNumber = 1,
    error: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """The member's events as an employee, latest first, each with its invitation codes and posters."""
    member = require_member(session, principal.member_id or 0)
    program = require_program(session, member.program_id)
    paged = events.page_member_events(session, page_of(page, EVENTS_PER_PAGE), member.id)
    codes = events.invitations_of(session, [employee.id for _, employee in paged.items])
    return render(
        request,
        "m/events/index.html",
        member=member,
        program=program,
        rows=paged.items,
        codes=codes,
        urls={
            i.code: invitation_url(request, event.code, i.code)
            for event, employee in paged.items
            for i in codes[employee.id]
        },
        now=utcnow(),
        request_id=uuid.uuid4().hex,
        error=error,
        pager=pager(request, page, EVENTS_PER_PAGE, paged.total),
    )


@router.post("/m/events/{event_id}/invitations", response_class=RedirectResponse)
def ask_invitations(
    request: Request,
    event_id: int,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    count: Annotated[int, Form(ge=1, le=100)] = 1,
    request_id: Annotated[str | None, Form(min_length=1, max_length=64)] = None,
) -> RedirectResponse:
    """New invitation codes for the member's own entry on an event, within the guest quota; a double tap
    or a resend sends the page's request id again and issues the codes once."""
    member_id = principal.member_id or 0
    entry = events.member_entry(session, event_id, member_id)
    if entry is None:
        return RedirectResponse("/m/events?error=event_not_found", status_code=303)
    runtime: EventsRuntime = request.app.state.events
    try:
        service.issue_invitations(
            session,
            event_id=event_id,
            employee_no=entry.employee_no,
            count=count,
            actor=principal.actor,
            at=utcnow(),
            gate=runtime.gate,
            request_id=request_id,
        )
    except ProblemError as refused:
        return RedirectResponse(f"/m/events?error={refused.code}", status_code=303)
    return RedirectResponse(f"/m/events#event-{event_id}", status_code=303)


@router.get("/m/events/invitations/{code}/poster.png", response_class=Response)
def invitation_poster(
    code: str, request: Request, session: SessionDep, principal: WorkspaceMember
) -> Response:
    """The poster of one of the member's invitation codes, as a download; another member's code is unknown
    alike (404 problem+json ``invitation_not_found``, as every image a page fetches: ``web.paths.FETCHED``)."""
    found = events.invitation(session, code)
    if found is None or found[1].member_id != principal.member_id:
        raise NotFound(Message("This invitation code does not exist."), code="invitation_not_found")
    invitation, employee, event = found
    zone = require_program(session, event.program_id).timezone
    png = render_invitation_poster(
        InvitationPosterData(
            inviter=employee.name,
            event=event.name,
            starts=local_time(event.starts_at, zone, "%Y-%m-%d %H:%M"),
            code=invitation.code,
            url=invitation_url(request, event.code, invitation.code),
        )
    )
    return Response(
        png,
        media_type="image/png",
        headers={
            "Content-Disposition": f'attachment; filename="neigou-invitation-{invitation.code}.png"',
            "Cache-Control": "private, max-age=60",
        },
    )
