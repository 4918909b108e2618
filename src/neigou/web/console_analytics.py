"""Console page of a program's analytics: economics, repeat purchase by channel, cohorts, fission, a
commission simulator, and Excel exports; the member's own figures in the workspace (``/m/analytics``).

Figures come from the analytics store as of its last refresh; the page says when that was and has a
button to refresh now.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neigou.analytics import breakdowns, reports
from neigou.analytics.endpoints import checked_span
from neigou.analytics.extract import refresh, watermark
from neigou.analytics.reports import Span
from neigou.analytics.runtime import store_for
from neigou.analytics.store import Store
from neigou.auth.dependencies import ConsoleOperator, WorkspaceMember
from neigou.kit import exports
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Invalid, ProblemError
from neigou.kit.exports import XLSX_MEDIA_TYPE
from neigou.kit.i18n import N_, Message, translations
from neigou.programs.models import Program
from neigou.programs.service import require_member, require_program
from neigou.web.i18n import locale_of
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
DEFAULT_DAYS = 90
DateQuery = Annotated[date | None, Query()]
EconomicsKey = Literal["day", "tier", "group", "sku", "brand"]
ValueKey = Literal["channel", "tier", "group"]


def _store(request: Request) -> Store:
    return store_for(request.app.state.settings)


def _today(program: Program) -> date:
    return utcnow().astimezone(ZoneInfo(program.timezone)).date()


def _span(
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
) -> HTMLResponse:
    """The program's analytics over a range of days (default: the last 90)."""
    program = require_program(session, program_id)
    span, error = _span(program, start_on, end_on, 0)
    store = _store(request)
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
    refresh(session, _store(request))
    return RedirectResponse(f"/console/programs/{program_id}/analytics", status_code=303)


def _breakdown_sheet(
    request: Request, store: Store, span: Span, report: str, by: str
) -> tuple[list[str], list[list[object]]]:
    _ = translations(locale_of(request)).gettext
    if report == "economics_by":
        columns = [by, _(N_("Orders")), "gmv_fen", "refund_fen", "commission_fen", "net_fen", "coupon_fen"]
        columns.append("promotion_fen")
        return columns, [
            [
                r.key,
                r.orders,
                r.gmv_fen,
                r.refund_fen,
                r.commission_fen,
                r.net_fen,
                r.coupon_fen,
                r.promotion_fen,
            ]
            for r in breakdowns.economics_by(store, span, by=by)
        ]
    if report == "customers":
        values, _top = reports.customer_value(store, span, by=by)
        columns = [by, _(N_("Customers")), "net_fen", "average_net_fen", "coupon_fen", "promotion_fen"]
        columns += [f"p{p}_fen" for p in reports.PERCENTILES]
        return columns, [
            [v.channel, v.customers, v.net_fen, v.average_net_fen, v.coupon_fen, v.promotion_fen]
            + [v.percentiles.get(p, 0) for p in reports.PERCENTILES]
            for v in values
        ]
    claimed = {c.sku: c for c in breakdowns.claim_prices(store, span)}
    columns = ["sku", "units", "list_fen", "paid_fen", "discount_bp", "hidden_share_bp", "claims"]
    columns += ["average_list_fen", "average_group_fen", "claim_discount_bp"]
    rows: list[list[object]] = []
    for p in reports.prices(store, span):
        c = claimed.pop(p.sku, None)
        claim = (
            [c.claims, c.average_list_fen, c.average_group_fen, c.discount_bp] if c else [0, None, None, None]
        )
        rows.append([p.sku, p.units, p.list_fen, p.paid_fen, p.discount_bp, p.hidden_share_bp, *claim])
    for c in claimed.values():
        rows.append(
            [c.sku, 0, 0, 0, None, None, c.claims, c.average_list_fen, c.average_group_fen, c.discount_bp]
        )
    return columns, rows


def _sheet(
    request: Request, store: Store, span: Span, report: str, window_days: int
) -> tuple[list[str], list[list[object]]]:
    _ = translations(locale_of(request)).gettext
    if report == "repeat":
        result = reports.repeat(store, span, window_days=window_days)
        columns = [_(N_("Channel")), _(N_("Customers")), _(N_("Repeat customers")), _(N_("Repeat rate (bp)"))]
        return columns, [
            [r.key, r.customers, r.repeat_customers, r.repeat_rate_bp]
            for r in result.channels + result.prices
        ]
    if report == "cohorts":
        cohorts = reports.cohorts(store, span)
        width = max((len(c.active) for c in cohorts), default=1)
        columns = [_(N_("Cohort")), _(N_("Channel")), _(N_("Customers"))] + [f"M{k}" for k in range(width)]
        return columns, [[c.month, c.channel, c.customers, *c.active] for c in cohorts]
    e = reports.economics(store, span)
    columns = [_(N_("Figure")), _(N_("Amount (fen)"))]
    rows: list[list[object]] = [
        ["orders", e.orders],
        ["gmv_fen", e.gmv_fen],
        ["refund_fen", e.refund_fen],
        ["commission_fen", e.commission_fen],
        ["net_fen", e.net_fen],
        ["coupon_fen", e.coupon_fen],
        ["promotion_fen", e.promotion_fen],
    ]
    rows += [[f"commission_level_{level}_fen", fen] for level, fen in e.commission_by_level.items()]
    return columns, rows


@router.get("/console/programs/{program_id}/analytics/export")
def export(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    _principal: ConsoleOperator,
    start_on: Annotated[date | None, Query(alias="from")] = None,
    end_on: Annotated[date | None, Query(alias="to")] = None,
    window_days: Annotated[int, Query(ge=1, le=3650)] = 30,
    report: Literal["economics", "repeat", "cohorts", "economics_by", "customers", "prices"] = "economics",
    by: Annotated[str | None, Query(max_length=20)] = None,
) -> Response:
    """One report as an Excel workbook."""
    program = require_program(session, program_id)
    span, error = _span(program, start_on, end_on, 0)
    if error is not None:
        raise error
    if report in ("economics_by", "customers", "prices"):
        by = by or ("channel" if report == "customers" else "day")
        if (report == "economics_by" and by not in breakdowns.ECONOMICS_KEYS) or (
            report == "customers" and by not in reports.VALUE_KEYS
        ):
            raise Invalid(
                Message("Report {report} cannot be split by {by}.", report=report, by=by), code="bad_split"
            )
        columns, rows = _breakdown_sheet(request, _store(request), span, report, by)
    else:
        columns, rows = _sheet(request, _store(request), span, report, window_days)
    name = f"{report}-{span.start_on}-{span.end_on}"
    return Response(
        exports.xlsx_bytes(report, columns, rows),
        media_type=XLSX_MEDIA_TYPE,
        headers={"content-disposition": f'attachment; filename="{name}.xlsx"'},
    )


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
    span, error = _span(program, start_on, end_on, member.id)
    return render(
        request,
        "m/analytics.html",
        status_code=422 if error else 200,
        member=member,
        program=program,
        span=span,
        window_days=30,
        error=error,
        **_figures(_store(request), span, 30),
    )
