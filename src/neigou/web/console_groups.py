"""Console pages of group targets: compliance by date, owners, at-risk list, alerts, charts,
counts held for review and the member-count CSV upload."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from neigou.auth.dependencies import ConsoleOperator
from neigou.groups import alert_queries, count_files, counts
from neigou.groups import repository as repo
from neigou.groups.compliance import Compliance, Standing, compliance, history, local_date
from neigou.groups.models import GroupPlatform
from neigou.groups.service import schedules
from neigou.groups.settings import settings_of
from neigou.groups.targets import required_on
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.kit.ids import whole_number
from neigou.programs import repository as programs
from neigou.programs.models import Program
from neigou.programs.service import require_program
from neigou.reporting.group_sales import DEFAULT_DAYS, Ranking, group_sales, leaderboard, window
from neigou.web.i18n import locale_of
from neigou.web.listing import ListQuery, ListQueryDep, arrange
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
CHART_DAYS = 30
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def day_labeller(request: Request) -> Callable[[date], str]:
    """Dates as people read them in the page's language: 4月2日, 2 April."""
    if locale_of(request) == "en":
        return lambda d: f"{d.day} {MONTHS[d.month - 1]}"
    return lambda d: f"{d.month}月{d.day}日"


@router.get("/console/groups", response_class=HTMLResponse)
def groups_index(request: Request, session: SessionDep, principal: ConsoleOperator) -> HTMLResponse:
    """Programs with their groups, each linking to its compliance page."""
    rows = [(p, len(repo.list_groups(session, program_id=p.id))) for p in programs.list_programs(session)]
    return render(request, "console/groups/index.html", principal=principal, rows=rows)


def _chart_days(report: Compliance) -> list[date]:
    end = report.checkpoint[0] if report.checkpoint else report.on
    start = report.on - timedelta(days=CHART_DAYS - 1)
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _charts(
    session: Session, program: Program, report: Compliance, group_id: int | None, owner_id: int | None
) -> dict[str, Any]:
    """Series for the per-group and per-owner charts: daily counts, the target curve, the forecast."""
    days = _chart_days(report)
    plan = schedules(session, program.id)
    counted = history(session, program=program, until=report.on, days=CHART_DAYS)
    by_id = {s.group_id: s for s in report.groups}
    candidates = report.at_risk or report.groups
    focus = by_id.get(group_id or 0) or (candidates[0] if candidates else None)
    owner = owner_id or (focus.owner_member_id if focus else None)
    target = [required_on(plan, d) for d in days]

    def series(gid: int) -> list[int | None]:
        return [counted.get(gid, {}).get(d) for d in days]

    group_chart: dict[str, Any] = {"name": "", "actual": [], "forecast": []}
    if focus is not None:
        forecast: list[int | None] = [None] * len(days)
        if focus.forecast is not None and focus.actual is not None and focus.observed_at is not None:
            last_day = local_date(focus.observed_at, program.timezone)
            for day, value in ((last_day, focus.actual), (focus.forecast.on, focus.forecast.projected)):
                if day in days:
                    forecast[days.index(day)] = value
        group_chart = {"name": focus.name, "actual": series(focus.group_id), "forecast": forecast}
    owned = [s for s in report.groups if s.owner_member_id == owner]
    drawn = sorted(owned, key=lambda s: (-_behind(s), s.name))[:OWNER_CHART_LINES]
    return {
        "focus": focus,
        "owner_id": owner,
        "owner_name": owned[0].owner_name if owned else "",
        "owner_groups": len(owned),
        "owner_drawn": len(drawn),
        "data": {
            "labels": [d.strftime("%m-%d") for d in days],
            "target": target,
            "group": group_chart,
            "owner": [{"name": s.name, "data": series(s.group_id)} for s in drawn],
        },
    }


