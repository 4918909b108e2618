"""The commission events orders announce (``kit.events``); the integrations package delivers them
to the program's shops."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from neigou.kit.events import Event, publish
from neigou.orders.models import Commission, Order

EARNED = "commission.earned"
REVERSED = "commission.reversed"
# An order of a live event refunded in full (``data``: its ``order_id``), once, by the refund that
# completed it: the events domain gives back the reservations it paid for (``events.refunds``).
EVENT_ORDER_REFUNDED = "order.event_refunded"


def announce(
    session: Session,
    order: Order,
    event_type: str,
    rows: Sequence[Commission],
    *,
    at: datetime,
    extra: dict[str, Any] | None = None,
) -> None:
    """Publish ``event_type`` about an order's commission as it stands now."""
    data = {
        "order_id": order.id,
        "external_id": order.external_id,
        "program_id": order.program_id,
        "paid_fen": order.paid_fen,
        "refunded_fen": order.refunded_fen,
        "commissions": [
            {
                "member_id": c.member_id,
                "level": c.level,
                "amount_fen": c.amount_fen,
                "reversed_fen": c.reversed_fen,
            }
            for c in rows
        ],
        **(extra or {}),
    }
    publish(session, Event(type=event_type, at=at, data=data))
