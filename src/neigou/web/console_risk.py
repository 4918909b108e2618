"""Console review queue of risk cases: a program's cases by status with evidence, the member's
history and the held commission; an operator clears or confirms each one (audited) or runs a scan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from neigou.auth.dependencies import ConsoleOperator
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.errors import ProblemError
from neigou.kit.i18n import Message, Text
from neigou.programs import repository as programs
from neigou.programs.service import require_program
from neigou.risk import repository as repo
from neigou.risk import review, service
from neigou.risk.models import CaseStatus, RiskCase, Severity
from neigou.risk.views import explanation
from neigou.web.console_risk_thresholds import rows
from neigou.web.listing import ListQuery, ListQueryDep, fetch, list_query
from neigou.web.pages import render

router = APIRouter(include_in_schema=False)
SHOWN = 10  # a case is a card with its evidence and form: ten fill a few screens
MAX_ID = 2**63 - 1


def _page(
    request: Request,
    session: SessionDep,
    *,
    program_id: int | None,
    status: CaseStatus,
    query: ListQuery | None = None,
    severity: Severity | None = None,
    error: Text | None = None,
    notice: Text | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    listed = programs.list_programs(session)
    program = next((p for p in listed if p.id == program_id), listed[0] if listed else None)
    cases: list[RiskCase] = []
    orders, external, history, members = {}, {}, {}, {}
    counts: dict[str, int] = {}
    listing = None
    if program is not None:
        listing = fetch(
            session,
            request,
            repo.cases_statement(program_id=program.id, status=status, severity=severity),
            query or list_query(),
            sorts=repo.SORTS,
            default_sort="-opened",
            search=repo.SEARCH,
            size=SHOWN,
            path="/console/risk",
        )
        cases = listing.rows
        members = programs.member_names(session, [c.member_id for c in cases if c.member_id is not None])
        orders = repo.order_ids_of(session, [c.id for c in cases])
        external = repo.external_ids_of(session, [i for ids in orders.values() for i in ids])
        history = {m: repo.member_history(session, m) for m in {c.member_id for c in cases} if m is not None}
        counts = repo.status_counts(session, program.id)
    return render(
        request,
        "console/risk/index.html",
        status_code=status_code,
        programs=listed,
        program=program,
        status=status.value,
        statuses=[s.value for s in CaseStatus],
        counts=counts,
        cases=cases,
        listing=listing,
        members=members,
        severity=severity.value if severity else "",
        severities=[s.value for s in Severity],
        orders=orders,
        external=external,
        history=history,
        explanations={c.id: explanation(c) for c in cases},
        thresholds=rows(service.thresholds_of(session, program.id)) if program else [],
        error=error,
        notice=notice,
    )


@router.get("/console/risk", response_class=HTMLResponse)
def risk_page(
    request: Request,
    *,
    session: SessionDep,
    _principal: ConsoleOperator,
    program_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    query: ListQueryDep,
    status: CaseStatus = CaseStatus.OPEN,
    severity: Severity | None = None,
    opened: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
) -> HTMLResponse:
    """The review queue of one program (the first by default): one status at a time, by severity,
    searchable by rule or subject, sortable, paged."""
    notice = Message("The scan opened {n} cases.", n=opened) if opened is not None else None
    return _page(
        request,
        session,
        program_id=program_id,
        status=status,
        query=query,
        severity=severity,
        notice=notice,
    )


@router.post("/console/risk/cases/{case_id}/resolve", response_model=None)
def resolve_page(
    request: Request,
    case_id: int,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    decision: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=2000)] = "",
    suspend: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Clear or confirm a case, then back to the queue."""
    case = service.require_case(session, case_id) if 1 <= case_id <= MAX_ID else None
    if case is None or decision not in review.DECISIONS:
        return _page(
            request, session, program_id=None, status=CaseStatus.OPEN, error="bad_decision", status_code=422
        )
    try:
        with session.begin_nested():
            review.resolve(
                session,
                case_id=case.id,
                decision=decision,
                note=note.strip() or None,
                suspend=suspend == "yes",
                actor=principal.actor,
                at=utcnow(),
            )
    except ProblemError as exc:
        return _page(
            request,
            session,
            program_id=case.program_id,
            status=CaseStatus.OPEN,
            error=exc.detail,
            status_code=exc.status,
        )
    return RedirectResponse(f"/console/risk?program_id={case.program_id}#case-{case.id}", status_code=303)


@router.post("/console/risk/scan", response_model=None)
def scan_page(
    request: Request,
    *,
    session: SessionDep,
    principal: ConsoleOperator,
    program_id: Annotated[int, Form(ge=1, le=MAX_ID)],
) -> Response:
    """Run every rule now over the program, then show what is open. The program's lock is waited for a
    bounded time: past it the "try again in a moment" page (503 ``overloaded``), nothing written."""
    program = require_program(session, program_id)
    now = utcnow()
    result = service.scan(
        session, program=program, as_of=now, actor=principal.actor, now=now, bounded_wait=True
    )
    return RedirectResponse(f"/console/risk?program_id={program.id}&opened={result.opened}", status_code=303)
