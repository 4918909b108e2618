"""Console page of platform reconciliation: a platform's month order by order, platform against neigou,
with the differences first, and the same as an Excel download."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from neigou.auth.dependencies import ConsoleOperator
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.exports import XLSX_MEDIA_TYPE
from neigou.platforms import reconciliation
from neigou.platforms.rows import Platform
from neigou.programs.service import require_program
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
# Checked by ``reconciliation.month_range`` (``invalid_month``, ``month_in_future``), as the API checks it.
Month = Annotated[str | None, Query()]


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
) -> HTMLResponse:
    """The platform's orders paid in the month, differences first."""
    program = require_program(session, program_id)
    shown = month or _this_month(program.timezone)
    report = reconciliation.month(session, program=program, platform=platform, month=shown, now=utcnow())
    rows = sorted(report.rows, key=lambda r: (r.cause is None, r.external_id))
    return render(
        request,
        "console/reconciliation.html",
        principal=principal,
        program=program,
        platform=platform.value,
        platforms=[p.value for p in Platform],
        month=shown,
        report=report,
        rows=rows,
        differing=sum(1 for r in rows if r.cause),
    )


@router.get("/console/programs/{program_id}/reconciliation.xlsx")
def reconciliation_workbook(
    *,
    program_id: int,
    session: SessionDep,
    _principal: ConsoleOperator,
    platform: Platform = Platform.JD_UNION,
    month: Month = None,
) -> Response:
    """The month's reconciliation as an Excel workbook."""
    program = require_program(session, program_id)
    shown = month or _this_month(program.timezone)
    report = reconciliation.month(session, program=program, platform=platform, month=shown, now=utcnow())
    return Response(
        reconciliation.workbook(report),
        media_type=XLSX_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="reconciliation-{platform.value}-{shown}.xlsx"'
        },
    )
