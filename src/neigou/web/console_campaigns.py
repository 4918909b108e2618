"""Console page of campaigns (选品库): each program's campaigns with their window, coupon, boost and
traffic, and the way to the form that publishes a new one (``web.console_campaign_forms``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from neigou.auth.dependencies import ConsoleOperator
from neigou.campaigns import repository as campaigns_repo
from neigou.campaigns import service
from neigou.feed import repository as feed_repo
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.offers import repository as offers
from neigou.programs import repository as programs
from neigou.web.listing import ListQueryDep, fetch
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)


@router.get("/console/campaigns", response_class=HTMLResponse)
def campaigns_page(
    request: Request,
    session: SessionDep,
    _principal: ConsoleOperator,
    query: ListQueryDep,
    program: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    state: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    """Campaigns, newest start first: searchable, sortable, by program and window, paged; and a link
    to the form for a new one (on the program shown)."""
    now = utcnow()
    window = state if state in campaigns_repo.STATES else None
    listed = fetch(
        session,
        request,
        campaigns_repo.campaigns_statement(program_id=program, state=window, at=now),
        query,
        sorts=campaigns_repo.SORTS,
        default_sort="-starts",
        search=campaigns_repo.SEARCH,
    )
    rows = service.campaigns_out(session, list(listed.rows))
    all_programs = programs.list_programs(session)
    return render(
        request,
        "console/campaigns/index.html",
        listing=listed,
        campaigns=rows,
        traffic=feed_repo.campaign_traffic(session, [c.id for c in rows]),
        programs=all_programs,
        zones={p.id: p.timezone for p in all_programs},
        names={p.id: p.name for p in all_programs},
        coupon_names=offers.coupon_names(session, [c.coupon_id for c in rows if c.coupon_id]),
        program=program,
        filters={"program": program or "", "state": window or ""},
        now=now,
    )
