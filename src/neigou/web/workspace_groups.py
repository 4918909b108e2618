"""The member's groups on a phone: required against actual today, the pace, each group's sales of
the last 30 days (only the member's own), alerts, and a form to record today's member count (or
register a group)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from neigou.groups import alert_queries, counts, service
from neigou.groups.compliance import compliance, local_date
from neigou.groups.models import CountReview, GroupPlatform
from neigou.groups.schemas import GroupCreate
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.programs.service import require_member, require_program
from neigou.reporting.group_sales import DEFAULT_DAYS, group_sales, window
from neigou.web.console_groups import day_labeller
from neigou.web.pager import PageNumber, pager
from neigou.web.pages import WorkspaceMember, render

router = APIRouter(include_in_schema=False)
GROUPS_PER_PAGE = 5  # a phone shows a few groups, each with its count form
ALERTS_SHOWN = 5


@router.get("/m/groups", response_class=HTMLResponse)
def my_groups(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    saved: int | None = None,
    held: bool = False,
    error: Annotated[str | None, Query(max_length=60)] = None,
    page: PageNumber | None = None,
) -> HTMLResponse:
    """The owner's groups today with required, actual and met, their last 30 days' sales, and the count form,
    a few to a page (the page holding a group just saved, if no page is asked for)."""
    member = require_member(session, principal.member_id or 0)
    program = require_program(session, member.program_id)
    today = local_date(utcnow(), program.timezone)
    report = compliance(session, program=program, on=today, owner_member_id=member.id)
    span = window(program, start_on=today - timedelta(days=DEFAULT_DAYS - 1), end_on=today, at=utcnow())
    sales = group_sales(session, program=program, span=span, owner_member_id=member.id)
    ids = [s.group_id for s in report.groups]
    number = page or (ids.index(saved) // GROUPS_PER_PAGE + 1 if saved in ids else 1)
    start = (number - 1) * GROUPS_PER_PAGE
    return render(
        request,
        "m/groups/index.html",
        member=member,
        program=program,
        today=today,
        report=report,
        shown=report.groups[start : start + GROUPS_PER_PAGE],
        pager=pager(request, number, GROUPS_PER_PAGE, len(ids)),
        to_count=sum(1 for s in report.groups if s.actual is None),
        alerts=alert_queries.recent_alerts_of_owner(session, member.id, limit=ALERTS_SHOWN),
        names={s.group_id: s.name for s in report.groups},
        platforms=[p.value for p in GroupPlatform],
        saved=saved,
        held=held,
        error=error,
        day_label=day_labeller(request),
        span=span,
        sales={row.group_id: row for row in sales},
        sales_days=DEFAULT_DAYS,
        my_commission_fen=sum(row.owner_commission_fen for row in sales),
        my_gmv_fen=sum(row.gmv_fen for row in sales),
    )


@router.post("/m/groups/{group_id}/counts")
def record_today(
    group_id: int,
    session: SessionDep,
    principal: WorkspaceMember,
    member_count: Annotated[int, Form(ge=0, le=100_000)],
) -> RedirectResponse:
    """Record the group's member count now; implausible ones wait for the operator."""
    group = service.require_group(session, group_id)
    if group.owner_member_id != principal.member_id:
        return RedirectResponse("/m/groups?error=other_member", status_code=303)
    try:
        with session.begin_nested():
            count, _ = counts.record_count(
                session,
                group=group,
                member_count=member_count,
                observed_at=utcnow(),
                actor=principal.actor,
                source="workspace",
            )
    except ProblemError as exc:
        return RedirectResponse(f"/m/groups?error={exc.code}", status_code=303)
    held = "&held=1" if count.review is CountReview.NEEDS_REVIEW else ""
    return RedirectResponse(f"/m/groups?saved={group.id}{held}#group-{group.id}", status_code=303)


@router.post("/m/groups")
def register_group(
    session: SessionDep,
    principal: WorkspaceMember,
    name: Annotated[str, Form(min_length=1, max_length=120)],
    platform: Annotated[GroupPlatform, Form()] = GroupPlatform.WECHAT,
) -> RedirectResponse:
    """Register one of the member's own groups; a name the schema refuses (blank once invisible
    characters are set aside, too long) comes back as ``invalid_name``."""
    try:
        data = GroupCreate(name=name.strip() or name, platform=platform)
    except ValidationError:
        return RedirectResponse("/m/groups?error=invalid_name", status_code=303)
    try:
        with session.begin_nested():
            group = service.create_group(
                session,
                data=data,
                owner_member_id=principal.member_id or 0,
                actor=principal.actor,
            )
    except ProblemError as exc:
        return RedirectResponse(f"/m/groups?error={exc.code}", status_code=303)
    return RedirectResponse(f"/m/groups?saved={group.id}#group-{group.id}", status_code=303)
