"""HTTP endpoints of opt-outs (``/api/v1/privacy``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status
from sqlalchemy.orm import Session

from neigou.auth.dependencies import Operator, OperatorOrIntegration
from neigou.kit.deps import SessionDep
from neigou.kit.instants import MoneyClockDep
from neigou.kit.paging import CursorDep
from neigou.privacy import repository as repo
from neigou.privacy import service
from neigou.privacy.models import OptOut
from neigou.privacy.schemas import MAX_ID, ErasedOut, OptOutIn, OptOutOut

router = APIRouter(tags=["privacy"])


def opt_out_out(session: Session, row: OptOut) -> OptOutOut:
    """The API view of an opt-out (without the customer's hash; every kind named in ``erased``, or
    null where the caller may not see what it erased)."""
    erased = {kind: int(row.erased.get(kind, 0)) for kind in service.KINDS}
    return OptOutOut(
        id=row.id,
        request_id=row.request_id,
        program_id=row.program_id,
        requested_at=row.requested_at,
        actor_kind=row.actor_kind,
        platform_wide=row.organization_id is None,
        erased=ErasedOut(**erased) if repo.counts_shown(session, row) else None,
    )


@router.post("/privacy/opt-outs", status_code=status.HTTP_201_CREATED, response_model=OptOutOut)
def create_opt_out(
    *,
    body: OptOutIn,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: OperatorOrIntegration,
    clock: MoneyClockDep,
) -> OptOutOut:
    """Erase a shopper's linkage (PIPL opt-out); the same request_id again answers the first (200).
    ``at`` may not lie ahead of the clock (past the skew, 422 ``time_in_future``): the opt-out covers
    what the shopper took up to it, so one dated ahead would erase their claims and reservations to come."""
    result = service.opt_out(
        session,
        secret_key=request.app.state.settings.secret_key,
        customer_ref=body.customer_ref,
        program_id=body.program_id,
        request_id=body.request_id,
        actor=principal.actor,
        at=clock.at(body.at),
        events=request.app.state.events,
        links=request.app.state.links,
    )
    if not result.created:
        response.status_code = status.HTTP_200_OK
    return opt_out_out(session, result.opt_out)


@router.get("/privacy/opt-outs", response_model=list[OptOutOut])
def list_opt_outs(
    session: SessionDep,
    _principal: Operator,
    cursor: CursorDep,
    program_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[OptOutOut]:
    """Opt-outs the caller sees, newest first (no customer reference, clear, masked or hashed): an
    organization's operators see their organization's and those recorded platform-wide."""
    rows = repo.page_opt_outs(session, cursor, program_id=program_id)
    cursor.answer(rows.total, rows.next_before_id)
    return [opt_out_out(session, row) for row in rows.items]
