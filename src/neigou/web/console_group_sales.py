"""Console page of the group leaderboard: a program's groups ranked over a range of days."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from neigou.auth.dependencies import ConsoleOperator
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.programs.service import require_program
from neigou.reporting.group_sales import (
    Ranking,
    group_sales,
    leaderboard,
    value_of,
    window,
)
from neigou.web.console_groups import day_labeller
from neigou.web.listing import ListQueryDep, arrange
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
CHART_TOP = 10
RANKS_PER_PAGE = 30


@router.get("/console/programs/{program_id}/groups/leaderboard", response_class=HTMLResponse)
def leaderboard_page(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    start_on: Annotated[date | None, Query(alias="from")] = None,
    end_on: Annotated[date | None, Query(alias="to")] = None,
    query: ListQueryDep,
    by: Ranking = Ranking.GMV,
) -> HTMLResponse:
    """The program's groups ranked by GMV, orders or member growth, with a bar chart of the top ten;
    the ranking is paged and searchable by owner or group (a group keeps its rank when found)."""
    program = require_program(session, program_id)
    error: ProblemError | None = None
    try:
        span = window(program, start_on=start_on, end_on=end_on, at=utcnow())
    except ProblemError as exc:
        error = exc
        span = window(program, start_on=None, end_on=None, at=utcnow())
    # Every group is ranked (their sales are read whole anyway: seven statements), then paged and
    # searched: a cut here would lose the groups below it from the pages and the search.
    rows = group_sales(session, program=program, span=span, ranked=True)
    ranked = leaderboard(rows, by=by, limit=len(rows))
    top = [(row, value_of(row, by)) for _rank, row in ranked[:CHART_TOP]]
    return render(
        request,
        "console/groups/leaderboard.html",
        status_code=422 if error else 200,
        principal=principal,
        program=program,
        span=span,
        by=by,
        rankings=[r.value for r in Ranking],
        ranked=arrange(
            request,
            [(rank, row, value_of(row, by)) for rank, row in ranked],
            query,
            sorts={"rank": lambda entry: entry[0]},
            default_sort="rank",
            text=lambda entry: f"{entry[1].owner_name} {entry[1].name}",
            size=RANKS_PER_PAGE,
        ),
        chart={
            "names": [row.name for row, _ in reversed(top)],
            "values": [value for _, value in reversed(top)],
            "yuan": by is Ranking.GMV,
        },
        error=error,
        day_label=day_labeller(request),
    )
