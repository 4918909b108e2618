"""One order's life after it is paid: taken in, completed, refunded — each posted to the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.bulk import insert_ignoring_duplicates
from neigou.kit.columns import RowError
from neigou.kit.db import get_or_404
from neigou.kit.errors import Conflict, Invalid, NotFound, ProblemError
from neigou.kit.events import Event, publish
from neigou.kit.i18n import Message
from neigou.ledger import legs
from neigou.ledger.models import Account, PostingKind
from neigou.ledger.service import draft, post
from neigou.orders import batch_rows, commission, commission_events
from neigou.orders import priced as _priced  # noqa: F401 - refuses inviter moves past priced orders
from neigou.orders.ingest import ingest
from neigou.orders.inputs import OrderIn
from neigou.orders.models import (
    Commission,
    CommissionState,
    Order,
    OrderLine,
    OrderSource,
    Refund,
    Settlement,
)

STATE_ACCOUNT = {
    CommissionState.PENDING: Account.PENDING,
    CommissionState.FROZEN: Account.FROZEN,
    CommissionState.AVAILABLE: Account.AVAILABLE,
}


def _problem(error: RowError) -> ProblemError:
    if error.code == "program_not_found":
        return NotFound(error.message, code=error.code)
    if error.code == "external_id_reused":
        return Conflict(error.message, code=error.code, extra={"field": "external_id"})
    if error.code in {"no_tiers", "tier_not_in_ladder"}:
        return Conflict(error.message, code=error.code)
    return Invalid(error.message, code=error.code)


def take_order(
    session: Session, *, data: OrderIn, secret_key: str, source: OrderSource, actor: Actor, now: datetime
) -> tuple[Order, bool]:
    """Store a paid order and post its commission; the same external_id again returns the stored order."""
    outcome = ingest(session, [data], secret_key=secret_key, source=source, now=now).results[0]
    if isinstance(outcome, RowError):
        raise _problem(outcome)
    order = get_or_404(
        session, Order, outcome.order_id, code="order_not_found", detail=Message("The order vanished.")
    )
    if outcome.created:
        announce_taken(session, order, actor=actor, now=now)
    return order, outcome.created


def get(session: Session, order_id: int) -> Order:
    """The order with this id (it must exist)."""
    return get_or_404(session, Order, order_id, code="order_not_found", detail=Message("The order vanished."))


def announce_taken(session: Session, order: Order, *, actor: Actor, now: datetime) -> None:
    """Audit a new order and announce the commission it earned."""
    audit.record(
        session,
        actor=actor,
        action="order.create",
        entity="order",
        entity_id=order.id,
        after={
            "external_id": order.external_id,
            "paid_fen": order.paid_fen,
            "member_id": order.member_id,
            "commission_fen": order.commission_fen,
        },
        at=now,
    )
    earned = commissions(session, order.id)
    if earned:
        commission_events.announce(session, order, commission_events.EARNED, earned, at=now)


def _order_ids(session: Session, external_id: str, program_id: int | None) -> list[int]:
    """The ids of at most two orders stored with exactly this external id (in this program, when given)."""
    query = select(Order.id).where(Order.external_id == external_id).limit(2)
    if program_id is not None:
        query = query.where(Order.program_id == program_id)
    return list(session.scalars(query))


def find_order(session: Session, *, external_id: str, program_id: int | None, lock: bool = False) -> Order:
    """The order with this external id (in this program, when given); ambiguity is refused.

    An id not stored as given is looked for without its surrounding spaces, the form the API and the
    webhooks store (``schemas.ExternalId``): ``WH-7 `` finds ``WH-7``. Looked for as given first: an order
    a JSON-lines file stored with its spaces is still found by them.

    ``lock`` takes ``FOR NO KEY UPDATE``: an order's key never changes, and the rows that name it (a
    refund, a risk case's link) key-share it while they are written, which ``FOR UPDATE`` would wait for
    (a scan linking a just-flagged order holds that until it commits: the nightly one, its whole run)."""
    ids = _order_ids(session, external_id, program_id)
    if not ids and (trimmed := external_id.strip()) != external_id and trimmed:
        ids = _order_ids(session, trimmed, program_id)
    if not ids:
        raise NotFound(Message("This order does not exist."), code="order_not_found")
    if len(ids) > 1:
        raise Conflict(
            Message("{field} names orders in several programs: pass program_id.", field="external_id"),
            code="ambiguous_external_id",
            extra={"field": "external_id"},
        )
    order = session.scalar(
        select(Order).where(Order.id == ids[0]).with_for_update(key_share=True)
        if lock
        else select(Order).where(Order.id == ids[0])
    )
    assert order is not None
    return order


def commissions(session: Session, order_id: int, *, lock: bool = False) -> list[Commission]:
    """An order's commissions by level."""
    query = (
        select(Commission).where(Commission.order_id == order_id).order_by(Commission.level, Commission.id)
    )
    if lock:
        query = query.with_for_update()
    return list(session.scalars(query))


