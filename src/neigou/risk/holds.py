"""What an open or confirmed case means to the rest of the system, as queries other domains call.

* settlement leaves the orders of an open case frozen (``not_held``), read under the lock a scan links
  orders under (``lock_case_links``);
* withdrawals are refused while a high-severity case is open or the member is suspended: at the
  request, at the approval, and a payout batch leaves them out (``withdrawals_allowed``,
  ``withdrawal_holds``, ``withdrawal_hold``);
* tier evaluation leaves out the orders of confirmed cases (``not_confirmed``), and so does every
  board that ranks sales (the program's leaderboards, the group leaderboard, an event's ranking and
  board), which also leave suspended members off (``not_suspended``).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ColumnElement, Select, case, exists, literal, null, select
from sqlalchemy.orm import Session

from neigou.kit.errors import Conflict
from neigou.kit.i18n import Message
from neigou.programs.models import Program
from neigou.risk.models import CaseOrder, CaseStatus, RiskCase, Severity, Suspension


def held_orders() -> Select[int]:
    """Ids of orders an open case holds."""
    return (
        select(CaseOrder.order_id)
        .join(RiskCase, RiskCase.id == CaseOrder.case_id)
        .where(RiskCase.status == CaseStatus.OPEN)
    )


def confirmed_orders() -> Select[int]:
    """Ids of orders a confirmed case names: fraud that counts for nothing."""
    return (
        select(CaseOrder.order_id)
        .join(RiskCase, RiskCase.id == CaseOrder.case_id)
        .where(RiskCase.status == CaseStatus.CONFIRMED)
    )


def lock_case_links(session: Session, program_id: int) -> None:
    """Lock the program row ``FOR NO KEY UPDATE`` until commit: a scan takes it before it links orders
    to cases (``service.scan``), and settlement before it reads which orders are held (``not_held``), so
    each sees what the other committed. Order intake's ``FOR KEY SHARE`` on the program does not wait
    for it."""
    session.execute(select(Program.id).where(Program.id == program_id).with_for_update(key_share=True))


def not_held(order_id: Any) -> ColumnElement[bool]:
    """True for an order no open case holds (settlement's filter)."""
    return ~exists(
        select(CaseOrder.order_id)
        .join(RiskCase, RiskCase.id == CaseOrder.case_id)
        .where(CaseOrder.order_id == order_id, RiskCase.status == CaseStatus.OPEN)
    )


def not_confirmed(order_id: Any) -> ColumnElement[bool]:
    """True for an order no confirmed case names (the filter of tier metrics and of every board)."""
    return ~exists(
        select(CaseOrder.order_id)
        .join(RiskCase, RiskCase.id == CaseOrder.case_id)
        .where(CaseOrder.order_id == order_id, RiskCase.status == CaseStatus.CONFIRMED)
    )


def is_suspended(session: Session, member_id: int) -> bool:
    """Whether a confirmed case suspended the member."""
    return session.get(Suspension, member_id) is not None


def _suspended(member_id: Any) -> ColumnElement[bool]:
    return exists(select(Suspension.member_id).where(Suspension.member_id == member_id))


def not_suspended(member_id: Any) -> ColumnElement[bool]:
    """True for a member no confirmed case suspended (boards leave suspended members off)."""
    return ~_suspended(member_id)


def _case_open(member_id: Any) -> ColumnElement[bool]:
    return exists(
        select(RiskCase.id).where(
            RiskCase.member_id == member_id,
            RiskCase.status == CaseStatus.OPEN,
            RiskCase.severity == Severity.HIGH,
        )
    )


def withdrawals_allowed(member_id: Any) -> ColumnElement[bool]:
    """True for a member whose withdrawals may move: not suspended, and no high-severity case against
    them open (the filter of what a payout batch gathers and pays)."""
    return ~_suspended(member_id) & ~_case_open(member_id)


def withdrawal_hold(member_id: Any) -> ColumnElement[str | None]:
    """The code of what holds the member's withdrawals, as a column of the query that selects them
    (``member_suspended`` before ``withdrawals_held``, as ``withdrawal_holds``; NULL when none)."""
    return case(
        (_suspended(member_id), literal("member_suspended")),
        (_case_open(member_id), literal("withdrawals_held")),
        else_=null(),
    )


def withdrawal_holds(session: Session, member_ids: Collection[int]) -> dict[int, str]:
    """The members among ``member_ids`` whose withdrawals are held, each with the refusal's code
    (``member_suspended`` before ``withdrawals_held``, as ``check_withdrawals_allowed`` answers)."""
    if not member_ids:
        return {}
    wanted = sorted(set(member_ids))
    found = {
        int(m): "withdrawals_held"
        for m in session.scalars(
            select(RiskCase.member_id).where(
                RiskCase.member_id.in_(wanted),
                RiskCase.status == CaseStatus.OPEN,
                RiskCase.severity == Severity.HIGH,
            )
        )
        if m is not None
    }
    suspended = session.scalars(select(Suspension.member_id).where(Suspension.member_id.in_(wanted)))
    found.update({int(m): "member_suspended" for m in suspended})
    return found


def check_withdrawals_allowed(session: Session, member_id: int) -> None:
    """Raise 409 while the member is suspended or a high-severity case against them is open."""
    if is_suspended(session, member_id):
        raise Conflict(
            Message("Member {member_id} is suspended after a confirmed risk case.", member_id=member_id),
            code="member_suspended",
        )
    held = session.scalar(
        select(RiskCase.id)
        .where(
            RiskCase.member_id == member_id,
            RiskCase.status == CaseStatus.OPEN,
            RiskCase.severity == Severity.HIGH,
        )
        .limit(1)
    )
    if held is not None:
        raise Conflict(
            Message("Withdrawals are held while risk case {case_id} is under review.", case_id=int(held)),
            code="withdrawals_held",
            extra={"case_id": int(held)},
        )


def check_not_suspended(session: Session, member_id: int) -> None:
    """Raise 409 ``member_suspended`` for a suspended member (no new share links)."""
    if is_suspended(session, member_id):
        raise Conflict(
            Message("Member {member_id} is suspended after a confirmed risk case.", member_id=member_id),
            code="member_suspended",
        )
