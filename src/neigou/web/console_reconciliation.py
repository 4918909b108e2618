"""Console page of platform reconciliation: a platform's month order by order, platform against neigou,
a page at a time with the differences first and the month's totals, and the same as an Excel download."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from neigou.auth.dependencies import ConsoleOperator
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.exports import workbook_response
from neigou.platforms import reconciliation
from neigou.platforms.rows import Platform
from neigou.programs.service import require_program
from neigou.web.pager import PageNumber, page_of, pager
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
# Checked by ``reconciliation.month_range`` (``invalid_month``, ``month_in_future``), as the API checks it.
Month = Annotated[str | None, Query()]
Cause = Annotated[reconciliation.CauseFilter | None, Query()]
PAGE_SIZE = 100  # orders per page


def _this_month(timezone: str) -> str:
    now: datetime = utcnow().astimezone(ZoneInfo(timezone))
    return f"{now.year:04d}-{now.month:02d}"


@router.get("/console/programs/{program_id}/reconciliation", response_class=HTMLResponse)
def reconciliation_page(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    platform: Platform = Platform.JD_UNION,
    month: Month = None,
    cause: Cause = None,
    page: PageNumber = 1,
) -> HTMLResponse:
    """A page of the platform's orders paid in the month, differences first, with the month's totals."""
    program = require_program(session, program_id)
    shown = month or _this_month(program.timezone)
    report, kept = reconciliation.month(
        session,
        program=program,
        platform=platform,
        month=shown,
        now=utcnow(),
        page=page_of(page, PAGE_SIZE),
        cause=cause,
        differences_first=True,
    )
    return render(
        request,
        "console/reconciliation.html",
        principal=principal,
        program=program,
        platform=platform.value,
        platforms=[p.value for p in Platform],
        causes=[c.value for c in reconciliation.CauseFilter],
        cause=cause.value if cause else "",
        month=shown,
        report=report,
        rows=report.rows,
        differing=report.counts.orders - report.counts.agreeing,
        pager=pager(request, page, PAGE_SIZE, kept),
    )


@router.get("/console/programs/{program_id}/reconciliation.xlsx")
def reconciliation_workbook(
    *,
    program_id: int,
    session: SessionDep,
    _principal: ConsoleOperator,
    platform: Platform = Platform.JD_UNION,
    month: Month = None,
    cause: Cause = None,
) -> StreamingResponse:
    """The month's reconciliation as an Excel workbook, read and written in pages."""
    program = require_program(session, program_id)
    shown = month or _this_month(program.timezone)
    sheets = reconciliation.workbook(
        session, program=program, platform=platform, month=shown, now=utcnow(), cause=cause
    )
    return workbook_response(sheets, f"reconciliation-{platform.value}-{shown}.xlsx")
