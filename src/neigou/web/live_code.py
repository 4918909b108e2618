"""The public live-code page ``/g/{code}`` (活码): the join QR of the first group with room, or a page
saying every group is full (the owner is alerted). Anonymous; a bad code gets a friendly 404 page."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from neigou.groups import live_code_repository as live_repo
from neigou.groups import live_codes
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import NotFound, ProblemError
from neigou.kit.i18n import Message
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/g/{code}", response_class=HTMLResponse)
def live_code_page(code: str, request: Request, session: SessionDep) -> HTMLResponse:
    """Send the visitor to the open group and count the scan on it."""
    try:
        live = live_codes.require_live_code(session, code)
    except ProblemError:
        return render(request, "livecode/missing.html", status_code=404, code=code[:64])
    scan = live_codes.scan(session, live_code=live, at=utcnow())
    response = render(request, "livecode/page.html", live=live, group=scan.group, has_qr=scan.has_qr)
    response.headers["Cache-Control"] = "no-store"  # every scan must reach the rotation
    return response


@router.get("/g/{code}/qr/{group_id}")
def live_code_qr(code: str, group_id: int, session: SessionDep) -> Response:
    """The uploaded join QR image of a group of the live code; an unknown code or a group without one is
    a 404 problem+json (``live_code_not_found``, ``group_qr_not_found``: ``web.paths.FETCHED``)."""
    live = live_codes.require_live_code(session, code)
    found = live_repo.live_code_qr(session, live.id, group_id)
    if found is None:
        raise NotFound(Message("This group has no join QR image."), code="group_qr_not_found")
    data, content_type = found
    return Response(data, media_type=content_type, headers={"Cache-Control": "private, max-age=300"})
