"""HTTP endpoints of group live codes (活码, ``/api/v1``); the public page is ``web.live_code``."""

from __future__ import annotations

from fastapi import APIRouter, Request, UploadFile, status

from neigou.auth.dependencies import OperatorOrMember, require_member_access
from neigou.groups import live_code_repository as live_repo
from neigou.groups import live_codes
from neigou.groups.live_rules import MAX_QR_BYTES
from neigou.groups.live_views import live_codes_out
from neigou.groups.schemas import LiveCodeCreate, LiveCodeOut
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.paging import PageDep
from neigou.programs.service import require_member

router = APIRouter(tags=["live codes"])


def _base(request: Request) -> str:
    """Where the live codes' URLs point: NEIGOU_PUBLIC_URL, never the request's Host header."""
    base: str = request.app.state.settings.public_base
    return base


@router.post("/groups/live-codes", status_code=status.HTTP_201_CREATED, response_model=LiveCodeOut)
def create_live_code(
    body: LiveCodeCreate, request: Request, session: SessionDep, principal: OperatorOrMember
) -> LiveCodeOut:
    """One stable link and QR for a family of the owner's groups (groups of another owner: 404)."""
    require_member_access(principal, body.owner_member_id)
    now = utcnow()
    live = live_codes.create_live_code(
        session,
        owner_member_id=body.owner_member_id,
        group_ids=body.group_ids,
        capacity=body.capacity,
        actor=principal.actor,
        at=now,
    )
    return live_codes_out(session, [live], base_url=_base(request), at=now)[0]


@router.get("/members/{member_id}/live-codes", response_model=list[LiveCodeOut])
def list_live_codes(
    member_id: int, request: Request, session: SessionDep, principal: OperatorOrMember, page: PageDep
) -> list[LiveCodeOut]:
    """A member's live codes, newest first, with each group's latest count and scans."""
    require_member_access(principal, member_id)
    require_member(session, member_id)
    found = live_repo.page_live_codes(session, page, owner_member_id=member_id)
    page.answer(found.total)
    return live_codes_out(session, list(found.items), base_url=_base(request), at=utcnow())


@router.put("/groups/live-codes/{code}/groups/{group_id}/qr", response_model=LiveCodeOut)
def upload_qr(
    *,
    code: str,
    group_id: int,
    image: UploadFile,
    request: Request,
    session: SessionDep,
    principal: OperatorOrMember,
) -> LiveCodeOut:
    """Upload a group's own join QR (PNG or JPEG, at most 1 MB): operators, or the code's owner."""
    live = live_codes.require_live_code(session, code)
    require_member_access(principal, live.owner_member_id)
    now = utcnow()
    live_codes.upload_qr(
        session,
        live_code=live,
        group_id=group_id,
        data=image.file.read(MAX_QR_BYTES + 1),
        actor=principal.actor,
        at=now,
    )
    return live_codes_out(session, [live], base_url=_base(request), at=now)[0]