def _remaining(rows: list[Commission]) -> dict[int, int]:
    out: dict[int, int] = {}
    for c in rows:
        out[c.member_id] = out.get(c.member_id, 0) + c.amount_fen - c.reversed_fen
    return out


def complete(session: Session, *, order: Order, at: datetime, actor: Actor) -> Order:
    """The order is complete: its commission freezes (completing twice changes nothing)."""
    if order.completed_at is not None:
        return order
    if at < order.paid_at:
        raise Invalid(
            Message("An order cannot complete before it was paid."),
            code="completed_before_paid",
        )
    order.completed_at, order.commission_state = at, CommissionState.FROZEN
    session.flush()
    post(
        session,
        draft(
            program_id=order.program_id,
            kind=PostingKind.COMMISSION_FROZEN,
            key=f"order:{order.id}:frozen",
            source="order",
            source_id=order.id,
            at=at,
            memo=order.external_id,
            legs=legs.move(
                _remaining(commissions(session, order.id)), source=Account.PENDING, target=Account.FROZEN
            ),
        ),
    )
    audit.record(
        session,
        actor=actor,
        action="order.complete",
        entity="order",
        entity_id=order.id,
        after={"completed_at": at.isoformat()},
        at=at,
    )
    return order


@dataclass(frozen=True)
class RefundedLine:
    """The one line a refund takes its whole amount off, and what of that line was refunded before."""

    line_no: int
    before_fen: int


def _reversals(
    session: Session, order: Order, rows: list[Commission], *, amount_fen: int, line: RefundedLine | None
) -> list[int]:
    """What the refund takes back of each commission of ``rows``, never more than is left of it.

    Without a line, order-wide: ``A − floor(A × R / P)`` of the order's refunds R of its paid P, less what
    was taken back already. With a line, that line's share alone (``commission.line_reversal``): a
    commission's share of a platform's line is that line's fee pool, not its price."""
    if line is None:
        total = order.refunded_fen + amount_fen
        return [commission.reversal(c.amount_fen, c.reversed_fen, total, order.paid_fen) for c in rows]
    stored = session.scalars(
        select(OrderLine).where(OrderLine.order_id == order.id, OrderLine.line_no == line.line_no)
    ).one()
    terms = batch_rows.as_line(
        (
            stored.line_no,
            stored.sku,
            stored.quantity,
            stored.list_fen,
            stored.paid_fen,
            stored.commission_rate_bp,
            stored.fixed_commission_fen,
            stored.pool_fen,
        )
    )
    after = line.before_fen + amount_fen
    return [
        min(
            c.amount_fen - c.reversed_fen,
            commission.line_reversal(terms.share(c.bp), stored.paid_fen, line.before_fen, after),
        )
        for c in rows
    ]


def _repeated(existing: Refund, *, order: Order, amount_fen: int) -> Refund:
    """The stored refund a request with its refund id repeats, or 409 ``refund_id_reused`` when the
    request names another order or amount."""
    if existing.order_id != order.id or existing.amount_fen != amount_fen:
        raise Conflict(
            Message("{field} names a refund reported before with other terms.", field="refund_id"),
            code="refund_id_reused",
            extra={"field": "refund_id"},
        )
    return existing


PLATFORM_REFUND = Message("This order's refunds come from its platform's order feed.")


def _platform_refund(order: Order, line: RefundedLine | None) -> None:
    """A platform-fed order's money is the platform's: its refunds come only from its rows, a line at a
    time (``platforms.feeds``); an order-wide refund of it (the API, a shop's webhook) is 409."""
    if line is None and order.source is OrderSource.PLATFORM:
        raise Conflict(PLATFORM_REFUND, code="platform_order_refund")


