"""A push to a segment: the member's customers a saved filter holds when the push is made, at most
``push_rules.MAX_CUSTOMERS`` of them like a list of customers (a larger segment is refused before any
customer is locked)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from neigou.crm.models import Segment
from neigou.crm.push_rules import MAX_CUSTOMERS
from neigou.crm.repository import CustomerFilter, customer_ids_matching
from neigou.kit.errors import Invalid, NotFound
from neigou.kit.i18n import Message
from neigou.programs.models import Member


def segment_customers(session: Session, *, member: Member, segment_id: int, at: datetime) -> list[int]:
    """The member's customers a segment (theirs, or their program's) holds at ``at``."""
    segment = session.get(Segment, segment_id)
    if (
        segment is None
        or segment.program_id != member.program_id
        or segment.member_id not in (None, member.id)
    ):
        raise NotFound(Message("This segment does not exist."), code="segment_not_found")
    # Counted before the push holds any customer: one more than a push may reach is enough to refuse it.
    ids = customer_ids_matching(session, member.id, CustomerFilter.of(segment), at, limit=MAX_CUSTOMERS + 1)
    if not ids:
        raise Invalid(
            Message("Segment {segment_id} holds none of your customers.", segment_id=segment_id),
            code="segment_empty",
        )
    if len(ids) > MAX_CUSTOMERS:
        raise Invalid(
            Message(
                "This segment holds more than {limit} of your customers; a push reaches at most {limit}.",
                limit=MAX_CUSTOMERS,
            ),
            code="segment_too_large",
        )
    return ids
