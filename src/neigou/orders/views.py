"""API views of orders, refunds and settlements."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.orders.inputs import ItemIn, OrderIn
from neigou.orders.models import Order, OrderLine, Refund
from neigou.orders.schemas import CommissionOut, LineOut, OrderBody, OrderOut, RefundOut
from neigou.orders.service import commissions


def order_in(body: OrderBody) -> OrderIn:
    """The domain's input from an API body."""
    return OrderIn(
        external_id=body.external_id,
        program_id=body.program_id,
        customer_ref=body.customer_ref,
        link_code=body.link_code,
        items=tuple(ItemIn(i.sku, i.quantity, i.paid_fen) for i in body.items),
        paid_at=body.paid_at,
        total_fen=body.total_fen,
        event_id=body.event_id,
    )


def order_out(session: Session, order: Order) -> OrderOut:
    """An order with its commissions and lines (two queries)."""
    lines = session.scalars(
        select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)
    )
    return OrderOut(
        id=order.id,
        external_id=order.external_id,
        program_id=order.program_id,
        member_id=order.member_id,
        group_id=order.group_id,
        attribution=order.attribution_basis,
        self_purchase=order.self_purchase,
        paid_fen=order.paid_fen,
        refunded_fen=order.refunded_fen,
        commission_fen=order.commission_fen,
        commission_state=order.shown_commission_state,
        paid_at=order.paid_at,
        completed_at=order.completed_at,
        commissions=[
            CommissionOut(
                member_id=c.member_id,
                level=c.level,
                amount_fen=c.amount_fen,
                reversed_fen=c.reversed_fen,
                tier=c.tier_code,
                bp=c.bp,
            )
            for c in commissions(session, order.id)
        ],
        lines=[
            LineOut(
                sku=line.sku,
                quantity=line.quantity,
                list_fen=line.list_fen,
                paid_fen=line.paid_fen,
                commission_rate_bp=line.commission_rate_bp,
                fixed_commission_fen=line.fixed_commission_fen,
                pool_fen=line.pool_fen,
            )
            for line in lines
        ],
        pricing=order.pricing,
    )


def refund_out(refund: Refund, order: Order) -> RefundOut:
    """A refund as the API shows it."""
    return RefundOut(
        id=refund.id,
        refund_id=refund.refund_id,
        order_id=order.id,
        external_id=order.external_id,
        amount_fen=refund.amount_fen,
        reversed_fen=refund.reversed_fen,
        refunded_fen=order.refunded_fen,
        at=refund.at,
    )
