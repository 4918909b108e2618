"""Console page of campaigns (选品库): each program's campaigns with their window, coupon, boost and
traffic, and the form that publishes a new one (times typed in the program's time zone)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from neigou.auth.dependencies import ConsoleOperator
from neigou.campaigns import repository as campaigns_repo
from neigou.campaigns import service
from neigou.campaigns.schemas import CampaignCreate
from neigou.feed import repository as feed_repo
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.offers import repository as offers
from neigou.offers.amounts import AmountError, local_to_utc, percent_to_bp
from neigou.programs import repository as programs
from neigou.web.listing import ListQuery, ListQueryDep, fetch, list_query
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
Field = Annotated[str, Form(max_length=1000)]


def _page(
    request: Request,
    session: SessionDep,
    *,
    program_id: int | None,
    query: ListQuery | None = None,
    state: str = "",
    **form: object,
) -> HTMLResponse:
    now = utcnow()
    window = state if state in campaigns_repo.STATES else None
    listed = fetch(
        session,
        request,
        campaigns_repo.campaigns_statement(program_id=program_id, state=window, at=now),
        query or list_query(),
        sorts=campaigns_repo.SORTS,
        default_sort="-starts",
        search=campaigns_repo.SEARCH,
        path="/console/campaigns",
    )
    rows = service.campaigns_out(session, list(listed.rows))
    all_programs = programs.list_programs(session)
    coupons = offers.list_coupons(session, visibility=None, active_at=None, limit=200, offset=0)
    return render(
        request,
        "console/campaigns/index.html",
        status_code=422 if form.get("error") else 200,
        listing=listed,
        campaigns=rows,
        traffic=feed_repo.campaign_traffic(session, [c.id for c in rows]),
        programs=all_programs,
        zones={p.id: p.timezone for p in all_programs},
        names={p.id: p.name for p in all_programs},
        coupons=coupons,
        coupon_names=offers.coupon_names(session, [c.coupon_id for c in rows if c.coupon_id]),
        program=program_id,
        filters={"program": program_id or "", "state": window or ""},
        now=now,
        values=form.get("values") or {},
        error=form.get("error"),
        field=form.get("field"),
    )


@router.get("/console/campaigns", response_class=HTMLResponse)
def campaigns_page(
    request: Request,
    session: SessionDep,
    _principal: ConsoleOperator,
    query: ListQueryDep,
    program: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    state: Annotated[str, Query(max_length=10)] = "",
) -> HTMLResponse:
    """Campaigns, newest start first: searchable, sortable, by program and window, paged; and the form
    for a new one."""
    return _page(request, session, program_id=program, query=query, state=state)


@router.post("/console/campaigns", response_model=None)
def publish_campaign(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    program_id: Annotated[int, Form(ge=1, le=2**62)],
    name: Field,
    skus: Field,
    starts_at: Annotated[str, Form(max_length=40)],
    ends_at: Annotated[str, Form(max_length=40)],
    coupon_id: Annotated[str, Form(max_length=20)] = "",
    boost_percent: Annotated[str, Form(max_length=10)] = "",
    copy_text: Field = "",
) -> HTMLResponse | RedirectResponse:
    """Publish a campaign; a refusal shows the form again with the reason."""
    values = {
        "program_id": program_id,
        "name": name,
        "skus": skus,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "coupon_id": coupon_id,
        "boost_percent": boost_percent,
        "copy_text": copy_text,
    }
    program = programs.get_program(session, program_id)
    if program is None:
        return _page(request, session, program_id=None, values=values, error="program_not_found")
    typed: dict[str, int | datetime] = {}
    for field, text in (("boost_percent", boost_percent), ("starts_at", starts_at), ("ends_at", ends_at)):
        try:
            typed[field] = _read(field, text, program.timezone)
        except AmountError as exc:  # shown beside the field that holds it
            return _page(request, session, program_id=program_id, values=values, error=exc.code, field=field)
    try:
        data = CampaignCreate.model_validate(
            {
                "program_id": program_id,
                "name": name.strip(),
                "skus": [
                    s.strip() for s in skus.replace("，", ",").replace("\n", ",").split(",") if s.strip()
                ],
                "coupon_id": int(coupon_id) if coupon_id.strip().isdigit() else None,
                "commission_boost_bp": typed["boost_percent"],
                "starts_at": typed["starts_at"],
                "ends_at": typed["ends_at"],
                "copy": copy_text.strip() or None,
            }
        )
        with session.begin_nested():
            service.create_campaign(session, data=data, actor=principal.actor, at=utcnow())
    except ValidationError:
        return _page(request, session, program_id=program_id, values=values, error="validation_error")
    except ProblemError as exc:
        return _page(request, session, program_id=program_id, values=values, error=exc.code)
    return RedirectResponse(f"/console/campaigns?program={program_id}", status_code=303)


def _read(field: str, text: str, timezone: str) -> int | datetime:
    """A typed field of the form: the boost in percent (basis points; empty is none), or a local time."""
    if field == "boost_percent":
        return percent_to_bp(text) if text.strip() else 0
    return local_to_utc(text, timezone)
