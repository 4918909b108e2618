"""The owner's group live codes (活码) on a phone: the stable link and its QR, each group's latest
count, scans and QR upload, each code's "all groups full" alert, and a form to make a new code."""

from __future__ import annotations

import io
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from neigou.groups import live_code_repository as live_repo
from neigou.groups import live_codes
from neigou.groups import repository as groups_repo
from neigou.groups.live_rules import MAX_QR_BYTES
from neigou.groups.live_views import live_codes_out, live_url
from neigou.groups.models import GroupStatus
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import NotFound, ProblemError
from neigou.kit.i18n import Message
from neigou.kit.ids import whole_number
from neigou.links.endpoints import base_url
from neigou.links.poster import qr_image
from neigou.programs.service import require_member
from neigou.web.pages import WorkspaceMember, render

router = APIRouter(include_in_schema=False)


@router.get("/m/live-codes", response_class=HTMLResponse)
def my_live_codes(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    error: Annotated[str | None, Query(max_length=60)] = None,
    saved: bool = False,
) -> HTMLResponse:
    """Every live code of the owner with its groups, and the form for a new one."""
    member = require_member(session, principal.member_id or 0)
    codes = live_repo.live_codes_of_owner(session, member.id)
    return render(
        request,
        "m/livecodes/index.html",
        codes=live_codes_out(session, codes, base_url=base_url(request), at=utcnow()),
        groups=[
            g for g in groups_repo.groups_of_owners(session, [member.id]) if g.status is GroupStatus.ACTIVE
        ],
        error=error,
        saved=saved,
    )


@router.post("/m/live-codes")
def make_live_code(
    session: SessionDep,
    principal: WorkspaceMember,
    capacity: Annotated[str, Form(max_length=10)] = "",
    group_id: Annotated[list[int] | None, Form(max_length=50)] = None,
) -> RedirectResponse:
    """A live code over the chosen groups, in the order shown."""
    if not group_id:
        return RedirectResponse("/m/live-codes?error=no_groups", status_code=303)
    if not 1 <= (whole_number(capacity) or 0) <= 100_000:
        return RedirectResponse("/m/live-codes?error=capacity", status_code=303)
    try:
        with session.begin_nested():
            live_codes.create_live_code(
                session,
                owner_member_id=principal.member_id or 0,
                group_ids=group_id,
                capacity=int(capacity),
                actor=principal.actor,
                at=utcnow(),
            )
    except ProblemError as exc:
        return RedirectResponse(f"/m/live-codes?error={exc.code}", status_code=303)
    return RedirectResponse("/m/live-codes?saved=1", status_code=303)


@router.post("/m/live-codes/{code}/groups/{group_id}/qr")
def upload_group_qr(
    code: str, group_id: int, image: UploadFile, session: SessionDep, principal: WorkspaceMember
) -> RedirectResponse:
    """Upload a group's own join QR image."""
    try:
        with session.begin_nested():
            live = live_codes.require_live_code(session, code)
            if live.owner_member_id != principal.member_id:
                return RedirectResponse("/m/live-codes?error=live_code_not_found", status_code=303)
            live_codes.upload_qr(
                session,
                live_code=live,
                group_id=group_id,
                data=image.file.read(MAX_QR_BYTES + 1),
                actor=principal.actor,
                at=utcnow(),
            )
    except ProblemError as exc:
        return RedirectResponse(f"/m/live-codes?error={exc.code}", status_code=303)
    return RedirectResponse(f"/m/live-codes?saved=1#code-{code}", status_code=303)


@router.get("/m/live-codes/{code}/qr.png", response_class=Response)
def live_code_qr(code: str, request: Request, session: SessionDep, principal: WorkspaceMember) -> Response:
    """The QR of the live code's stable link, for the owner to share; another member's code is unknown
    alike (404 problem+json ``live_code_not_found``: ``web.paths.FETCHED``)."""
    live = live_codes.require_live_code(session, code)
    if live.owner_member_id != principal.member_id:
        raise NotFound(Message("This live code does not exist."), code="live_code_not_found")
    out = io.BytesIO()
    qr_image(live_url(base_url(request), live.code), 480).save(out, format="PNG")
    return Response(out.getvalue(), media_type="image/png")
