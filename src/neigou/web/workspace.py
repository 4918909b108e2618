"""The member's mobile workspace: sign-in by token link, own tier, inviter and team."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neigou.auth import service as auth
from neigou.auth.dependencies import SESSION_COOKIE, WorkspaceMember
from neigou.auth.models import Role
from neigou.kit.deps import SessionDep
from neigou.programs import repository as programs
from neigou.programs.service import require_member, require_program
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/m/login", response_model=None)
def member_login(request: Request, token: str, session: SessionDep) -> Response:
    """Exchange a member token link for a workspace session cookie."""
    principal = auth.resolve(session, token)
    if principal is None or principal.role is not Role.MEMBER or principal.member_id is None:
        return render(request, "m/expired.html", status_code=401)
    secret = auth.create_session(
        session,
        role=Role.MEMBER,
        member_id=principal.member_id,
        label=principal.label or f"member {principal.member_id}",
        hours=request.app.state.settings.session_hours,
    )
    response = RedirectResponse("/m/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        max_age=request.app.state.settings.session_hours * 3600,
    )
    return response


@router.get("/m/expired", response_class=HTMLResponse)
def expired(request: Request) -> HTMLResponse:
    """Shown when the sign-in link or session is no longer valid."""
    return render(request, "m/expired.html", status_code=401)


@router.get("/m/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep, principal: WorkspaceMember) -> HTMLResponse:
    """The member's own page: tier, inviter and direct recruits."""
    member = require_member(session, principal.member_id or 0)
    program = require_program(session, member.program_id)
    tiers = {t.code: t for t in programs.list_tiers(session, program.id)}
    inviter = programs.get_member(session, member.inviter_id) if member.inviter_id else None
    team = programs.list_direct_recruits(session, member.id)
    return render(
        request,
        "m/home.html",
        member=member,
        program=program,
        tier=tiers.get(member.tier_code or ""),
        inviter=inviter,
        team=team,
        tiers=tiers,
    )
