"""Settlement: commission frozen at completion becomes available once the program's freeze ends."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import SYSTEM, Actor
from neigou.kit.bulk import chunks
from neigou.kit.jobs import job
from neigou.ledger import legs
from neigou.ledger.models import Account, PostingKind
from neigou.ledger.service import draft, post
from neigou.orders.models import Commission, CommissionState, Order, Settlement
from neigou.programs.models import Program
from neigou.risk import holds


def settle(session: Session, *, program: Program, as_of: datetime, actor: Actor, now: datetime) -> Settlement:
    """Release every order of ``program`` completed at least ``freeze_days`` before ``as_of``.

    Orders an open risk case holds stay frozen until the case is resolved. The orders are locked while they are released, so a parallel settlement or refund waits and
    then sees them as they now are; one posting moves each member's total from frozen to available.
    """
    cutoff = as_of - timedelta(days=program.freeze_days)
    ids = list(
        session.scalars(
            select(Order.id)
            .where(
                Order.program_id == program.id,
                Order.commission_state == CommissionState.FROZEN,
                Order.completed_at <= cutoff,
                holds.not_held(Order.id),
            )
            .order_by(Order.id)
            .with_for_update()
        )
    )
    row = Settlement(program_id=program.id, as_of=as_of, orders=len(ids), released_fen=0, created_at=now)
    session.add(row)
    session.flush()
    per_member: dict[int, int] = {}
    for part in chunks(ids):
        sums = session.execute(
            select(Commission.member_id, func.sum(Commission.amount_fen - Commission.reversed_fen))
            .where(Commission.order_id.in_(part))
            .group_by(Commission.member_id)
        )
        for member_id, fen in sums:
            per_member[int(member_id)] = per_member.get(int(member_id), 0) + int(fen or 0)
        session.execute(
            update(Order)
            .where(Order.id.in_(part))
            .values(commission_state=CommissionState.AVAILABLE, settlement_id=row.id)
        )
    row.released_fen = sum(per_member.values())
    post(
        session,
        draft(
            program_id=program.id,
            kind=PostingKind.COMMISSION_RELEASED,
            key=f"settlement:{row.id}",
            source="settlement",
            source_id=row.id,
            at=as_of,
            memo=f"as of {as_of.isoformat()}",
            legs=legs.move(per_member, source=Account.FROZEN, target=Account.AVAILABLE),
        ),
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="settlement.run",
        entity="program",
        entity_id=program.id,
        after={
            "settlement_id": row.id,
            "as_of": as_of.isoformat(),
            "orders": len(ids),
            "released_fen": row.released_fen,
        },
        at=now,
    )
    return row


@job("orders.settle_daily", cron={"minute": "30", "hour": "18"}, retry_scheduled=True)
def settle_daily(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Every night (02:30 in China): release what has come out of its freeze in every program."""
    for program in session.scalars(select(Program).order_by(Program.id)):
        settle(session, program=program, as_of=at, actor=SYSTEM, now=at)
