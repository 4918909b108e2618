"""A batch of new orders written row by row from Python-computed commission: the path of small
batches (an API order, a platform feed's page) and of SQLite. Large batches on PostgreSQL go through
``orders.set_writes``, which computes the same amounts in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from neigou.kit.bulk import insert_new, insert_rows
from neigou.ledger import legs
from neigou.ledger.models import Account, PostingKind
from neigou.ledger.service import Draft, draft, post_many
from neigou.orders import commission
from neigou.orders.batch_rows import LineRow, as_line
from neigou.orders.models import Commission, CommissionState, Order, OrderLine, OrderSource


class OrderHead(NamedTuple):
    """The ``orders`` row of a new order but its id, commission and the columns every new order has
    alike (nothing refunded, completed or settled), in the column order the set-based write stages
    (``set_writes.ORDER_COLUMNS``): a tuple, built once per order and staged as it is."""

    program_id: int
    external_id: str
    customer_ref_hash: str
    link_code: str | None
    event_id: int | None
    member_id: int | None
    group_id: int | None
    attribution_basis: str
    self_purchase: bool
    paid_fen: int
    paid_at: datetime
    commission_state: CommissionState
    pricing: dict[str, object]
    source: OrderSource
    created_at: datetime


def order_row(head: OrderHead) -> dict[str, Any]:
    """The whole ``orders`` row of a new order but its id and commission."""
    return {**head._asdict(), "refunded_fen": 0, "completed_at": None, "settlement_id": None}


@dataclass
class NewOrder:
    """An order ready to be written: its head, lines and earners."""

    head: OrderHead
    lines: list[LineRow]
    chain: list[commission.Earner]


def write(session: Session, todo: list[NewOrder]) -> dict[tuple[int, str], int]:
    """Write the orders whose key is free, then their lines, commissions and postings; returns
    ``(program, external id) → id`` of the orders written now."""
    earnings = [commission.compute([as_line(r) for r in o.lines], o.chain) for o in todo]
    rows = [
        {**order_row(o.head), "commission_fen": sum(e.amount_fen for e in earned)}
        for o, earned in zip(todo, earnings, strict=True)
    ]
    inserted = {
        (int(p), str(e)): int(i)
        for p, e, i in insert_new(session, Order, rows, unique=("program_id", "external_id"))
    }
    line_rows: list[dict[str, object]] = []
    commission_rows: list[dict[str, object]] = []
    drafts: list[Draft] = []
    for order, earned in zip(todo, earnings, strict=True):
        program_id, external_id = order.head.program_id, order.head.external_id
        order_id = inserted.get((program_id, external_id))
        if order_id is None:
            continue  # a concurrent request stored it first
        for line_no, sku, quantity, list_fen, paid_fen, rate, fixed, pool in order.lines:
            line_rows.append(
                {
                    "order_id": order_id,
                    "line_no": line_no,
                    "sku": sku,
                    "quantity": quantity,
                    "list_fen": list_fen,
                    "paid_fen": paid_fen,
                    "commission_rate_bp": rate,
                    "fixed_commission_fen": fixed,
                    "pool_fen": pool,
                }
            )
        per_member: dict[int, int] = {}
        for e in earned:
            commission_rows.append(
                {
                    "order_id": order_id,
                    "program_id": program_id,
                    "member_id": e.member_id,
                    "level": e.level,
                    "tier_code": e.tier_code,
                    "bp": e.bp,
                    "amount_fen": e.amount_fen,
                    "reversed_fen": 0,
                }
            )
            per_member[e.member_id] = per_member.get(e.member_id, 0) + e.amount_fen
        if per_member:
            drafts.append(
                draft(
                    program_id=program_id,
                    kind=PostingKind.COMMISSION_EARNED,
                    key=f"order:{order_id}:earned",
                    source="order",
                    source_id=order_id,
                    at=order.head.paid_at,
                    legs=legs.earned(per_member, to=Account.PENDING, expense=Account.COMMISSION_EXPENSE),
                    memo=external_id,
                )
            )
    if line_rows:
        insert_rows(session, OrderLine, line_rows)
    if commission_rows:
        insert_rows(session, Commission, commission_rows)
    post_many(session, drafts, known_new=True)
    return inserted