def _sales(session: Session, program: Program, on: date) -> dict[str, Any]:
    """The groups' sales over the 30 days ending ``on``, with their totals."""
    span = window(program, start_on=on - timedelta(days=DEFAULT_DAYS - 1), end_on=on, at=utcnow())
    rows = group_sales(session, program=program, span=span)
    ranked = [row for _, row in leaderboard(rows, by=Ranking.GMV, limit=len(rows))]
    return {
        "span": span,
        # Only groups that sold or were clicked, best first; the rest are counted, not listed.
        "rows": [r for r in ranked if r.clicks or r.claims or r.orders or r.paid_fen],
        "quiet": sum(1 for r in rows if not (r.clicks or r.claims or r.orders or r.paid_fen)),
        "by_group": {r.group_id: r for r in rows},
        "days": DEFAULT_DAYS,
        "gmv_fen": sum(r.gmv_fen for r in rows),
        "orders": sum(r.orders for r in rows),
        "commission_fen": sum(r.commission_fen for r in rows),
        "owner_commission_fen": sum(r.owner_commission_fen for r in rows),
    }


View = Literal["overview", "groups", "owners", "sales", "alerts"]
GroupStatus = Literal["", "met", "missed", "at_risk", "unreported", "no_target"]
AT_RISK_SHOWN = 10  # the overview lists the worst few; the groups view lists them all
OWNER_CHART_LINES = 6  # the owner chart draws the groups furthest behind, not every group


def _status_of(s: Standing, status: GroupStatus) -> bool:
    if status == "met":
        return s.required is not None and s.met
    if status == "missed":
        return s.required is not None and not s.met
    if status == "at_risk":
        return s.forecast is not None and s.forecast.at_risk
    if status == "unreported":
        return s.actual is None
    if status == "no_target":
        return s.required is None
    return True


def _behind(s: Standing) -> int:
    """How far a group is from its target on the day (larger is further behind)."""
    return (s.required or 0) - (s.actual or 0)


GROUP_SORTS: dict[str, Callable[[Any], Any]] = {
    "owner": lambda s: s.owner_name,
    "name": lambda s: s.name,
    "actual": lambda s: s.actual,
    "behind": _behind,
    "short": lambda s: s.forecast.short_by if s.forecast else None,
}
OWNER_SORTS: dict[str, Callable[[Any], Any]] = {
    "owner": lambda o: o.owner_name,
    "groups": lambda o: o.groups,
    "missed": lambda o: o.missed,
    "at_risk": lambda o: o.at_risk,
    "members": lambda o: o.members,
}
SALES_SORTS: dict[str, Callable[[Any], Any]] = {
    "owner": lambda r: r.owner_name,
    "name": lambda r: r.name,
    "clicks": lambda r: r.clicks,
    "orders": lambda r: r.orders,
    "gmv": lambda r: r.gmv_fen,
    "commission": lambda r: r.commission_fen,
}


