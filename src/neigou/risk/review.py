"""Resolving a case: clear (the hold lifts; the next settlement releases the money) or confirm
(the held commission is reversed in the ledger, the member optionally suspended)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import Actor
from neigou.kit.bulk import insert_ignoring_duplicates
from neigou.kit.errors import Conflict
from neigou.kit.i18n import Message
from neigou.ledger import legs
from neigou.ledger.legs import Leg
from neigou.ledger.models import Account, PostingKind
from neigou.ledger.service import draft, post
from neigou.orders import commission_events
from neigou.orders.models import Commission, Order
from neigou.orders.service import STATE_ACCOUNT
from neigou.risk import repository as repo
from neigou.risk.models import CaseOrder, CaseStatus, RiskCase, Suspension
from neigou.risk.service import require_case

DECISIONS = {"clear": CaseStatus.CLEARED, "confirm": CaseStatus.CONFIRMED}


def _dump(case: RiskCase) -> dict[str, object]:
    return {
        "status": case.status.value,
        "held_fen": case.held_fen,
        "reversed_fen": case.reversed_fen,
        "suspended": case.suspended,
        "note": case.note,
    }


def resolve(
    session: Session,
    *,
    case_id: int,
    decision: str,
    note: str | None,
    suspend: bool,
    actor: Actor,
    at: datetime,
) -> RiskCase:
    """Decide an open case. The same decision again returns the case as it is (money moves once);
    the other decision on a resolved case is 409 ``case_resolved``."""
    case = require_case(session, case_id, lock=True)
    wanted = DECISIONS[decision]
    if case.status is not CaseStatus.OPEN:
        if case.status is wanted:
            return case
        raise Conflict(
            Message(
                "Risk case {case_id} was already resolved as {status}.",
                case_id=case.id,
                status=case.status.value,
            ),
            code="case_resolved",
            extra={"case_status": case.status.value},
        )
    before = _dump(case)
    case.held_fen = repo.remaining_commission(session, case.id)
    if wanted is CaseStatus.CONFIRMED:
        case.reversed_fen = _reverse(session, case, at)
        if suspend and case.member_id is not None:
            _suspend(session, case, at)
            case.suspended = True
    case.status, case.resolved_at, case.resolved_by, case.note = wanted, at, actor.stored_label, note
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"risk.{decision}",
        entity="risk_case",
        entity_id=case.id,
        before=before,
        after=_dump(case),
        at=at,
    )
    return case


def _suspend(session: Session, case: RiskCase, at: datetime) -> None:
    """Suspend the case's member, or keep the suspension they already have (made by another case,
    also by a confirmation of another case committed meanwhile: the insert skips the member's key
    instead of failing on it, and waits for that confirmation's commit on PostgreSQL). The
    suspension names the case that made it first."""
    values = {"member_id": case.member_id, "program_id": case.program_id, "case_id": case.id, "at": at}
    insert_ignoring_duplicates(session, Suspension, [values], index_elements=["member_id"])


def _reverse(session: Session, case: RiskCase, at: datetime) -> int:
    """Take back every held order's remaining commission from where it sits now, in one posting."""
    orders = list(
        session.scalars(
            select(Order)
            .join(CaseOrder, CaseOrder.order_id == Order.id)
            .where(CaseOrder.case_id == case.id)
            .order_by(Order.id)
            .with_for_update(key_share=True)
        )
    )
    if not orders:
        return 0
    by_order = {o.id: o for o in orders}
    rows = list(
        session.scalars(
            select(Commission)
            .where(Commission.order_id.in_(list(by_order)))
            .order_by(Commission.order_id, Commission.level)
            .with_for_update()
        )
    )
    taken: list[Leg] = []
    total = 0
    touched: dict[int, dict[int, int]] = {}
    for c in rows:
        left = c.amount_fen - c.reversed_fen
        if left <= 0:
            continue
        account = STATE_ACCOUNT[by_order[c.order_id].commission_state]
        taken.append(Leg(c.member_id, account, -left))
        total += left
        c.reversed_fen = c.amount_fen
        mine = touched.setdefault(c.order_id, {})
        mine[c.member_id] = mine.get(c.member_id, 0) + left
    if total == 0:
        return 0
    taken.append(Leg(legs.PLATFORM, Account.COMMISSION_EXPENSE, total))
    session.flush()
    post(
        session,
        draft(
            program_id=case.program_id,
            kind=PostingKind.COMMISSION_REVERSED,
            key=f"risk_case:{case.id}:confirm",
            source="risk_case",
            source_id=case.id,
            at=at,
            memo=f"risk {case.rule} #{case.id}",
            legs=taken,
        ),
    )
    for order_id in sorted(touched):
        commission_events.announce(
            session,
            by_order[order_id],
            commission_events.REVERSED,
            [c for c in rows if c.order_id == order_id],
            at=at,
            extra={"risk_case_id": case.id, "reversed": touched[order_id]},
        )
    return total
