"""HTTP endpoints of merchants (``/api/v1``): operators manage them; a merchant reads its own sales."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from neigou.auth.dependencies import Operator, OperatorOrMerchant
from neigou.kit.deps import SessionDep
from neigou.kit.exports import XLSX_MEDIA_TYPE
from neigou.kit.paging import PageDep
from neigou.merchants import service
from neigou.merchants.sales import sales_out, sales_xlsx
from neigou.merchants.schemas import MerchantCreate, MerchantOut, MerchantSalesOut
from neigou.reporting.merchant_sales import SalesBy

router = APIRouter(tags=["merchants"])
From = Annotated[dt.date, Query(alias="from", description="first day, each order's program time zone")]
To = Annotated[dt.date, Query(alias="to", description="last day (inclusive)")]


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
    start: From,
    end: To,
    by: SalesBy | None = None,
) -> MerchantSalesOut:
    """Orders paid in the range whose lines are the merchant's skus, counting only those lines: order
    count, GMV, refunds, commission (net of reversals), coupon cost (what coupons took off the lines)
    and promotion discounts (what promotions took off them); with ``by``, a row per day, group or
    program. Shoppers are not shown."""
    return sales_out(session, merchant_id=merchant_id, start=start, end=end, by=by)


@router.get("/merchants/{merchant_id}/sales.xlsx", response_class=Response)
def export_merchant_sales(
    merchant_id: int,
    session: SessionDep,
    _principal: OperatorOrMerchant,
    start: From,
    end: To,
    by: SalesBy | None = None,
) -> Response:
    """The same figures as an Excel workbook: a row per day, group or program, then the totals."""
    sales = sales_out(session, merchant_id=merchant_id, start=start, end=end, by=by)
    return Response(
        sales_xlsx(sales),
        media_type=XLSX_MEDIA_TYPE,
        headers={"content-disposition": f'attachment; filename="sales-{merchant_id}-{start}-{end}.xlsx"'},
    )
