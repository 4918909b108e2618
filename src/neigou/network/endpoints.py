"""HTTP endpoints of the distribution network (``/api/v1``): team, leaderboard, recruiting link."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from neigou.auth.dependencies import OperatorOrMember, require_member_access
from neigou.auth.models import Role
from neigou.auth.service import Principal
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Forbidden
from neigou.kit.i18n import Message
from neigou.kit.paging import PageQuery, paging
from neigou.network import service
from neigou.network.joins import recruiting_code
from neigou.network.poster import RecruitPosterData, render_recruit_poster
from neigou.network.schemas import LeaderboardOut, RecruitingLinkOut, TeamOut
from neigou.programs import repository as programs
from neigou.programs.models import Member
from neigou.programs.service import require_member, require_program

router = APIRouter(tags=["network"])
# The database's bigint: a larger id is refused as invalid, never sent to the database.
MAX_ID = 2**63 - 1
MemberId = Annotated[int, Path(ge=1, le=MAX_ID)]
ProgramId = Annotated[int, Path(ge=1, le=MAX_ID)]
# The documented defaults of these two lists: a team page of 100 members, a top-20 board.
TeamPage = Annotated[PageQuery, Depends(paging(service.TEAM_PAGE))]
LeaderboardPage = Annotated[PageQuery, Depends(paging(service.LEADERBOARD_PAGE))]
PeriodQuery = Annotated[str | None, Query(max_length=20, description="YYYY-MM in the program's time zone")]


def base_url(request: Request) -> str:
    """Where this deployment is reached (recruiting links point here)."""
    base: str = request.app.state.settings.public_base  # NEIGOU_PUBLIC_URL, never the Host header
    return base


def recruiting_link(request: Request, member: Member) -> RecruitingLinkOut:
    """A member's recruiting link and poster address."""
    code = recruiting_code(request.app.state.settings.secret_key, member)
    return RecruitingLinkOut(
        member_id=member.id,
        code=code,
        url=f"{base_url(request)}/j/{code}",
        poster_url=f"{base_url(request)}/api/v1/members/{member.id}/recruiting-poster.png",
    )


def recruit_poster_png(request: Request, session: SessionDep, member: Member) -> Response:
    """Render a member's recruiting poster (shared by the API and the workspace)."""
    program = require_program(session, member.program_id)
    link = recruiting_link(request, member)
    png = render_recruit_poster(RecruitPosterData(inviter=member.name, program=program.name, url=link.url))
    return Response(
        png,
        media_type="image/png",
        headers={
            "Content-Disposition": f'inline; filename="neigou-join-{link.code}.png"',
            "Cache-Control": "private, max-age=300",
        },
    )


@router.get("/members/{member_id}/team", response_model=TeamOut)
def get_team(
    *,
    member_id: MemberId,
    session: SessionDep,
    principal: OperatorOrMember,
    page: TeamPage,
    period: PeriodQuery = None,
) -> TeamOut:
    """A member's recruits down to the program's max_levels with the period's orders and GMV: every
    level's totals and a page of the members (``limit``, ``offset``; ``total_members`` counts all)."""
    require_member_access(principal, member_id)
    team = service.team_of(session, member_id=member_id, period=period, limit=page.limit, offset=page.offset)
    page.answer(team.total_members)
    return team


@router.get("/members/{member_id}/recruiting-link", response_model=RecruitingLinkOut)
def get_recruiting_link(
    member_id: MemberId, request: Request, session: SessionDep, principal: OperatorOrMember
) -> RecruitingLinkOut:
    """The member's recruiting link: whoever joins through it is bound to them as inviter."""
    require_member_access(principal, member_id)
    return recruiting_link(request, require_member(session, member_id))


@router.get("/members/{member_id}/recruiting-poster.png", response_class=Response)
def get_recruiting_poster(
    member_id: MemberId, request: Request, session: SessionDep, principal: OperatorOrMember
) -> Response:
    """The member's recruiting poster (PNG) with the QR code of their recruiting link."""
    require_member_access(principal, member_id)
    return recruit_poster_png(request, session, require_member(session, member_id))


def _viewer(principal: Principal, session: SessionDep, program_id: int) -> int | None:
    """The member asking (None for operators); a member of another program gets a 403."""
    if principal.role is not Role.MEMBER:
        return None
    member = programs.get_member(session, principal.member_id or 0)
    if member is None or member.program_id != program_id:
        raise Forbidden(Message("Members can only see their own program."), code="other_program")
    return member.id


@router.get("/programs/{program_id}/leaderboard", response_model=LeaderboardOut)
def get_leaderboard(
    *,
    program_id: ProgramId,
    session: SessionDep,
    principal: OperatorOrMember,
    period: PeriodQuery = None,
    page: LeaderboardPage,
    metric: Annotated[str, Query(max_length=20)] = "gmv_fen",
) -> LeaderboardOut:
    """Top members by orders, GMV (paid minus refunded) or recruits in one month of the program's zone."""
    require_program(session, program_id)
    viewer = _viewer(principal, session, program_id)
    board = service.leaderboard_of(
        session,
        program_id=program_id,
        period=period,
        metric=service.parse_metric(metric),
        limit=page.limit,
        offset=page.offset,
        viewer_member_id=viewer,
    )
    page.answer(board.ranked)
    return board
