"""Excel exports of the console's analytics page: one report as a workbook of one sheet, in the
figures the page shows (fen and basis points as integers; headers in the reader's language)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from neigou.analytics import breakdowns, reports
from neigou.analytics.reports import KEPT_FUNNEL_KEYS, Span
from neigou.analytics.store import Store
from neigou.auth.dependencies import ConsoleOperator
from neigou.kit import exports
from neigou.kit.dates import check_month
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Invalid
from neigou.kit.exports import XLSX_MEDIA_TYPE
from neigou.kit.i18n import N_, NP_, Message, translations
from neigou.programs.service import require_program
from neigou.web.console_analytics import FromQuery, ToQuery, analytics_store, funnel_lines, page_span
from neigou.web.i18n import locale_of

router = APIRouter(include_in_schema=False)
Report = Literal["economics", "repeat", "cohorts", "economics_by", "customers", "prices", "funnel", "fission"]
# The reports split by a key, each with its default and the keys it may be split by.
SPLITS: dict[str, tuple[str, frozenset[str]]] = {
    "economics_by": ("day", frozenset(breakdowns.ECONOMICS_KEYS)),
    "customers": ("channel", frozenset(reports.VALUE_KEYS)),
    "funnel": ("link", frozenset(KEPT_FUNNEL_KEYS)),
}


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
        columns = [
            _(N_("Channel")),
            _(N_("Customers")),
            _(N_("Repeat customers")),
            _(N_("Repeat rate (bp)")),
            _(N_("Still inside their window")),
        ]
        return columns, [
            [r.key, r.customers, r.repeat_customers, r.repeat_rate_bp, r.in_window]
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


def _funnel_sheet(
    request: Request, session: Session, store: Store, span: Span, by: str
) -> tuple[list[str], list[list[object]]]:
    _ = translations(locale_of(request)).gettext
    columns = [by, _(N_("Name")), "clicks", "claims", "orders", "net_fen", "claim_rate_bp", "order_rate_bp"]
    rows: list[list[object]] = [
        [
            f.row.key,
            f.label,
            f.row.clicks,
            f.row.claims,
            f.row.orders,
            f.row.net_fen,
            f.claim_rate_bp,
            f.order_rate_bp,
        ]
        for f in funnel_lines(session, store, span, by)
    ]
    return columns, rows


def _fission_sheet(
    request: Request, store: Store, span: Span, period: str
) -> tuple[list[str], list[list[object]]]:
    catalog = translations(locale_of(request))
    result = reports.fission(store, reports.month_span(span.program_id, period))
    columns = [str(catalog.gettext(N_("Figure"))), str(catalog.pgettext(*NP_("figure", "Value")))]
    rows: list[list[object]] = [
        ["period", period],
        ["members_at_start", result.members_at_start],
        ["recruits", result.recruits],
        ["k_factor_bp", result.k_factor_bp],
        ["recruits_active_after_30_days", result.recruits_active_after_30_days],
        ["recruits_within_30_days", result.recruits_within_30_days],
    ]
    return columns, rows + [[f"members_level_{level}", members] for level, members in result.depth]


@router.get("/console/programs/{program_id}/analytics/export")
def export(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    _principal: ConsoleOperator,
    start_on: FromQuery = None,
    end_on: ToQuery = None,
    window_days: Annotated[int, Query(ge=1, le=3650)] = 30,
    report: Report = "economics",
    by: Annotated[str | None, Query(max_length=20)] = None,
    period: Annotated[str | None, Query(max_length=20, description="YYYY-MM")] = None,
) -> Response:
    """One report as an Excel workbook; fission is of the month ``period`` (default: the range's last)."""
    program = require_program(session, program_id)
    span, error = page_span(program, start_on, end_on, 0)
    if error is not None:
        raise error
    store = analytics_store(request)
    name = f"{report}-{span.start_on}-{span.end_on}"
    if report in SPLITS:
        default, keys = SPLITS[report]
        by = by or default
        if by not in keys:
            raise Invalid(
                Message(
                    "Report {report} is split by one of {keys}.", report=report, keys=", ".join(sorted(keys))
                ),
                code="bad_split",
            )
    if report == "funnel":
        columns, rows = _funnel_sheet(request, session, store, span, by or "link")
        name = f"funnel-{by}-{span.start_on}-{span.end_on}"
    elif report == "fission":
        month = check_month(period or span.end_on.isoformat()[:7], "period")  # ASCII, from the numbers read
        columns, rows = _fission_sheet(request, store, span, month)
        name = f"fission-{month}"
    elif report in ("economics_by", "customers", "prices"):
        columns, rows = _breakdown_sheet(request, store, span, report, by or "")
    else:
        columns, rows = _sheet(request, store, span, report, window_days)
    return Response(
        exports.xlsx_bytes(report, columns, rows),
        media_type=XLSX_MEDIA_TYPE,
        headers={"content-disposition": f'attachment; filename="{name}.xlsx"'},
    )
