"""Settlement: commission frozen at completion becomes available once the program's freeze ends."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from neigou.audit import service as audit
from neigou.kit.actor import SYSTEM, Actor
from neigou.kit.bulk import chunks
from neigou.kit.jobs import job, mark_step
from neigou.kit.lock_wait import bounded_lock_wait
from neigou.kit.logging import error_summary
from neigou.kit.scoping import in_request
from neigou.ledger import legs
from neigou.ledger.models import Account, PostingKind
from neigou.ledger.service import draft, post
from neigou.orders.models import Commission, CommissionState, Order, Settlement
from neigou.programs.models import Program
from neigou.risk import holds

log = structlog.get_logger(__name__)


def settle(session: Session, *, program: Program, as_of: datetime, actor: Actor, now: datetime) -> Settlement:
    """Release every order of ``program`` completed at least ``freeze_days`` before ``as_of``.

    Orders an open risk case holds stay frozen until the case is resolved. A scan links orders to a case
    under the program's lock (``risk.holds.lock_case_links``), and the settlement takes
    the same lock before it reads which orders are held: a scan linking orders now commits first and its
    case holds them, and a scan that takes the lock after it links orders this settlement already
    released (the case's decision then takes their commission from available). A settlement a request
    started waits for that lock at most ``NEIGOU_LOCK_WAIT_MS`` (503 ``overloaded``, nothing written);
    the nightly job waits as long as it takes. The orders are locked while they are released, so a
    parallel settlement or refund waits and then sees them as they now are; one posting moves each
    member's total from frozen to available.

    A settlement with nothing to release (no order out of its freeze, or only orders whose commission is
    worth nothing now) posts nothing: the ledger holds no posting without entries. It is still recorded
    (with its audit entry): the row is the run's answer (its id in the API and the nightly log, its
    counts in the console's notice) and the settlement the orders it released, if any, point to.
    """
    cutoff = as_of - timedelta(days=program.freeze_days)
    with bounded_lock_wait(session) if in_request(session) else nullcontext():
        holds.lock_case_links(session, program.id)
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
            .with_for_update(key_share=True)
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
    moved = legs.move(per_member, source=Account.FROZEN, target=Account.AVAILABLE)
    if moved:
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
                legs=moved,
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


class SettlementIncomplete(RuntimeError):
    """A nightly run left programs unsettled: the run fails, and its retry settles only those."""


@job("orders.settle_daily", cron={"minute": "30", "hour": "18"}, own_transactions=True, retry_scheduled=True)
def settle_daily(session: Session, _payload: dict[str, Any], at: datetime) -> None:
    """Every night (02:30 in China): release what has come out of its freeze in every program.

    Program by program, each in its own transaction, committed with the run's mark of that program
    (``kit.jobs.mark_step``): one program's failure (a deadlock, a bad row) is logged and rolled back
    alone, the other programs are settled all the same, and no transaction holds the locks of more than
    one program. A run that left a program unsettled fails (``SettlementIncomplete``) and is retried
    under its key; the retry skips the programs it marked done, so none is settled twice by one night."""
    program_ids = list(session.scalars(select(Program.id).order_by(Program.id)))
    session.rollback()  # the list is read; no transaction stays open across the programs
    failed = 0
    for n, program_id in enumerate(program_ids, start=1):
        step = {"program_id": program_id, "program": n, "programs": len(program_ids)}
        try:
            row = _settle_once(session, program_id, at=at)
            session.commit()
        except Exception as exc:
            session.rollback()
            failed += 1
            log.error("settlement.program_failed", **step, error=error_summary(exc))  # no bound values
            continue
        if row is None:
            log.info("settlement.program_skipped", **step, reason="settled_by_this_run")
        else:
            log.info(
                "settlement.program_settled",
                **step,
                settlement_id=row.id,
                orders=row.orders,
                released_fen=row.released_fen,
            )
    log.info("settlement.run_done", programs=len(program_ids), failed=failed)
    if failed:
        raise SettlementIncomplete(f"{failed} of {len(program_ids)} programs not settled")


def _settle_once(session: Session, program_id: int, *, at: datetime) -> Settlement | None:
    """Settle one program in the session's transaction, marked done for the run; None when the run
    (an earlier attempt of it) already did, or the program is gone."""
    if not mark_step(session, f"program:{program_id}", at=at):
        return None
    program = session.get(Program, program_id)
    if program is None:
        return None
    return settle(session, program=program, as_of=at, actor=SYSTEM, now=at)