def refund(
    session: Session,
    *,
    order: Order,
    refund_id: str,
    amount_fen: int,
    at: datetime,
    actor: Actor,
    line: RefundedLine | None = None,
) -> tuple[Refund, bool]:
    """Take back exactly what refunds totalling R of paid P cost each commission: A − floor(A × R / P);
    a refund of one ``line`` (a platform's line, whose pool is its own fee) takes back that line's share
    of each commission instead, ``s − floor(s × R_l / P_l)`` (``_reversals``).

    The reversal comes from where the commission sits now; after release or payout that is the
    member's available balance, which may go negative and nets against later earnings. Its posting is
    dated no earlier than the commission got there (``_reversal_at``); the refund keeps its own ``at``.
    The refund that completes an event order's refund announces it (``EVENT_ORDER_REFUNDED``): the
    events domain gives back the reservations the order paid for.
    """
    existing = session.scalar(
        select(Refund).where(Refund.program_id == order.program_id, Refund.refund_id == refund_id)
    )
    if existing is not None:
        return _repeated(existing, order=order, amount_fen=amount_fen), False
    _platform_refund(order, line)
    if amount_fen <= 0:
        raise Invalid(Message("A refund must be positive."), code="invalid_amount")
    if at < order.paid_at:  # as an order cannot complete before it was paid
        raise Invalid(
            Message("A refund cannot be dated before its order was paid."), code="refund_before_paid"
        )
    refundable = order.paid_fen - order.refunded_fen
    if amount_fen > refundable:
        raise Conflict(
            Message("Only {refundable} fen are left to refund.", refundable=refundable),
            code="refund_exceeds_paid",
            extra={"refundable_fen": refundable},
        )
    # The refund id is claimed before anything moves: a request that took it meanwhile (for another
    # order of the program; the same order is locked) makes this insert skip it, on PostgreSQL once
    # that request committed, and the refund it stored answers this one as a repeat would.
    values = {
        "program_id": order.program_id,
        "order_id": order.id,
        "refund_id": refund_id,
        "amount_fen": amount_fen,
        "reversed_fen": 0,
        "at": at,
        "line_no": None if line is None else line.line_no,
    }
    inserted = insert_ignoring_duplicates(
        session, Refund, [values], index_elements=["program_id", "refund_id"], returning=["id"]
    )
    if not inserted:
        stored = session.scalars(
            select(Refund)
            .where(Refund.program_id == order.program_id, Refund.refund_id == refund_id)
            .execution_options(populate_existing=True)
        ).one()
        return _repeated(stored, order=order, amount_fen=amount_fen), False
    row = session.get_one(Refund, inserted[0][0])
    total = order.refunded_fen + amount_fen
    rows = commissions(session, order.id, lock=True)
    taken: dict[int, int] = {}
    for c, delta in zip(
        rows, _reversals(session, order, rows, amount_fen=amount_fen, line=line), strict=True
    ):
        c.reversed_fen += delta
        taken[c.member_id] = taken.get(c.member_id, 0) + delta
    row.reversed_fen = sum(taken.values())
    order.refunded_fen = total
    session.flush()
    post(
        session,
        draft(
            program_id=order.program_id,
            kind=PostingKind.COMMISSION_REVERSED,
            key=f"refund:{row.id}",
            source="order",
            source_id=order.id,
            at=_reversal_at(session, order, at),
            memo=f"{order.external_id} {refund_id}",
            legs=legs.reversed_from(
                taken, source=STATE_ACCOUNT[order.commission_state], expense=Account.COMMISSION_EXPENSE
            ),
        ),
    )
    audit.record(
        session,
        actor=actor,
        action="order.refund",
        entity="order",
        entity_id=order.id,
        after={"refund_id": refund_id, "amount_fen": amount_fen, "reversed_fen": row.reversed_fen},
        at=at,
    )
    if row.reversed_fen:
        commission_events.announce(
            session,
            order,
            commission_events.REVERSED,
            rows,
            at=at,
            extra={"refund_id": refund_id, "refund_fen": amount_fen, "reversed": taken},
        )
    if order.event_id is not None and total == order.paid_fen:  # a repeat returned above, unannounced
        publish(session, Event(commission_events.EVENT_ORDER_REFUNDED, at, {"order_id": order.id}))
    return row, True


def _reversal_at(session: Session, order: Order, at: datetime) -> datetime:
    """When a refund's reversal is posted: the refund's ``at``, or the order's last commission state
    change if later (its completion, its release's ``as_of``), so a refund dated before a release is not
    taken from the available balance before the commission reached it."""
    times = [at]
    if order.completed_at is not None:
        times.append(order.completed_at)
    if order.settlement_id is not None:
        times.append(session.get_one(Settlement, order.settlement_id).as_of)
    return max(times)
