"""The console's leaderboards of a program: orders, GMV and recruits in one month of its zone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from neigou.auth.dependencies import ConsoleOperator
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.network import service
from neigou.network.endpoints import ProgramId
from neigou.network.repository import METRICS
from neigou.programs.service import require_program
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/console/programs/{program_id}/leaderboard", response_class=HTMLResponse)
def leaderboard_page(
    *,
    request: Request,
    program_id: ProgramId,
    session: SessionDep,
    principal: ConsoleOperator,
    period: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LEADERBOARD)] = 50,
) -> HTMLResponse:
    """The three leaderboards of a program side by side for one month."""
    program = require_program(session, program_id)
    error = None
    try:
        period_label = service.resolve_period(program, period).label
    except ProblemError as exc:
        error, period_label = exc.code, service.resolve_period(program, None).label
    boards = [
        service.leaderboard_of(
            session, program_id=program.id, period=period_label, metric=m, limit=limit, viewer_member_id=None
        )
        for m in METRICS
    ]
    return render(
        request,
        "console/network/leaderboard.html",
        principal=principal,
        program=program,
        boards=boards,
        period=period_label,
        error=error,
    )
