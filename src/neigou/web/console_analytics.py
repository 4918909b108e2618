"""Console page of a program's analytics: economics, repeat purchase by channel, cohorts, fission, the
funnel, a commission simulator (the Excel exports: ``web.console_analytics_export``); the member's own
figures in the workspace (``/m/analytics``).

Figures come from the analytics store as of its last refresh; the page says when that was and has a
button to refresh now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from neigou.analytics import breakdowns, reports
from neigou.analytics.endpoints import checked_span
from neigou.analytics.extract import refresh, watermark
from neigou.analytics.labels import funnel_labels
from neigou.analytics.reports import FunnelRow, Span, rate_bp
from neigou.analytics.runtime import store_for
from neigou.analytics.store import Store
from neigou.auth.dependencies import ConsoleOperator, WorkspaceMember
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.programs.models import Program
from neigou.programs.service import require_member, require_program
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
DEFAULT_DAYS = 90
DateQuery = Annotated[date | None, Query()]
EconomicsKey = Literal["day", "tier", "group", "sku", "brand"]
ValueKey = Literal["channel", "tier", "group"]
FunnelKey = Literal["link", "member", "group"]


def analytics_store(request: Request) -> Store:
    return store_for(request.app.state.settings)


def _today(program: Program) -> date:
    return utcnow().astimezone(ZoneInfo(program.timezone)).date()


def page_span(
    program: Program, start_on: date | None, end_on: date | None, member_id: int
) -> tuple[Span, ProblemError | None]:
    end = end_on or _today(program)
    start = start_on or end - timedelta(days=DEFAULT_DAYS - 1)
    try:
        return checked_span(program.id, start, end, member_id), None
    except ProblemError as exc:
        end = _today(program)
        return Span(program.id, end - timedelta(days=DEFAULT_DAYS - 1), end, member_id), exc


def _figures(store: Store, span: Span, window_days: int) -> dict[str, object]:
    period = f"{span.end_on:%Y-%m}"
    return {
        "economics": reports.economics(store, span),
        "repeat": reports.repeat(store, span, window_days=window_days),
        "cohorts": reports.cohorts(store, span),
        "fission": reports.fission(store, reports.month_span(span.program_id, period, span.member_id)),
        "period": period,
        "copied_orders": watermark(store, "orders"),
    }


@dataclass(frozen=True)
class FunnelLine:
    """A funnel row with its readable name (the id when the database does not know it) and its
    conversion rates in basis points, floored: claims and orders per click."""

    row: FunnelRow
    label: str

    @property
    def claim_rate_bp(self) -> int:
        return rate_bp(self.row.claims, self.row.clicks)

    @property
    def order_rate_bp(self) -> int:
        return rate_bp(self.row.orders, self.row.clicks)


def funnel_lines(session: Session, store: Store, span: Span, by: str) -> list[FunnelLine]:
    """The program's funnel split ``by`` link, member or group, named with one query for its keys."""
    rows = reports.funnel(store, span, by=by)
    names = funnel_labels(session, span.program_id, by, [r.key for r in rows])
    return [FunnelLine(r, names.get(r.key, str(r.key))) for r in rows]


@router.get("/console/programs/{program_id}/analytics", response_class=HTMLResponse)
def analytics_page(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    start_on: Annotated[date | None, Query(alias="from")] = None,
    end_on: Annotated[date | None, Query(alias="to")] = None,
    window_days: Annotated[int, Query(ge=1, le=3650)] = 30,
    tier: Annotated[str | None, Query(max_length=40)] = None,
    share_bp: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    override_bp: Annotated[int | None, Query(ge=0, le=10_000)] = None,
    econ_by: EconomicsKey = "day",
    value_by: ValueKey = "channel",
    funnel_by: FunnelKey = "link",
) -> HTMLResponse:
    """The program's analytics over a range of days (default: the last 90)."""
    program = require_program(session, program_id)
    span, error = page_span(program, start_on, end_on, 0)
    store = analytics_store(request)
    simulation = None
    if tier and share_bp is not None and override_bp is not None:
        simulation = reports.simulate(store, span, [reports.TierRates(tier, share_bp, override_bp)])
    return render(
        request,
        "console/analytics.html",
        status_code=422 if error else 200,
        principal=principal,
        program=program,
        span=span,
        window_days=window_days,
        error=error,
        simulation=simulation,
        sim={"tier": tier or "", "share_bp": share_bp, "override_bp": override_bp},
        **_figures(store, span, window_days),
        **_breakdowns(store, span, econ_by, value_by),
        funnel_by=funnel_by,
        funnel=funnel_lines(session, store, span, funnel_by),
    )


def _breakdowns(store: Store, span: Span, econ_by: str, value_by: str) -> dict[str, object]:
    values, top = reports.customer_value(store, span, by=value_by)
    prices = reports.prices(store, span)
    claimed = breakdowns.claim_prices(store, span)
    return {
        "econ_by": econ_by,
        "value_by": value_by,
        "economics_rows": breakdowns.economics_by(store, span, by=econ_by),
        "values": values,
        "top": top,
        "prices": prices,
        "claim_prices": claimed,
        "claims_by_sku": {c.sku: c for c in claimed},
        "sold_skus": {p.sku for p in prices},
    }


@router.post("/console/programs/{program_id}/analytics/refresh")
def refresh_now(
    request: Request, program_id: int, session: SessionDep, _principal: ConsoleOperator
) -> RedirectResponse:
    """Run the extract now and show the page again."""
    require_program(session, program_id)
    refresh(session, analytics_store(request))
    return RedirectResponse(f"/console/programs/{program_id}/analytics", status_code=303)


@router.get("/m/analytics", response_class=HTMLResponse)
def member_analytics(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    start_on: Annotated[date | None, Query(alias="from")] = None,
    end_on: Annotated[date | None, Query(alias="to")] = None,
) -> HTMLResponse:
    """The member's own figures: their sales, their commission, their customers' repeat buying, their team."""
    member = require_member(session, principal.member_id or 0)
    program = require_program(session, member.program_id)
    span, error = page_span(program, start_on, end_on, member.id)
    return render(
        request,
        "m/analytics.html",
        status_code=422 if error else 200,
        member=member,
        program=program,
        span=span,
        window_days=30,
        error=error,
        **_figures(analytics_store(request), span, 30),
    )
