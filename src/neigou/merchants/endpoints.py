"""HTTP endpoints of merchants (``/api/v1``): operators manage them; a merchant reads its own sales."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, status

from neigou.auth.dependencies import Operator, OperatorOrMerchant
from neigou.kit.deps import SessionDep
from neigou.kit.errors import Invalid
from neigou.kit.i18n import Message
from neigou.kit.paging import PageDep
from neigou.merchants import service
from neigou.merchants.schemas import MerchantCreate, MerchantOut, MerchantSalesOut
from neigou.reporting.merchant_sales import merchant_sales

router = APIRouter(tags=["merchants"])
MAX_DAYS = 366


@router.post("/merchants", status_code=status.HTTP_201_CREATED, response_model=MerchantOut)
def create_merchant(body: MerchantCreate, session: SessionDep, principal: Operator) -> MerchantOut:
    """Add a merchant (shop) to the operator's organization."""
    return MerchantOut.model_validate(service.create_merchant(session, data=body, actor=principal.actor))


@router.get("/merchants", response_model=list[MerchantOut])
def list_merchants(session: SessionDep, _principal: Operator, page: PageDep) -> list[MerchantOut]:
    """The organization's merchants, oldest first."""
    merchants = service.page_merchants(session, page)
    page.answer(merchants.total)
    return [MerchantOut.model_validate(m) for m in merchants.items]


@router.delete("/merchants/{merchant_id}", response_model=MerchantOut)
def delete_merchant(merchant_id: int, session: SessionDep, principal: Operator) -> MerchantOut:
    """Delete a merchant: its accounts and tokens stop working at once; its products and sales stay."""
    return MerchantOut.model_validate(
        service.delete_merchant(session, merchant_id=merchant_id, actor=principal.actor)
    )


@router.get("/merchants/{merchant_id}/sales", response_model=MerchantSalesOut)
def get_merchant_sales(
    merchant_id: int,
    session: SessionDep,
    _principal: OperatorOrMerchant,
    start: Annotated[dt.date, Query(alias="from", description="first day, each order's program time zone")],
    end: Annotated[dt.date, Query(alias="to", description="last day (inclusive)")],
) -> MerchantSalesOut:
    """Orders paid in the range whose lines are the merchant's skus, counting only those lines: order
    count, GMV, refunds and commission (net of reversals). Shoppers are not shown."""
    if end < start or (end - start).days >= MAX_DAYS:
        raise Invalid(
            Message("The range runs from 'from' to 'to', at most {days} days.", days=MAX_DAYS),
            code="invalid_range",
        )
    service.require_merchant(session, merchant_id)
    sales = merchant_sales(session, merchant_id=merchant_id, start=start, end=end)
    return MerchantSalesOut(
        merchant_id=merchant_id,
        from_=start,
        to=end,
        orders=sales.orders,
        gmv_fen=sales.gmv_fen,
        refund_fen=sales.refund_fen,
        commission_fen=sales.commission_fen,
    )
