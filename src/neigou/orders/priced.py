"""A member's inviter move may not reach back past their orders already priced.

Commission is priced once, when an order is taken, with the upline of its ``paid_at``; stored orders
are never re-priced. A move dated before the latest ``paid_at`` among the member's stored orders of the
program would leave those orders with the old upline while a twin reported after the move, paid at the
same time, pays the new one: the order's upline would depend on when it arrived. Such a move is
refused (409 ``inviter_change_before_priced_orders``).

The check sees every order priced with the old upline: the move holds its program ``FOR UPDATE``, and
order intake reads its programs ``FOR KEY SHARE`` before any upline until its commit
(``lookups.programs``), so an order being taken is committed before the move reads, and one taken
after waits for the move and is priced with the new upline (a file's batch prepared before the move is
priced again at its write: ``ingest.finish``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from neigou.kit.clock import ensure_aware
from neigou.kit.errors import Conflict
from neigou.kit.events import Event, listen
from neigou.kit.i18n import Message
from neigou.orders.models import Order
from neigou.programs.inviters import MOVING

CODE = "inviter_change_before_priced_orders"


def latest_paid(session: Session, *, program_id: int, member_id: int) -> datetime | None:
    """The latest ``paid_at`` among the member's stored orders in the program."""
    found: datetime | None = session.scalar(
        select(Order.paid_at)
        .where(Order.member_id == member_id, Order.program_id == program_id)
        .order_by(Order.paid_at.desc())
        .limit(1)
    )
    return ensure_aware(found) if found is not None else None


@listen(MOVING)
def refuse_reaching_back(session: Session, event: Event) -> None:
    """Refuse a move dated before the member's latest order already priced."""
    latest = latest_paid(
        session, program_id=int(event.data["program_id"]), member_id=int(event.data["member_id"])
    )
    if latest is not None and event.at <= latest:  # an order paid at the instant takes the new period
        raise Conflict(
            Message(
                "{field} is before an order of this member that is already priced: "
                "a move cannot reach back past orders already taken.",
                field="effective_from",
            ),
            code=CODE,
        )