def _page(
    request: Request,
    *,
    session: Session,
    principal: Any,
    program_id: int,
    on: date | None,
    view: View = "overview",
    query: ListQuery | None = None,
    status: GroupStatus = "",
    group_id: int | None = None,
    owner_id: int | None = None,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    extra = {"form_error": "", "created": None, "typed": {}} | extra
    program = require_program(session, program_id)
    day = on or local_date(utcnow(), program.timezone)
    report = compliance(session, program=program, on=day)
    query = query or ListQuery(q="", sort="", page=1)
    context: dict[str, Any] = {}
    if view == "overview":
        context["charts"] = _charts(session, program, report, group_id, owner_id)
        context["at_risk"] = sorted(report.at_risk, key=lambda s: -s.forecast.short_by if s.forecast else 0)
    elif view == "groups":
        sales = _sales(session, program, day)
        rows = [s for s in report.groups if _status_of(s, status)]
        context["sales"] = sales
        context["groups"] = arrange(
            request,
            rows,
            query,
            sorts=GROUP_SORTS | {"gmv": lambda s: _gmv(sales, s.group_id)},
            default_sort="-behind",
            text=lambda s: f"{s.owner_name} {s.name}",
        )
    elif view == "owners":
        context["owners"] = arrange(
            request,
            report.owners,
            query,
            sorts=OWNER_SORTS,
            default_sort="-missed",
            text=lambda o: o.owner_name,
        )
    elif view == "sales":
        sales = _sales(session, program, day)
        context["sales"] = sales
        context["sold"] = arrange(
            request,
            sales["rows"],
            query,
            sorts=SALES_SORTS,
            default_sort="-gmv",
            text=lambda r: f"{r.owner_name} {r.name}",
        )
    else:
        alerts_day = alert_queries.latest_alert_date(session, program.id, day) or day
        context |= {
            "alerts": alert_queries.list_alerts(session, program.id, alerts_day),
            "delivery": alert_queries.get_delivery(session, program.id, alerts_day),
            "alerts_day": alerts_day,
            "names": {s.group_id: (s.owner_name, s.name) for s in report.groups},
            "held": repo.counts_for_review(session, program.id),
            "settings": settings_of(session, program.id),
            "zone": ZoneInfo(program.timezone),
        }
    return render(
        request,
        "console/groups/compliance.html",
        status_code=status_code,
        principal=principal,
        program=program,
        on=day,
        view=view,
        status=status,
        report=report,
        schedules=schedules(session, program.id),
        held_total=repo.count_held_for_review(session, program.id),
        day_label=day_labeller(request),
        at_risk_shown=AT_RISK_SHOWN,
        platforms=[p.value for p in GroupPlatform],
        **context,
        **extra,
    )


def _gmv(sales: dict[str, Any], group_id: int) -> int:
    row = sales["by_group"].get(group_id)
    return int(row.gmv_fen) if row else 0


@router.get("/console/programs/{program_id}/groups", response_class=HTMLResponse)
def compliance_page(
    request: Request,
    *,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    query: ListQueryDep,
    on: Annotated[date | None, Query(alias="date")] = None,
    view: View = "overview",
    status: GroupStatus = "",
    group: int | None = None,
    owner: Annotated[str, Query(max_length=20)] = "",
    error: Annotated[str, Query(max_length=40)] = "",
    created: int | None = None,
    name: Annotated[str, Query(max_length=200)] = "",
    platform: Annotated[str, Query(max_length=20)] = "",
) -> HTMLResponse:
    """A program's groups on a date, one view at a time: overview (summary, charts, the worst at-risk
    groups), every group's compliance, owners, sales, and alerts with counts to review and the upload."""
    return _page(
        request,
        session=session,
        principal=principal,
        program_id=program_id,
        on=on,
        view=view,
        query=query,
        status=status,
        group_id=group,
        owner_id=whole_number(owner),
        form_error=error,
        created=created,
        typed={"owner": owner, "name": name, "platform": platform},
    )


@router.post("/console/programs/{program_id}/groups/import", response_class=HTMLResponse)
def import_page(
    request: Request,
    program_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    file: UploadFile,
) -> HTMLResponse:
    """Upload a member-count CSV or .xlsx: imported whole, or refused whole with every row's error."""
    require_program(session, program_id)
    try:
        with session.begin_nested():
            result = count_files.import_counts(
                session, content=file.file, actor=principal.actor, program_id=program_id
            )
    except ProblemError as exc:
        return _page(
            request,
            session=session,
            principal=principal,
            program_id=program_id,
            on=None,
            view="alerts",
            status_code=422,
            import_error=exc,
            import_result=None,
        )
    return _page(
        request,
        session=session,
        principal=principal,
        program_id=program_id,
        on=None,
        view="alerts",
        import_result=result,
        import_error=None,
    )


@router.post("/console/groups/{group_id}/counts/{count_id}/review")
def review_page(
    group_id: int,
    count_id: int,
    session: SessionDep,
    principal: ConsoleOperator,
    accept: Annotated[bool, Form()],
) -> RedirectResponse:
    """Accept or reject a count held for review, then go back to the program's page (one decided
    meanwhile is 409 ``not_awaiting_review``)."""
    count = counts.review_held(
        session, group_id=group_id, count_id=count_id, accept=accept, actor=principal.actor
    )
    return RedirectResponse(
        f"/console/programs/{count.program_id}/groups?view=alerts#review", status_code=303
    )
