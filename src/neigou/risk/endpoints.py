"""HTTP endpoints of risk scans, the review queue and thresholds (``/api/v1``); operators only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from neigou.auth.dependencies import Operator
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.instants import MoneyClockDep
from neigou.kit.paging import PageDep
from neigou.programs.service import require_program
from neigou.risk import jobs as _jobs  # noqa: F401 - registers the nightly scan and the ingest listeners
from neigou.risk import repository as repo
from neigou.risk import review, rules, service
from neigou.risk.models import CaseStatus
from neigou.risk.schemas import CaseOut, ResolveIn, ScanIn, ScanOut, ThresholdsIn
from neigou.risk.thresholds import as_dict
from neigou.risk.views import cases_out

router = APIRouter(tags=["risk"])


@router.post("/programs/{program_id}/risk/scan", response_model=ScanOut)
def run_scan(
    program_id: int,
    session: SessionDep,
    principal: Operator,
    clock: MoneyClockDep,
    body: ScanIn | None = None,
) -> ScanOut:
    """Run every rule (or the named ones) now over the window ending at ``as_of`` (not in the future).
    The program's lock is waited for a bounded time: past it 503 ``overloaded``, nothing written."""
    body = body or ScanIn()
    as_of = clock.until_now(body.as_of, field="as_of")
    program = require_program(session, program_id)
    names = tuple(body.rules) if body.rules else tuple(rules.RULES)
    result = service.scan(
        session,
        program=program,
        as_of=as_of,
        actor=principal.actor,
        now=clock.now,
        names=names,
        bounded_wait=True,
    )
    return ScanOut(opened=result.opened, extended=result.extended, findings=result.findings)


@router.get("/programs/{program_id}/risk/cases", response_model=list[CaseOut])
def list_cases(
    program_id: int,
    *,
    session: SessionDep,
    principal: Operator,
    page: PageDep,
    case_status: Annotated[CaseStatus | None, Query(alias="status")] = None,
    member_id: int | None = None,
) -> list[CaseOut]:
    """The program's cases, newest first, by status (open, cleared, confirmed) or member."""
    require_program(session, program_id)
    cases = repo.page_cases(session, page, program_id=program_id, status=case_status, member_id=member_id)
    page.answer(cases.total)
    return cases_out(session, cases.items)


@router.get("/risk/cases/{case_id}", response_model=CaseOut)
def get_case(case_id: int, session: SessionDep, principal: Operator) -> CaseOut:
    """One case."""
    return cases_out(session, [service.require_case(session, case_id)])[0]


@router.post("/risk/cases/{case_id}/resolve", response_model=CaseOut)
def resolve_case(case_id: int, body: ResolveIn, session: SessionDep, principal: Operator) -> CaseOut:
    """Clear or confirm an open case; the same decision again changes nothing."""
    case = review.resolve(
        session,
        case_id=case_id,
        decision=body.decision,
        note=body.note,
        suspend=body.suspend,
        actor=principal.actor,
        at=utcnow(),
    )
    return cases_out(session, [case])[0]


@router.get("/programs/{program_id}/risk/thresholds", response_model=dict[str, int])
def get_thresholds(program_id: int, session: SessionDep, principal: Operator) -> dict[str, int]:
    """Every threshold of the program (its own values over the defaults)."""
    require_program(session, program_id)
    return as_dict(service.thresholds_of(session, program_id))


@router.put("/programs/{program_id}/risk/thresholds", response_model=dict[str, int])
def put_thresholds(
    program_id: int, body: ThresholdsIn, session: SessionDep, principal: Operator
) -> dict[str, int]:
    """Change some thresholds; the answer is every threshold as it now stands."""
    program = require_program(session, program_id)
    values = body.model_dump(exclude_none=True)
    return as_dict(
        service.put_thresholds(session, program=program, values=values, actor=principal.actor, at=utcnow())
    )
