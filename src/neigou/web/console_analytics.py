"""Console page of a program's analytics: economics, repeat purchase by channel, cohorts, fission, the
funnel, a commission simulator (the Excel exports: ``web.console_analytics_export``); the member's own
figures in the workspace (``/m/analytics``).

Figures come from the analytics store as of its last refresh; the page says when that was and has a
button to refresh now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from neigou.analytics import breakdowns, data_time, reports
from neigou.analytics.endpoints import checked_span
from neigou.analytics.extract import refresh, watermark
from neigou.analytics.labels import funnel_labels
from neigou.analytics.reports import FunnelRow, Span, rate_bp
from neigou.analytics.runtime import store_for
from neigou.analytics.single_flight import RefreshRunning
from neigou.analytics.store import Store
from neigou.auth.dependencies import ConsoleOperator
from neigou.kit.clock import utcnow
from neigou.kit.dates import FIRST_DAY, check_day
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Invalid, ProblemError
from neigou.kit.i18n import Message
from neigou.kit.money import parse_percent
from neigou.programs import repository as programs
from neigou.programs.models import Program
from neigou.programs.service import require_member, require_program
from neigou.web.pages import WorkspaceMember, render

router = APIRouter(include_in_schema=False)
DEFAULT_DAYS = 90
# The range as the form sends it: a day the page cannot read is shown as an error over the default range,
# never refused outright (an emptied date field sends "").
FromQuery = Annotated[str | None, Query(alias="from")]
ToQuery = Annotated[str | None, Query(alias="to")]
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits, the whole text
EconomicsKey = Literal["day", "tier", "group", "sku", "brand"]
ValueKey = Literal["channel", "tier", "group"]
FunnelKey = Literal["link", "member", "group"]


def analytics_store(request: Request) -> Store:
    return store_for(request.app.state.settings)


def _today(program: Program) -> date:
    return utcnow().astimezone(ZoneInfo(program.timezone)).date()


def _day(raw: str | None, field: str) -> date | None:
    """The day the range form wrote (``YYYY-MM-DD``), None when left empty; else 422 ``invalid_date``,
    or ``date_out_of_range`` outside the days the product works with."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text) if DAY.fullmatch(text) else None
    except ValueError:
        day = None
    if day is None:
        raise Invalid(
            Message("The {field} date must be written YYYY-MM-DD.", field=field),
            code="invalid_date",
            extra={"field": field},
        )
    return check_day(day, field)


def page_span(
    program: Program, start_raw: str | None, end_raw: str | None, member_id: int
) -> tuple[Span, ProblemError | None]:
    """The range the analytics pages and their exports show: the days asked for (by default the last
    90), or, with the reason, the default range when they cannot be shown. The exports refuse what the
    page would replace, so a link the page writes always exports the range it shows."""
    today = _today(program)
    try:
        start_on, end_on = _day(start_raw, "from"), _day(end_raw, "to")
        end = end_on or today
        start = start_on or max(end - timedelta(days=DEFAULT_DAYS - 1), FIRST_DAY)
        return checked_span(program.id, start, end, member_id), None
    except ProblemError as exc:
        return Span(program.id, today - timedelta(days=DEFAULT_DAYS - 1), today, member_id), exc


def _figures(store: Store, span: Span, window_days: int) -> dict[str, object]:
    period = span.end_on.isoformat()[:7]
    return {
        "economics": reports.economics(store, span),
        "repeat": reports.repeat(store, span, window_days=window_days),
        "cohorts": reports.cohorts(store, span),
        "fission": reports.fission(store, reports.month_span(span.program_id, period, span.member_id)),
        "period": period,
        "copied_orders": watermark(store, "orders"),
        # the repeat windows' reference time: one still open at it counts in neither repeat figure
        "data_at": data_time.as_of(store),
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


def _simulated_rates(tier: str | None, share: str, override: str) -> reports.TierRates | str | None:
    """The simulator's rates as typed (percent, e.g. ``20`` or ``12.5``) in basis points; the name of
    the field that is not a percentage from 0 to 100; None when the form was not sent."""
    if not tier:
        return None
    share_bp, override_bp = parse_percent(share.strip()), parse_percent(override.strip())
    if share_bp is None:
        return "share"
    if override_bp is None:
        return "override"
    return reports.TierRates(tier, share_bp, override_bp)


@router.get("/console/programs/{program_id}/analytics", response_class=HTMLResponse)
def analytics_page(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    start_on: FromQuery = None,
    end_on: ToQuery = None,
    window_days: Annotated[int, Query(ge=1, le=3650)] = 30,
    tier: Annotated[str | None, Query(max_length=40)] = None,
    share: Annotated[str, Query(max_length=12)] = "",
    override: Annotated[str, Query(max_length=12)] = "",
    econ_by: EconomicsKey = "day",
    value_by: ValueKey = "channel",
    funnel_by: FunnelKey = "link",
    refresh: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    """The program's analytics over a range of days (default: the last 90); ``refresh=running`` after
    a "Refresh now" that found a refresh running."""
    program = require_program(session, program_id)
    span, error = page_span(program, start_on, end_on, 0)
    store = analytics_store(request)
    simulation = None
    rates = _simulated_rates(tier, share, override)
    if isinstance(rates, reports.TierRates):
        simulation = reports.simulate(store, span, [rates])
    return render(
        request,
        "console/analytics.html",
        status_code=422 if error or isinstance(rates, str) else 200,
        principal=principal,
        program=program,
        span=span,
        window_days=window_days,
        error=error,
        simulation=simulation,
        sim={"tier": tier or "", "share": share, "override": override, "error": rates},
        tiers=programs.list_tiers(session, program_id),
        **_figures(store, span, window_days),
        **_breakdowns(store, span, econ_by, value_by),
        funnel_by=funnel_by,
        funnel=funnel_lines(session, store, span, funnel_by),
        refresh_running=refresh == "running",
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
    """Run the extract now and show the page again; a refresh already running (in any process) is not
    waited for: the page says so."""
    require_program(session, program_id)
    page = f"/console/programs/{program_id}/analytics"
    try:
        refresh(session, analytics_store(request))
    except RefreshRunning:
        return RedirectResponse(f"{page}?refresh=running", status_code=303)
    return RedirectResponse(page, status_code=303)


@router.get("/m/analytics", response_class=HTMLResponse)
def member_analytics(
    request: Request,
    *,
    session: SessionDep,
    principal: WorkspaceMember,
    start_on: FromQuery = None,
    end_on: ToQuery = None,
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
