"""HTTP endpoints of orders, refunds, settlements and fixed sku commissions (``/api/v1``).

Orders are addressed by the shop's ``external_id``, unique within a program. Calls that name an
order take ``?program_id=``; without it the id must be unique across programs (else 409
``ambiguous_external_id``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from neigou.auth.dependencies import Operator, OperatorOrIntegration
from neigou.kit.clock import utcnow
from neigou.kit.deps import SessionDep
from neigou.kit.instants import MoneyClockDep
from neigou.kit.json_ids import require_id_text
from neigou.kit.paging import PageDep
from neigou.orders import service, settlement, sku_commissions
from neigou.orders.consent import given_consent, record_order_consent
from neigou.orders.models import OrderSource
from neigou.orders.schemas import (
    CompleteBody,
    OrderBody,
    OrderOut,
    RefundBody,
    RefundOut,
    SettlementBody,
    SettlementOut,
    SkuCommissionBody,
    SkuCommissionOut,
)
from neigou.orders.views import order_in, order_out, refund_out
from neigou.programs.service import require_program

router = APIRouter(tags=["orders"])
ProgramQuery = Annotated[int | None, Query(description="the program the external id belongs to")]


@router.post("/orders", status_code=status.HTTP_201_CREATED, response_model=OrderOut)
def create_order(
    *,
    body: OrderBody,
    request: Request,
    response: Response,
    session: SessionDep,
    principal: OperatorOrIntegration,
    clock: MoneyClockDep,
) -> OrderOut:
    """Take a paid order: attribute, price, compute and post commission (200 with the stored order on a repeat)."""
    clock.at(body.paid_at, field="paid_at")
    consent = given_consent(body, clock)
    order, created = service.take_order(
        session,
        data=order_in(body),
        secret_key=request.app.state.settings.secret_key,
        source=OrderSource.API,
        actor=principal.actor,
        now=clock.now,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    record_order_consent(
        session, order=order, created=created, customer_ref=body.customer_ref, consent=consent, at=clock.now
    )
    return order_out(session, order)


@router.get("/orders/{external_id}", response_model=OrderOut)
def get_order(
    external_id: str, session: SessionDep, _principal: OperatorOrIntegration, program_id: ProgramQuery = None
) -> OrderOut:
    """One order with its commission breakdown."""
    return order_out(session, service.find_order(session, external_id=external_id, program_id=program_id))


@router.post("/orders/{external_id}/complete", response_model=OrderOut)
def complete_order(
    *,
    external_id: str,
    session: SessionDep,
    principal: OperatorOrIntegration,
    clock: MoneyClockDep,
    body: CompleteBody | None = None,
    program_id: ProgramQuery = None,
) -> OrderOut:
    """The order completed: its commission freezes until the program's freeze ends."""
    at = clock.at(body.at if body else None)
    order = service.find_order(session, external_id=external_id, program_id=program_id, lock=True)
    return order_out(session, service.complete(session, order=order, at=at, actor=principal.actor))


@router.post("/orders/{external_id}/refunds", status_code=status.HTTP_201_CREATED, response_model=RefundOut)
def refund_order(
    *,
    external_id: str,
    body: RefundBody,
    response: Response,
    session: SessionDep,
    principal: OperatorOrIntegration,
    clock: MoneyClockDep,
    program_id: ProgramQuery = None,
) -> RefundOut:
    """A refund: commission is reversed exactly (200 with the stored refund on a repeat)."""
    at = clock.at(body.at)
    order = service.find_order(session, external_id=external_id, program_id=program_id, lock=True)
    row, created = service.refund(
        session,
        order=order,
        refund_id=require_id_text(body.refund_id, "refund_id", "invalid_refund_id"),
        amount_fen=body.amount_fen,
        at=at,
        actor=principal.actor,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return refund_out(row, order)


@router.post(
    "/programs/{program_id}/settlements", status_code=status.HTTP_201_CREATED, response_model=SettlementOut
)
def run_settlement(
    program_id: int,
    session: SessionDep,
    principal: Operator,
    clock: MoneyClockDep,
    body: SettlementBody | None = None,
) -> SettlementOut:
    """Release frozen commission whose freeze ended by ``as_of`` (never later than now)."""
    as_of = clock.until_now(body.as_of if body else None, field="as_of")
    program = require_program(session, program_id)
    return SettlementOut.model_validate(
        settlement.settle(session, program=program, as_of=as_of, actor=principal.actor, now=clock.now)
    )


@router.put("/sku-commissions/{sku}", response_model=SkuCommissionOut)
def put_sku_commission(
    sku: str, body: SkuCommissionBody, session: SessionDep, principal: Operator
) -> SkuCommissionOut:
    """Set (or clear) a sku's fixed commission pool per unit; it overrides the product's rate."""
    sku_commissions.set_fixed(
        session, sku=sku, fen=body.fixed_commission_fen, actor=principal.actor, at=utcnow()
    )
    return SkuCommissionOut(sku=sku, fixed_commission_fen=body.fixed_commission_fen)


@router.get("/sku-commissions", response_model=list[SkuCommissionOut])
def list_sku_commissions(session: SessionDep, _principal: Operator, page: PageDep) -> list[SkuCommissionOut]:
    """Skus paid by a fixed commission."""
    rows = sku_commissions.page_fixed(session, page)
    page.answer(rows.total)
    return [SkuCommissionOut.model_validate(row) for row in rows.items]
