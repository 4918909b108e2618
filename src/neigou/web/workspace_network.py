"""The member's network on a phone: the team with this month's sales, the recruiting link and poster,
and the program's leaderboard with the member's own rank."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.network import service
from neigou.network.endpoints import recruit_poster_png, recruiting_link
from neigou.network.repository import METRICS
from neigou.programs import repository as programs
from neigou.programs.service import require_member, require_program
from neigou.web.pages import WorkspaceMember, render

router = APIRouter(include_in_schema=False)
PeriodParam = Annotated[str | None, Query(max_length=20)]
TEAM_PAGE = 50  # members a team page shows


@router.get("/m/team", response_class=HTMLResponse)
def my_team(
    request: Request,
    session: SessionDep,
    principal: WorkspaceMember,
    period: PeriodParam = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """Direct recruits and, down to the program's max_levels, their recruits, with the month's sales
    (every level's totals; the members a page at a time)."""
    member = require_member(session, principal.member_id or 0)
    error = None
    offset = (page - 1) * TEAM_PAGE
    try:
        team = service.team_of(session, member_id=member.id, period=period, limit=TEAM_PAGE, offset=offset)
    except ProblemError as exc:
        error = exc.code
        team = service.team_of(session, member_id=member.id, period=None, limit=TEAM_PAGE, offset=offset)
    inviter = programs.get_member(session, member.inviter_id) if member.inviter_id else None
    program = require_program(session, member.program_id)
    return render(
        request,
        "m/network/team.html",
        member=member,
        program=program,
        tz=ZoneInfo(program.timezone),
        team=team,
        error=error,
        inviter=inviter,
        page=page,
        pages=max(1, -(-team.total_members // TEAM_PAGE)),
    )


@router.get("/m/recruit", response_class=HTMLResponse)
def my_recruiting_link(request: Request, session: SessionDep, principal: WorkspaceMember) -> HTMLResponse:
    """The recruiting link with a copy button and the poster."""
    member = require_member(session, principal.member_id or 0)
    return render(
        request,
        "m/network/recruit.html",
        member=member,
        program=require_program(session, member.program_id),
        link=recruiting_link(request, member),
    )


@router.get("/m/recruit/poster.png", response_class=Response)
def my_recruiting_poster(request: Request, session: SessionDep, principal: WorkspaceMember) -> Response:
    """The recruiting poster as a download."""
    member = require_member(session, principal.member_id or 0)
    response = recruit_poster_png(request, session, member)
    response.headers["Content-Disposition"] = 'attachment; filename="neigou-join.png"'
    return response


@router.get("/m/leaderboard", response_class=HTMLResponse)
def my_leaderboard(
    request: Request,
    session: SessionDep,
    principal: WorkspaceMember,
    period: PeriodParam = None,
    metric: Annotated[str, Query(max_length=20)] = "gmv_fen",
) -> HTMLResponse:
    """The program's leaderboard (others' names masked) with the member's own rank."""
    member = require_member(session, principal.member_id or 0)
    chosen = metric if metric in METRICS else "gmv_fen"
    error = None
    try:
        board = service.leaderboard_of(
            session,
            program_id=member.program_id,
            period=period,
            metric=service.parse_metric(chosen),
            limit=20,
            viewer_member_id=member.id,
        )
    except ProblemError as exc:
        error = exc.code
        board = service.leaderboard_of(
            session,
            program_id=member.program_id,
            period=None,
            metric=service.parse_metric(chosen),
            limit=20,
            viewer_member_id=member.id,
        )
    return render(
        request,
        "m/network/leaderboard.html",
        member=member,
        program=require_program(session, member.program_id),
        board=board,
        error=error,
        metrics=METRICS,
    )
