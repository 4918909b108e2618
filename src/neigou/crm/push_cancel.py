"""Push messages still waiting to go out are cancelled when their customer may no longer be reached.

An opt-out (``crm.erasure``) and a withdrawn marketing consent (``crm.service.withdraw``) fail every
pending message of the customer at once, with the push's skip reason as its ``last_error``
(``opted_out``, ``no_consent``), whatever its channel: a scheduled robot or webhook message is never
sent and a task is no longer the salesperson's to send. The delivery job checks again right before
each send (``push_delivery``), for whatever changed by another way.

Deleting an organization fails every pending message of its programs the same way, with
``organization_deleted``, in the deletion's transaction (its delivery query leaves such programs out too).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Select, update
from sqlalchemy.orm import Session

from neigou.crm.models import MessageStatus, PushMessage, SkipReason
from neigou.kit.events import Event, listen
from neigou.organizations.models import DELETED_EVENT, ORGANIZATION_DELETED
from neigou.programs.repository import programs_of


def cancel_pending(session: Session, customer_ids: Select[int] | Collection[int], reason: SkipReason) -> int:
    """Fail the customers' pending messages with ``reason``; how many were cancelled (one statement)."""
    result = session.execute(
        update(PushMessage)
        .where(PushMessage.customer_id.in_(customer_ids), PushMessage.status == MessageStatus.PENDING)
        .values(status=MessageStatus.FAILED, last_error=reason.value)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@listen(DELETED_EVENT)
def cancel_for_deleted_organization(session: Session, event: Event) -> None:
    """Fail every pending message of a deleted organization's programs (one statement)."""
    session.execute(
        update(PushMessage)
        .where(
            PushMessage.program_id.in_(programs_of(int(event.data["organization_id"]))),
            PushMessage.status == MessageStatus.PENDING,
        )
        .values(status=MessageStatus.FAILED, last_error=ORGANIZATION_DELETED)
        .execution_options(synchronize_session=False)
    )
